"""Whether an `if` / `elif` / `unless` condition holds for a contact (issue 12: D).

Pure and total: whatever a contact's fields hold (a missing field, "eight",
"8,5", ten thousand digits, any Unicode), evaluation returns a bool and never
raises, so no answer a contact types can stop a flow. Numbers are read as
`rules.values.parse_number` reads them, the same reading the checker uses.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from decimal import Decimal

from pageflows.rules import model as m
from pageflows.rules.values import parse_number


def holds(condition: m.Condition, tags: Set[str], values: Mapping[str, str]) -> bool:
    """``values`` are the template values (`contact.<field>`, first and last name)."""
    if isinstance(condition, m.Tagged):
        return (condition.name in tags) != condition.negated
    if isinstance(condition, m.FieldEquals):
        value = values.get(f"contact.{condition.field}", "")
        return (value.casefold() == condition.value.casefold()) != condition.negated
    if isinstance(condition, m.Compare):
        return compare(values.get(f"contact.{condition.field}"), condition.op, condition.number)
    if isinstance(condition, m.Not):
        return not holds(condition.operand, tags, values)
    if isinstance(condition, m.AllOf):
        return all(holds(c, tags, values) for c in condition.operands)
    return any(holds(c, tags, values) for c in condition.operands)


def compare(value: str | None, op: m.CompareOp, number: Decimal) -> bool:
    """The field as a number against ``number``; a missing or non-numeric field makes every
    comparison false except `!=` (which is `not ==`): "eight" is not more than 8, nor less."""
    mine = parse_number(value) if isinstance(value, str) else None
    if mine is None:
        return op == "!="
    if op == "==":
        return mine == number
    if op == "!=":
        return mine != number
    if op == ">":
        return mine > number
    if op == ">=":
        return mine >= number
    if op == "<":
        return mine < number
    return mine <= number
