"""Tagged and utility messages that read like promotions (PF408).

A message tag or a utility template may carry only non-promotional updates;
Facebook restricts Pages that send deals with them. Inside the 24 h window
promotions are fine, so only messages that go out with a tag (an `after ...
with tag` block, a tagged broadcast) and `send template` are read, and the
words found are named. A heuristic: words in the languages of promotional.py.
"""

from __future__ import annotations

from pageflows.rules import model as m
from pageflows.rules.diagnostics import Code, Diagnostic, warning
from pageflows.rules.page_facts import PageFacts
from pageflows.rules.source import Span
from pageflows.rules.walk import walk_flow

HINT = (
    "send promotions inside the 24 h window after the contact's message; Facebook"
    " restricts Pages that use tags or utility templates for deals"
)


def promotional_finding(text: str, span: Span, why: str) -> Diagnostic | None:
    """PF408 for ``text`` when it reads like a promotion; ``why`` says how it goes out."""
    # issue 13: A: imported when a tagged message or a template is read, not by every
    # `check` (its word tables and patterns: ~8 ms of start-up; most flows have neither).
    from pageflows.rules.promotional import promotional_words

    words = promotional_words(text)
    if not words:
        return None
    shown = ", ".join(f'"{w}"' for w in words)
    return warning(
        Code.PROMOTIONAL_CONTENT,
        span,
        f"this message goes out {why}, which Facebook allows only for non-promotional"
        f" updates, but it reads like a promotion ({shown})",
        HINT,
    )


def check(flows: list[m.Flow], pages: tuple[PageFacts, ...]) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for flow in flows:
        for action, where in walk_flow(flow):
            if isinstance(action, m.SendTemplate):
                found += _template(action, pages)
            elif where.channel_tag:
                why = f"with the tag {where.channel_tag}"
                for text, span in _texts(action):
                    finding = promotional_finding(text, span, why)
                    if finding is not None:
                        found.append(finding)
    return found


def _texts(action: m.Action) -> list[tuple[str, Span]]:
    """Every text of ``action`` that the contact reads, with where it is written."""
    texts: list[tuple[str, Span]] = []
    if isinstance(action, m.SendText | m.SendButtons | m.PrivateReply):
        texts.append((action.text.raw, action.text.span))
    if isinstance(action, m.Ask):
        texts.append((action.question.raw, action.question.span))
        if action.invalid is not None:
            texts.append((action.invalid.raw, action.invalid.span))
    if isinstance(action, m.SendCards):
        for card in action.cards:
            texts.append((card.title.raw, card.title.span))
            if card.subtitle is not None:
                texts.append((card.subtitle.raw, card.subtitle.span))
            texts += [(b.title, b.span) for b in card.buttons]
    if isinstance(action, m.SendButtons):
        texts += [(b.title, b.span) for b in action.buttons]
    if isinstance(action, m.SendText | m.PrivateReply):
        texts += [(q.title, q.span) for q in action.quick_replies]
    return texts


def _template(action: m.SendTemplate, pages: tuple[PageFacts, ...]) -> list[Diagnostic]:
    """The template as the contact reads it: its body (when known) with the values given."""
    values = tuple(p.raw for p in action.parameters)
    bodies = {
        t.fill(values)
        for page in pages
        if (t := page.template(action.name, action.language)) is not None and t.body
    }
    text = " ".join(sorted(bodies)) or " ".join(values)
    finding = promotional_finding(text, action.span, f'as the utility template "{action.name}"')
    return [finding] if finding is not None else []
