"""`pageflows policy` as a marketer reads it, pinned on the days Facebook's rules changed.

Rewrite the expected files after a deliberate change with
PAGEFLOWS_UPDATE_GOLDEN=1 and read the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from pageflows.cli import main

HERE = Path(__file__).resolve().parent / "policy"
UPDATE = os.environ.get("PAGEFLOWS_UPDATE_GOLDEN") == "1"
EU_SHOP = """\
[[pages]]
id = "1234"
region = "EU"
ad_window = true

[[pages.templates]]
name = "order_update"
language = "en_US"
body = "Your order {{1}} is {{2}}."

[[pages.templates]]
name = "booking_moved"
language = "en_US"
status = "PAUSED"
body = "Your booking moved to {{1}}."
"""
CASES = {
    "no_page_2026-02-09": ["--as-of", "2026-02-09"],
    "no_page_2026-02-10": ["--as-of", "2026-02-10"],
    "eu_shop_2026-11-28_since_2026-01-01": ["--as-of", "2026-11-28", "--since", "2026-01-01"],
}


@pytest.mark.parametrize("name", list(CASES))
def test_policy_output_matches_golden(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PAGEFLOWS_PAGE_REGION", raising=False)
    if name.startswith("eu_shop"):
        (tmp_path / "pageflows.toml").write_text(EU_SHOP, "utf-8")
    result = CliRunner().invoke(main, ["policy", *CASES[name]], catch_exceptions=False)
    assert result.exit_code == 0
    expected = HERE / f"{name}.txt"
    if UPDATE:
        expected.write_text(result.stdout, "utf-8")
    assert result.stdout == expected.read_text("utf-8")


def test_since_must_come_before_the_day_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["policy", "--as-of", "2026-01-01", "--since", "2026-02-01"])
    assert result.exit_code == 2
    assert "2026-02-01 is not before 2026-01-01" in result.output
    assert "rules on" not in result.output  # refused before any report is printed


def test_a_wrong_since_is_named_as_since_before_any_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["policy", "--since", "foo"])
    assert result.exit_code == 2
    assert "Invalid value for '--since': 'foo' is not a date" in result.output
    assert "rules on" not in result.output and "--as-of" not in result.output


def test_an_unknown_page_is_named_with_the_known_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pageflows.toml").write_text(EU_SHOP, "utf-8")
    result = CliRunner().invoke(main, ["policy", "--page", "999"])
    assert result.exit_code == 2
    assert "no page 999 (pages: 1234)" in result.output
