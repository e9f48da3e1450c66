"""Facebook's size limits on what a message may carry (shared/messenger/send-api.md).

A flow that breaks them would be refused by the Send API (error 100) at the
moment it matters; the linter says so while the marketer is still writing.
"""

from __future__ import annotations

from pageflows.rules import model as m
from pageflows.rules.checks.titles import fixed_length
from pageflows.rules.diagnostics import Code, Diagnostic, error
from pageflows.rules.walk import walk_flow

TEXT_MAX = 2000
BUTTON_TEXT_MAX = 640
QUICK_REPLIES_MAX = 13
QUICK_REPLY_TITLE_MAX = 20
BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
CARDS_MAX = 10
CARD_FIELD_MAX = 80
NOTIFICATION_TITLE_MAX = 65


def check(flows: list[m.Flow]) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for flow in flows:
        for action, _ in walk_flow(flow):
            found += _check_action(action)
    return found


def _text(text: m.Text, limit: int, what: str) -> list[Diagnostic]:
    if text.longest <= limit:
        return []
    return [
        error(
            Code.TEXT_TOO_LONG,
            text.span,
            f"{what} is {text.longest:,} characters; Messenger takes at most {limit:,}",
            "shorten it, or split it into two send lines",
        )
    ]


def _buttons(buttons: tuple[m.Button, ...]) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    if len(buttons) > BUTTONS_MAX:
        found.append(
            error(
                Code.TOO_MANY_BUTTONS,
                buttons[BUTTONS_MAX].span,
                f"{len(buttons)} buttons; Messenger shows at most {BUTTONS_MAX}"
                " per message or card",
                "keep three, or use quick replies (up to 13)",
            )
        )
    for button in buttons:
        if fixed_length(button) > BUTTON_TITLE_MAX:  # issue 12: B: the title's own text
            found.append(
                error(
                    Code.BUTTON_TITLE_TOO_LONG,
                    button.span,
                    f'button title "{button.title}" is {fixed_length(button)}'
                    f" characters{_own(button)};"
                    f" Messenger takes at most {BUTTON_TITLE_MAX}",
                    "shorten the title; the text above the buttons can say more",
                )
            )
    return found


def _check_action(action: m.Action) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    if isinstance(action, m.SendText | m.PrivateReply):
        found += _text(action.text, TEXT_MAX, "this text")
        quick = action.quick_replies
        if len(quick) > QUICK_REPLIES_MAX:
            found.append(
                error(
                    Code.TOO_MANY_QUICK_REPLIES,
                    quick[QUICK_REPLIES_MAX].span,
                    f"{len(quick)} quick replies; Messenger shows at most {QUICK_REPLIES_MAX}",
                    "keep the 13 most useful ones",
                )
            )
        for reply in quick:
            if fixed_length(reply) > QUICK_REPLY_TITLE_MAX:  # issue 12: B: its own text
                found.append(
                    error(
                        Code.QUICK_REPLY_TOO_LONG,
                        reply.span,
                        f'quick reply "{reply.title}" is {fixed_length(reply)}'
                        f" characters{_own(reply)};"
                        f" Messenger takes at most {QUICK_REPLY_TITLE_MAX}",
                        "shorten the title; the question above it can say more",
                    )
                )
    elif isinstance(action, m.SendButtons):
        found += _text(action.text, BUTTON_TEXT_MAX, "the text above buttons")
        found += _buttons(action.buttons)
    elif isinstance(action, m.SendCards):
        if len(action.cards) > CARDS_MAX:
            found.append(
                error(
                    Code.TOO_MANY_CARDS,
                    action.cards[CARDS_MAX].span,
                    f"{len(action.cards)} cards; a carousel holds at most {CARDS_MAX}",
                    "keep the 10 most useful cards, or send the rest in a second carousel",
                )
            )
        for card in action.cards:
            for text, what in ((card.title, "card title"), (card.subtitle, "card subtitle")):
                if text is not None and text.longest > CARD_FIELD_MAX:
                    found.append(
                        error(
                            Code.CARD_FIELD_TOO_LONG,
                            text.span,
                            f"this {what} is {text.longest} characters;"
                            f" Messenger takes at most {CARD_FIELD_MAX}",
                            "shorten it; the page the card links to can say more",
                        )
                    )
            found += _buttons(card.buttons)
    elif isinstance(action, m.Ask):
        found += _text(action.question, TEXT_MAX, "this question")
        found += _ask_choices(action.choices)
    elif isinstance(action, m.RequestNotifications) and len(action.title) > NOTIFICATION_TITLE_MAX:
        found.append(
            error(
                Code.TEXT_TOO_LONG,
                action.span,
                f"the opt-in title is {len(action.title)} characters;"
                f" Messenger takes at most {NOTIFICATION_TITLE_MAX}",
                "shorten it; the title only names the topic, such as Weekly deals",
            )
        )
    return found


def _own(item: m.QuickReply | m.Button) -> str:
    """issue 12: B: a title with templates is measured without its values; say so."""
    parts = item.title_text.parts if item.title_text is not None else ()
    return " without its values" if any(isinstance(p, m.Placeholder) for p in parts) else ""


def _ask_choices(choices: tuple[m.AskChoice, ...]) -> list[Diagnostic]:
    """Quick replies under an `ask` are quick replies to Facebook: the same limits (issue 12)."""
    found: list[Diagnostic] = []
    if len(choices) > QUICK_REPLIES_MAX:
        found.append(
            error(
                Code.TOO_MANY_QUICK_REPLIES,
                choices[QUICK_REPLIES_MAX].span,
                f"{len(choices)} quick replies; Messenger shows at most {QUICK_REPLIES_MAX}",
                "keep the 13 most useful answers; the contact can still type any other",
            )
        )
    for choice in choices:
        if not choice.title.strip() or len(choice.title) > QUICK_REPLY_TITLE_MAX:
            size = f"{len(choice.title)} characters" if choice.title.strip() else "empty"
            found.append(
                error(
                    Code.QUICK_REPLY_TOO_LONG,
                    choice.span,
                    f'quick reply "{choice.title}" is {size};'
                    f" Messenger takes 1 to {QUICK_REPLY_TITLE_MAX}",
                    "shorten the answer; the question above it can say more",
                )
            )
    return found
