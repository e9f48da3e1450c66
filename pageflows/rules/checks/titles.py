"""Quick reply and button titles with templates, measured as the contact will see them.

issue 12: B. A title may show a value (`quick "{contact.first_name}'s table"`), filled
in at send time; Facebook takes at most 20 characters, and the engine cuts a longer
title to fit (engine/render.py `title_of`) rather than lose the message. So the
checker measures the fixed text (limits.py: over 20 is an error, whatever the
values), warns when the values have little room left and would often be cut
(PF414), and refuses a title that can be empty (PF123), which Facebook refuses.
"""

from __future__ import annotations

from typing import cast

from pageflows.rules import model as m
from pageflows.rules.diagnostics import Code, Diagnostic, error, warning
from pageflows.rules.walk import walk_flow

TITLE_MAX = 20
# Room a value needs to be shown whole most of the time: a first name, a short field.
VALUE_ROOM = 10

Titled = m.QuickReply | m.UrlButton | m.CallButton | m.ReactButton


def fixed_length(item: Titled) -> int:
    """The title's own text, without the values its templates add (nor their fallbacks)."""
    if item.title_text is None:
        return len(item.title)
    return sum(len(p.text) for p in item.title_text.parts if isinstance(p, m.Literal_))


def check(flows: list[m.Flow]) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for flow in flows:
        for action, _where in walk_flow(flow):
            for item in _titled(action):
                found += _one(item)
    return found


def _titled(action: m.Action) -> list[Titled]:
    """issue 13: A: kinds told by `type(...) is` (no model class has subclasses), not by
    isinstance through pydantic's metaclass, for every action and part."""
    items: list[Titled] = []
    kind = type(action)
    if kind is m.SendText or kind is m.PrivateReply or kind is m.SendTemplate:
        items += cast(m.SendText | m.PrivateReply | m.SendTemplate, action).quick_replies
    if kind is m.SendButtons:
        items += cast(m.SendButtons, action).buttons
    elif kind is m.SendCards:
        items += [b for card in cast(m.SendCards, action).cards for b in card.buttons]
    return items


def _one(item: Titled) -> list[Diagnostic]:
    text = item.title_text
    if text is None:
        return []
    holes = [p for p in text.parts if type(p) is m.Placeholder]
    if not holes:
        return []
    what = "quick reply" if type(item) is m.QuickReply else "button"
    fixed = "".join(p.text for p in text.parts if type(p) is m.Literal_)
    if not fixed.strip() and any(not (p.fallback or "").strip() for p in holes):
        first = next(p for p in holes if not (p.fallback or "").strip())
        return [
            error(
                Code.EMPTY_TITLE,
                text.span,
                f"this {what} title is empty for a contact without {{{first.name}}};"
                " Facebook refuses a message with an empty title",
                f"add a fallback: {{{first.name}|...}}, or some text around it",
            )
        ]
    length = len(fixed)
    room = TITLE_MAX - length
    if length > TITLE_MAX or room >= VALUE_ROOM * len(holes):
        return []  # over 20 whatever the values: limits.py's error
    shown = ", ".join(f"{{{p.name}}}" for p in holes)
    return [
        warning(
            Code.TITLE_MAY_BE_CUT,
            text.span,
            f"this {what} title leaves {room} character{'s' * (room != 1)} for {shown}"
            f" (Messenger shows at most {TITLE_MAX}); a longer value is cut with …",
            "shorten the title's own text; the message above it can say more",
        )
    ]
