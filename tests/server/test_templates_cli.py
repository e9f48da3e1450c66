"""`pageflows templates sync` and `list` as an operator runs them, on SQLite and PostgreSQL.

The Graph API is tests/templates_stub.py on a real socket until the simulator
serves `/{page-id}/message_templates` (branch sim-2026).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from templates_stub import Stub, running_stub, template

from pageflows.cli import main
from pageflows.clock import FakeClock
from pageflows.service.config import PageConfig
from pageflows.service.storage.database import make_engine
from pageflows.service.storage.templates import load_page_facts

SHOP, CAFE = "104123456789012", "104999999999999"
NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("PAGEFLOWS_") and not name.startswith("PAGEFLOWS_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture
def stub() -> Iterator[Stub]:
    with running_stub() as stub:
        stub.page(
            SHOP,
            "shop-token",
            [
                template("order_shipped"),
                template("order_shipped", language="de_DE"),
                template("appointment", "PAUSED", body="See you at {{1}}", buttons=()),
                template("refund"),
                template("receipt", buttons=("PHONE_NUMBER", "URL")),
            ],
        )
        stub.page(CAFE, "cafe-token", [])
        yield stub


def config(tmp_path: Path, stub: Stub, database_url: str, cafe_token: str = "cafe-token") -> str:
    path = tmp_path / "pageflows.toml"
    path.write_text(
        f'database_url = "{database_url}"\n'
        f'graph_url = "{stub.url()}"\n'
        f'[[pages]]\nid = "{SHOP}"\ntoken = "shop-token"\n'
        '[[pages.templates]]\nname = "welcome_back"\nbody = "Welcome back {{1}}"\n'
        f'[[pages]]\nid = "{CAFE}"\ntoken = "{cafe_token}"\n',
        "utf-8",
    )
    return str(path)


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["templates", *args], obj=FakeClock(NOW))


def test_sync_stores_each_pages_templates_and_says_what_it_found(
    tmp_path: Path, stub: Stub, database_url: str
) -> None:
    path = config(tmp_path, stub, database_url)
    result = run("sync", "--config", path)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"page {SHOP}: 5 templates (4 APPROVED, 1 PAUSED)",
        f"page {CAFE}: 0 templates",
    ]
    facts = load_page_facts(make_engine(database_url), PageConfig(id=SHOP, token=""))
    paused = facts.template("appointment", "en_US")
    assert paused is not None and (paused.status, paused.parameters) == ("PAUSED", 1)

    stub.templates[SHOP] = stub.templates[SHOP][:3]
    again = run("sync", "--config", path, "--page", SHOP)
    assert again.stdout.splitlines() == [
        f"page {SHOP}: 3 templates (2 APPROVED, 1 PAUSED); 2 no longer listed by Facebook,"
        " marked DELETED"
    ]


def test_a_page_that_fails_is_one_line_the_others_still_sync_and_the_exit_is_1(
    tmp_path: Path, stub: Stub, database_url: str
) -> None:
    path = config(tmp_path, stub, database_url, cafe_token="expired")
    result = run("sync", "--config", path)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stdout == f"page {SHOP}: 5 templates (4 APPROVED, 1 PAUSED)\n"
    assert result.stderr == (
        f"page {CAFE}: cannot read its templates: Invalid OAuth access token."
        " (Graph error 190); replace the page token\n"
    )


def test_sync_of_an_unknown_page_or_without_pages_is_one_line(
    tmp_path: Path, stub: Stub, database_url: str
) -> None:
    path = config(tmp_path, stub, database_url)
    unknown = run("sync", "--config", path, "--page", "42")
    assert unknown.exit_code == 1
    assert unknown.output == (f"Error: no page 42 is configured (configured: {SHOP}, {CAFE})\n")
    none = run("sync", "--config", str(tmp_path / "none.toml"))
    assert none.exit_code == 1 and none.output.startswith("Error: not set: PAGEFLOWS_PAGE_ID")


def test_facebook_unreachable_is_one_line_per_page(tmp_path: Path, database_url: str) -> None:
    path = tmp_path / "pageflows.toml"
    path.write_text(
        f'database_url = "{database_url}"\ngraph_url = "http://127.0.0.1:9"\n'
        f'[[pages]]\nid = "{SHOP}"\ntoken = "t"\n',
        "utf-8",
    )
    result = run("sync", "--config", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"page {SHOP}: cannot read its templates: GET http://127.0.0.1:9/v25.0/{SHOP}/"
        "message_templates: ConnectionError"
    )
    assert "token=t" not in result.output


def test_list_shows_declared_and_synced_templates_as_the_engine_sees_them(
    tmp_path: Path, stub: Stub, database_url: str
) -> None:
    path = config(tmp_path, stub, database_url)
    before = run("list", "--config", path)
    assert before.stdout.splitlines() == [
        "page             name          language  status    parameters  buttons  updated",
        f"{SHOP}  welcome_back  en_US     APPROVED  1           -        declared",
    ]
    run("sync", "--config", path)
    after = run("list", "--config", path, "--page", SHOP)
    lines = after.stdout.splitlines()
    assert lines[0].split() == [
        "page", "name", "language", "status", "parameters", "buttons", "updated",
    ]  # fmt: skip
    assert [line.split()[1:6] for line in lines[1:]] == [
        ["welcome_back", "en_US", "APPROVED", "1", "-"],
        ["appointment", "en_US", "PAUSED", "1", "-"],
        ["order_shipped", "de_DE", "APPROVED", "2", "URL"],
        ["order_shipped", "en_US", "APPROVED", "2", "URL"],
        ["receipt", "en_US", "APPROVED", "2", "PHONE_NUMBER,URL"],
        ["refund", "en_US", "APPROVED", "2", "URL"],
    ]
    assert lines[2].endswith("2026-11-28 09:30 UTC")


def test_list_with_nothing_declared_or_stored_says_how_to_get_templates(
    tmp_path: Path, database_url: str
) -> None:
    path = tmp_path / "pageflows.toml"
    path.write_text(f'database_url = "{database_url}"\n', "utf-8")
    result = run("list", "--config", str(path))
    assert result.exit_code == 0
    assert result.stdout.startswith("no templates: declare them under [[pages.templates]]")
