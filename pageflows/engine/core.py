"""The pure core: program + contact + one event + now -> a Decision.

No I/O and no clock: the shell (worker, chat simulator, transcript tests)
stores the returned contact, sends or records each message, and schedules
follow-ups. At most one trigger fires per event; `match_trigger` says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pageflows.engine import addresses
from pageflows.engine.contact import ContactState
from pageflows.engine.effects import Effect, Note, Schedule, TakeBack
from pageflows.engine.events import (
    QUALIFYING,
    BroadcastDue,
    CommentIn,
    FollowUpDue,
    InboundEvent,
    MessageIn,
    OptinIn,
    PostbackIn,
    ReferralIn,
    TimeoutDue,
    WindowClosingDue,
)
from pageflows.engine.policy import RULES, TokenState
from pageflows.engine.run import Run
from pageflows.rules import model as m
from pageflows.rules.compile import CompiledTrigger, Program
from pageflows.rules.page_facts import PageFacts

GET_STARTED = "GET_STARTED"


@dataclass(frozen=True)
class Decision:
    contact: ContactState
    effects: tuple[Effect, ...]
    trigger: CompiledTrigger | None = None


def handle(
    program: Program,
    contact: ContactState,
    event: InboundEvent,
    now: datetime,
    get_started_payload: str = GET_STARTED,
    page: PageFacts | None = None,
) -> Decision:
    """Decide what pageflows does about one event for one contact.

    ``page`` holds the Page's region, templates and settings that Facebook's rules
    depend on; without it the strictest reading applies (no region, no templates).
    """
    contact = _observe(contact, event)
    taken_back = None
    if contact.agent_until is not None and not contact.person_answering(now):
        # The person's pause ran out: automation resumes, and takes the thread first.
        ended = contact.agent_until
        if contact.inbox_has_thread:  # else the thread never left us: nothing to take
            taken_back = TakeBack(
                reason=f"a person's pause ended at {ended:%Y-%m-%d %H:%M} UTC; automation resumes"
            )
        contact = contact.model_copy(update={"agent_until": None, "inbox_has_thread": False})
    if taken_back is None:
        taken_back, contact = _handoff_ended(contact, now)
    run = Run(program=program, contact=contact, event=event, now=now, page=page or PageFacts())
    if taken_back is not None:
        run.effects.append(taken_back)
    trigger: CompiledTrigger | None = None
    if isinstance(event, FollowUpDue):
        run.follow_up(event)
    elif isinstance(event, WindowClosingDue):
        run.window_closing(event)
    elif isinstance(event, BroadcastDue):
        run.broadcast(event)
    elif isinstance(event, TimeoutDue):
        run.timeout(event)
    elif contact.handed_off and not isinstance(event, OptinIn):
        run.effects.append(Note(text="a human has this conversation; automation waits"))
    elif contact.person_answering(now) and not isinstance(event, OptinIn):
        until = f"{contact.agent_until:%Y-%m-%d %H:%M} UTC"
        run.effects.append(
            Note(text=f"a person is answering this contact; automation waits until {until}")
        )
    elif not _continue_tap(run, event):
        trigger = match_trigger(program, contact, event, get_started_payload)
        if trigger is None:
            run.effects.append(Note(text="no trigger matched"))
        else:
            run.fire(trigger)
    if event.kind not in TIMER_KINDS and isinstance(event, QUALIFYING):
        _schedule_window_closing(run, event.timestamp)
    return Decision(contact=run.contact, effects=tuple(run.effects), trigger=trigger)


# issue 13 (tenth session): our own timers (a follow-up, a window closing, a broadcast
# delivery, a question's or handoff's `for`) say nothing about the contact: no message,
# no referral. Told by their `kind`, one string look-up where each `isinstance` that
# misses a pydantic class costs a quarter of a microsecond (its metaclass is an ABC's).
TIMER_KINDS = frozenset(("follow_up", "window_closing", "broadcast", "timeout"))


def _observe(contact: ContactState, event: InboundEvent) -> ContactState:
    """What the event itself says about the contact, before any flow runs."""
    if event.kind in TIMER_KINDS:
        return contact
    update: dict[str, object] = {}
    if contact.first_seen_at is None and isinstance(event, (*QUALIFYING, CommentIn, OptinIn)):
        update["first_seen_at"] = event.timestamp
    if isinstance(event, QUALIFYING):
        last = contact.last_user_message_at
        if last is None or event.timestamp > last:
            update["last_user_message_at"] = event.timestamp
    if isinstance(event, MessageIn):
        update["message_count"] = contact.message_count + 1
        if event.referral is not None and event.referral.source == "ADS":
            update["ad_message_at"] = event.timestamp
    # issue 13: asked only of an event that has the field: a pydantic model missing one
    # answers `getattr` with a raised and caught AttributeError, on every due follow-up.
    referral = getattr(event, "referral", None) if "referral" in type(event).model_fields else None
    if referral is not None and referral.ref:
        update["ref"] = referral.ref
        update["ref_source"] = referral.source_word
    if isinstance(event, OptinIn):
        update["tokens"] = _token_update(contact, event)
    if isinstance(event, CommentIn) and not contact.first_name and event.from_name:
        # A commenter is no Messenger contact yet: the feed gives their public name.
        update["first_name"] = event.from_name.split()[0]
    return contact.model_copy(update=update) if update else contact


def _token_update(contact: ContactState, event: OptinIn) -> dict[str, TokenState]:
    tokens = dict(contact.tokens)
    old = tokens.get(event.topic)
    if event.status == "granted" and event.token:
        tokens[event.topic] = TokenState(
            token=event.token, topic=event.topic, obtained_at=event.timestamp
        )
    elif old is not None:
        tokens[event.topic] = old.model_copy(update={"stopped": event.status == "stopped"})
    return tokens


def _continue_tap(run: Run, event: InboundEvent) -> bool:
    """A tap on one of our quick replies or buttons, or the answer to a waiting ask."""
    payload = None
    if isinstance(event, MessageIn):
        payload = event.quick_reply
    elif isinstance(event, PostbackIn):
        payload = event.payload
    if payload is not None and run.tap(payload):
        return True
    if isinstance(event, MessageIn) and run.contact.waiting is not None:
        # issue 12: asks: a keyword, pattern, ref or attachment trigger takes a message
        # that is no answer to the question; a valid answer always goes to the question.
        specific = match_trigger(run.program, run.contact, event)
        takes_it = specific is not None and specific.trigger.kind in YIELDS_TO
        return run.answer(event, trigger_takes_it=takes_it)
    if isinstance(event, PostbackIn | ReferralIn) and run.contact.waiting is not None:
        # issue 12: asks: a menu button, Get Started or a link is the contact choosing
        # something else, as a tap on another quick reply is: the question lets go.
        field = run.contact.waiting.field
        run.contact = run.contact.model_copy(update={"waiting": None})
        run.effects.append(Note(text=f'the contact chose something else: no answer for "{field}"'))
    return False


# issue 12: asks: the triggers a waiting question lets a message go to when it is no answer.
YIELDS_TO = frozenset(("keyword", "regex", "ref", "attachment"))


def _handoff_ended(contact: ContactState, now: datetime) -> tuple[TakeBack | None, ContactState]:
    """issue 12: `handoff ... for 2h` ran out: automation takes the thread back, as after a
    person's pause (the same TakeBack: the service queues `take_thread_control`)."""
    until = contact.handoff_until
    if until is None or now < until:
        return None, contact
    resumed = contact.model_copy(update={"handoff_until": None, "handed_off": False})
    if not contact.handed_off:  # the thread came back before (a handback): nothing to take
        return None, resumed
    reason = f"the handoff ended at {until:%Y-%m-%d %H:%M} UTC; automation resumes"
    return TakeBack(reason=reason), resumed


def match_trigger(
    program: Program,
    contact: ContactState,
    event: InboundEvent,
    get_started_payload: str = GET_STARTED,
) -> CompiledTrigger | None:
    """The one trigger an event fires, by the documented precedence."""
    fresh = contact.message_count <= 1 and contact.first_seen_at == event.timestamp
    if isinstance(event, MessageIn):
        if event.referral and event.referral.ref:
            found = program.match_ref(event.referral.ref, event.referral.source_word)
            if found:
                return found
        if event.text:
            found = program.match_text(event.text)
            if found:
                return found
        for attachment in event.attachments:
            for compiled in program.all("attachment"):
                trigger = compiled.trigger
                if isinstance(trigger, m.AttachmentTrigger) and trigger.media == attachment.type:
                    return compiled
        # `on ref missing`: a new conversation with no ref, or with a ref no `on ref` took.
        unmatched_ref = event.referral is not None and bool(event.referral.ref)
        if fresh and (contact.ref is None or unmatched_ref):
            found = program.first("ref_missing") or program.first("first_message")
            if found:
                return found
        elif fresh:
            found = program.first("first_message")
            if found:
                return found
        return program.first("message")
    if isinstance(event, PostbackIn):
        return _match_postback(program, event, get_started_payload)
    if isinstance(event, ReferralIn):
        ref = event.referral.ref
        found = program.match_ref(ref, event.referral.source_word) if ref else None
        return found or program.first("ref_missing")
    if isinstance(event, CommentIn):
        if event.from_page:
            return None
        return program.match_comment(event.post_id, event.text)
    if isinstance(event, OptinIn) and event.status == "granted":
        for compiled in program.all("optin"):
            trigger = compiled.trigger
            if isinstance(trigger, m.OptinTrigger) and trigger.topic == event.topic:
                return compiled
    return None


def _match_postback(
    program: Program, event: PostbackIn, get_started_payload: str
) -> CompiledTrigger | None:
    """A tap: its ref, its payload, Get Started, and then the fallbacks a message has.

    A ref no `on ref` takes runs `on ref missing`, as for a referral. A tap no
    trigger takes (a button of an old menu, a payload made outside pageflows)
    gets the default reply, `on message`, rather than silence.
    """
    ref = event.referral.ref if event.referral else None
    if event.referral and ref:
        found = program.match_ref(ref, event.referral.source_word)
        if found:
            return found
    for compiled in program.all("postback"):
        trigger = compiled.trigger
        if isinstance(trigger, m.PostbackTrigger) and trigger.payload == event.payload:
            return compiled
    found = program.first("ref_missing") if ref else None
    if found is None and event.payload == get_started_payload:
        found = program.first("get_started") or program.first("ref_missing")
    return found or program.first("message")


def _schedule_window_closing(run: Run, message_at: datetime) -> None:
    """Each message of the contact re-arms `on window closing`; older alarms go stale."""
    compiled = run.program.first("window_closing")
    if compiled is None or run.contact.handed_off:
        return
    trigger = compiled.trigger
    assert isinstance(trigger, m.WindowClosingTrigger)
    last = run.contact.last_user_message_at or message_at
    due = last + RULES.standard_window - trigger.before
    root = addresses.trigger_root(run.program, compiled.id)
    run.effects.append(
        Schedule(
            key=f"{run.contact.id}|window_closing|{root}|{last.isoformat()}",
            purpose="window_closing",
            due_at=due,
            root=root,
            created_at=last,
            origin=trigger.span,
        )
    )


__all__ = ["Decision", "handle", "match_trigger"]
