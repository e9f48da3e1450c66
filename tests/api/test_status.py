"""`pageflows status`, GET /api/status and /healthz: a paused page, with what to do.

The page's token dies at Facebook (the simulator); the service pauses the
page on the first refused send, and every view says so, with the reason and
the way out, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from service_world import PAGE, START, running_world
from sqlalchemy.orm import Session

from pageflows.cli import main
from pageflows.clock import FakeClock
from pageflows.service.storage.models import BroadcastRun

FLOW = 'on keyword "hi":\n    send "Hello"\n'


def test_a_paused_page_is_shown_everywhere_with_what_to_do(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAGEFLOWS_DATABASE_URL", database_url)
    with running_world(database_url, tmp_path, FLOW) as world:
        world.start()
        world.register(world.url, "another-token")  # Facebook no longer takes ours
        for psid in ("s-1", "s-2"):
            world.sim.control.say("hi", psid=psid)
        world.settle()
        assert world.service is not None
        # A broadcast an operator started, still going through its contacts.
        with Session(world.service.engine) as session, session.begin():
            session.add(
                BroadcastRun(
                    page_id=PAGE, name="winter", started_at=START, contacts=2,
                    status="running", requested="operator",
                )
            )  # fmt: skip

        health = world.health()
        assert health["status"] == "degraded"
        assert health["paused_pages"][0]["page"] == PAGE
        assert health["paused_pages"][0]["reason"] == "token_invalid"

        report = world.api("GET", "/status").json()
        (page,) = report["pages"]
        assert (page["id"], page["state"], page["reason"]) == (PAGE, "paused", "token_invalid")
        assert "new token" in page["what_to_do"]
        assert (page["queued"], page["failed"]) == (2, 0)
        assert report["outbox"]["queued"] == 2 and report["outbox"]["failed"] == 0
        assert [(b["name"], b["requested"]) for b in report["broadcasts_running"]] == [
            ("winter", "operator")
        ]
        assert report["heartbeats"] == []  # the test steps the worker; no process beats
        assert any("paused" in p for p in report["problems"])
        assert world.token not in world.api("GET", "/status").text

        result = CliRunner().invoke(main, ["status"], obj=FakeClock(START + timedelta(hours=1)))
        assert result.exit_code == 1, result.output
        lines = result.output.splitlines()
        # No pageflows.toml here: the page is known from the database, by id only.
        assert lines[0] == f"page {PAGE}: PAUSED, token_invalid: Invalid OAuth access token."
        assert lines[1].startswith("  what to do: give the page a new token")
        assert "  2 queued, 0 failed" in lines
        assert "broadcast winter on page 104123456789012: running since" in result.output
        assert "workers: none has reported" in lines
        as_json = CliRunner().invoke(main, ["status", "--json"], obj=FakeClock(START))
        assert '"state": "paused"' in as_json.output


def test_status_of_a_page_that_sends(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAGEFLOWS_DATABASE_URL", database_url)
    with running_world(database_url, tmp_path, FLOW) as world:
        world.start()
        world.sim.control.say("hi", psid="s-ok")
        world.settle()
        (page,) = world.api("GET", "/status").json()["pages"]
        assert (page["state"], page["queued"], page["failed"]) == ("sending", 0, 0)
        (same,) = world.api("GET", f"/status?page={page['id']}").json()["pages"]
        assert same == page
        unknown = world.api("GET", "/status?page=999")
        assert unknown.status_code == 404 and unknown.json()["pages"] == [page["id"]]
        assert world.health()["paused_pages"] == []
        result = CliRunner().invoke(main, ["status"], obj=FakeClock(START))
        # No worker process beats in this test: that is a problem, so exit 1 with its line.
        assert result.exit_code == 1
        first = result.output.splitlines()[0]
        assert first == f"page {PAGE}: token fine, sending; 0 queued, 0 failed"
        assert "problem: no worker process has reported" in result.output
