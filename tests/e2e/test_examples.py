"""The example flows stay clean and their transcripts pass, through the real CLI.

Runs the installed `pageflows` console script (the one beside the Python that
runs pytest, so the venv's), as a marketer or CI would.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "flows"
# Each example folder is one Page (its own pageflows.toml): a shop and a restaurant.
FOLDERS = [EXAMPLES, ROOT / "examples" / "restaurant"]
PAGEFLOWS = Path(sys.executable).parent / "pageflows"


def pageflows(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    exe = str(PAGEFLOWS) if PAGEFLOWS.exists() else shutil.which("pageflows")
    assert exe is not None, "the pageflows console script is not installed (make install)"
    return subprocess.run(
        [exe, *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_examples_check_without_errors_or_warnings(folder: Path) -> None:
    # The examples' story is set on 2026-11-24 (their transcripts' `~ start`): checked
    # on a later day, their 2026-12-01 broadcast is rightly past (PF412).
    result = pageflows("check", folder, "--as-of", "2026-11-24")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines, result.stderr
    assert lines[-1].endswith("checked: no problems"), result.stdout
    assert len(lines) == 1, result.stdout


@pytest.mark.parametrize(
    ("folder", "expected"),
    [
        (EXAMPLES, {"spring_sale", "faq", "comments", "lead_capture", "broadcasts"}),
        (ROOT / "examples" / "restaurant", {"welcome", "booking", "growth", "weekly_menu"}),
    ],
    ids=["flows", "restaurant"],
)
def test_examples_have_flows_and_transcripts(folder: Path, expected: set[str]) -> None:
    flows = {p.stem for p in folder.glob("*.flow")}
    assert expected <= flows
    assert (folder / "pageflows.toml").is_file()
    transcripts = [p.stem for p in folder.glob("*.chat")]
    for flow in flows:
        assert any(t.startswith(flow) for t in transcripts), f"no transcript for {flow}.flow"
    for transcript in folder.glob("*.chat"):
        assert "~ start " in transcript.read_text("utf-8"), f"{transcript.name} has no ~ start"


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_examples_transcripts_pass(folder: Path) -> None:
    result = pageflows("test", folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.endswith(", 0 failed"), result.stdout
    assert int(summary.split()[0]) == len(list(folder.glob("*.chat")))


def test_a_broken_expectation_fails_with_file_line_and_diff(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(EXAMPLES, flows)
    chat = flows / "spring_sale.chat"
    old = "< [UPDATE] The first spring deals end tonight. Still interested?  [Show me deals]"
    new = "< [UPDATE] The sale ends tonight.  [Show me deals]"
    lines = chat.read_text("utf-8").splitlines()
    assert old in lines, "spring_sale.chat changed: update this test"
    at = lines.index(old)
    wait_line = max(i for i in range(at) if lines[i].startswith(">")) + 1
    lines[at] = new
    chat.write_text("\n".join(lines) + "\n", "utf-8")

    result = pageflows("test", flows, cwd=tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert f"FAIL {chat}:{wait_line}: after `> /wait 20h` the bot's answer differs" in out
    assert "-" + new in out
    assert "+" + old in out
    assert out.strip().splitlines()[-1].endswith(", 1 failed")
    assert f"ok   {flows / 'faq.chat'}" in out
