"""Fields the templates and conditions read, against the fields the flows save.

issue 12: B. The engine fills `{contact.X}` from the contact's fields (and
first_name, last_name from the profile), and a field exists only once a flow
saves it: with `set X = ...` (an action, or a quick reply or button's reaction)
or `ask ... into X`. So `{contact.frist_name}` checks clean and sends "Hi !"
to everyone. Fields are page-wide (a contact carries them from flow to flow),
so the names are gathered over every file loaded together.

Also here, since only the whole program knows the fields: a bare `{email}` (the
`contact.` left out) is an error, with `{contact.email}` suggested only when
some flow saves `email`.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import cast

from pydantic import BaseModel

from pageflows.rules import model as m
from pageflows.rules.diagnostics import Code, Diagnostic, error, sort_key, warning
from pageflows.rules.source import Span
from pageflows.rules.values import PROFILE_NAMES, TOP_NAMES
from pageflows.rules.walk import nodes

# A backslash escape in the source is one character in the text: these are the ones.
ESCAPED = frozenset('"\\\n\t')
# Nodes that read a field rather than save it.
READS = (m.FieldEquals, m.Compare)  # issue 12: D: Compare
READ_TYPES = frozenset(READS)  # no model class has subclasses: type() is the kind


def saved_fields(flows: list[m.Flow], every: Sequence[BaseModel] | None = None) -> set[str]:
    """Every field some flow saves, wherever the `set` or `ask` sits.

    Any other node naming a `field` counts as saving it too, except the
    comparisons known to read one: a new way to save a field then never brings a
    false warning; at worst a new way to read one goes unchecked.
    """
    saved: set[str] = set()
    saves = _SAVES
    for node in nodes(flows) if every is None else every:
        # A field's value is in the node's __dict__; getattr on a node without one
        # raises inside pydantic, which costs more than the rest of this walk.
        # issue 13: A: whether a kind of node may save a field is decided once per
        # type (a model's __dict__ holds exactly its fields), not isinstance
        # (through pydantic's metaclass) on each of a quarter of a million nodes.
        kind = type(node)
        may_save = saves.get(kind)
        if may_save is None:
            may_save = saves[kind] = "field" in kind.model_fields and kind not in READ_TYPES
        if may_save:
            field = node.__dict__.get("field")
            if isinstance(field, str):
                saved.add(field)  # a `set`, an `ask`, or a node of a kind unknown here
    return saved


# Per model class: whether its nodes may save a field (they have one, and do not read it).
_SAVES: dict[type[BaseModel], bool] = {}


def check(flows: list[m.Flow], every: Sequence[BaseModel] | None = None) -> list[Diagnostic]:
    """``every`` is `nodes(flows)` when the caller has it already (run_checks, issue 13: A)."""
    every = nodes(flows) if every is None else every
    return check_uses(uses(every), saved_fields(flows, every))


# issue 13: A: a node that shows or reads a field, in plain values (`pageflows check` gets
# them from a forked child for the flows it checked there, rules/split_check.py): a text
# with placeholders as ("text", its raw text, where it is, each placeholder as (where its
# `{` is in the text, its name, its fallback)); a comparison as (its kind, the field,
# where it is, ()).
Holes = tuple[tuple[int, str, str | None], ...]
Use = tuple[str, str, Span, Holes]


def uses(every: Sequence[BaseModel]) -> list[Use]:
    """The texts with placeholders and the comparisons among ``every``, in its order."""
    found: list[Use] = []
    for node in every:
        kind = type(node)
        if kind is m.Text:
            text = cast(m.Text, node)
            holes = _placeholders(text)
            if holes:
                shown = tuple((i, p.name, p.fallback) for i, p in holes)
                found.append(("text", text.raw, text.span, shown))
        elif kind in READ_TYPES:
            reads = cast(m.FieldEquals | m.Compare, node)
            found.append((reads.kind, reads.field, reads.span, ()))
    return found


def check_uses(found_uses: list[Use], saved: set[str]) -> list[Diagnostic]:
    """The findings of the fields ``found_uses`` show and read, in their order, against
    the fields some flow saves (``saved``: `saved_fields` of every flow)."""
    known = saved | set(PROFILE_NAMES)
    found: list[Diagnostic] = []
    unknown: dict[str, list[Diagnostic]] = {}  # field -> its uses, first first
    for kind, name, where, holes in found_uses:
        if kind == "text":
            for field, finding in _text(name, where, holes, known):
                if field is None:
                    found.append(finding)
                else:
                    unknown.setdefault(field, []).append(finding)
        else:
            if name in known:
                continue
            unknown.setdefault(name, []).append(
                warning(
                    Code.UNKNOWN_FIELD,
                    where,
                    f'no flow saves the field "{name}", so this compares an empty value'
                    + (" (never a number)" if kind == "compare" else ""),
                    _field_hint(name, known),
                )
            )
    for field_uses in unknown.values():
        found.append(_first_of(field_uses))
    return found


def _first_of(uses: list[Diagnostic]) -> Diagnostic:
    """One finding per unknown field, at its first use: one typo, one warning."""
    first = min(uses, key=sort_key)
    if len(uses) == 1:
        return first
    more = len(uses) - 1
    message = f"{first.message} (used {more} more time{'s' * (more != 1)})"
    return first.model_copy(update={"message": message})


def _text(
    raw: str, span: Span, holes: Holes, known: set[str]
) -> list[tuple[str | None, Diagnostic]]:
    """(the unknown field, or None for a bare name) and its finding, per placeholder."""
    found: list[tuple[str | None, Diagnostic]] = []
    seen: set[str] = set()
    for offset, name, fallback in holes:
        if name in seen or name in TOP_NAMES:
            continue
        seen.add(name)
        where = _span_of(raw, span, offset)
        head, dot, field = name.partition(".")
        if not dot:
            found.append((None, _bare(name, where, known)))
        elif head == "contact" and field not in known:
            shows = f'"{fallback}"' if fallback else "nothing"
            finding = warning(
                Code.UNKNOWN_FIELD,
                where,
                f'no flow saves the field "{field}": {{{name}}} always shows {shows}',
                _field_hint(field, known, template=True),
            )
            found.append((field, finding))
    return found


def closest(name: str, known: set[str]) -> list[str]:
    """The saved field a slip most likely meant: two letters swapped (`dya` for `day`,
    which difflib rates too low in short names), else a close spelling."""
    swapped = {
        name[:i] + name[i + 1] + name[i] + name[i + 2 :] for i in range(len(name) - 1)
    } & known
    if swapped:
        return [min(swapped)]
    return difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)


def _field_hint(field: str, known: set[str], template: bool = False) -> str:
    close = closest(field, known)
    if close:
        return f"did you mean {{contact.{close[0]}}}?" if template else f"did you mean {close[0]}?"
    return f'save it first with `set {field} = "..."` or `ask "..." into {field}`'


def _bare(name: str, span: Span, known: set[str]) -> Diagnostic:
    """`{email}`: the name without `contact.`, an error as any unknown template name."""
    hint = (
        "a template can show {contact.first_name}, {contact.last_name}, {ref},"
        " or a field saved with set or ask, such as {contact.email}"
    )
    close = [name] if name in known else closest(name, known)
    if close:
        hint = f"did you mean {{contact.{close[0]}}}? " + hint
    return error(Code.BAD_TEMPLATE, span, f'"{{{name}}}" is not a name a template can show', hint)


def _placeholders(text: m.Text) -> list[tuple[int, m.Placeholder]]:
    """Each placeholder with where its `{` is in the text, read as parse_template reads it."""
    found: list[tuple[int, m.Placeholder]] = []
    raw = text.raw
    if "{" not in raw:
        return found  # issue 13: A: most texts; no placeholder to find in them
    # issue 13: A: `type(p) is`, not isinstance through pydantic's metaclass (no
    # model class has subclasses); a text without placeholders yields none below.
    holes = iter([p for p in text.parts if type(p) is m.Placeholder])
    # issue 13: A: from one `{` to the next; the characters between them decide nothing.
    i = raw.find("{")
    while 0 <= i < len(raw):
        if raw[i : i + 2] == "{{":
            i += 2
        else:
            part = next(holes, None)
            if part is None:
                break
            found.append((i, part))
            i = raw.find("}", i) + 1 or len(raw)
        i = raw.find("{", i)
    return found


def _span_of(raw: str, span: Span, offset: int) -> Span:
    """The placeholder in the source line, when the text is on one line; else the whole text."""
    if span.end_line != span.line:
        return span
    end = raw.find("}", offset) + 1 or len(raw)
    col = span.col + 1 + offset + sum(1 for c in raw[:offset] if c in ESCAPED)  # 1: the quote
    width = end - offset + sum(1 for c in raw[offset:end] if c in ESCAPED)
    if col + width > span.end_col:
        return span
    return Span.point(span.path, span.line, col, width)
