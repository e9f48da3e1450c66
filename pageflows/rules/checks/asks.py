"""Questions that cannot work as written (issue 12): answers to tap that the question
would refuse, and questions that give up after the contact's 24-hour window.

The answer checks are the engine's own (rules/answers.py, which the engine
uses), so the checker and the running bot agree on what a valid answer is.
"""

from __future__ import annotations

from datetime import date, timedelta

from pageflows.rules import model as m
from pageflows.rules.answers import validate
from pageflows.rules.diagnostics import Code, Diagnostic, warning
from pageflows.rules.walk import walk_flow

WINDOW = timedelta(hours=24)


def check(flows: list[m.Flow], as_of: date) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for flow in flows:
        for action, _ in walk_flow(flow):
            if isinstance(action, m.Ask):
                found += _choices(action, as_of)
                found += _waits(action)
    return found


def _choices(ask: m.Ask, as_of: date) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for choice in ask.choices:
        if choice.reaction is None and validate(ask.expects, choice.title, as_of) is None:
            found.append(
                warning(
                    Code.ASK_CHOICE_INVALID,
                    choice.span,
                    f'"{choice.title}" is not {_kind(ask.expects)}: a tap on it is refused'
                    " like a wrong typed answer",
                    f"make the quick reply {_example(ask.expects)}, lead it somewhere"
                    f' (`quick "{choice.title}" -> step`), or ask `as text`',
                )
            )
    return found


def _waits(ask: m.Ask) -> list[Diagnostic]:
    goes_on = ask.give_up is not None or ask.give_up_continue
    if ask.timeout is None or ask.timeout <= WINDOW or not goes_on:
        return []
    return [
        warning(
            Code.ASK_WAITS_PAST_WINDOW,
            ask.span,
            f"this question waits {ask.timeout_text}, past the contact's 24-hour window:"
            " what the flow sends when it gives up is skipped (outside_window)",
            "wait less than 24h, such as `for 2h`",
        )
    ]


def _kind(expects: str) -> str:
    return {
        "email": "an email address",
        "phone": "a phone number",
        "number": "a number",
        "date": "a date",
        "time": "a time of day",
    }.get(expects, "an answer")


def _example(expects: str) -> str:
    return {
        "email": 'an address such as "me@example.com"',
        "phone": 'a number such as "+15105551234"',
        "number": 'a number such as "4"',
        "date": 'a date such as "Friday", "Tomorrow" or "24/12"',
        "time": 'a time such as "19:30" or "7pm"',
    }.get(expects, "a valid answer")
