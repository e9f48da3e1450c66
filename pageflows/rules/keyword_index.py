"""Keyword index: match a message against every `on keyword` trigger at once.

The index is built once when the flows are loaded. Matching a message never
scans the keywords one by one: the message is normalized into a sequence of
words and a trie keyed by words is walked from each word position, so the cost
per message is O(words in message x words in the longest phrase), independent
of how many keywords are registered.

Normalization (`normalize_words`) is shared by phrases and messages, so both
sides always agree:

* case-insensitive (`str.casefold`, so "ß" matches "ss") and accent-insensitive
  (NFKD, then the diacritic marks are dropped: "PRÊÇO" -> "preco"). Besides
  the Latin/Greek/Cyrillic combining diacritics, Arabic harakat and tatweel and
  Hebrew points are dropped, and a few letters that carry a stroke instead of a
  combining accent are folded ("ł" -> "l", "ø" -> "o", "ı" -> "i", "æ" -> "ae",
  "œ" -> "oe"). Marks that are part of the spelling (Indic vowel signs, Thai
  tone marks, Japanese voicing marks) are kept.
* words are runs of Unicode letters and digits of any script; punctuation,
  symbols, emoji and whitespace separate words, and so do apostrophes
  ("what's" -> "what", "s"). Invisible format characters (zero-width joiners,
  soft hyphens, bidi marks) are ignored, except the zero-width space, which
  separates.
* scripts written without spaces between words (CJK ideographs, Hiragana,
  Katakana, Bopomofo, Thai, Lao, Khmer, Myanmar) yield one word per character,
  with its marks attached, so that "价格" is found inside "这个价格多少". Word
  boundaries are therefore not enforced inside such text.

This module is pure and uses the standard library only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["KeywordEntry", "KeywordIndex", "KeywordMode", "normalize_words"]


class KeywordMode(StrEnum):
    """How a keyword phrase must appear in a message (on normalized words)."""

    EXACT = "exact"  # the message is the phrase
    STARTS = "starts"  # the message begins with the phrase
    CONTAINS = "contains"  # the phrase occurs anywhere, on word boundaries


@dataclass(frozen=True)
class KeywordEntry:
    """One keyword phrase of one trigger.

    `rank` orders competing matches: the lowest rank wins. The caller computes
    it (from the trigger's specificity and declaration order). `trigger` is an
    opaque id handed back on match.
    """

    phrase: str
    mode: KeywordMode
    rank: tuple[int, ...]
    trigger: int

    def __post_init__(self) -> None:
        # Accept the plain string spelling ("exact") and reject unknown modes early.
        object.__setattr__(self, "mode", KeywordMode(self.mode))


# --------------------------------------------------------------------------- normalization

_ASCII_WORD = re.compile(r"[a-z0-9]+")

# Characters removed before splitting (they never separate words).
_DROP_RANGES: tuple[tuple[int, int], ...] = (
    (0x0300, 0x036F),  # combining diacritical marks (Latin, Greek, Cyrillic accents)
    (0x1AB0, 0x1AFF),  # combining diacritical marks extended
    (0x1DC0, 0x1DFF),  # combining diacritical marks supplement
    (0x20D0, 0x20FF),  # combining marks for symbols (keycap, enclosing circle...)
    (0xFE20, 0xFE2F),  # combining half marks
    (0xFE00, 0xFE0F),  # variation selectors (emoji presentation)
    (0xE0100, 0xE01EF),  # variation selectors supplement
    (0x0591, 0x05BD),  # Hebrew cantillation and points
    (0x05BF, 0x05BF),
    (0x05C1, 0x05C2),
    (0x05C4, 0x05C5),
    (0x05C7, 0x05C7),
    (0x0610, 0x061A),  # Arabic honorific and Quranic marks
    (0x064B, 0x065F),  # Arabic harakat, hamza above/below
    (0x0670, 0x0670),  # Arabic superscript alef
    (0x0640, 0x0640),  # Arabic tatweel (elongation)
    (0x06D6, 0x06DC),
    (0x06DF, 0x06E4),
    (0x06E7, 0x06E8),
    (0x06EA, 0x06ED),
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x061C, 0x061C),  # Arabic letter mark
    (0x180B, 0x180F),  # Mongolian variation selectors / vowel separator
    (0x200C, 0x200F),  # ZWNJ, ZWJ, LRM, RLM
    (0x202A, 0x202E),  # bidi embeddings and overrides
    (0x2060, 0x2064),  # word joiner, invisible operators
    (0x2066, 0x206F),  # bidi isolates, deprecated format characters
    (0xFEFF, 0xFEFF),  # zero-width no-break space / BOM
    (0xE0001, 0xE0001),  # language tag
    (0xE0020, 0xE007F),  # tag characters (emoji flags of subdivisions)
)

# Letters with a stroke or ligatures that NFKD does not decompose.
_FOLDS: dict[str, str] = {
    "ı": "i",
    "ł": "l",
    "ø": "o",
    "đ": "d",
    "ħ": "h",
    "ŧ": "t",
    "ƀ": "b",
    "ɨ": "i",
    "æ": "ae",
    "œ": "oe",
}

_TRANSLATE: dict[int, str | None] = {
    cp: None for lo, hi in _DROP_RANGES for cp in range(lo, hi + 1)
} | {ord(k): v for k, v in _FOLDS.items()}

# Scripts written without spaces: every letter is a word of its own.
_SOLO_RANGES: tuple[tuple[int, int], ...] = (
    (0x0E00, 0x0E7F),  # Thai
    (0x0E80, 0x0EFF),  # Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x19E0, 0x19FF),  # Khmer symbols
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3021, 0x3029),  # Hangzhou numerals
    (0x3031, 0x3035),  # kana repeat marks
    (0x303B, 0x303C),
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x312F),  # Bopomofo
    (0x31A0, 0x31BF),  # Bopomofo extended
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA9E0, 0xA9FF),  # Myanmar extended-B
    (0xAA60, 0xAA7F),  # Myanmar extended-A
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # halfwidth Katakana
    (0x16FE0, 0x16FFF),  # ideographic symbols
    (0x1B000, 0x1B16F),  # Kana supplement / extended
    (0x20000, 0x323AF),  # CJK extensions B..H, compatibility supplement
)

_SEP, _WORD, _SOLO, _MARK, _SKIP = range(5)

_KIND_CACHE: dict[str, int] = {}


def _kind(ch: str) -> int:
    kind = _KIND_CACHE.get(ch)
    if kind is None:
        kind = _classify(ch)
        _KIND_CACHE[ch] = kind
    return kind


def _classify(ch: str) -> int:
    category = unicodedata.category(ch)
    major = category[0]
    if major in ("L", "N"):
        cp = ord(ch)
        for lo, hi in _SOLO_RANGES:
            if lo <= cp <= hi:
                return _SOLO
        return _WORD
    if major == "M":
        return _MARK
    if category == "Cf" and ch != "\u200b":  # zero-width space separates words
        return _SKIP
    return _SEP


def normalize_words(text: str) -> tuple[str, ...]:
    """Split `text` into case- and accent-folded words (see the module docstring)."""
    folded = text.casefold()
    if folded.isascii():
        return tuple(_ASCII_WORD.findall(folded))
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", folded).casefold())
    folded = unicodedata.normalize("NFC", folded.translate(_TRANSLATE))
    if folded.isascii():
        return tuple(_ASCII_WORD.findall(folded))
    return tuple(_split(folded))


def _split(text: str) -> Iterator[str]:
    buf: list[str] = []
    solo = False  # buf holds one character of a script written without spaces
    for ch in text:
        kind = _kind(ch)
        if kind == _WORD:
            if solo:
                yield "".join(buf)
                buf.clear()
                solo = False
            buf.append(ch)
        elif kind == _SOLO:
            if buf:
                yield "".join(buf)
                buf.clear()
            buf.append(ch)
            solo = True
        elif kind == _MARK:
            if buf:  # a mark belongs to the letter before it; a stray mark is dropped
                buf.append(ch)
        elif kind == _SEP and buf:
            yield "".join(buf)
            buf.clear()
            solo = False
        # _SKIP: invisible, neither part of a word nor a separator
    if buf:
        yield "".join(buf)


# --------------------------------------------------------------------------- index


_Key = tuple[tuple[int, ...], int]  # (rank, build order): unique per entry
_Item = tuple[_Key, KeywordEntry]


@dataclass(slots=True)
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    # Entries whose phrase ends at this node, per mode, sorted best first.
    exact: list[_Item] = field(default_factory=list)
    starts: list[_Item] = field(default_factory=list)
    contains: list[_Item] = field(default_factory=list)
    # Precomputed bests for `match`: a phrase found at a later position can only
    # be CONTAINS; at position 0 also STARTS; at position 0 spanning the whole
    # message any mode.
    best_contains: _Item | None = None
    best_prefix: _Item | None = None
    best_whole: _Item | None = None

    def finish(self) -> None:
        self.exact.sort(key=_item_key)
        self.starts.sort(key=_item_key)
        self.contains.sort(key=_item_key)
        self.best_contains = _best(self.contains)
        self.best_prefix = _best(self.contains, self.starts)
        self.best_whole = _best(self.contains, self.starts, self.exact)


def _item_key(item: _Item) -> _Key:
    return item[0]


def _best(*buckets: list[_Item]) -> _Item | None:
    heads = [bucket[0] for bucket in buckets if bucket]
    return min(heads, key=_item_key) if heads else None


class KeywordIndex:
    """All keyword phrases of a set of flows, in a trie keyed by normalized words.

    Build it once with `KeywordIndex.build(entries)`; it is immutable afterwards
    and safe to share between threads. Equal ranks are broken by the order in
    which the entries were given to `build` (earlier wins).
    """

    __slots__ = ("_has_contains", "_ignored", "_root", "_size")

    def __init__(self) -> None:
        self._root = _Node()
        self._size = 0
        self._has_contains = False
        self._ignored: tuple[KeywordEntry, ...] = ()

    @classmethod
    def build(cls, entries: Iterable[KeywordEntry]) -> KeywordIndex:
        """Index `entries`; phrases that normalize to no words are ignored."""
        index = cls()
        ignored: list[KeywordEntry] = []
        touched: dict[int, _Node] = {}
        for seq, entry in enumerate(entries):
            words = normalize_words(entry.phrase)
            if not words:
                ignored.append(entry)
                continue
            node = index._root
            for word in words:
                child = node.children.get(word)
                if child is None:
                    child = node.children[word] = _Node()
                node = child
            item: _Item = ((entry.rank, seq), entry)
            if entry.mode == KeywordMode.EXACT:
                node.exact.append(item)
            elif entry.mode == KeywordMode.STARTS:
                node.starts.append(item)
            else:
                node.contains.append(item)
                index._has_contains = True
            touched[id(node)] = node
            index._size += 1
        for node in touched.values():
            node.finish()
        index._ignored = tuple(ignored)
        return index

    def __len__(self) -> int:
        """Number of indexed entries (ignored empty phrases not counted)."""
        return self._size

    @property
    def ignored(self) -> tuple[KeywordEntry, ...]:
        """Entries whose phrase has no words (punctuation or emoji only)."""
        return self._ignored

    def match(self, text: str) -> KeywordEntry | None:
        """The matching entry with the lowest rank, or None."""
        words = normalize_words(text)
        n = len(words)
        best: _Item | None = None
        # From position 0: every mode.
        node = self._root
        for j in range(n):
            child = node.children.get(words[j])
            if child is None:
                break
            node = child
            cand = node.best_whole if j == n - 1 else node.best_prefix
            if cand is not None and (best is None or cand[0] < best[0]):
                best = cand
        if not self._has_contains:
            return None if best is None else best[1]
        # From every later position: CONTAINS only.
        root_get = self._root.children.get
        for i in range(1, n):
            start = root_get(words[i])
            if start is None:
                continue
            node = start
            j = i
            while True:
                cand = node.best_contains
                if cand is not None and (best is None or cand[0] < best[0]):
                    best = cand
                j += 1
                if j == n:
                    break
                child = node.children.get(words[j])
                if child is None:
                    break
                node = child
        return None if best is None else best[1]

    def matches(self, text: str) -> list[KeywordEntry]:
        """Every matching entry, best (lowest rank) first, each entry once."""
        found: dict[_Key, KeywordEntry] = {}
        for bucket in self._buckets(normalize_words(text)):
            for key, entry in bucket:
                found[key] = entry
        return [found[key] for key in sorted(found)]

    def _buckets(self, words: tuple[str, ...]) -> Iterator[list[_Item]]:
        """Yield the per-mode entry lists of every phrase found in `words`."""
        n = len(words)
        root = self._root
        # From position 0: all three modes.
        node = root
        for j in range(n):
            child = node.children.get(words[j])
            if child is None:
                break
            node = child
            yield node.starts
            yield node.contains
            if j == n - 1:
                yield node.exact
        if not self._has_contains:
            return
        # From every later position: CONTAINS only.
        for i in range(1, n):
            node = root
            for j in range(i, n):
                child = node.children.get(words[j])
                if child is None:
                    break
                node = child
                yield node.contains
