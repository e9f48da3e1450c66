"""How the Broadcasts page names a broadcast's state, from what the service lists.

`state_of` reads one entry of `broadcasts.list_broadcasts` (its shape, below:
the keys the service writes) and a time; each state a person can meet is here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pageflows.console.broadcasts import state_of

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def listed(run: dict[str, Any] | None, send_at: str, **more: Any) -> dict[str, Any]:
    return {
        "name": "news",
        "send_at": send_at,
        "local_time": "2026-12-24 09:00 UTC",
        "when": "at 2026-12-24 09:00 UTC",
        "run": run,
        **more,
    }


def run(status: str) -> dict[str, Any]:
    started = "2026-11-28T08:00:00+00:00"
    return {"status": status, "requested": "schedule", "started_at": started, "contacts": 4}


def test_each_state_a_person_can_meet() -> None:
    future, past = "2026-12-24T09:00:00+00:00", "2026-11-20T09:00:00+00:00"
    assert state_of(listed(None, future), NOW) == {
        "badge": "scheduled",
        "line": "scheduled for 2026-12-24 09:00 UTC",
    }
    assert state_of(listed(None, past), NOW)["badge"] == "not started"
    assert state_of(listed(run("enumerating"), past), NOW)["badge"] == "running"
    going = state_of(listed(run("running"), past), NOW)
    assert going["badge"] == "running" and "4 contact(s)" in going["line"]
    assert state_of(listed(run("done"), past), NOW)["badge"] == "done"
    late = state_of(listed(run("too_late"), past), NOW)
    assert late["badge"] == "too late" and "you may still send it" in late["line"]


def test_a_recurring_broadcast_says_its_next_run_and_its_latest() -> None:
    when = "every friday at 10:00 Europe/Paris (next 2026-12-04 10:00 Europe/Paris)"
    fresh = listed(None, "2026-12-04T09:00:00+00:00", every="every friday", when=when)
    assert state_of(fresh, NOW) == {"badge": "recurring", "line": when}
    ran = listed(
        run("done"),
        "2026-12-04T09:00:00+00:00",
        every="every friday",
        when=when,
        run_name="news@2026-11-27T09:00Z",
    )
    shown = state_of(ran, NOW)
    assert shown["badge"] == "done"
    assert shown["line"].startswith(when + ". Latest run, news@2026-11-27T09:00Z: done;")
