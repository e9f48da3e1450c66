"""What a person typed, checked against Facebook's limits before anything is decided or stored.

A reply is text and/or one attachment by URL, with optional quick replies
(send-api.md §1: text under 2,000 characters, at most 13 quick replies, a title
of at most 20 characters, a payload of at most 1,000). Every problem is named at
once, so the console can show them all next to the fields; nothing here raises
on odd JSON, it says what is wrong with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_TEXT = 1999  # "< 2000 chars" (send-api.md §1)
MAX_QUICK_REPLIES = 13
MAX_TITLE = 20
MAX_PAYLOAD = 1000
MAX_AUTHOR = 128
MAX_URL = 2000
MEDIA = ("image", "video", "audio", "file")
FIELDS = ("text", "attachment", "quick_replies", "author")


class DraftError(ValueError):
    """The draft cannot go as it is; `problems` says why, one sentence each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class QuickReply:
    title: str
    payload: str


@dataclass(frozen=True)
class Draft:
    text: str | None = None
    attachment_type: str | None = None
    attachment_url: str | None = None
    quick_replies: tuple[QuickReply, ...] = ()
    author: str | None = None

    def messages(self) -> list[tuple[dict[str, Any], str]]:
        """Send API `message` objects with a preview each: the text first, then the
        attachment (Facebook takes one or the other per message); the quick replies
        ride on the last one, where the contact sees them."""
        out: list[tuple[dict[str, Any], str]] = []
        if self.text is not None:
            out.append(({"text": self.text}, self.text))
        if self.attachment_type is not None and self.attachment_url is not None:
            attachment = {"type": self.attachment_type, "payload": {"url": self.attachment_url}}
            out.append(
                ({"attachment": attachment}, f"[{self.attachment_type}] {self.attachment_url}")
            )
        if self.quick_replies and out:
            last, preview = out[-1]
            replies = [
                {"content_type": "text", "title": q.title, "payload": q.payload}
                for q in self.quick_replies
            ]
            out[-1] = ({**last, "quick_replies": replies}, preview)
        return out


def parse_draft(body: dict[str, Any]) -> Draft:
    """The draft in a JSON body, or DraftError with every problem found."""
    problems: list[str] = []
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        problems.append(f"unknown field(s) {', '.join(unknown)}; a reply has {', '.join(FIELDS)}")
    text = _text(body.get("text"), problems)
    kind, url = _attachment(body.get("attachment"), problems)
    replies = _quick_replies(body.get("quick_replies"), problems)
    author = body.get("author")
    if author is not None and (not isinstance(author, str) or len(author) > MAX_AUTHOR):
        problems.append(f"author must be a name of at most {MAX_AUTHOR} characters")
        author = None
    if text is None and kind is None and not problems:
        problems.append('give "text" or "attachment" (or both)')
    if problems:
        raise DraftError(problems)
    return Draft(text, kind, url, replies, author.strip() or None if author else None)


def _text(value: Any, problems: list[str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append("text must be a non-empty string")
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # bytes that are not UTF-8, as a terminal can pass them
        problems.append("text holds bytes or characters that are not valid Unicode (UTF-8)")
        return None
    if len(value) > MAX_TEXT:
        problems.append(
            f"text has {len(value)} characters; Facebook takes fewer than {MAX_TEXT + 1}"
        )
        return None
    return value


def _attachment(value: Any, problems: list[str]) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    if not isinstance(value, dict):
        problems.append('attachment must be an object {"type": "image", "url": "https://..."}')
        return None, None
    kind, url = value.get("type"), value.get("url")
    ok = True
    if kind not in MEDIA:
        problems.append(f"attachment.type must be one of {', '.join(MEDIA)}")
        ok = False
    if not isinstance(url, str) or not url.startswith("https://") or len(url) > MAX_URL:
        problems.append(
            f"attachment.url must be an https:// URL of at most {MAX_URL} characters"
            " that Facebook can fetch"
        )
        ok = False
    extra = sorted(set(value) - {"type", "url"})
    if extra:
        problems.append(f"attachment has unknown field(s) {', '.join(extra)}")
        ok = False
    return (str(kind), str(url)) if ok else (None, None)


def _quick_replies(value: Any, problems: list[str]) -> tuple[QuickReply, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append('quick_replies must be a list of {"title", "payload"}')
        return ()
    if len(value) > MAX_QUICK_REPLIES:
        problems.append(f"{len(value)} quick replies; Facebook shows at most {MAX_QUICK_REPLIES}")
    found: list[QuickReply] = []
    for n, item in enumerate(value[:MAX_QUICK_REPLIES], start=1):
        title = item.get("title") if isinstance(item, dict) else None
        payload = item.get("payload") if isinstance(item, dict) else None
        if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
            problems.append(f"quick reply {n}: title must be 1 to {MAX_TITLE} characters")
            continue
        if not isinstance(payload, str) or not payload or len(payload) > MAX_PAYLOAD:
            problems.append(f"quick reply {n}: payload must be 1 to {MAX_PAYLOAD} characters")
            continue
        found.append(QuickReply(title, payload))
    return tuple(found)
