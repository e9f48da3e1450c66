"""A webhook body's JSON, decoded and made storable, the same on SQLite and PostgreSQL.

Text. JSON can carry "\\u0000" and lone UTF-16 surrogates ("\\ud800": half an
emoji a client cut in two), and Python decodes both. PostgreSQL text cannot
hold NUL, and no database here can store a lone surrogate, which has no UTF-8
form. So every string, dictionary keys included, is cleaned once, here,
before anything reads it:

- NUL characters and lone surrogates become U+FFFD, the replacement
  character: it shows that a character was lost instead of silently joining
  its neighbours, and an id holding one is no longer an id (a 400), never
  merged with another contact's ("7\u00007" is not "77").

A surrogate pair that makes a real character ("\\ud83d\\ude00", an emoji) is
one character after decoding and is kept as it is.

Numbers. NaN, Infinity and floats too large to be finite (1e999) are not
JSON (RFC 8259) and PostgreSQL's json type refuses them: the body is refused.
Integers of any size are kept; the payload is stored as JSON text.

Nesting deeper than MAX_DEPTH levels is refused: Facebook's deepest shapes
(templates inside echoes) are about a dozen levels, and every later reader of
the payload pays for depth in recursion.
"""

from __future__ import annotations

import json
import math
import re
import threading
from typing import Any

from pageflows.webhook.parse_kinds import Bad

MAX_DEPTH = 32
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class _NotFinite(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


_DECODERS = threading.local()


def _decoder() -> json.JSONDecoder:
    """This thread's JSON decoder with the body's number rules (one per thread: a decoder's
    scanner keeps state while it runs, and the web process decodes on several threads)."""
    decoder: json.JSONDecoder | None = getattr(_DECODERS, "decoder", None)
    if decoder is None:
        decoder = _DECODERS.decoder = json.JSONDecoder(parse_constant=_refuse, parse_float=_finite)
    return decoder


def clean_text(text: str) -> str:
    """`text` with each NUL and each lone surrogate replaced by U+FFFD."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    return _LONE_SURROGATE.sub("\ufffd", text)


def load_json(raw: bytes) -> Any:
    """The decoded, cleaned body; raises `Bad` with the reason when it is no usable JSON."""
    try:
        # As `json.loads(raw, ...)` does with bytes, with this thread's decoder made once:
        # `json.loads` with hooks builds a decoder and its scanner for every body, half of
        # the decoding's time for a webhook's few hundred bytes (issue 13: ingest).
        value = _decoder().decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))
    except _NotFinite as exc:
        raise Bad(f"body holds {exc.text[:20]}, which is not a finite JSON number") from None
    except (ValueError, RecursionError):
        raise Bad("body is not JSON (or not UTF-8)") from None
    if _already_clean(raw):
        return value
    return _clean(value, 0)


# In ASCII JSON, a NUL or a lone surrogate can only come from a `\u0000` or `\uD800`-
# `\uDFFF` escape (case-free hex); a backslash-escaped backslash before a `u` also matches,
# which only costs the walk below.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def _already_clean(raw: bytes) -> bool:
    """True when walking the decoded body could change nothing: Facebook's bodies (ASCII,
    unicode escaped, a dozen brackets) skip the walk, a third of the parse's time. Bytes
    that are not plain ASCII (UTF-8 surrogates, UTF-16, a NUL) always take the walk."""
    return (
        raw.isascii()
        and b"\x00" not in raw
        and raw.count(b"{") + raw.count(b"[") <= MAX_DEPTH
        and _SUSPECT_ESCAPE.search(raw) is None
    )


def _refuse(name: str) -> float:
    raise _NotFinite(name)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(text)
    return value


def _clean(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if not isinstance(value, dict | list):
        return value
    if depth >= MAX_DEPTH:
        raise Bad(f"body is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, dict):
        return {clean_text(k): _clean(v, depth + 1) for k, v in value.items()}
    return [_clean(v, depth + 1) for v in value]
