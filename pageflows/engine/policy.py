"""Facebook's messaging rules as dated data, and the pure functions that apply them.

Facebook changes these rules: in 2020 it cut 17 message tags to 4, and from 2026-04-27 it
refuses CONFIRMED_EVENT_UPDATE, POST_PURCHASE_UPDATE and ACCOUNT_UPDATE with error 100.
So each rule is a row in one table (``RULES``) with the dates it holds and its source key
in ``shared/messenger/policy.md``; a new announcement is a new row, not new code. The
engine asks ``decide`` with the send time, the linter asks ``check_tag`` with today's
date (or ``pageflows check --as-of DATE``), and both see the same rules in force.

No I/O and no clock: ``now`` is always an argument, so a decision can be replayed and
tested with ``==``. Datetimes must be timezone-aware; dates are taken in UTC.

The table, its rows' types and ``check_tag`` are in ``policy_table.py`` (what
`pageflows check` imports, issue 13: A) and are imported back here.

The Graph API simulator implements its own copy of these rules on purpose and never
imports this module: a bug in one copy shows up as a disagreement with the other.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Literal

from pydantic import AwareDatetime, BaseModel

# issue 13: A: the table and check_tag live in policy_table.py (what `check` imports),
# re-exported here as they were.
from pageflows.engine.policy_table import _NO_PROMO as _NO_PROMO
from pageflows.engine.policy_table import RULES as RULES
from pageflows.engine.policy_table import PolicyTable as PolicyTable
from pageflows.engine.policy_table import TagRule as TagRule
from pageflows.engine.policy_table import TagStatus as TagStatus
from pageflows.engine.policy_table import TagVerdict as TagVerdict
from pageflows.engine.policy_table import TokenCapRule as TokenCapRule
from pageflows.engine.policy_table import TokenRegionRule as TokenRegionRule
from pageflows.engine.policy_table import check_tag as check_tag
from pageflows.rules.page_facts import TemplateInfo

# fmt: off
SkipReason = Literal[
    "outside_window", "tag_retired", "tag_unknown", "tag_window_expired",
    "human_agent_not_for_automation", "no_token", "token_stopped", "token_capped",
    "contact_replied", "already_replied", "private_reply_expired", "own_comment",
    "window_closed_while_waiting", "notifications_discontinued", "optin_request_too_soon",
    "template_unknown", "template_not_approved", "template_parameters",
    "human_agent_permission_missing",
]
# fmt: on


class TokenState(BaseModel, frozen=True):
    """A contact's recurring-notification (marketing message) token for one topic."""

    token: str
    topic: str
    obtained_at: AwareDatetime
    last_sent_at: AwareDatetime | None = None
    stopped: bool = False  # the contact pressed "Stop these messages"


class Delivery(BaseModel, frozen=True):
    """How a message may go out; with ``notification_token`` it goes to that token, not the PSID."""

    messaging_type: Literal["RESPONSE", "UPDATE", "MESSAGE_TAG", "UTILITY"]
    tag: str | None = None
    notification_token: str | None = None
    topic: str | None = None  # the token's topic, for describe() only
    template: str | None = None  # the utility template's name, for describe() only
    # Why Facebook's rules allowed it, in words, decided with it and stored with the message:
    # "RESPONSE: the 24 h window is open, since the contact's message at 10:02 UTC".
    because: str = ""

    def describe(self) -> str:
        if self.notification_token is not None:
            return f"notification token ({self.topic or 'no topic'})"
        if self.tag is not None:
            return f"{self.messaging_type} {self.tag}"
        if self.template is not None:
            return f"UTILITY template {self.template}"
        return self.messaging_type


class Skip(BaseModel, frozen=True):
    """A message not sent, with a reason and one sentence a marketer understands."""

    reason: SkipReason
    detail: str


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is UTC:  # issue 13: as `astimezone(UTC)` returns it, without the checks
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {value!r}")
    return value.astimezone(UTC)


def _fmt(moment: datetime) -> str:
    """`2026-11-24 09:00 UTC`. issue 13: two per message decided inside the window. For
    years from 1000 on, the fields formatted with `%` are strftime's text (strftime's
    `%Y` does not pad smaller years to four digits, so those keep strftime); twelfth
    session: `%` over the fields, where the ISO text cut to the minute built the seconds
    and the offset only to cut them off (~9,600 instructions a call against ~2,500)."""
    moment = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    year = moment.year
    if year < 1000:
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    fields = (year, moment.month, moment.day, moment.hour, moment.minute)
    return "%d-%02d-%02d %02d:%02d UTC" % fields  # noqa: UP031 (one call, not five formats)


@lru_cache(maxsize=64)  # issue 13: pure, and asked for every message decided in the window
def _age(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    return f"{hours // 24} days" if hours > 48 and hours % 24 == 0 else f"{hours} h"


def _ago(delta: timedelta) -> str:
    """A short age for people: 35 min, 31 h, 3 days 4 h."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} days" + (f" {hours % 24} h" if hours % 24 else "")


def _window_because(
    kind: str,
    now: datetime,
    last: datetime | None,
    ad_message_at: datetime | None,
    rules: PolicyTable,
    closes: datetime | None = None,
) -> str:
    """Which window let a RESPONSE or UPDATE go, and until when it stays open (`closes`,
    when the caller has worked it out already)."""
    if closes is None:
        closes = window_closes_at(now, last, rules, ad_message_at)
    by_ad = ad_message_at is not None and (
        last is None or _utc(ad_message_at, "ad") + rules.ad_window > last + rules.standard_window
    )
    if by_ad and ad_message_at is not None:
        opened = f"the {_age(rules.ad_window)} window after the contact's message from an ad at"
        opened += f" {_fmt(ad_message_at)}"
    else:
        at = _fmt(last) if last else "?"
        opened = f"the {_age(rules.standard_window)} window after the contact's message at {at}"
    until = f", open until {_fmt(closes)}" if closes else ""
    return f"{kind}: {opened}{until}"


def token_cap(on: date, rules: PolicyTable = RULES) -> timedelta:
    """The minimum gap between two sends on one notification token, in force on ``on``."""
    ordered = sorted(rules.token_caps, key=lambda r: r.effective_from)
    in_force = [r for r in ordered if r.effective_from <= on]
    return (in_force[-1] if in_force else ordered[0]).cap


def window_is_open(
    now: datetime,
    last_user_message_at: datetime | None,
    rules: PolicyTable = RULES,
    ad_message_at: datetime | None = None,
) -> bool:
    """True for 24 h after the contact's own message timestamp; at exactly 24 h it is closed.

    ``ad_message_at`` is the contact's message that followed a click-to-Messenger ad, given
    only for Pages that turned the ad window on: the window then lasts 7 days from it.
    """
    return window_closes_at(now, last_user_message_at, rules, ad_message_at) is not None


def window_closes_at(
    now: datetime,
    last_user_message_at: datetime | None,
    rules: PolicyTable = RULES,
    ad_message_at: datetime | None = None,
) -> datetime | None:
    """When the open window closes, or None when it is closed at ``now``."""
    now = _utc(now, "now")
    open_until = None  # issue 13: no list to build, asked for every message decided
    if last_user_message_at is not None:
        open_until = _utc(last_user_message_at, "last_user_message_at") + rules.standard_window
    if ad_message_at is not None:
        ad_end = _utc(ad_message_at, "ad_message_at") + rules.ad_window
        open_until = ad_end if open_until is None else max(open_until, ad_end)
    return open_until if open_until is not None and now < open_until else None


def tokens_allowed(on: date, region: str | None, rules: PolicyTable = RULES) -> bool:
    """Whether Facebook still takes notification tokens on ``on`` from a Page in ``region``."""
    return rules.token_regions.allows(on, region)


def _discontinued(region: str | None, rules: PolicyTable) -> Skip:
    rule = rules.token_regions
    where = f"in {region}" if region else "with no region set"
    return Skip(
        reason="notifications_discontinued",
        detail=f"Facebook discontinued notification messages on {rule.discontinued_on} except "
        f"for Pages in {', '.join(rule.kept_in)}; this Page is {where}. Send updates as an "
        "approved utility template, or reach the contact inside the 24 h window.",
    )


def _decide_tag(
    tag: str, now: datetime, last: datetime | None, rules: PolicyTable
) -> Delivery | Skip:
    verdict = check_tag(tag, now.date(), rules)
    if verdict.status == "human_only":
        return Skip(
            reason="human_agent_not_for_automation",
            detail=f"{tag} is only for a person answering in the inbox, never for automation.",
        )
    if verdict.status == "unknown":
        return Skip(
            reason="tag_unknown",
            detail=f"Facebook does not know the tag {tag!r} on {now.date()}; {_NO_PROMO}.",
        )
    if verdict.status == "retired":
        return Skip(
            reason="tag_retired",
            detail=f"Facebook refuses {tag} since {verdict.retired_on}; {verdict.replacement}.",
        )
    window = verdict.rule.window if verdict.rule else None
    if window is not None and (last is None or now - last >= window):
        since = f"since {_fmt(last)}" if last else "ever"
        return Skip(
            reason="tag_window_expired",
            detail=f"{tag} may only be used for {_age(window)} after the contact's last message, "
            f"and the contact has not written {since}.",
        )
    since = f"the contact's last message at {_fmt(last)}" if last else "no message"
    return Delivery(
        messaging_type="MESSAGE_TAG",
        tag=tag,
        because=f"{tag}: a message tag in force on {now.date()}"
        + (f", within its {_age(window)} after {since}" if window is not None else ""),
    )


def _decide_token(
    token: TokenState, now: datetime, region: str | None, rules: PolicyTable
) -> Delivery | Skip:
    if not tokens_allowed(now.date(), region, rules):
        return _discontinued(region, rules)
    if token.stopped:
        return Skip(
            reason="token_stopped",
            detail=f'The contact pressed "Stop these messages" for the topic "{token.topic}".',
        )
    cap = token_cap(now.date(), rules)
    if token.last_sent_at is not None and now - token.last_sent_at < cap:
        return Skip(
            reason="token_capped",
            detail=f'Facebook allows one message per {_age(cap)} on the topic "{token.topic}"; '
            f"the last went out {_fmt(token.last_sent_at)}, "
            f"the next is allowed from {_fmt(token.last_sent_at + cap)}.",
        )
    last_used = f"last used {_fmt(token.last_sent_at)}" if token.last_sent_at else "never used"
    return Delivery(
        messaging_type="UPDATE",
        notification_token=token.token,
        topic=token.topic,
        because=f'notification token "{token.topic}", {last_used}; one message per {_age(cap)}'
        + (f", kept for Pages in {region}" if region else ""),
    )


def decide(
    *,
    now: datetime,
    last_user_message_at: datetime | None,
    scheduled: bool,
    tag: str | None = None,
    token: TokenState | None = None,
    region: str | None = None,
    ad_message_at: datetime | None = None,
    rules: PolicyTable = RULES,
) -> Delivery | Skip:
    """How an automated message may go out at ``now``, or why it must not.

    The order, as docs/policy.md documents it: inside the window (24 h, or 7 days after
    an ad where the Page turned that on) RESPONSE for a reply and UPDATE for a scheduled
    message; a utility template goes as UTILITY at any time (``decide_template``);
    outside the window a tag still in force, then the notification token (only where
    Facebook still takes tokens: ``region``), else a Skip. When both tag and token fail,
    the token's Skip is returned with the tag's reason prepended, so the marketer sees
    both problems.
    """
    now = _utc(now, "now")
    last = (
        None if last_user_message_at is None else _utc(last_user_message_at, "last_user_message_at")
    )
    closes = window_closes_at(now, last, rules, ad_message_at)
    if closes is not None:  # the window is open (`window_is_open`)
        kind = "UPDATE" if scheduled else "RESPONSE"
        because = _window_because(kind, now, last, ad_message_at, rules, closes)
        return Delivery(messaging_type=kind, because=because)
    tag_outcome = None if tag is None else _decide_tag(tag, now, last, rules)
    if isinstance(tag_outcome, Delivery):
        return tag_outcome
    if token is not None:
        token_outcome = _decide_token(token, now, region, rules)
        if isinstance(token_outcome, Skip) and tag_outcome is not None:
            detail = f"{tag_outcome.detail} {token_outcome.detail}"
            return Skip(reason=token_outcome.reason, detail=detail)
        return token_outcome
    if tag_outcome is not None:
        return tag_outcome
    if last is None:
        return Skip(reason="outside_window", detail="The contact has never written to the Page.")
    window = _age(rules.standard_window)
    return Skip(
        reason="outside_window",
        detail=f"The {window} window after the contact's last message closed at "
        f"{_fmt(last + rules.standard_window)}, and no usable tag or notification token was given.",
    )


def decide_template(
    *,
    name: str,
    language: str,
    template: TemplateInfo | None,
    parameters: int,
    page: str = "the page",
) -> Delivery | Skip:
    """A utility template goes as UTILITY at any time if the Page has it approved (§2a).

    No window and no opt-in apply, but Facebook refuses an unknown or unapproved template
    and one sent with fewer parameters than its placeholders (100/1893029).
    """
    if template is None:
        return Skip(
            reason="template_unknown",
            detail=f'{page} has no template "{name}" in {language}; create it on Facebook and '
            "run `pageflows templates sync`, or declare it in pageflows.toml.",
        )
    if not template.approved:
        return Skip(
            reason="template_not_approved",
            detail=f'The template "{name}" ({language}) is {template.status}, not APPROVED; '
            "Facebook sends only approved templates.",
        )
    if parameters < template.parameters:
        return Skip(
            reason="template_parameters",
            detail=f'The template "{name}" needs {template.parameters} parameters and got '
            f"{parameters}; Facebook refuses it (error 100/1893029).",
        )
    return Delivery(
        messaging_type="UTILITY",
        template=name,
        because=f"UTILITY template {name} ({language}), APPROVED: allowed at any time",
    )


def decide_optin_request(
    *,
    now: datetime,
    last_user_message_at: datetime | None,
    scheduled: bool,
    title: str,
    last_requested_at: datetime | None,
    region: str | None = None,
    ad_message_at: datetime | None = None,
    rules: PolicyTable = RULES,
) -> Delivery | Skip:
    """An opt-in request: only inside the window, one per title per week, where tokens live."""
    now = _utc(now, "now")
    if not tokens_allowed(now.date(), region, rules):
        return _discontinued(region, rules)
    if last_requested_at is not None:
        since = _utc(last_requested_at, "last_requested_at")
        if now - since < rules.optin_request_gap:
            return Skip(
                reason="optin_request_too_soon",
                detail=f'Facebook allows one opt-in request titled "{title}" per person per '
                f"{_age(rules.optin_request_gap)}; the last went out {_fmt(since)}, the next "
                f"is allowed from {_fmt(since + rules.optin_request_gap)}.",
            )
    if not window_is_open(now, last_user_message_at, rules, ad_message_at):
        return Skip(
            reason="outside_window",
            detail="Facebook takes opt-in requests only inside the 24 h window after the "
            "contact's last message.",
        )
    kind = "UPDATE" if scheduled else "RESPONSE"
    last = None if last_user_message_at is None else _utc(last_user_message_at, "last")
    opens = _window_because(kind, now, last, ad_message_at, rules)
    return Delivery(messaging_type=kind, because=f'{opens}; opt-in request "{title}"')


def decide_human_reply(
    *,
    now: datetime,
    last_user_message_at: datetime | None,
    human_agent: bool,
    rules: PolicyTable = RULES,
) -> Delivery | Skip:
    """A person typing in the inbox: a normal reply for 24 h, then HUMAN_AGENT up to 7 days.

    ``human_agent`` is whether the Page's app has Facebook's Human Agent permission
    (App Review; the page setting ``human_agent = true``): without it Facebook refuses
    the tag, so from 24 h on the reply is refused here, with what to do about it.
    Required, never defaulted: each caller says which page it answers for.
    """
    now = _utc(now, "now")
    if last_user_message_at is None:
        return Skip(reason="outside_window", detail="The contact has never written to the Page.")
    last = _utc(last_user_message_at, "last_user_message_at")
    age = now - last
    if age < rules.standard_window:
        return Delivery(
            messaging_type="RESPONSE",
            because=f"RESPONSE: a person's reply {_ago(age)} after the contact's last "
            f"message ({_fmt(last)}), inside the {_age(rules.standard_window)} window",
        )
    if age >= rules.human_agent_window:
        return Skip(
            reason="outside_window",
            detail=f"A person may answer for {_age(rules.human_agent_window)} after the "
            f"contact's last message ({_fmt(last)}); that ended at "
            f"{_fmt(last + rules.human_agent_window)}. The contact has to write first.",
        )
    if not human_agent:
        return Skip(
            reason="human_agent_permission_missing",
            detail=f"The {_age(rules.standard_window)} window after the contact's last message "
            f"({_fmt(last)}) closed at {_fmt(last + rules.standard_window)}; a person may answer "
            f"until {_fmt(last + rules.human_agent_window)} only with the HUMAN_AGENT tag, which "
            "needs Facebook's Human Agent permission (App Review). Once the app has it, set "
            "`human_agent = true` on the page (or PAGEFLOWS_HUMAN_AGENT=1) and restart.",
        )
    return Delivery(
        messaging_type="MESSAGE_TAG",
        tag="HUMAN_AGENT",
        because=f"HUMAN_AGENT: a person's reply {_ago(age)} after the contact's last "
        f"message ({_fmt(last)}), within {_age(rules.human_agent_window)}",
    )


def decide_private_reply(
    *,
    now: datetime,
    comment_created_at: datetime,
    already_replied: bool,
    from_page: bool,
    rules: PolicyTable = RULES,
) -> Delivery | Skip:
    """One private reply per comment, within 7 days of it, never to the Page's own comments."""
    now = _utc(now, "now")
    created = _utc(comment_created_at, "comment_created_at")
    if from_page:
        return Skip(reason="own_comment", detail="The Page does not privately reply to itself.")
    if already_replied:
        return Skip(
            reason="already_replied",
            detail="This comment already got its one private reply; Facebook allows only one.",
        )
    if now - created >= rules.private_reply_window:
        return Skip(
            reason="private_reply_expired",
            detail=f"Private replies are allowed for {_age(rules.private_reply_window)} after "
            f"a comment; this one was written {_fmt(created)}.",
        )
    return Delivery(
        messaging_type="RESPONSE",
        because=f"RESPONSE: the one private reply to a comment written {_fmt(created)}, "
        f"within {_age(rules.private_reply_window)}",
    )


def send_deadline(
    delivery: Delivery,
    last_user_message_at: datetime | None,
    *,
    comment_created_at: datetime | None = None,
    ad_message_at: datetime | None = None,
    rules: PolicyTable = RULES,
) -> datetime | None:
    """The last moment a decided message may still go out; None when no window binds it.

    The sender retries transient failures only until then: a reply is worth sending
    while the window it was decided in is open, and must not go out after it closed
    (Facebook would refuse it, or worse, accept it as a policy breach). A private reply
    is bound by the comment's age, a tag by its own window, a notification token by
    nothing time-based here (its cap was applied when it was decided).
    """
    if comment_created_at is not None:
        return _utc(comment_created_at, "comment_created_at") + rules.private_reply_window
    if delivery.notification_token is not None or delivery.messaging_type == "UTILITY":
        return None
    if last_user_message_at is None:
        return None
    last = _utc(last_user_message_at, "last_user_message_at")
    if delivery.tag is not None:
        verdict = check_tag(delivery.tag, last.date(), rules)
        window = verdict.rule.window if verdict.rule else None
        return None if window is None else last + window
    ends = [last + rules.standard_window]
    if ad_message_at is not None:
        ends.append(_utc(ad_message_at, "ad_message_at") + rules.ad_window)
    return max(ends)


def expired_while_waiting(
    now: datetime, deadline: datetime, waited_since: datetime, why: str
) -> Skip:
    """The Skip for a message that could not go out before its window closed."""
    return Skip(
        reason="window_closed_while_waiting",
        detail=f"Waiting since {_fmt(waited_since)} ({why}), the message could not go out "
        f"before its window closed at {_fmt(deadline)}; it was not sent at {_fmt(now)}.",
    )


def still_allowed(
    *,
    now: datetime,
    deadline: datetime | None,
    window_based: bool,
    tag: str | None,
    last_user_message_at: datetime | None,
    waited_since: datetime,
    why: str,
    ad_message_at: datetime | None = None,
    rules: PolicyTable = RULES,
) -> Skip | None:
    """Decide again, at ``now``, about a message that waited (a retry, a held thread).

    None means it may still go. A window-based message whose window closed may go if
    the contact wrote again since (the window reopened); a tag Facebook retired while
    the message waited is refused now, as the policy of this moment says.
    """
    now = _utc(now, "now")
    if tag is not None:
        verdict = check_tag(tag, now.date(), rules)
        if verdict.status in ("retired", "unknown"):
            return Skip(
                reason="tag_retired",
                detail=f"While the message waited, Facebook stopped accepting {tag} "
                f"({verdict.retired_on or 'unknown tag'}); {verdict.replacement}.",
            )
    if deadline is None or now < _utc(deadline, "deadline"):
        return None
    if window_based and window_is_open(now, last_user_message_at, rules, ad_message_at):
        return None
    return expired_while_waiting(now, deadline, waited_since, why)
