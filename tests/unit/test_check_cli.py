"""`pageflows check`: what a marketer or a CI job sees, and the exit code it acts on."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pageflows.cli import main
from pageflows.clock import Clock, FakeClock, SystemClock

CLEAN = 'on keyword "hello":\n    send "Hi there!"\n'
WARNING_ONLY = CLEAN + '\nstep old_offer:\n    send "This offer has ended."\n'
ERROR = 'on keyword "hello":\n    sned "Hi there!"\n'
# A warning about one block alone (PF406), which a parse error elsewhere does not withhold.
LOCAL_WARNING = 'on keyword "bye":\n    stop\n    send "Bye!"\n'
ORDER_UPDATE = (
    'on keyword "order":\n'
    '    send "Thanks for your order!"\n'
    "    after 3d with tag POST_PURCHASE_UPDATE:\n"
    '        send "Your order has shipped."\n'
)
FIELDS = {"code", "name", "severity", "path", "line", "col", "end_line", "end_col", "message"}


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return str(path)


def run(*args: str, clock: Clock | None = None) -> Result:
    return CliRunner().invoke(main, ["check", *args], obj=clock)


def test_clean_flow_exits_0_and_says_no_problems(tmp_path: Path) -> None:
    result = run(write(tmp_path, "hello.flow", CLEAN))
    assert result.exit_code == 0
    assert result.stdout == "1 file checked: no problems\n"


def test_warnings_only_exit_0_with_the_findings_and_a_summary(tmp_path: Path) -> None:
    result = run(write(tmp_path, "hello.flow", WARNING_ONLY))
    assert result.exit_code == 0
    assert "warning[PF402 unreachable-step]" in result.stdout
    assert result.stdout.endswith("\n\n1 file checked: 0 errors, 1 warning\n")


def test_an_error_exits_1_and_points_at_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "hello.flow", ERROR)
    result = run(path)
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{path}:2:5: error[PF010 syntax]")
    assert 'did you mean "send"?' in result.stdout
    assert result.stdout.endswith("1 file checked: 1 error, 0 warnings\n")


def test_folders_are_searched_recursively_for_flow_files(tmp_path: Path) -> None:
    write(tmp_path, "a.flow", CLEAN)
    write(tmp_path, "nested/deeper/b.flow", ERROR)
    write(tmp_path, "nested/notes.txt", "not a flow")
    result = run(str(tmp_path))
    assert result.exit_code == 1
    assert "b.flow:2:5" in result.stdout
    assert result.stdout.endswith("2 files checked: 1 error, 0 warnings\n")


def test_json_format_is_a_list_of_findings_with_their_fields(tmp_path: Path) -> None:
    write(tmp_path, "a.flow", LOCAL_WARNING)
    write(tmp_path, "b.flow", ERROR)
    result = run(str(tmp_path), "--format", "json")
    assert result.exit_code == 1
    records = json.loads(result.stdout)
    assert isinstance(records, list)
    assert [(r["code"], r["severity"]) for r in records] == [
        ("PF406", "warning"),
        ("PF010", "error"),
    ]
    for record in records:
        assert set(record) >= FIELDS
        assert record["message"]
    assert records[1]["hint"] == 'did you mean "send"?'
    assert (records[1]["line"], records[1]["col"]) == (2, 5)


def test_json_format_of_a_clean_flow_is_an_empty_list(tmp_path: Path) -> None:
    result = run(write(tmp_path, "hello.flow", CLEAN), "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


def test_as_of_the_last_day_accepts_post_purchase_update(tmp_path: Path) -> None:
    result = run(write(tmp_path, "order.flow", ORDER_UPDATE), "--as-of", "2026-04-26")
    assert result.exit_code == 0
    assert result.stdout == "1 file checked: no problems\n"


def test_as_of_the_retirement_day_rejects_post_purchase_update(tmp_path: Path) -> None:
    result = run(write(tmp_path, "order.flow", ORDER_UPDATE), "--as-of", "2026-04-27")
    assert result.exit_code == 1
    assert "error[PF312 retired-tag]" in result.stdout
    assert "Facebook refuses POST_PURCHASE_UPDATE since 2026-04-27" in result.stdout
    assert ":3:23" in result.stdout


@pytest.mark.parametrize(
    ("now", "exit_code"),
    [
        (datetime(2026, 4, 26, 23, 59, tzinfo=UTC), 0),
        (datetime(2026, 4, 27, 0, 0, tzinfo=UTC), 1),
    ],
)
def test_without_as_of_the_day_comes_from_the_clock_in_utc(
    tmp_path: Path, now: datetime, exit_code: int
) -> None:
    result = run(write(tmp_path, "order.flow", ORDER_UPDATE), clock=FakeClock(now))
    assert result.exit_code == exit_code


@pytest.mark.parametrize("bad", ["2026-13-01", "tomorrow", "26-04-2026", "2026-4-1", ""])
def test_a_bad_as_of_is_a_one_line_usage_error(tmp_path: Path, bad: str) -> None:
    result = run(write(tmp_path, "hello.flow", CLEAN), "--as-of", bad)
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert "--as-of" in errors[0]
    assert "YYYY-MM-DD" in errors[0]
    assert "Traceback" not in result.output


def test_a_missing_path_is_a_clean_usage_error(tmp_path: Path) -> None:
    result = run(str(tmp_path / "nope.flow"))
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)
    assert "nope.flow" in result.output
    assert "does not exist" in result.output
    assert "Traceback" not in result.output


def test_no_path_checks_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """issue 12: B: like `pageflows test`, `check` alone checks the folder it runs in."""
    write(tmp_path, "hello.flow", CLEAN)
    write(tmp_path, "broken.flow", ERROR)
    monkeypatch.chdir(tmp_path)
    result = run("--as-of", "2026-11-24")
    assert result.exit_code == 1
    assert "broken.flow:2:5: error[PF010 syntax]" in result.stdout
    assert result.stdout.strip().endswith("2 files checked: 1 error, 0 warnings")


def test_no_path_in_a_folder_without_flows_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("--as-of", "2026-11-24")
    assert result.exit_code == 1
    assert "this folder has no .flow files" in result.stdout


def test_unreadable_content_is_a_finding_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "photo.flow"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xd8")
    result = run(str(path))
    assert result.exit_code == 1
    assert "error[PF001 not-text]" in result.stdout
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_fake_clock_moves_only_when_told() -> None:
    clock = FakeClock(datetime(2026, 4, 26, 12, 0, tzinfo=UTC))
    clock.advance(timedelta(hours=12))
    assert clock.now() == datetime(2026, 4, 27, 0, 0, tzinfo=UTC)
    clock.set(datetime(2026, 5, 1, 9, 0, tzinfo=UTC))
    assert clock.now().date() == date(2026, 5, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2026, 5, 1, 9, 0))


def test_system_clock_is_aware_utc() -> None:
    assert SystemClock().now().utcoffset() == timedelta(0)


# ------------------------------------------------------------------ issue 13: A: the exit


def _as_a_user_runs_it(folder: Path, *args: str) -> tuple[int, str, str]:
    """`pageflows check` in a process of its own, the command line read from sys.argv."""
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-c", "from pageflows.cli import main; main()", "check", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=folder,
    )
    return run.returncode, run.stdout, run.stderr


@pytest.mark.parametrize(
    ("text", "code"), [(CLEAN, 0), (WARNING_ONLY, 0), (ERROR, 1), (ERROR + "\n" + CLEAN, 1)]
)
def test_a_check_that_ends_at_once_says_and_exits_as_in_process(
    tmp_path: Path, text: str, code: int
) -> None:
    """The process ends without freeing its objects (LazyGroup.main): its output is all
    there, flushed, and its exit code is the command's, text and json both."""
    path = write(tmp_path, "a.flow", text)
    for fmt in ("text", "json"):
        args = ("--as-of", "2026-04-27", "--format", fmt, path)
        alone = _as_a_user_runs_it(tmp_path, *args)
        here = CliRunner().invoke(main, ["check", *args])
        assert alone == (code, here.stdout, ""), fmt
        assert here.exit_code == code


def test_a_check_with_many_findings_writes_them_all_before_it_ends(tmp_path: Path) -> None:
    text = "".join(f'step s{n}:\n    send "x"\n' for n in range(400))
    path = write(tmp_path, "many.flow", CLEAN + text)
    code, out, err = _as_a_user_runs_it(tmp_path, "--as-of", "2026-04-27", path)
    assert (code, err) == (0, "")
    assert out == CliRunner().invoke(main, ["check", "--as-of", "2026-04-27", path]).stdout
    assert out.endswith("1 file checked: 0 errors, 400 warnings\n")


def test_what_check_said_of_its_exit_is_forgotten_by_the_next_command(tmp_path: Path) -> None:
    """Only the command that said "nothing left but freeing" ends the process at once."""
    import pageflows.cli as cli

    assert run("--as-of", "2026-04-27", write(tmp_path, "a.flow", CLEAN)).exit_code == 0
    assert cli._done == [True]
    assert CliRunner().invoke(main, ["--help"]).exit_code == 0
    assert cli._done == []


def test_what_check_made_is_alive_at_the_exit_that_frees_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """issue 13: A. From the command line `check` ends with os._exit, which frees nothing:
    its model must reach that exit alive, not be freed one object at a time as the
    command returns (~0.04 s at 10,000 triggers); and be freed when there is no such exit."""
    import pageflows.cli as cli

    held: list[list[str]] = []

    def exit_now(code: int) -> None:
        held.append([type(kept).__name__ for kept in cli._kept])

    monkeypatch.setattr(cli, "_exit_now", exit_now)
    path = write(tmp_path, "a.flow", CLEAN)
    monkeypatch.setattr(sys, "argv", ["pageflows", "check", "--as-of", "2026-04-27", path])
    with pytest.raises(SystemExit):
        main()  # as from the command line: click reads sys.argv
    assert held == [["LoadResult"]]
    assert cli._kept == []  # the process went on: freed as usual
