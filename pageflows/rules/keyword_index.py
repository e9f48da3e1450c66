"""Keyword index: match a message against every `on keyword` trigger at once.

The index is built once when the flows are loaded. Matching a message never
scans the keywords one by one: the message is folded once into a sequence of
words (`pageflows.rules.folding`) and the phrases are looked up in one dict
keyed by folded phrase, so the cost per message is O(words in message x words
in the longest phrase), independent of how many keywords are registered.

Folding (`normalize_words`) is shared by phrases and messages, so both sides
always agree; its rules, and why it is built as it is, are in
pageflows/rules/folding.py: case- and accent-insensitive ("PRÊÇO" -> "preco"),
words are runs of letters and digits of any script (punctuation, emoji and
apostrophes separate them), and scripts written without spaces (CJK, Thai...)
give one word per character, so "价格" is found inside "这个价格多少".

Why one flat dict and packed ints rather than a trie of nodes: a busy Page's
flows may hold 100,000 keywords, and a node object with its own dict and lists
costs 700-800 bytes per keyword; the flat dict costs a key and a small int. A
multi-word phrase also stores its shorter beginnings as keys (marked "goes
on"), so a message is walked word by word from each position exactly as a trie
would be. And most messages match nothing: one C-level intersection of the
message's words with the keys answers those before any Python loop runs, and
otherwise gives the few words a walk can start from.

This module is pure and uses the standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from pageflows.rules.folding import fold_words

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
        # Accept the plain string spelling ("exact") and reject unknown modes early
        # (issue 13: A: a mode given as a KeywordMode already is kept without a call).
        if type(self.mode) is not KeywordMode:
            object.__setattr__(self, "mode", KeywordMode(self.mode))


def normalize_words(text: str) -> tuple[str, ...]:
    """Split `text` into case- and accent-folded words (pageflows/rules/folding.py)."""
    return tuple(fold_words(text))


# --------------------------------------------------------------------------- index
#
# Entries are sorted once by (rank, order given): an entry's place in that order
# is its number, so "lowest rank wins" is "smallest number wins" and ties keep
# the order given. Each key of `_phrases` (a folded phrase, words joined by one
# space) maps to one int packing, for the phrase ending there, the best number
# usable when the phrase is the whole message (any mode), when it begins it
# (contains or starts) and anywhere (contains), plus a bit saying a longer
# phrase goes on from this key:
#
#     goes_on | whole << 1 | prefix << (1 + bits) | contains << (1 + 2 * bits)
#
# `none` (all ones in `bits` bits) means no entry. A key with more than one entry
# also lists all their numbers in `_multi`, for `matches`.


# How many of (whole, prefix, contains) an entry of each mode may match in.
_REACH = {KeywordMode.EXACT: 1, KeywordMode.STARTS: 2, KeywordMode.CONTAINS: 3}


class KeywordIndex:
    """All keyword phrases of a set of flows, keyed by folded phrase.

    Build it once with `KeywordIndex.build(entries)`; it is immutable afterwards
    and safe to share between threads. Equal ranks are broken by the order in
    which the entries were given to `build` (earlier wins).
    """

    __slots__ = ("_bits", "_entries", "_has_contains", "_heads", "_ignored", "_multi", "_phrases")

    def __init__(self) -> None:
        self._entries: tuple[KeywordEntry, ...] = ()
        self._phrases: dict[str, int] = {}
        self._heads: frozenset[str] = frozenset()
        self._multi: dict[str, tuple[int, ...]] = {}
        self._bits = 1
        self._has_contains = False
        self._ignored: tuple[KeywordEntry, ...] = ()

    @classmethod
    def build(cls, entries: Iterable[KeywordEntry]) -> KeywordIndex:
        """Index `entries`; phrases that fold to no words are ignored."""
        index = cls()
        kept: list[tuple[tuple[int, ...], int, KeywordEntry, str]] = []
        ignored: list[KeywordEntry] = []
        for seq, entry in enumerate(entries):
            words = fold_words(entry.phrase)
            if words:
                kept.append((entry.rank, seq, entry, " ".join(words)))
            else:
                ignored.append(entry)
        kept.sort(key=lambda item: (item[0], item[1]))
        bits = index._bits = max(1, len(kept).bit_length())
        none = (1 << bits) - 1
        best: dict[str, list[int]] = {}  # key -> [whole, prefix, contains]
        orders: dict[str, list[int]] = {}
        goes_on: set[str] = set()
        for order, (_, _, entry, key) in enumerate(kept):
            bests = best.get(key)
            if bests is None:
                bests = best[key] = [none, none, none]
                orders[key] = []
                if " " in key:  # issue 13: A: a one-word phrase begins with no shorter one
                    goes_on.update(_beginnings(key))
            orders[key].append(order)
            for slot in range(_REACH[entry.mode]):
                bests[slot] = min(bests[slot], order)
            index._has_contains |= entry.mode is KeywordMode.CONTAINS
        marker = 0
        for slot in range(3):
            marker |= none << (1 + slot * bits)
        phrases = dict.fromkeys(goes_on, marker | 1)
        for key, (whole, prefix, contains) in best.items():
            packed = whole << 1 | prefix << (1 + bits) | contains << (1 + 2 * bits)
            phrases[key] = packed | (key in goes_on)
        index._phrases = phrases
        # issue 13: the keys of one word, where every walk starts, in a set of their own.
        # A message's words are looked up there first, and a set keeps each hash beside
        # its key: at 100,000 keywords the dict's index and entries, and each key's
        # string for its hash, are mostly out of the processor's caches, and a look-up
        # that misses (most words of a message) cost one to three memory reads there,
        # about one here (0.55 against 0.65 µs a message's words; 21 bytes a keyword).
        index._heads = frozenset(key for key in phrases if " " not in key)
        index._multi = {key: tuple(found) for key, found in orders.items() if len(found) > 1}
        index._entries = tuple(item[2] for item in kept)
        index._ignored = tuple(ignored)
        return index

    def __len__(self) -> int:
        """Number of indexed entries (ignored empty phrases not counted)."""
        return len(self._entries)

    @property
    def entries(self) -> tuple[KeywordEntry, ...]:
        """The indexed entries, best (lowest rank) first; ties in the order given."""
        return self._entries

    @property
    def ignored(self) -> tuple[KeywordEntry, ...]:
        """Entries whose phrase has no words (punctuation or emoji only)."""
        return self._ignored

    def match(self, text: str) -> KeywordEntry | None:
        """The matching entry with the lowest rank, or None."""
        words = fold_words(text)
        phrases = self._phrases
        # The words that begin some phrase, found in C; empty for most messages.
        heads = self._heads.intersection(words)
        if not heads:
            return None
        bits = self._bits
        mask = (1 << bits) - 1
        best = mask
        n = len(words)
        first = words[0]
        if first in heads:
            # From position 0: every mode.
            key, packed, k = first, phrases[first], 1
            while True:
                found = (packed >> 1) & mask if k == n else (packed >> (1 + bits)) & mask
                if found < best:
                    best = found
                if not packed & 1 or k == n:
                    break
                key = f"{key} {words[k]}"
                k += 1
                next_packed = phrases.get(key)
                if next_packed is None:
                    break
                packed = next_packed
        if self._has_contains:
            # From every later position where a phrase begins: CONTAINS only.
            # (Counted in C: most heads occur once, and no loop object is made.)
            shift = 1 + 2 * bits
            get = phrases.get
            for head in heads:
                packed = phrases[head]
                found = packed >> shift
                if not packed & 1:  # a one-word phrase that no longer phrase extends
                    if found < best and (head != first or words.count(head) > 1):
                        best = found
                    continue
                count = words.count(head) - (head == first)
                i = 0
                while count:
                    count -= 1
                    i = words.index(head, i + 1)  # position 0 was walked above
                    if found < best:
                        best = found
                    j = i + 1
                    if j == n:
                        break
                    key = f"{head} {words[j]}"
                    step = get(key)
                    while step is not None:
                        if step >> shift < best:
                            best = step >> shift
                        j += 1
                        if not step & 1 or j == n:
                            break
                        key = f"{key} {words[j]}"
                        step = get(key)
        return None if best == mask else self._entries[best]

    def matches(self, text: str) -> list[KeywordEntry]:
        """Every matching entry, best (lowest rank) first, each entry once.

        issue 13: A: the `check` of 10,000 triggers asks this of every phrase;
        the modes allowed where a phrase sits are constants, looked up once.
        """
        words = fold_words(text)
        n = len(words)
        found: set[int] = set()
        phrases, multi, entries = self._phrases, self._multi, self._entries
        count = len(entries)
        mask = (1 << self._bits) - 1
        for i in range(n if self._has_contains else min(n, 1)):
            key = ""
            for j in range(i, n):
                key = f"{key} {words[j]}" if key else words[j]
                packed = phrases.get(key)
                if packed is None:
                    break
                allowed = _CONTAINS if i else (_WHOLE if j == n - 1 else _PREFIX)
                for order in multi.get(key) or ((packed >> 1) & mask,):
                    if order < count and entries[order].mode in allowed:
                        found.add(order)
        return [entries[order] for order in sorted(found)]


# The modes of the entries a phrase may match when it is the whole message, when
# it begins it, and when it sits further in.
_WHOLE = frozenset((KeywordMode.EXACT, KeywordMode.STARTS, KeywordMode.CONTAINS))
_PREFIX = frozenset((KeywordMode.STARTS, KeywordMode.CONTAINS))
_CONTAINS = frozenset((KeywordMode.CONTAINS,))


def _beginnings(key: str) -> list[str]:
    """The shorter phrases a phrase begins with: "a b c" -> ["a", "a b"]."""
    words = key.split(" ")
    return [" ".join(words[:k]) for k in range(1, len(words))]
