"""issue 12: A. Durations as people write them ("2 days", "1.5h", "48hrs") and what was meant.

Why apart from values.py: the checker's message for a duration it cannot
read, shared by values.py (a duration token it refuses) and slips.py (a
duration the parser stopped in), and both want the same rewrite in the hint.
"""

from __future__ import annotations

import re

Problem = tuple[str, str | None]
UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}

# How marketers write units; each reads as one of s, m, h, d, w.
UNIT_WORDS = {
    **{w: "s" for w in ("s", "sec", "secs", "second", "seconds")},
    **{w: "m" for w in ("m", "min", "mins", "minute", "minutes")},
    **{w: "h" for w in ("h", "hr", "hrs", "hour", "hours")},
    **{w: "d" for w in ("d", "day", "days")},
    **{w: "w" for w in ("w", "wk", "wks", "week", "weeks")},
}
DURATION_WORDS = re.compile(r"\s*(\d+(?:[.,]\d+)?)\s*([A-Za-z]+)")


def not_a_duration(text: str) -> Problem:
    """A duration written as people write it ("2 days", "1.5h", "48hrs") and what to write.

    Why the rewrite in the hint: the marketer meant a time; saying which
    duration that is (2d, 1h30m, 48h) is the fix, not a grammar lesson.
    """
    message = f'expected a duration such as 2h, 3d or 30m, found "{text}"'
    meant = duration_meant(text)
    if meant:
        return message, f"write {meant}: a whole number and a unit (s, m, h, d, w), no space"
    return message, "write a number and a unit (s, m, h, d, w), such as 20h, 3d, 1h30m or 45m"


def duration_meant(text: str) -> str | None:
    """ "2 days" -> "2d", "1.5h" -> "1h30m", "48hrs" -> "48h"; None if it is not a time."""
    parts: list[tuple[float, str]] = []
    end = 0
    for match in DURATION_WORDS.finditer(text):
        if match.start() != end:
            return None
        unit = UNIT_WORDS.get(match.group(2).lower())
        if unit is None:
            return None
        parts.append((float(match.group(1).replace(",", ".")), unit))
        end = match.end()
    if not parts or text[end:].strip():
        return None
    if all(n.is_integer() for n, _ in parts):
        return "".join(f"{int(n)}{u}" for n, u in parts)
    seconds = round(sum(n * UNIT_SECONDS[u] for n, u in parts))
    out = ""
    for unit in "dhms":
        count, seconds = divmod(seconds, UNIT_SECONDS[unit])
        out += f"{count}{unit}" if count else ""
    return out or None
