"""A person's draft is checked against Facebook's limits, every problem named at once."""

from __future__ import annotations

from typing import Any

import pytest

from pageflows.service.agent_draft import DraftError, parse_draft


def problems(body: dict[str, Any]) -> list[str]:
    with pytest.raises(DraftError) as caught:
        parse_draft(body)
    return caught.value.problems


def test_text_with_quick_replies_goes_as_one_message() -> None:
    draft = parse_draft(
        {"text": "Which size?", "quick_replies": [{"title": "S", "payload": "SIZE_S"}]}
    )
    assert draft.messages() == [
        (
            {
                "text": "Which size?",
                "quick_replies": [{"content_type": "text", "title": "S", "payload": "SIZE_S"}],
            },
            "Which size?",
        )
    ]


def test_text_and_attachment_go_as_two_messages_quick_replies_on_the_last() -> None:
    draft = parse_draft(
        {
            "text": "Here it is",
            "attachment": {"type": "image", "url": "https://example.com/a.png"},
            "quick_replies": [{"title": "Thanks", "payload": "T"}],
            "author": "Marie",
        }
    )
    (text, _), (image, preview) = draft.messages()
    assert text == {"text": "Here it is"}
    assert image["attachment"] == {"type": "image", "payload": {"url": "https://example.com/a.png"}}
    assert image["quick_replies"][0]["title"] == "Thanks"
    assert preview == "[image] https://example.com/a.png"
    assert draft.author == "Marie"


def test_facebooks_limits_are_each_named() -> None:
    found = problems(
        {
            "text": "x" * 2000,
            "attachment": {"type": "gif", "url": "http://example.com/a.gif"},
            "quick_replies": [{"title": "t" * 21, "payload": "p"}] * 14,
            "colour": "red",
        }
    )
    assert any("unknown field(s) colour" in p for p in found)
    assert any("2000 characters" in p for p in found)
    assert any("attachment.type" in p for p in found)
    assert any("https://" in p for p in found)
    assert any("14 quick replies" in p for p in found)
    assert any("quick reply 1: title" in p for p in found)


@pytest.mark.parametrize("body", [{}, {"text": "  "}, {"text": 5}, {"author": "Marie"}])
def test_a_reply_needs_text_or_an_attachment(body: dict[str, Any]) -> None:
    assert problems(body)


def test_1999_characters_is_the_longest_text() -> None:
    assert parse_draft({"text": "x" * 1999}).text == "x" * 1999


def test_text_a_terminal_passed_as_broken_bytes_is_a_problem_not_a_crash() -> None:
    """`pageflows reply PSID "$(printf 'bad \xff')"`: click hands over surrogate escapes."""
    broken = b"bad \xff byte".decode("utf-8", "surrogateescape")
    with pytest.raises(DraftError) as refused:
        parse_draft({"text": broken})
    assert refused.value.problems == [
        "text holds bytes or characters that are not valid Unicode (UTF-8)"
    ]
