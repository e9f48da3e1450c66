"""issue 13: A. Half of the checks in a forked child (rules/second_core.py) find the same.

`pageflows check` of large flows runs the checks that need no program in a
forked child while it compiles. What a user sees must not change: the same
findings (the very Diagnostic values, in the same order), whether the child
answers, fails, dies or is never started, and an error in a check is raised
once, as without a child.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from pageflows.engine.policy_table import RULES, check_tag
from pageflows.rules import checks, second_core
from pageflows.rules import model as m
from pageflows.rules.build import build_flow
from pageflows.rules.checks import compile_and_check, run_checks
from pageflows.rules.compile import compile_program
from pageflows.rules.load import LoadResult, load_paths
from pageflows.rules.parse import parse_bytes
from pageflows.rules.report import render_text, summary

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.bench_check import flow_text, write_flows  # noqa: E402
from tests.unit.test_trusted_build import assert_same  # noqa: E402

AS_OF = date(2026, 11, 24)
# The installed command, beside this interpreter (.venv/bin/pageflows).
PAGEFLOWS = str(Path(sys.executable).parent / "pageflows")


def corpus() -> list[m.Flow]:
    """The golden cases' flows and a generated file with a finding per trigger, together."""
    found = [(str(p), p.read_bytes()) for p in sorted((ROOT / "tests/golden").rglob("*.flow"))]
    found.append(("bench.flow", flow_text(0, 400, findings=True).encode()))
    names: set[str] = set()
    flows = []
    for path, data in found:
        flow, _ = build_flow(parse_bytes(path, data), Path(path).stem)
        if flow.name not in names:  # one flow a name, as load.py requires
            names.add(flow.name)
            flows.append(flow)
    return flows


@pytest.fixture
def always_fork(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Forks whatever the size; records whether each child answered."""
    monkeypatch.setattr(checks, "FORK_FROM_BLOCKS", 0)
    monkeypatch.setattr(checks, "can_fork", lambda: hasattr(os, "fork"))
    answered: list[bool] = []
    answer = second_core.Child._answer  # what answer() and result() read

    def recorded(child: second_core.Child) -> second_core.Found | None:
        found = answer(child)
        answered.append(found is not None)
        return found

    monkeypatch.setattr(second_core.Child, "_answer", recorded)
    return answered


def alone(flows: list[m.Flow]) -> list:
    return run_checks(flows, AS_OF, check_tag, (), RULES.token_regions, compile_program(flows))


def on_two_cores(flows: list[m.Flow]) -> list:
    _, found = compile_and_check(flows, AS_OF, check_tag, (), RULES.token_regions, second_core=True)
    return found


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_the_child_finds_what_one_process_finds(always_fork: list[bool]) -> None:
    flows = corpus()
    expected = alone(flows)
    found = on_two_cores(flows)
    assert always_fork == [True]  # the child's findings were used
    assert len(found) == len(expected) > 400
    assert_same(found, expected, "findings")
    program, _ = compile_and_check(flows, AS_OF, check_tag, second_core=True)
    alone_program = compile_program(flows)
    assert (program.triggers, program.refs) == (alone_program.triggers, alone_program.refs)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_child_that_fails_changes_nothing(
    always_fork: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    flows = corpus()
    expected = alone(flows)
    # The child ends at once without an answer, as if it were killed.
    monkeypatch.setattr(second_core, "_run_child", lambda *args: os._exit(1))
    found = on_two_cores(flows)
    assert always_fork == [False]
    assert_same(found, expected, "findings")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
@pytest.mark.parametrize("family", ["structure", "titles"])  # the child's, the parent's
def test_a_check_that_raises_raises_once_here(
    family: str, always_fork: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    waited: list[int] = []

    def broken(flows: list[m.Flow]) -> list:
        calls.append(os.getpid())
        raise RuntimeError("a bug in a check")

    close = second_core.Child.close

    def recorded_close(child: second_core.Child) -> None:
        waited.append(child.pid)
        close(child)

    monkeypatch.setattr(getattr(checks, family), "check", broken)
    monkeypatch.setattr(second_core.Child, "close", recorded_close)
    with pytest.raises(RuntimeError, match="a bug in a check"):
        on_two_cores(corpus())
    assert calls == [os.getpid()]  # the child's attempt is not counted here: it raised there
    if family in checks.OF_THE_MODEL:
        assert always_fork == [False]  # the child answered nothing; the job ran here
    else:
        assert always_fork == []  # this process failed first: the child's answer unread,
        (pid,) = waited  # and the child waited for, not left behind
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def test_check_of_large_flows_from_the_command_line(tmp_path: Path) -> None:
    """`pageflows check` of flows large enough to fork, its output through pipes, as a user
    runs it: the same text as the check in one process."""
    folder = tmp_path / "flows"
    write_flows(folder, 2400, findings=True)
    for case in ("unreachable_step", "silent_tap", "button_title_too_long", "code_after_goto"):
        (folder / f"{case}.flow").write_bytes(
            (ROOT / f"tests/golden/cases/{case}.flow").read_bytes()
        )
    result = assert_check_prints_what_one_process_finds(folder)
    assert len(result.diagnostics) > 2400 and result.errors


def assert_check_prints_what_one_process_finds(folder: Path) -> LoadResult:
    """`pageflows check FOLDER` through pipes prints, and exits with, what a check of the
    same folder in this one process finds; that result."""
    run = subprocess.run(
        [PAGEFLOWS, "check", "--as-of", "2026-11-24", str(folder)],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.PIPE,
    )
    result = load_paths([str(folder)], AS_OF, check_tag, (), RULES.token_regions)
    expected = render_text(result.diagnostics, result.sources) + "\n\n"
    expected += summary(result.diagnostics, len(result.sources)) + "\n"
    assert run.stderr == ""
    assert run.stdout == expected
    assert run.returncode == (1 if result.errors else 0)
    return result


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="no CPU affinity here")
def test_no_child_on_one_core(monkeypatch: pytest.MonkeyPatch) -> None:
    """A child that can run only on this process's core would only add its own work."""
    monkeypatch.setattr(second_core.threading, "active_count", lambda: 1)
    monkeypatch.setattr(second_core.sys, "platform", "linux")
    monkeypatch.setattr(second_core.os, "sched_getaffinity", lambda pid: {0, 1})
    assert second_core.can_fork() is True
    monkeypatch.setattr(second_core.os, "sched_getaffinity", lambda pid: {0})
    assert second_core.can_fork() is False
