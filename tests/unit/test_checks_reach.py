"""The checks that catch what used to pass: fields nobody saves, silent taps, past
broadcasts, empty files, titles with templates (issue 12: B).

Golden cases pin each message; these pin where each check stops: fields are
page-wide (any file of the folder may save one), a field saved by a quick reply
counts, a tap that goes somewhere is not silent, an unreadable file is not "empty".
"""

from __future__ import annotations

from datetime import date

import pytest

from pageflows.engine.policy import check_tag
from pageflows.rules.diagnostics import Diagnostic
from pageflows.rules.load import load_texts

AS_OF = date(2026, 11, 24)


def findings(files: dict[str, str], as_of: date = AS_OF) -> list[Diagnostic]:
    texts = {f"flows/{name}": text.encode() for name, text in files.items()}
    return list(load_texts(texts, as_of, check_tag).diagnostics)


def codes(files: dict[str, str], as_of: date = AS_OF) -> list[str]:
    return [f"{d.span.path}:{d.span.line} {d.code.number}" for d in findings(files, as_of)]


GREET = 'on keyword "hi":\n    send "Hi {contact.guests}!"\n'


@pytest.mark.parametrize(
    "saver",
    [
        'on keyword "book":\n    ask "How many?" into guests as number\n',
        'on keyword "book":\n    set guests = "2"\n',
        'on keyword "book":\n    send "How many?"\n        quick "Two" -> set guests = "2"\n',
        'on keyword "book":\n    send buttons "How many?":\n'
        '        button "Two" -> set guests = "2"\n',
        'on keyword "book":\n    if tagged "x":\n        after 1h:\n            set guests = "2"\n',
    ],
)
def test_a_field_saved_in_any_file_of_the_folder_is_known(saver: str) -> None:
    found = codes({"a_greet.flow": GREET, "b_book.flow": saver})
    assert "flows/a_greet.flow:2 PF410" not in found


def test_a_field_no_file_saves_is_one_warning_at_its_first_use() -> None:
    other = 'on keyword "bye":\n    send "Bye {contact.guests}!"\n'
    found = findings({"a.flow": GREET, "b.flow": other})
    unknown = [d for d in found if d.code.number == "PF410"]
    assert len(unknown) == 1, found
    assert unknown[0].span.path == "flows/a.flow"
    assert (unknown[0].span.line, unknown[0].span.col) == (2, 14)
    assert unknown[0].message.endswith("(used 1 more time)")


def test_profile_names_and_ref_are_always_known() -> None:
    flow = 'on keyword "hi":\n    send "Hi {contact.first_name} {contact.last_name} {ref}"\n'
    assert codes({"a.flow": flow}) == []


def test_a_bare_name_suggests_only_a_field_that_exists() -> None:
    flow = 'on keyword "hi":\n    send "Hi {name} {guest}"\n    ask "How many?" into guests\n'
    hints = {d.message: d.hint for d in findings({"a.flow": flow})}
    assert hints['"{name}" is not a name a template can show'] is not None
    assert "did you mean" not in (hints['"{name}" is not a name a template can show'] or "")
    assert (hints['"{guest}" is not a name a template can show'] or "").startswith(
        "did you mean {contact.guests}?"
    )


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("dya", "day"), ("gusets", "guests"), ("frist_name", "first_name"), ("bookng", "booking")],
)
def test_a_misspelt_field_suggests_the_saved_one(typed: str, meant: str) -> None:
    flow = (
        'on keyword "hi":\n    ask "?" into day\n    ask "?" into guests\n'
        '    ask "?" into booking\n'
        f'    send "Hi {{contact.{typed}}}"\n'
    )
    (found,) = [d for d in findings({"a.flow": flow}) if d.code.number == "PF410"]
    assert found.hint == f"did you mean {{contact.{meant}}}?"


def test_a_tap_that_goes_somewhere_is_not_silent() -> None:
    flow = (
        'on keyword "hi":\n    send "Hello"\n        quick "Menu" -> menu\n'
        'step menu:\n    set seen_menu = "yes"\n    send "Here it is."\n'
    )
    assert codes({"a.flow": flow}) == []


def test_a_quick_answer_under_an_ask_that_only_saves_is_silent_and_an_answer_is_not() -> None:
    # Tapping "Just looking" lets the question go and only saves: the contact hears
    # nothing (chat shows just `set intent`). "2" is an answer and the flow goes on.
    flow = (
        'on keyword "book":\n'
        '    ask "How many?" into guests as number:\n'
        '        quick "2"\n'
        '        quick "Just looking" -> set intent = "browse"\n'
        '    send "A table for {contact.guests}."\n'
    )
    assert codes({"a.flow": flow}) == ["flows/a.flow:4 PF411"]


@pytest.mark.parametrize(
    ("at", "zone", "past"),
    [
        ("2026-11-23 23:30", "UTC", True),
        ("2026-11-24 00:30", "Europe/Paris", True),  # 23:30 UTC the day before
        ("2026-11-24 00:30", "UTC", False),
        ("2026-12-01 09:00", "UTC", False),
    ],
)
def test_a_broadcast_is_past_once_its_day_is_over(at: str, zone: str, past: bool) -> None:
    flow = f'broadcast b to everyone at "{at}" in "{zone}":\n    send "Hello"\n'
    assert ("flows/a.flow:1 PF412" in codes({"a.flow": flow})) is past


def test_an_unreadable_time_is_not_also_past() -> None:
    flow = 'broadcast b to everyone at "tomorrow" in "UTC":\n    send "Hello"\n'
    found = codes({"a.flow": flow})
    assert "flows/a.flow:1 PF117" in found
    assert "flows/a.flow:1 PF412" not in found


@pytest.mark.parametrize("text", ["", "\n\n", "# just a note\n", "   \n# a note\n"])
def test_a_file_with_nothing_in_it_says_so(text: str) -> None:
    assert codes({"a.flow": text}) == ["flows/a.flow:1 PF413"]


@pytest.mark.parametrize("text", ['on keyword "hi"\n    send "x"\n', "\x00\x01binary"])
def test_a_file_that_fails_to_read_is_not_also_empty(text: str) -> None:
    found = codes({"a.flow": text})
    assert found
    assert not any(code.endswith("PF413") for code in found), found


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("{contact.first_name}'s table", []),  # 8 characters of its own: room for a name
        ("Table for {contact.first_name}", []),  # 10 of its own, 10 left
        ("A table for {contact.first_name}", ["PF414"]),  # 12 of its own, 8 left
        ("Reserve a table now for {contact.first_name}", ["PF303"]),  # too long anyway
        ("{contact.first_name}", ["PF123"]),
        ("{contact.first_name|Me}", []),
        ("{contact.first_name} {contact.last_name}", ["PF123"]),
        ("{contact.first_name|A} {contact.last_name|B}", ["PF414"]),  # 19 left for two
    ],
)
def test_titles_with_templates(title: str, expected: list[str]) -> None:
    flow = (
        f'on keyword "hi":\n    send "Who?"\n        quick "{title}" -> who\n'
        'step who:\n    send "OK"\n'
    )
    assert [c.split()[1] for c in codes({"a.flow": flow})] == expected


def test_a_block_that_fails_to_parse_brings_no_guess_about_its_fields() -> None:
    """The lost block may be the one that saves the field: only its own error is shown."""
    broken = 'on keyword "book":\n    ask "How many?" into guests as numbr\n'
    found = codes({"a_greet.flow": GREET, "b_book.flow": broken})
    assert found == ["flows/b_book.flow:2 PF010"], found
