"""The example in the language draft parses, checks and behaves as the draft says."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pageflows.engine.policy import check_tag
from pageflows.rules.load import load_texts

DRAFT = Path(__file__).parent.parent / "fixtures" / "design_example.flow"


def test_design_example_checks_without_errors() -> None:
    result = load_texts(
        {"flows/spring_sale.flow": DRAFT.read_bytes()}, date(2026, 11, 24), check_tag
    )
    assert result.errors == ()
    assert result.program is not None
    names = [t.trigger.kind for t in result.program.triggers]
    assert names == ["ref", "ref_missing", "keyword", "comment", "postback"]
