"""The flow under test: every event has exactly one known reply and one known follow-up.

Each keyword `pingN` gets `pongN` at once and `laterN` a few seconds later, and
a contact sends each keyword at most once, so a (contact, text) pair names one
decision. That is what lets the verdict tell a lost reply from a doubled one
without trusting anything the service records about itself.
"""

from __future__ import annotations

from pathlib import Path

KEYWORDS = 6
FOLLOW_UP_SECONDS = 3
UNEXPECTED = "unexpected: no keyword matched"


def keyword(n: int) -> str:
    return f"ping{n}"


def reply_text(n: int) -> str:
    return f"pong{n}"


def later_text(n: int) -> str:
    return f"later{n}"


def expected_texts(n: int) -> tuple[str, str]:
    """What the service owes a contact who sent keyword `n`: the reply, then the follow-up."""
    return reply_text(n), later_text(n)


def flow_text(keywords: int = KEYWORDS, follow_up_seconds: int = FOLLOW_UP_SECONDS) -> str:
    blocks = [
        f'on keyword "{keyword(n)}" exact:\n'
        f'    send "{reply_text(n)}"\n'
        f"    after {follow_up_seconds}s:\n"
        f'        send "{later_text(n)}"\n'
        for n in range(keywords)
    ]
    # A misrouted event still answers, visibly: the verdict counts it as unexpected.
    blocks.append(f'on message:\n    send "{UNEXPECTED}"\n')
    return "\n".join(blocks)


def write_flows(directory: Path) -> Path:
    """Write the flow folder `pageflows serve` and `pageflows check` are given."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "crash.flow").write_text(flow_text(), encoding="utf-8")
    return directory
