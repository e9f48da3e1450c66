"""Effects as transcript lines: what `pageflows chat` prints and `.chat` files pin.

Bot messages read `< [HOW] preview`, so a chat session pasted into a
transcript is already a test; other effects are `·` lines, which
transcripts ignore.
"""

from __future__ import annotations

from datetime import datetime

from pageflows.chat.conversation import Happened, describe_delivery, wait_text
from pageflows.engine import timing
from pageflows.engine.effects import (
    Cancelled,
    Changed,
    HandOff,
    Note,
    NotifyOut,
    Schedule,
    Send,
    Skipped,
    TakeBack,
    Typing,
)
from pageflows.engine.render import ELLIPSIS

SCHEDULED = {
    "follow_up": "follow-up",
    "window_closing": "window-closing reminder",
    "ask_timeout": "the question lets go",  # issue 12: asks
    "handoff_timeout": "the handoff ends",  # issue 12: asks
}


NOT_SCHEDULED = "not scheduled: "  # engine/run.py: a follow-up that never got a time


def effect_lines(happened: list[Happened], now: datetime, zone: str = "UTC") -> list[str]:
    lines: list[str] = []
    last_at: datetime | None = None
    for item in happened:
        effect = item.effect
        if (last_at is not None and item.at != last_at) or (last_at is None and item.at != now):
            lines.append(f"· {item.at:%Y-%m-%d %H:%M} UTC")
        last_at = item.at
        if isinstance(effect, Send | Skipped):
            lines.append(f"< [{describe_delivery(effect)}] {effect.outbound.preview}")
            if isinstance(effect, Skipped):
                lines.append(f"·   {effect.detail}")
        elif isinstance(effect, Changed):
            lines.append(f"·   {effect.what}")
        elif isinstance(effect, Schedule):
            what = SCHEDULED.get(effect.purpose, effect.purpose)
            # issue 12: in the contact's (or the Page's) zone too, where times of day are
            tz = timing.zone(zone)
            local = (
                f" = {effect.due_at.astimezone(tz):%H:%M} {zone}" if tz and zone != "UTC" else ""
            )
            lines.append(
                f"·   {what} at {effect.due_at:%Y-%m-%d %H:%M} UTC{local}"
                f" (in {wait_text(effect.due_at - item.at)})"
            )
        elif isinstance(effect, Cancelled):
            # In the words of `pageflows conversation` and `simulator say`.
            never = effect.detail.startswith(NOT_SCHEDULED)
            what = "not scheduled" if never else "cancelled"
            detail = effect.detail.removeprefix(NOT_SCHEDULED)
            lines.append(f"·   follow-up {what} ({effect.reason}): {detail}")
        elif isinstance(effect, HandOff):
            lines.append(f"·   handed to a human{': ' + effect.reason if effect.reason else ''}")
        elif isinstance(effect, TakeBack):
            lines.append(f"·   the thread is back with the bot: {effect.reason}")
        elif isinstance(effect, NotifyOut):
            lines.append(f"·   POST {effect.url}")
        elif isinstance(effect, Note):
            lines.append(f"·   {effect.text}")
        elif isinstance(effect, Typing):  # issue 12: D: a `·` line, which transcripts ignore
            if effect.skip_reason:
                lines.append(f"·   typing skipped ({effect.skip_reason}): {effect.skip_detail}")
            else:
                lines.append(f"·   {ELLIPSIS} typing {wait_text(effect.pause)}")
    return lines
