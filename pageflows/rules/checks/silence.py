"""Flows that leave the contact without an answer, or send nothing at all.

issue 12: B. Two cases that check clean but leave someone waiting:

* a quick reply or button whose reaction only saves (`-> set source = "ig"`,
  `-> tag "vip"`, `-> untag "x"`): the engine runs the reaction and nothing
  after it (engine/run.py `Run.tap`; no trigger runs for a tap of ours), so the
  contact taps and hears nothing;
* a broadcast whose time is already past on the day checked: the service sends
  a broadcast at most a day late (service/worker.py LATE_BROADCAST), so it will
  never go out.
"""

from __future__ import annotations

from datetime import date, datetime

from pageflows.rules import model as m
from pageflows.rules.diagnostics import Code, Diagnostic, warning
from pageflows.rules.walk import Tap, taps, walk_flow

# build.py gives a broadcast whose time does not read this placeholder (and PF117).
UNREADABLE_TIME = datetime(2000, 1, 1)


def check(flows: list[m.Flow], as_of: date) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for flow in flows:
        for action, _where in walk_flow(flow):
            silent = [tap for tap in taps(action) if not isinstance(tap.reaction, m.Goto)]
            if silent:
                found.append(_silent(silent))
        found += [_past(cast, as_of) for cast in flow.broadcasts if _is_past(cast, as_of)]
    return found


def _silent(silent: list[Tap]) -> Diagnostic:
    """One finding per message, at its first silent tap: the fix is the same for each."""
    tap = silent[0]
    reaction = tap.reaction
    assert reaction is not None  # taps() yields only what runs a reaction
    if isinstance(reaction, m.SetField):
        does = f"saves {reaction.field}"
        line = f'set {reaction.field} = "{reaction.value.raw}"'
    else:
        word = "untag" if isinstance(reaction, m.RemoveTag) else "tag"
        name = getattr(reaction, "name", "")
        does = f'{word}s "{name}"'
        line = f'{word} "{name}"'
    what = "button" if isinstance(tap, m.ReactButton) else "quick reply"
    others = ""
    if len(silent) > 1:
        titles = ", ".join(f'"{t.title}"' for t in silent[1:4])
        titles += "..." if len(silent) > 4 else ""
        others = f" ({len(silent) - 1} more here do the same: {titles})"
    step = _step_name(tap.title)
    return warning(
        Code.SILENT_TAP,
        reaction.span,
        f'tapping the {what} "{tap.title}" only {does}: nothing is sent back,'
        f" and the contact is left without an answer{others}",
        f"lead it to a step that does both, such as `-> {step}` with `step {step}:`,"
        f" `{line}` and a `send`",
    )


def _step_name(title: str) -> str:
    """A step name to suggest, made of the title's words: "A friend" -> chose_a_friend."""
    words = "".join(c if c.isalnum() else " " for c in title.casefold()).split()
    name = "_".join(words)[:30].strip("_")
    return f"chose_{name}" if name else "answer"


def _is_past(cast: m.Broadcast, as_of: date) -> bool:
    if cast.recurring:  # issue 12: time; `every friday` has no day of its own to pass
        return False
    send_at = getattr(cast, "send_at", None)  # a broadcast that repeats may have none
    if not isinstance(send_at, datetime) or cast.local_time == UNREADABLE_TIME:
        return False
    return send_at.date() < as_of


def _past(cast: m.Broadcast, as_of: date) -> Diagnostic:
    when = f"{cast.local_time:%Y-%m-%d %H:%M} {cast.timezone}"
    return warning(
        Code.PAST_BROADCAST,
        cast.span,
        f'broadcast "{cast.name}" was due at {when}, before {as_of:%Y-%m-%d}: if it has'
        " not gone out, it never will (pageflows sends a broadcast at most a day late)",
        "give it a date to come, or delete it; `pageflows broadcast send` sends one now",
    )
