"""`pageflows check`: the last files read, built and checked in a forked child (issue 13: A).

Why: the command of 10,000 triggers built the model of every file on one core (~0.3 s
from the lexing child's pieces, ~0.2 s for its own first file) while the other core
waited, and compiled the program (~0.2 s) only to judge the keywords. The model's nodes
cannot come back across a pipe for less than they cost to make. But `check` prints only
findings: a child can build its files' model and run on it every check that reads one
flow at a time, and send back its findings (plain values, as second_core.py does) and,
for the checks that read all the flows together, what they read of its flows, in plain
values too: each trigger's kind, keywords, key and place (triggers.py `Facts`), the
texts that show a field and the comparisons that read one (fields.py `uses`), the fields
its flows save, its steps and the steps its targets reach (structure.py). This process
builds and checks the first files meanwhile, then judges the whole from both.

What a user sees cannot change:

* A flow the child sends back in summary is one these checks would find nothing more
  in from the other flows: every target is its own, no block failed to parse, and it
  has no `after`, `ask`, comparison, broadcast, template, opt-in request or notification
  (`summed_up`). Any other flow is sent back as "read it yourself", and this process
  reads it as without a child (its model is then here, as the first files' are).
* Findings are sorted by place (`sort_key`: file, line, column, code), and two findings
  tie only in one file; the findings of each file keep their checks' order and, within
  a check, the order the check gives them: the child runs each check of one flow at a
  time, which gives that flow's share of what the check gives for all of them.
* The judges that read all the flows are the checks' own (`triggers.check_facts`,
  `fields.check_uses`, `structure.within` and `unreachable`), given the same values in
  the same order (the program's trigger numbers are counted over the flows sorted by
  path, as compile.py counts them).
* If the child cannot be started, fails, dies or sends anything unreadable, this process
  reads its files itself and checks as without it (`load.py`), so an error is raised
  here, once. Only where asked (`pageflows check`, through load.py's ``second_core``),
  where a fork is safe (second_core.py), and only when no two files have one name
  (a flow's own targets then name no other flow).

`check` gets no compiled program this way (it prints none; `serve`, `test` and the other
callers of load.py never ask for this).

A new check must be placed here too: `judged` lists every name of `ORDER` it runs (a
name missing there fails tests/unit/test_split_check.py), and a check that reads more of
a flow than its summary holds either adds that to the summary or makes such flows read
in this process (`_NOT_ALONE`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple, cast

from pydantic import BaseModel

from pageflows.rules import model as m
from pageflows.rules.build import build_flow
from pageflows.rules.checks import (
    ORDER,
    TagPolicy,
    TokenRule,
    conditions,
    fields,
    limits,
    silence,
    structure,
    times,
    titles,
    triggers,
)
from pageflows.rules.checks import _checks as checks_named
from pageflows.rules.diagnostics import Diagnostic
from pageflows.rules.lex_ahead import Ahead
from pageflows.rules.page_facts import PageFacts
from pageflows.rules.parse import decode, parse_bytes
from pageflows.rules.second_core import Child, can_fork, findings_from_plain, plain_findings
from pageflows.rules.source import SourceFile, Span
from pageflows.rules.walk import nodes, shared_walks, walk_flow

# Below this many bytes of flows, one process reads them as fast as two.
FROM_BYTES = 256_000
# This process's share of the bytes: the first files. It judges the whole afterwards
# (the keyword index and its shadows: about a fifth of the work), so it takes less.
SHARE_HERE = 0.45
# The checks the child runs on each flow it sums up; the others find nothing in such a
# flow (policy, templates, promotional, notifications, asks, times: none of what they
# read is there) or read every flow (triggers, fields; structure's unreachable steps).
IN_THE_CHILD = ("structure", "limits", "titles", "silence", "conditions")
# Nodes a summed-up flow has none of, wherever they sit: what the checks that run here
# on all the flows read of a flow beyond its summary (policy, templates, promotional,
# notifications, asks, times, conditions' numbers).
_NOT_ALONE = frozenset(
    {
        m.After,
        m.Ask,
        m.SendTemplate,
        m.RequestNotifications,
        m.Broadcast,
        m.Compare,
        m.FieldEquals,
    }
)

Empty = Callable[[m.Flow], list[Diagnostic]]


class Summed(NamedTuple):
    """A flow the child checked, as the checks of all the flows read it."""

    path: str
    name: str
    built: list[Diagnostic]  # what reading and building it found
    found: dict[str, list[Diagnostic]]  # the child's checks' findings (IN_THE_CHILD)
    steps: structure.Steps
    reached: list[tuple[str, str]]
    triggers: list[triggers.Facts]
    uses: list[fields.Use]
    saved: list[str]
    stored: list[str]


class Split:
    """The child reading the last files; `summed` waits for what it sent back."""

    def __init__(self, child: Child, paths: list[str]) -> None:
        self.child = child
        self.paths = paths

    def summed(self) -> dict[str, Summed] | None:
        """Its flows by path (those it sent back in summary), or None if it gave nothing."""
        answer = self.child.answer()
        if answer is None:
            return None
        return cast(dict[str, Summed], answer)

    def close(self) -> None:
        self.child.close()


def started(
    texts: dict[str, bytes],
    ahead: Ahead,
    as_of: date,
    empty: Empty,
) -> Split | None:
    """The child for the last files of ``texts``, or None where one is not worth it or
    not safe (few bytes, one file, two files of one name, no fork)."""
    paths = list(texts)
    total = sum(len(data) for data in texts.values())
    names = [Path(path).stem for path in paths]
    if total < FROM_BYTES or len(paths) < 2 or len(set(names)) < len(names):
        return None
    if not can_fork():
        return None
    taken, start = 0, 0
    while start < len(paths) - 1 and taken + len(texts[paths[start]]) <= total * SHARE_HERE:
        taken += len(texts[paths[start]])
        start += 1
    start = max(start, 1)
    mine = paths[start:]
    ahead.collect()  # the lexing child's pieces, for both processes
    job = _job(mine, texts, ahead, as_of, empty)
    return Split(Child(job, _to_plain, _from_plain), mine)


def _job(
    paths: list[str], texts: dict[str, bytes], ahead: Ahead, as_of: date, empty: Empty
) -> Callable[[], list[tuple[Any, ...]]]:
    def run() -> list[tuple[Any, ...]]:  # in the child
        built: list[tuple[str, m.Flow, list[Diagnostic]]] = []
        for path in paths:
            ahead.before(path)
            flow, found = build_flow(parse_bytes(path, texts[path]), Path(path).stem)
            built.append((path, flow, found or empty(flow)))
        return [summed_up(path, flow, found, as_of) for path, flow, found in built]

    return run


def summed_up(path: str, flow: m.Flow, built: list[Diagnostic], as_of: date) -> tuple[Any, ...]:
    """``flow`` summed up (as `Summed`, in plain values), or (path,) if the checks of all
    the flows need more of it than a summary holds."""
    if flow.unread_lines or flow.unread_steps or flow.broadcasts:
        return (path,)
    every = nodes(flow)
    if not _NOT_ALONE.isdisjoint(map(type, every)):
        return (path,)
    alone = [flow]
    with shared_walks(alone):
        if not _own_targets(flow):
            return (path,)
        local, reached = structure.within(alone, {flow.name: flow})
        found = {
            "structure": local,
            "limits": limits.check(alone),
            "titles": titles.check(alone),
            "silence": silence.check(alone, as_of),
            # no ask and no comparison here: only the typing indicators to judge
            "conditions": conditions.typing_before_nothing(alone),
        }
        stored = times.stored_fields(alone)
    return (
        path,
        flow.name,
        plain_findings(built),
        {name: plain_findings(found[name]) for name in IN_THE_CHILD},
        [(step.name, tuple(step.span)) for step in flow.steps],
        sorted(reached),
        [_plain_facts(triggers.facts(block.trigger)) for block in flow.triggers],
        [(kind, name, tuple(where), holes) for kind, name, where, holes in fields.uses(every)],
        sorted(fields.saved_fields(alone, every)),
        sorted(stored),
    )


def _plain_facts(facts: triggers.Facts) -> tuple[Any, ...]:
    return (*facts[:4], tuple(facts.span), facts.by_ref)


def _to_plain(answer: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return answer


def _from_plain(answer: Any) -> dict[str, Summed]:
    """The child's answer: its summed-up flows by path (a malformed one raises, and the
    answer is dropped: second_core.Child reads a KeyError, ValueError or TypeError so)."""
    summed: dict[str, Summed] = {}
    for item in answer:
        if len(item) == 1:
            continue
        path, name, built, found, steps, reached, facts, uses, saved, stored = item
        step_names = tuple(structure.StepName(step, Span(*span)) for step, span in steps)
        summed[path] = Summed(
            path,
            name,
            findings_from_plain(built),
            {check: findings_from_plain(found[check]) for check in IN_THE_CHILD},
            structure.Steps(name, path, step_names),
            [(flow, step) for flow, step in reached],
            [
                triggers.Facts(kind, mode, tuple(phrases), key, Span(*span), by_ref)
                for kind, mode, phrases, key, span, by_ref in facts
            ],
            [(kind, text, Span(*where), holes) for kind, text, where, holes in uses],
            list(saved),
            list(stored),
        )
    return summed


# The checks that read one flow at a time (whatever else is loaded with it), run on the
# flows built here as they are built; the others read all the flows (structure's targets
# and steps, triggers' keywords, fields, conditions' asks, the fields a follow-up's date
# is stored in: policy, times) and run once every flow is known.
ALONE = ("limits", "templates", "promotional", "notifications", "titles", "silence", "asks")


class Here:
    """The flows built in this process, with what was found in them so far: the checks
    of one flow at a time, and what the checks of all the flows read of each (as the
    child sums its flows up), made while the child works."""

    def __init__(self) -> None:
        self.flows: dict[str, m.Flow] = {}
        self.every: dict[str, list[BaseModel]] = {}
        self.alone: dict[str, list[Diagnostic]] = {name: [] for name in ALONE}
        self.uses: dict[str, list[fields.Use]] = {}
        self.saved: set[str] = set()
        self.facts: dict[str, list[triggers.Facts]] = {}
        # structure's findings of a flow's own blocks and the steps it reaches, for a
        # flow whose targets are its own and that has no broadcast (names unique: its
        # own targets then need no other flow); the others' wait for every flow
        self.within: dict[str, tuple[list[Diagnostic], set[tuple[str, str]]]] = {}
        # the keyword shadows of the first triggers in the program's order, when the
        # first flows by path are all here (the winner of a keyword is an earlier one)
        self.shadows = triggers.Shadows()

    def add(
        self,
        flows: dict[str, m.Flow],
        as_of: date,
        tag_policy: TagPolicy,
        known: tuple[PageFacts, ...],
        tokens: TokenRule | None,
    ) -> None:
        """``flows`` (by path) built here: the checks of one flow at a time run now."""
        group = list(flows.values())
        with shared_walks(group):
            found = checks_named(ALONE, group, as_of, tag_policy, known, tokens)
            for path, flow in flows.items():
                every = self.every[path] = nodes(flow)
                self.uses[path] = fields.uses(every)
                self.saved |= fields.saved_fields([flow], every)
                self.facts[path] = [triggers.facts(block.trigger) for block in flow.triggers]
                if not flow.broadcasts and _own_targets(flow):
                    self.within[path] = structure.within([flow], {flow.name: flow})
        for name in ALONE:
            self.alone[name] += found[name]
        self.flows.update(flows)

    def judge_first_keywords(self, order: list[str]) -> None:
        """The shadows of this process's keywords judged now, if its flows are the first
        by path (a folder's files, read in order, are): the others' cannot win over them."""
        by_path = sorted(order)
        if set(by_path[: len(self.flows)]) != set(self.flows):
            return
        for path in by_path[: len(self.flows)]:
            self.shadows.add(self.facts[path])


def _own_targets(flow: m.Flow) -> bool:
    """Every goto and quick reply of ``flow`` leads to a step of its own."""
    for action, _ in walk_flow(flow):
        for target in structure.targets_of(action):
            if target.flow is not None and target.flow != flow.name:
                return False
    return True


def judged(
    order: list[str],
    here: Here,
    summed: dict[str, Summed],
    as_of: date,
    tag_policy: TagPolicy,
    known: tuple[PageFacts, ...],
    tokens: TokenRule | None,
) -> list[Diagnostic]:
    """Every check's findings, in `ORDER`, for the flows built here and those the child
    summed up; ``order``: every path, in the order of the files."""
    flows = here.flows
    full = [flows[path] for path in order if path in flows]
    every_flow: list[m.Flow | structure.Steps] = [
        flows[path] if path in flows else summed[path].steps for path in order
    ]
    stored = frozenset(field for s in summed.values() for field in s.stored)
    every = [node for path in order if path in flows for node in here.every[path]]
    later = [flows[path] for path in order if path in flows and path not in here.within]
    with shared_walks(full):
        found = checks_named(
            ("policy", "conditions", "times"),
            full,
            as_of,
            tag_policy,
            known,
            tokens,
            every=every,
            stored_elsewhere=stored,
        )
        local, reached = structure.within(later, {flow.name: flow for flow in every_flow})
    found.update(here.alone)
    for path in order:
        if path in here.within:
            local += here.within[path][0]
            reached |= here.within[path][1]
    for s in summed.values():
        reached.update(s.reached)
    unread = any(flow.unread_lines for flow in full)
    found["structure"] = (
        structure.same_names(every_flow)
        + local
        + [d for s in summed.values() for d in s.found["structure"]]
        + structure.unreachable(every_flow, reached, unread)
    )
    # The program's order: the flows sorted by path (compile.py), each one's triggers.
    facts: list[triggers.Facts] = []
    for path in sorted(order):
        facts += here.facts[path] if path in flows else summed[path].triggers
    found["triggers"] = triggers.check_facts(facts, unread, here.shadows)
    uses: list[fields.Use] = []
    saved = set(here.saved)
    for path in order:
        if path in flows:
            uses += here.uses[path]
        else:
            uses += summed[path].uses
            saved.update(summed[path].saved)
    found["fields"] = fields.check_uses(uses, saved)
    for s in summed.values():
        for name in IN_THE_CHILD:
            if name != "structure":
                found[name] = found[name] + s.found[name]
    return [d for name in ORDER for d in found[name]]


def source_of(path: str, data: bytes) -> SourceFile | None:
    """The file as parse.py decodes it, for the findings' context (a summed-up flow's
    file decoded, so this is never None for one)."""
    source, _ = decode(path, data)
    return source
