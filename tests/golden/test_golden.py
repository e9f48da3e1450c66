"""`pageflows check` on each case in cases/, compared with what a marketer should see.

A case is `cases/NAME.flow` (or a folder `cases/NAME/` of flows, for findings
across files) beside `NAME.expected.txt` (the exact text output, findings and
summary) and `NAME.expected.json` (the `--format json` output). Cases too
big to keep in the repository are generated below (GENERATED) into a
temporary copy of the same paths, so their output reads the same.

After changing a message on purpose, rewrite the expected files with

    PAGEFLOWS_UPDATE_GOLDEN=1 .venv/bin/pytest tests/golden

and read the diff: every message must still point at the right place and
say what to write instead.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from pageflows.cli import main
from pageflows.rules.diagnostics import Code
from pageflows.rules.parse import MAX_FILE_BYTES

ROOT = Path(__file__).resolve().parents[2]
CASES = Path(__file__).resolve().parent / "cases"
AS_OF = "2026-11-24"
UPDATE = os.environ.get("PAGEFLOWS_UPDATE_GOLDEN") == "1"

# Too large to keep in git: written to a temporary copy of cases/ by the test.
GENERATED = {"too_large.flow": b'on keyword "big":\n' + b"#" * MAX_FILE_BYTES}

# Codes no flow text can produce today, with the reason; keep this list short.
NOT_PRODUCED = {
    Code.ASK_IN_FOLLOW_UP: "reserved: no check reports it yet",
}


@dataclass(frozen=True)
class Case:
    name: str
    target: str  # the path given to `pageflows check`, relative to the repo root

    @property
    def expected_txt(self) -> Path:
        return CASES / f"{self.name}.expected.txt"

    @property
    def expected_json(self) -> Path:
        return CASES / f"{self.name}.expected.json"


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def collect_cases() -> list[Case]:
    cases = [Case(p.stem, _relative(p)) for p in CASES.glob("*.flow")]
    cases += [Case(p.name, _relative(p)) for p in CASES.iterdir() if p.is_dir()]
    cases += [Case(Path(n).stem, _relative(CASES / n)) for n in GENERATED]
    return sorted(cases, key=lambda c: c.name)


ALL_CASES = collect_cases()


def run_check(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check", *args], catch_exceptions=False)
    return result.exit_code, result.stdout


def _workdir(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generated = GENERATED.get(Path(case.target).name)
    if generated is None:
        monkeypatch.chdir(ROOT)
        return
    copy = tmp_path / case.target
    copy.parent.mkdir(parents=True)
    copy.write_bytes(generated)
    monkeypatch.chdir(tmp_path)


def _compare(path: Path, actual: str) -> None:
    if UPDATE:
        path.write_bytes(actual.encode("utf-8"))
        return
    if not path.exists():
        pytest.fail(f"{path.name} is missing: run PAGEFLOWS_UPDATE_GOLDEN=1 pytest tests/golden")
    assert actual == path.read_bytes().decode("utf-8")


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.name for c in ALL_CASES])
def test_check_output_matches_golden(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _workdir(case, tmp_path, monkeypatch)
    text_code, text = run_check(case.target, "--as-of", AS_OF)
    json_code, json_text = run_check(case.target, "--as-of", AS_OF, "--format", "json")
    _compare(case.expected_txt, text)
    _compare(case.expected_json, json_text)
    records = json.loads(json_text)
    has_error = any(r["severity"] == "error" for r in records)
    assert text_code == json_code == (1 if has_error else 0)
    assert len(text.strip().split("\n\n")) == len(records) + 1  # each finding, then the summary


def test_every_finding_code_appears_in_a_golden_case() -> None:
    seen = set()
    for path in CASES.glob("*.expected.json"):
        seen |= {f"{r['code']} {r['name']}" for r in json.loads(path.read_text("utf-8"))}
    missing = {c.value for c in Code} - seen - {c.value for c in NOT_PRODUCED}
    assert not missing, f"no golden case shows {sorted(missing)}"
    assert not seen & {c.value for c in NOT_PRODUCED}, "a NOT_PRODUCED code is produced now"


def test_every_expected_file_has_its_case() -> None:
    names = {c.name for c in ALL_CASES}
    orphans = [
        p.name for p in CASES.glob("*.expected.*") if p.name.split(".expected.")[0] not in names
    ]
    assert not orphans, f"expected files without a case: {orphans}"
