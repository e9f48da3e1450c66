"""The counts, and the verdict: what the service owed, what Facebook saw, what the tables say.

A decision is named by (contact, text): the flow makes each one unique. The
simulator's log is the ground truth for what reached Facebook; the outbox is
what the service decided and recorded. A reply is lost only if it was never
sent *and* not recorded as skipped or failed with a reason: an honest,
visible refusal is not a loss.

When the traffic kept each contact's messages in order (traffic.py), the
replies (`pongN`) each contact got must be in the order of its messages: the
first copy of each, in the simulator's log order. The follow-ups (`laterN`)
are counted the same way, reported but not judged: their order across
processes is not a guarantee the service makes. And no process may log an
error, a stack trace or a unique-key collision.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .database import Backlog, OutboxRow
from .flow import expected_texts, later_text, reply_text
from .stack import COLLISION, Observed
from .webhooks import DeliveryStats, Event

Key = tuple[str, str]  # (contact psid, message text)
EXAMPLES = 10


@dataclass
class RunFacts:
    """What the harness itself did and saw, apart from the tables and the simulator."""

    database: str
    seed: int
    duration: float
    rate: float
    kills: int = 0
    kills_while_starting: int = 0
    kills_after_send: int = 0
    serve_starts: int = 0
    serve_exits: list[int] = field(default_factory=list)  # ends we did not cause
    drained: bool = False
    drain_seconds: float = 0.0
    backlog: Backlog | None = None
    workdir: str = ""
    topology: str = "serve"
    in_order: bool = False  # each contact's messages reached the page in the order written
    restarts: int = 0  # SIGTERM, wait for the exit, start again
    stop_codes: list[int | None] = field(default_factory=list)  # None: had to be SIGKILLed
    stop_seconds: list[float] = field(default_factory=list)  # SIGTERM to exit
    blips: int = 0  # every database session ended at once


@dataclass
class Counts:
    database: str
    seed: int
    duration_s: float
    rate: float
    events_sent: int
    events_accepted: int
    webhook_posts: int
    posts_without_200: int
    redelivered_after_200: int
    kills: int
    kills_while_starting: int
    kills_after_send: int
    serve_starts: int
    serve_exits: list[int]
    expected_messages: int
    messages_sent: int
    refused_by_simulator: int
    lost: int
    decisions_doubled: int
    messages_doubled: int
    in_doubt: int
    unflagged_duplicates: int
    skipped_or_failed: int
    unexpected: int
    inbox: dict[str, int]
    drained: bool
    drain_seconds: float
    backlog: dict[str, int] | None
    possible_duplicate_column: bool
    failures: list[str]
    examples: dict[str, list[dict[str, Any]]]
    workdir: str
    topology: str = "serve"
    in_order: bool = False
    restarts: int = 0
    stop_codes: list[int | None] = field(default_factory=list)
    stop_seconds: list[float] = field(default_factory=list)
    blips: int = 0
    replies_out_of_order: int = 0  # contacts whose pongs came in another order than their pings
    follow_ups_out_of_order: int = 0  # contacts whose laters did (reported, not judged)
    log_problems: int = 0
    cannot_send: int = 0  # messages pageflows failed itself (an exception while sending)
    sends_by_process: dict[str, int] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.failures

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def _sent(log: Iterable[Mapping[str, Any]]) -> tuple[dict[Key, list[Mapping[str, Any]]], int]:
    sent: dict[Key, list[Mapping[str, Any]]] = defaultdict(list)
    refused = 0
    for entry in log:
        if not entry.get("ok"):
            refused += 1
            continue
        message = (entry.get("request") or {}).get("message") or {}
        sent[(str(entry.get("recipient_id")), str(message.get("text")))].append(entry)
    return sent, refused


def _owed(events: Iterable[Event]) -> tuple[Counter[Key], dict[Key, Event]]:
    owed: Counter[Key] = Counter()
    by_key: dict[Key, Event] = {}
    for event in events:
        for text in expected_texts(event.keyword):
            owed[(event.psid, text)] += 1
            by_key[(event.psid, text)] = event
    return owed, by_key


def out_of_order(
    events: Iterable[Event], log: Iterable[Mapping[str, Any]], text_of: Any
) -> list[dict[str, Any]]:
    """Contacts whose first copies of `text_of(keyword)` came in another order than their
    events (only the texts that came at all: a missing one is judged as lost)."""
    wanted: dict[str, list[str]] = defaultdict(list)
    for event in events:
        wanted[event.psid].append(text_of(event.keyword))
    got: dict[str, list[str]] = defaultdict(list)
    for entry in log:
        psid = str(entry.get("recipient_id"))
        text = str(((entry.get("request") or {}).get("message") or {}).get("text"))
        if entry.get("ok") and psid in wanted and text in wanted[psid] and text not in got[psid]:
            got[psid].append(text)
    found = []
    for psid, texts in wanted.items():
        expected = [t for t in texts if t in got[psid]]
        if got[psid] != expected:
            found.append({"psid": psid, "written": texts, "received": got[psid]})
    return found


def judge(
    facts: RunFacts,
    events: Sequence[Event],
    accepted: set[int],
    delivery: DeliveryStats,
    seen: Observed,
) -> Counts:
    log, outbox, inbox = seen.log, seen.outbox, seen.inbox
    owed_all, event_of = _owed(events)  # what a stored event may cause, accepted or not
    owed, _ = _owed(e for e in events if e.number in accepted)  # what the service must send
    sent, refused = _sent(log)
    rows: dict[Key, list[OutboxRow]] = defaultdict(list)
    for row in outbox:
        if row.kind == "message":
            rows[(row.contact_id, row.text)].append(row)

    def accounted(key: Key) -> bool:
        return any(r.status in ("skipped", "failed") and (r.reason or r.error) for r in rows[key])

    lost = [k for k in owed if not sent.get(k) and not accounted(k)]
    doubled_rows = {k: len(rows[k]) - n for k, n in owed_all.items() if len(rows[k]) > n}
    doubled_sends = {k: len(sent[k]) - n for k, n in owed_all.items() if len(sent.get(k, ())) > n}
    # Each row marked possible_duplicate covers one extra copy ("sent again at most once").
    unflagged = {
        k: n - sum(r.possible_duplicate for r in rows[k]) for k, n in doubled_sends.items()
    }
    unflagged = {k: n for k, n in unflagged.items() if n > 0}
    unexpected = sum(len(v) for k, v in sent.items() if k not in owed_all)
    unexpected += sum(len(v) for k, v in rows.items() if k not in owed_all)
    in_doubt = sum(1 for r in outbox if r.possible_duplicate)
    delivered = [e for e in events if e.number in accepted]
    problems = seen.log_problems
    if facts.blips:  # errors and traces are expected then; two processes colliding never
        problems = [line for line in problems if COLLISION.search(line)]
    replies_disordered = out_of_order(delivered, log, reply_text)
    follow_ups_disordered = out_of_order(delivered, log, later_text)

    def example(key: Key) -> dict[str, Any]:
        event = event_of.get(key)
        return {
            "psid": key[0],
            "text": key[1],
            "event": None if event is None else asdict(event),
            "accepted": event is not None and event.number in accepted,
            "outbox": [asdict(r) for r in rows.get(key, [])],
            "sends": [
                {k: e.get(k) for k in ("seq", "at", "ok", "message_id")} for e in sent.get(key, [])
            ],
        }

    counts = Counts(
        database=facts.database, seed=facts.seed, duration_s=facts.duration, rate=facts.rate,
        events_sent=len(events), events_accepted=len(accepted),
        webhook_posts=delivery.posts, posts_without_200=sum(delivery.unanswered.values()),
        redelivered_after_200=delivery.redelivered_after_200,
        kills=facts.kills, kills_while_starting=facts.kills_while_starting,
        kills_after_send=facts.kills_after_send,
        serve_starts=facts.serve_starts, serve_exits=facts.serve_exits,
        expected_messages=sum(owed.values()),
        messages_sent=sum(len(v) for v in sent.values()), refused_by_simulator=refused,
        lost=len(lost), decisions_doubled=sum(doubled_rows.values()),
        messages_doubled=sum(doubled_sends.values()), in_doubt=in_doubt,
        unflagged_duplicates=sum(unflagged.values()),
        skipped_or_failed=sum(1 for r in outbox if r.status in ("skipped", "failed")),
        unexpected=unexpected, inbox=inbox, drained=facts.drained,
        drain_seconds=round(facts.drain_seconds, 1),
        backlog=None if facts.backlog is None else asdict(facts.backlog),
        possible_duplicate_column=seen.flagged_column, failures=[],
        examples={
            "lost": [example(k) for k in lost[:EXAMPLES]],
            "decisions_doubled": [example(k) for k in list(doubled_rows)[:EXAMPLES]],
            "messages_doubled": [example(k) for k in list(doubled_sends)[:EXAMPLES]],
            "inbox_not_done": seen.inbox_problems,
            "replies_out_of_order": replies_disordered[:EXAMPLES],
            "follow_ups_out_of_order": follow_ups_disordered[:EXAMPLES],
            "log_problems": [{"line": line} for line in problems[: 3 * EXAMPLES]],
        },
        workdir=facts.workdir, topology=facts.topology, in_order=facts.in_order,
        restarts=facts.restarts, stop_codes=facts.stop_codes, stop_seconds=facts.stop_seconds,
        blips=facts.blips,
        replies_out_of_order=len(replies_disordered),
        follow_ups_out_of_order=len(follow_ups_disordered),
        log_problems=len(problems),
        cannot_send=sum(1 for r in outbox if r.reason == "cannot_send"),
        sends_by_process=seen.sends_by_process,
    )  # fmt: skip
    counts.failures = failures(counts)
    return counts


def failures(c: Counts) -> list[str]:
    """The pass criteria, each a sentence when it fails."""
    found = []
    if c.lost:
        found.append(f"{c.lost} owed message(s) lost: never sent, not recorded skipped/failed")
    if c.decisions_doubled:
        found.append(f"{c.decisions_doubled} decision(s) doubled: extra outbox rows")
    if c.messages_doubled > c.in_doubt:
        found.append(
            f"{c.messages_doubled} message(s) doubled at Facebook but only {c.in_doubt}"
            " outbox row(s) marked possible_duplicate"
        )
    if c.unflagged_duplicates:
        found.append(
            f"{c.unflagged_duplicates} duplicate(s) not covered by an outbox row of the same"
            " message marked possible_duplicate (silent, or sent again more than once)"
        )
    if c.unexpected:
        found.append(f"{c.unexpected} send(s) or row(s) no event owed (misrouted)")
    if c.events_accepted < c.events_sent:
        found.append(f"{c.events_sent - c.events_accepted} event(s) never got a 200")
    if not c.drained:
        found.append(f"the processes did not drain: {c.backlog}")
    if c.serve_exits:
        found.append(f"a process ended on its own {len(c.serve_exits)} time(s): {c.serve_exits}")
    if c.kills == 0 and c.blips == 0 and c.in_doubt:
        found.append(
            f"{c.in_doubt} message(s) marked possible_duplicate without a single kill: a"
            " SIGTERM or a timeout left a send in doubt"
        )
    if any(code != 0 for code in c.stop_codes):
        found.append(f"a SIGTERMed process did not exit 0: exit codes {c.stop_codes}")
    if c.in_order and c.replies_out_of_order:
        found.append(
            f"{c.replies_out_of_order} contact(s) got their replies in another order than"
            " they wrote"
        )
    if c.cannot_send:
        found.append(f"{c.cannot_send} message(s) failed by pageflows itself (cannot_send)")
    if c.log_problems:
        found.append(f"{c.log_problems} log line(s) with an error, a trace or a collision")
    return found


ROWS = (
    ("events sent", "events_sent"),
    ("events accepted (a 200)", "events_accepted"),
    ("webhook POSTs", "webhook_posts"),
    ("POSTs without a 200", "posts_without_200"),
    ("redelivered after a 200", "redelivered_after_200"),
    ("kills (SIGKILL)", "kills"),
    ("  of which while starting", "kills_while_starting"),
    ("  of which aimed at a send", "kills_after_send"),
    ("restarts (SIGTERM)", "restarts"),
    ("database blips", "blips"),
    ("process starts", "serve_starts"),
    ("messages owed", "expected_messages"),
    ("messages sent (simulator)", "messages_sent"),
    ("refused by the simulator", "refused_by_simulator"),
    ("skipped/failed with a reason", "skipped_or_failed"),
    ("lost", "lost"),
    ("decisions doubled", "decisions_doubled"),
    ("messages doubled", "messages_doubled"),
    ("in doubt (possible_duplicate)", "in_doubt"),
    ("duplicates not covered by a flag", "unflagged_duplicates"),
    ("unexpected sends", "unexpected"),
    ("contacts with replies out of order", "replies_out_of_order"),
    ("  with follow-ups out of order", "follow_ups_out_of_order"),
    ("error lines in the logs", "log_problems"),
    ("failed by pageflows (cannot_send)", "cannot_send"),
    ("drain (s)", "drain_seconds"),
)


def table(runs: Sequence[Counts]) -> str:
    """A plain-text table, one column per run, as printed at the end and pasted in the docs."""
    header = ["", *(f"{_name(c)} (seed {c.seed})" for c in runs)]
    body = [[label, *(str(getattr(c, name)) for c in runs)] for label, name in ROWS]
    body.append(["inbox statuses", *(_statuses(c.inbox) for c in runs)])
    if any(c.sends_by_process for c in runs):
        body.append(["processes that sent (least-most)", *(_shares(c) for c in runs)])
    body.append(["verdict", *("PASS" if c.passed else "FAIL" for c in runs)])
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return (
            "| " + " | ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)) + " |"
        )

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    lines = [line(header), rule, *(line(row) for row in body)]
    for c in runs:
        lines.extend(f"{_name(c)}: FAIL: {reason}" for reason in c.failures)
    return "\n".join(lines)


def _shares(c: Counts) -> str:
    """How many worker starts sent anything, and the fewest and most one of them sent."""
    sent = [n for n in c.sends_by_process.values() if n]
    return f"{len(sent)} ({min(sent)}-{max(sent)})" if sent else "-"


def _name(c: Counts) -> str:
    return c.database if c.topology == "serve" else f"{c.database} {c.topology}"


def _statuses(inbox: Mapping[str, int]) -> str:
    return ", ".join(f"{status} {n}" for status, n in sorted(inbox.items())) or "-"
