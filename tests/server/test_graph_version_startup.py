"""The Graph API version at start: `serve` and `worker` refuse an ended one, warn 90 days ahead.

Judged on the clock's day: the CLI takes a FakeClock through click's `obj`, as
`pageflows check` does. Refusals return before anything listens (CliRunner);
a server that starts with a warning runs as a subprocess.
"""

from __future__ import annotations

import logging
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from test_server_startup import start, started, stop  # noqa: F401 (a fixture)

from pageflows.cli import main
from pageflows.clock import FakeClock

V21_END = datetime(2027, 1, 21, 9, 0, tzinfo=UTC)
TODAY = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("PAGEFLOWS_") and not name.startswith("PAGEFLOWS_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "hello.flow").write_text('on keyword "hi":\n    send "hello"\n', "utf-8")
    return folder


def run(command: str, flows: Path, moment: datetime, env: dict[str, str]) -> Result:
    args = [command, str(flows), "--sandbox", "--config", str(flows / "none.toml")]
    return CliRunner().invoke(main, args, env=env, obj=FakeClock(moment))


@pytest.mark.parametrize("command", ["serve", "worker"])
@pytest.mark.parametrize(
    ("moment", "env"),
    [
        (V21_END, {"PAGEFLOWS_GRAPH_VERSION": "v21.0"}),  # the end date itself
        (V21_END.replace(day=22), {"PAGEFLOWS_GRAPH_VERSION": "v21.0"}),  # the day after
        (V21_END, {"PAGEFLOWS_GRAPH_URL": "https://graph.facebook.com/v21.0"}),  # the old form
        (TODAY, {"PAGEFLOWS_GRAPH_VERSION": "v20.0"}),
    ],
)
def test_an_ended_version_refuses_to_start_in_one_line(
    flows: Path, command: str, moment: datetime, env: dict[str, str]
) -> None:
    result = run(command, flows, moment, env)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    (line,) = result.output.strip().splitlines()
    version = "v20.0" if "v20.0" in env.values() else "v21.0"
    end = "2026-09-24" if version == "v20.0" else "2027-01-21"
    assert line == (
        f"Error: cannot start: Graph API {version} ended on {end} (Graph changelog, updated"
        " 2026-10-29); move to v25.0 (set PAGEFLOWS_GRAPH_VERSION=v25.0 or graph_version in"
        " pageflows.toml)."
    )


def test_an_ending_version_starts_with_a_warning_line(
    flows: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The day before the end: the version check passes (the run stops later, at the
    database), having logged when the version ends and where to move."""
    env = {"PAGEFLOWS_GRAPH_VERSION": "v21.0", "PAGEFLOWS_DATABASE_URL": "mysql://u@h/x"}
    with caplog.at_level(logging.WARNING, logger="pageflows"):
        result = run("worker", flows, V21_END.replace(day=20), env)
    assert result.exit_code == 1 and "mysql" in result.output
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "Graph API v21.0 ends on 2027-01-21, in 1 day (Graph changelog, updated 2026-10-29);"
        " move to v25.0 (set PAGEFLOWS_GRAPH_VERSION=v25.0 or graph_version in pageflows.toml)."
    ]


def test_the_default_version_starts_without_a_word_about_it(
    flows: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = {"PAGEFLOWS_DATABASE_URL": "mysql://u@h/x"}
    with caplog.at_level(logging.WARNING, logger="pageflows"):
        result = run("worker", flows, TODAY, env)
    assert result.exit_code == 1 and "mysql" in result.output
    assert not [r for r in caplog.records if "Graph API" in r.getMessage()]


def test_sandbox_serve_runs_on_a_version_not_in_the_table_and_says_so(
    flows: Path,
    tmp_path: Path,
    started: list[subprocess.Popen[str]],  # noqa: F811
) -> None:
    env = {
        "PAGEFLOWS_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "PAGEFLOWS_GRAPH_VERSION": "v28.0",
    }
    process, _ = start(started, [str(flows), "--sandbox"], env, tmp_path)
    output = stop(process)
    assert "WARNING Graph API v28.0 is not in pageflows' table" in output
    assert "sandbox mode" in output


# ------------------------------------------------------------ pageflows check


def check(tmp_path: Path, toml: str | None, *args: str) -> Result:
    flow = tmp_path / "hello.flow"
    flow.write_text('on keyword "hi":\n    send "hello"\n', "utf-8")
    if toml is not None:
        (tmp_path / "pageflows.toml").write_text(toml, "utf-8")
    return CliRunner().invoke(main, ["check", str(flow), *args], obj=FakeClock(TODAY))


def test_check_warns_about_the_version_of_the_pageflows_toml_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    ending = check(tmp_path, 'graph_version = "v21.0"\n')
    assert ending.exit_code == 0
    assert ending.stdout.startswith(
        "pageflows.toml:1:1: warning[PF409 graph-version-ending]:"
        " Graph API v21.0 ends on 2027-01-21"
    )
    assert ending.stdout.endswith("1 file checked: 0 errors, 1 warning\n")
    ended = check(
        tmp_path, 'graph_url = "https://graph.facebook.com/v21.0"\n', "--as-of", "2027-01-21"
    )
    assert ended.exit_code == 1
    assert "error[PF318 graph-version-ended]: Graph API v21.0 ended on 2027-01-21" in ended.stdout
    fine = check(tmp_path, 'graph_version = "v25.0"\n')
    assert (fine.stdout, fine.stderr) == ("1 file checked: no problems\n", "")
    bad_region = check(tmp_path, '[[pages]]\nid = "1"\nregion = "XX"\n')
    assert bad_region.exit_code == 1
    assert "region is 'XX'" in bad_region.stderr


def test_check_names_the_environment_when_it_sets_the_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PAGEFLOWS_GRAPH_VERSION", "v21.0")
    ending = check(tmp_path, 'graph_version = "v25.0"\n')  # the environment wins
    assert ending.stdout.startswith(
        "PAGEFLOWS_GRAPH_VERSION:1:1: warning[PF409 graph-version-ending]:"
    ), ending.stdout
    assert 'set PAGEFLOWS_GRAPH_VERSION="v25.0"' in ending.stdout


def test_check_without_a_pageflows_toml_says_nothing_of_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = check(tmp_path, None)
    assert (result.exit_code, result.stderr) == (0, "")
