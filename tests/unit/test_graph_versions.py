"""Graph API versions by date: the edges where a verdict changes, and the table itself."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from pageflows.engine.graph_versions import (
    DEFAULT_VERSION,
    SOURCE,
    VERSIONS,
    find,
    recommended,
    version_status,
)

TODAY = date(2026, 11, 28)
V21_END = date(2027, 1, 21)
D = timedelta(days=1)


@pytest.mark.parametrize(
    ("version", "on", "state"),
    [
        # 90 days before the end is the first day of the warning; 91 days is still fine
        ("v21.0", V21_END - 91 * D, "ok"),
        ("v21.0", V21_END - 90 * D, "ending"),
        ("v21.0", V21_END - D, "ending"),
        # the end date itself counts as ended, and so does every day after it
        ("v21.0", V21_END, "ended"),
        ("v21.0", V21_END + D, "ended"),
        ("v21.0", TODAY, "ending"),  # 54 days left on 2026-11-28
        ("v19.0", TODAY, "ended"),
        ("v20.0", TODAY, "ended"),
        ("v20.0", date(2026, 9, 23), "ending"),  # the day before it ended
        ("v22.0", TODAY, "ok"),
        ("v25.0", TODAY, "ok"),
        ("v26.0", TODAY, "ok"),  # no announced end: not ending
        ("v27.0", date(2040, 1, 1), "ok"),
        ("v18.0", TODAY, "ended"),  # older than the table: ended before v19.0
        ("v2.12", TODAY, "ended"),
        ("v28.0", TODAY, "unknown"),  # newer than the table
        ("v21.1002", TODAY, "unknown"),
        ("latest", TODAY, "unknown"),
    ],
)
def test_the_state_of_a_version_on_a_day(version: str, on: date, state: str) -> None:
    assert version_status(version, on).state == state


def test_ending_and_ended_name_the_date_and_the_version_to_move_to() -> None:
    ending = version_status("v21.0", TODAY)
    assert ending.message == (
        f"Graph API v21.0 ends on 2027-01-21, in 54 days ({SOURCE}); move to v25.0."
    )
    assert (ending.until, ending.move_to) == (V21_END, "v25.0")
    ended = version_status("v21.0", V21_END)
    assert ended.message == f"Graph API v21.0 ended on 2027-01-21 ({SOURCE}); move to v25.0."
    assert version_status("v21.0", V21_END - D).message.startswith(
        "Graph API v21.0 ends on 2027-01-21, in 1 day ("
    )


def test_ok_unknown_and_older_versions_say_so_in_one_sentence() -> None:
    assert version_status("v25.0", TODAY).message == "Graph API v25.0 is served until 2028-07-29."
    assert "no announced end date" in version_status("v27.0", TODAY).message
    assert "not in pageflows' table" in version_status("v28.0", TODAY).message
    assert "'latest' is not a Graph API version" in version_status("latest", TODAY).message
    older = version_status("v18.0", TODAY)
    assert older.message.startswith("Graph API v18.0 ended before v19.0 did on 2026-05-21")
    assert older.move_to == "v25.0"
    for verdict in (older, version_status("v21.0", TODAY), version_status("v28.0", TODAY)):
        assert "\n" not in verdict.message and verdict.message.endswith(".")


def test_the_default_is_served_today_and_far_beyond() -> None:
    assert DEFAULT_VERSION == "v25.0"
    assert version_status(DEFAULT_VERSION, TODAY).ok
    assert recommended(TODAY) == "v25.0"


def test_once_the_default_is_ending_the_newest_lasting_version_is_recommended() -> None:
    v25_end = date(2028, 7, 29)
    assert recommended(v25_end - 91 * D) == "v25.0"
    assert recommended(v25_end - 90 * D) == "v27.0"
    assert version_status("v25.0", v25_end - 90 * D).move_to == "v27.0"


def test_the_table_is_in_order_and_matches_the_fact_pack() -> None:
    assert [v.name for v in VERSIONS] == [f"v{n}.0" for n in range(19, 28)]
    assert all(a.released < b.released for a, b in itertools.pairwise(VERSIONS))
    ends = [v.until for v in VERSIONS if v.until is not None]
    assert ends == sorted(ends)
    # send-api.md, first paragraph (Graph changelog, updated 2026-10-29)
    until = {v.name: v.until for v in VERSIONS}
    assert [until[f"v{n}.0"] for n in range(21, 28)] == [
        date(2027, 1, 21),
        date(2027, 5, 20),
        date(2027, 10, 8),
        date(2028, 2, 18),
        date(2028, 7, 29),
        None,
        None,
    ]
    v27 = find("v27.0")
    assert v27 is not None and v27.released == date(2026, 11, 4)


def test_the_simulator_and_the_transport_follow_the_default() -> None:
    """The simulator may not import the engine: its own copy of the default must agree."""
    from pageflows.service.graph.transport import DEFAULT_GRAPH_URL
    from pageflows.simulator.harness import DEFAULT_VERSION as SIMULATOR_VERSION

    assert SIMULATOR_VERSION == DEFAULT_VERSION
    assert DEFAULT_GRAPH_URL.endswith(f"/{DEFAULT_VERSION}")
