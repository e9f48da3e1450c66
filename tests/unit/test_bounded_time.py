"""A message built to be slow never delays another contact's reply by more than 1 s.

Why: the worker decides for one contact at a time, and Python's `re` holds
the interpreter lock, so one slow match stalls every contact and the webhook
too. Before pageflows ran patterns on RE2, `on regex /(a+)+$/` took 22 s on
"a" * 28 + "!", and the email check 4 s on a 40,000-character answer.

The bound, BOUND seconds, is behavioural and generous: the same work now
takes milliseconds, so the tests do not flake on a slow machine, yet any
return of backtracking (seconds to hours on these inputs) fails them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from support import program

from pageflows.engine.contact import ContactState
from pageflows.engine.core import Decision, handle
from pageflows.engine.effects import Send
from pageflows.engine.events import MessageIn
from pageflows.rules.compile import MATCHED_TEXT_MAX
from pageflows.rules.linear_regex import LinearRegex, compile_regex

BOUND = 1.0  # seconds
T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
T = TypeVar("T")

NESTED_REPEAT = """
on regex /(a+)+$/:
    send "all a"

on regex /(x+x+)+y/:
    send "x then y"

on message:
    send "default"
"""

ASK_EMAIL = """
on keyword "join":
    ask "What's your email?" into email as email
    send "Thanks!"
"""


def within_bound(work: Callable[[], T]) -> T:
    started = time.perf_counter()
    result = work()
    elapsed = time.perf_counter() - started
    assert elapsed < BOUND, f"took {elapsed:.2f} s"
    return result


def known_contact() -> ContactState:
    earlier = T0 - timedelta(hours=1)
    return ContactState(id="psid-1", first_seen_at=earlier, last_user_message_at=earlier)


def say(prog_text: str, text: str, contact: ContactState | None = None) -> Decision:
    event = MessageIn(contact_id="psid-1", timestamp=T0, text=text)
    return handle(program(prog_text), contact or known_contact(), event, T0)


def replies(decision: Decision) -> list[str]:
    return [e.outbound.preview for e in decision.effects if isinstance(e, Send)]


def test_check_accepts_a_nested_repeat_since_it_runs_in_linear_time() -> None:
    assert isinstance(compile_regex("(a+)+$", ""), LinearRegex)
    program(NESTED_REPEAT)  # no findings


@pytest.mark.parametrize(
    ("text", "expected"),
    [("a" * 28, "all a"), ("a" * 28 + "!", "default"), ("x" * 28 + "y", "x then y")],
)
def test_the_classic_slow_message_gets_its_reply_within_the_bound(text: str, expected: str) -> None:
    decision = within_bound(lambda: say(NESTED_REPEAT, text))
    assert replies(decision) == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" * 1999 + "!", "default"),  # the slowest shape that fits in Messenger's limit
        ("x" * 100_000, "default"),
        ("ab" * 50_000, "default"),
        # Read as if it ended after 2000 characters: all a's, so the first trigger answers.
        ("a" * 100_000 + "!", "all a"),
    ],
    ids=["1999a!", "100k-x", "100k-ab", "100k-a!"],
)
def test_a_long_message_built_to_be_slow_gets_its_reply_within_the_bound(
    text: str, expected: str
) -> None:
    decision = within_bound(lambda: say(NESTED_REPEAT, text))
    assert replies(decision) == [expected]


@pytest.mark.parametrize(
    "pattern", ["(a+)+$", "(x+x+)+y", "^(a|aa)*$", "(.*a){20}$", "(?i)^(\\w+\\s?)*$"]
)
def test_a_pattern_alone_is_linear_even_past_messengers_length(pattern: str) -> None:
    """Without the 2000-character cap too: 100,000 adversarial characters stay within the bound."""
    regex = compile_regex(pattern, "")
    assert isinstance(regex, LinearRegex)
    for text in ("a" * 100_000 + "!", "x" * 100_000 + "!"):
        found = within_bound(lambda text=text: regex.search(text))
        assert found is False


@pytest.mark.parametrize(
    "answer",
    [
        "a@" + "a." * 20_000 + "@",  # 40,003 characters: 4 s with the old pattern
        "a@" + "a." * 500_000 + "@",  # 1,000,003 characters
        "a" * 1_000_000,
        "@" * 1_000_000,
    ],
    ids=["40k", "1M-dots", "1M-letters", "1M-ats"],
)
def test_a_huge_answer_to_an_email_question_is_refused_within_the_bound(answer: str) -> None:
    asked = say(ASK_EMAIL, "join")
    decision = within_bound(lambda: say(ASK_EMAIL, answer, asked.contact))
    assert replies(decision) == [
        "That doesn't look like an email address. Could you type it again?"
    ]
    assert decision.contact.waiting is not None


def test_a_huge_answer_that_is_an_email_is_kept_within_the_bound() -> None:
    asked = say(ASK_EMAIL, "join")
    answer = "a" * 500_000 + "@example.com"
    decision = within_bound(lambda: say(ASK_EMAIL, answer, asked.contact))
    assert replies(decision) == ["Thanks!"]
    assert decision.contact.fields["email"] == answer


KEYWORD_AND_PATTERN = """
on keyword "price":
    send "keyword"

on regex /order \\d+$/:
    send "pattern"

on message:
    send "default"
"""


def test_only_the_first_2000_characters_of_a_message_are_matched() -> None:
    """Messenger's documented text limit (send-api.md): what lies beyond it is never read."""
    filler = "la " * MATCHED_TEXT_MAX
    assert replies(say(KEYWORD_AND_PATTERN, "price " + filler)) == ["keyword"]
    assert replies(say(KEYWORD_AND_PATTERN, filler + " price")) == ["default"]
    assert replies(say(KEYWORD_AND_PATTERN, filler + " order 12345")) == ["default"]
    short = "x" * (MATCHED_TEXT_MAX - len(" order 12345")) + " order 12345"
    assert replies(say(KEYWORD_AND_PATTERN, short)) == ["pattern"]


def test_a_message_with_a_lone_surrogate_is_matched_not_crashed() -> None:
    """JSON may carry "\\ud83d" alone; RE2 reads UTF-8, so it becomes U+FFFD before matching."""
    assert replies(say(KEYWORD_AND_PATTERN, "order 12345\ud83d")) == ["default"]
    assert replies(say(KEYWORD_AND_PATTERN, "\ud83d order 12345")) == ["pattern"]
