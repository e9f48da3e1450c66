"""issue 12: D. A condition, whatever the contact's fields hold, is true or false: never an
exception; and whatever condition a marketer types, loading gives located findings.

A contact chooses their answers ("eight", "8,5", ten thousand digits, emoji,
lone surrogates), and an exception in the engine would stop their flow; so
evaluation is total, and it agrees with plain arithmetic where there is a number.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_parser_never_crashes import assert_located

from pageflows.engine.conditions import compare, holds
from pageflows.rules import model as m
from pageflows.rules.source import Span

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SPAN = Span.point("flows/f.flow", 1, 1)
FIELDS = ("guests", "name", "age")
OPS: tuple[m.CompareOp, ...] = ("==", "!=", ">", ">=", "<", "<=")
PY_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}

# What contacts type where a number is asked, and what a field can hold.
numberish = st.one_of(
    st.integers(-(10**30), 10**30).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(
        lambda d: str(d).replace(".", ",")
    ),
    st.sampled_from(
        [
            "",
            " ",
            "eight",
            "8 people",
            "1e9",
            "inf",
            "-inf",
            "NaN",
            "-",
            ",5",
            "8,",
            "--8",
            "\u0663",
            "8\u00a0",
            "9" * 10_000,
        ]
    ),
    st.text(max_size=40),
)
field_values = st.dictionaries(st.sampled_from(FIELDS), numberish, max_size=3)

leaf = st.one_of(
    st.builds(
        lambda n, neg: m.Tagged(span=SPAN, name=n, negated=neg),
        st.sampled_from("abc"),
        st.booleans(),
    ),
    st.builds(
        lambda f, v, neg: m.FieldEquals(span=SPAN, field=f, value=v, negated=neg),
        st.sampled_from(FIELDS),
        st.text(max_size=10),
        st.booleans(),
    ),
    st.builds(
        lambda f, op, n: m.Compare(span=SPAN, field=f, op=op, number=n, number_text=str(n)),
        st.sampled_from(FIELDS),
        st.sampled_from(OPS),
        st.decimals(allow_nan=False, allow_infinity=False, places=2),
    ),
)


def _grow(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.builds(lambda c: m.Not(span=SPAN, operand=c), children),
        st.builds(
            lambda cs: m.AllOf(span=SPAN, operands=tuple(cs)),
            st.lists(children, min_size=2, max_size=4),
        ),
        st.builds(
            lambda cs: m.AnyOf(span=SPAN, operands=tuple(cs)),
            st.lists(children, min_size=2, max_size=4),
        ),
    )


conditions = st.recursive(leaf, _grow, max_leaves=12)


@FUZZ
@given(conditions, field_values, st.frozensets(st.sampled_from("abcd")))
def test_evaluation_is_total(condition: Any, fields: dict[str, str], tags: frozenset[str]) -> None:
    values = {f"contact.{k}": v for k, v in fields.items()}
    result = holds(condition, tags, values)
    assert isinstance(result, bool)
    assert holds(m.Not(span=SPAN, operand=condition), tags, values) is (not result)


@FUZZ
@given(st.integers(-(10**6), 10**6), st.integers(-(10**6), 10**6), st.sampled_from(OPS))
def test_whole_numbers_compare_as_arithmetic(mine: int, theirs: int, op: m.CompareOp) -> None:
    assert compare(str(mine), op, Decimal(theirs)) is PY_OPS[op](mine, theirs)
    assert compare(f" {mine} ", op, Decimal(theirs)) is PY_OPS[op](mine, theirs)


@FUZZ
@given(st.integers(0, 10**4), st.integers(0, 99), st.integers(0, 10**4), st.sampled_from(OPS))
def test_a_decimal_comma_reads_as_a_decimal_point(
    whole: int, cents: int, theirs: int, op: m.CompareOp
) -> None:
    comma, point = f"{whole},{cents:02d}", f"{whole}.{cents:02d}"
    assert compare(comma, op, Decimal(theirs)) is compare(point, op, Decimal(theirs))
    assert compare(point, op, Decimal(theirs)) is PY_OPS[op](Decimal(point), theirs)


@FUZZ
@given(numberish, st.sampled_from(OPS), st.decimals(allow_nan=False, allow_infinity=False))
def test_without_a_number_only_not_equal_holds(value: str, op: m.CompareOp, n: Decimal) -> None:
    result = compare(value, op, n)
    assert isinstance(result, bool)
    if compare(value, "==", n) is False and compare(value, "!=", n) is True:
        return  # a number, different from n: nothing more to say
    assert compare(value, "==", n) is not compare(value, "!=", n)


# What marketers type on an `if` line, and what they bring from other languages.
WORDS = (
    "if",
    "elif",
    "else",
    "unless",
    "and",
    "or",
    "not",
    "tagged",
    '"vip"',
    '"x"',
    "guests",
    "name",
    ">",
    ">=",
    "<",
    "<=",
    "==",
    "!=",
    "=",
    "=>",
    "&&",
    "||",
    "!",
    "(",
    ")",
    "8",
    "-2",
    "8,5",
    "8.5",
    '"8"',
    '"many"',
    ":",
    "typing",
    "2s",
    "30s",
    "send",
    '"hi"',
)
condition_line = st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join)


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["    ", "        "]), condition_line), max_size=8))
def test_typed_conditions_give_located_findings(lines: list[tuple[str, str]]) -> None:
    body = "\n".join(indent + line for indent, line in lines)
    assert_located(f'on keyword "go":\n{body}\n        send "ok"\n'.encode())


def test_a_long_chain_or_deep_nesting_loads_without_recursion_trouble() -> None:
    chain = " and ".join(['tagged "a"'] * 3000)
    nested = "(" * 2000 + 'tagged "a"' + ")" * 2000
    nots = "not " * 3000 + 'tagged "a"'
    for condition in (chain, nested, nots):
        result = assert_located(
            f'on keyword "go":\n    if {condition}:\n        send "ok"\n'.encode()
        )
        assert result.program is not None or result.errors
