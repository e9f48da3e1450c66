"""issue 13: A. Findings made without pydantic's validation are the very values it makes.

`error()` and `warning()` make a `Diagnostic` as validation would (rules/trusted.py)
when every value has its field's exact type, so the first finding no longer builds
the validator; any other value is validated, as before.
"""

from __future__ import annotations

import pytest
from lark import Token

from pageflows.rules.diagnostics import Code, Diagnostic, Severity, error, warning
from pageflows.rules.read_model import differences
from pageflows.rules.source import Span

SPAN = Span("shop.flow", 3, 5, 3, 9)


def validated(severity: Severity, code: Code, message: str, hint: str | None) -> Diagnostic:
    return Diagnostic(code=code, severity=severity, span=SPAN, message=message, hint=hint)


@pytest.mark.parametrize("hint", [None, "write it like this"])
@pytest.mark.parametrize("code", [Code.SYNTAX, Code.EMPTY_FLOW])
def test_a_finding_is_what_validation_makes(code: Code, hint: str | None) -> None:
    for make, severity in ((error, Severity.ERROR), (warning, Severity.WARNING)):
        ours = make(code, SPAN, "this is wrong", hint)
        theirs = validated(severity, code, "this is wrong", hint)
        assert differences(ours, theirs) == []
        assert ours == theirs and hash(ours) == hash(theirs)
        assert ours.model_dump() == theirs.model_dump()
        assert ours.model_dump_json() == theirs.model_dump_json()
        assert ours.is_error is (severity is Severity.ERROR)


def test_values_of_other_types_are_validated_as_before() -> None:
    token = Token("NAME", "menu")  # a str of another type, as a parser's token is
    ours = error(Code.SYNTAX, SPAN, token, token)
    theirs = validated(Severity.ERROR, Code.SYNTAX, token, token)
    assert differences(ours, theirs) == []
    with pytest.raises(ValueError):
        error(Code.SYNTAX, ("shop.flow", 1, 1, 1, 2), "no span")  # type: ignore[arg-type]
