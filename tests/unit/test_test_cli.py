"""`pageflows test`: what a marketer sees when handed the wrong file or an editor's BOM.

issue 12: B. A `.flow` file named instead of a transcript used to be read as one,
each line a failure of its own; a `.chat` file saved with a byte order mark made
its first line "\\ufeff> hi", not an action.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pageflows.cli import main

BOM = "\ufeff"
FLOW = 'on keyword "hours":\n    send "We\'re open 9:00 to 18:00."\n'
CHAT = "~ start 2026-11-24 09:00\n> hours\n< [RESPONSE] We're open 9:00 to 18:00.\n"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["test", *args])


def folder(tmp_path: Path, flow: str = FLOW, chat: str = CHAT) -> Path:
    (tmp_path / "hours.flow").write_text(flow, "utf-8")
    (tmp_path / "hours.chat").write_text(chat, "utf-8")
    return tmp_path


def test_a_flow_file_is_one_clear_line(tmp_path: Path) -> None:
    flows = folder(tmp_path)
    result = run(str(flows / "hours.flow"))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines == [
        f"Error: {flows / 'hours.flow'} is a flow file; `pageflows test` runs .chat"
        " transcripts against the flows of their folder:"
        f" `pageflows test {flows.as_posix()}`, or name a .chat file"
    ]


def test_another_file_is_refused_too(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("> hi\n", "utf-8")
    result = run(str(notes))
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {notes} is not a .chat transcript; give a .chat file or a folder of them"
    ]


@pytest.mark.parametrize("where", ["chat", "flow", "both"])
def test_a_byte_order_mark_changes_nothing(tmp_path: Path, where: str) -> None:
    flow = BOM + FLOW if where in ("flow", "both") else FLOW
    chat = BOM + CHAT if where in ("chat", "both") else CHAT
    flows = folder(tmp_path, flow, chat)
    for target in (flows, flows / "hours.chat"):
        result = run(str(target))
        assert result.exit_code == 0, result.output
        assert "\ufeff" not in result.output
        assert result.output.strip().splitlines()[-1] == "1 passed, 0 failed"


def test_a_failing_transcript_with_a_bom_names_its_first_line(tmp_path: Path) -> None:
    chat = BOM + "~ start 2026-11-24 09:00\n> hours\n< We're closed.\n"
    flows = folder(tmp_path, FLOW, chat)
    result = run(str(flows))
    assert result.exit_code == 1
    assert f"FAIL {flows / 'hours.chat'}:2: " in result.output
    assert "\ufeff" not in result.output
