"""issue 13: A. parse_template jumps from brace to brace; it splits texts as the loop
that read them one character at a time did (kept here as the reference)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pageflows.rules.model import Literal_, Placeholder, TemplatePart
from pageflows.rules.values import Problem, parse_template, template_name_problem


def one_at_a_time(text: str) -> tuple[tuple[TemplatePart, ...], Problem | None]:
    """parse_template as it was before issue 13: A."""
    if "{" not in text and "}" not in text:
        return ((Literal_(text=text),) if text else ()), None
    parts: list[TemplatePart] = []
    buf: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char in "{}" and text[i : i + 2] in ("{{", "}}"):
            buf.append(char)
            i += 2
            continue
        if char == "}":
            return (), ('a "}" closes no "{"', 'write "}}" for a literal brace')
        if char == "{":
            end = text.find("}", i)
            if end < 0:
                return (), ('a "{" is not closed', 'close it with "}", or write "{{" for a brace')
            inner = text[i + 1 : end]
            name, _, fallback = inner.partition("|")
            name = name.strip()
            problem = template_name_problem(name)
            if problem:
                return (), problem
            if buf:
                parts.append(Literal_(text="".join(buf)))
                buf = []
            parts.append(Placeholder(name=name, fallback=fallback if "|" in inner else None))
            i = end + 1
            continue
        buf.append(char)
        i += 1
    if buf:
        parts.append(Literal_(text="".join(buf)))
    return tuple(parts), None


PIECES = st.sampled_from(
    ["{", "}", "{{", "}}", "|", " ", "a", "é", "Hi ", "contact.", "first_name", "ref", "email",
     "contact.first_name", "{contact.first_name|there}", "{ref}", "{email}", "{Contact.X}", "\\n"]
)  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(st.lists(PIECES, max_size=12).map("".join))
def test_the_same_parts_and_problems_as_one_character_at_a_time(text: str) -> None:
    ours, theirs = parse_template(text), one_at_a_time(text)
    assert ours == theirs
    assert [type(p) for p in ours[0]] == [type(p) for p in theirs[0]]
    assert [p.model_fields_set for p in ours[0]] == [p.model_fields_set for p in theirs[0]]


def test_usual_texts() -> None:
    for text in ["Hi {contact.first_name|there}! See {ref}.", "{{literal}} and }}", "a {b", "x}"]:
        assert parse_template(text) == one_at_a_time(text)
