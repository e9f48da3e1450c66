"""Folding: turn a message or a keyword phrase into case- and accent-folded words.

Keywords and messages go through the same function (`fold_words`), so both sides
always agree:

* case-insensitive (`str.casefold`, so "ß" matches "ss") and accent-insensitive
  (NFKD, then the diacritic marks are dropped: "PRÊÇO" -> "preco"). Besides
  the Latin/Greek/Cyrillic combining diacritics, Arabic harakat and tatweel and
  Hebrew points are dropped, and a few letters that carry a stroke instead of a
  combining accent are folded ("ł" -> "l", "ø" -> "o", "ı" -> "i", "æ" -> "ae",
  "œ" -> "oe"). Marks that are part of the spelling (Indic vowel signs, Thai
  tone marks, Japanese voicing marks) are kept. Composed and decomposed accents
  fold alike ("café" is "cafe" + U+0301 is "cafe"), and a Turkish dotted capital
  I folds to "i" inside its word: the dot that `casefold` adds is a mark, never a
  word boundary.
* words are runs of Unicode letters and digits of any script; punctuation,
  symbols, emoji and whitespace separate words, and so do apostrophes
  ("what's" -> "what", "s"). Invisible format characters (zero-width joiners,
  soft hyphens, bidi marks) are ignored, except the zero-width space, which
  separates.
* scripts written without spaces between words (CJK ideographs, Hiragana,
  Katakana, Bopomofo, Thai, Lao, Khmer, Myanmar) yield one word per character,
  with its marks attached, so that "价格" is found inside "这个价格多少". Word
  boundaries are therefore not enforced inside such text.

Why it is built this way: folding is most of the cost of matching a message
(the index itself is a few dictionary look-ups), so it runs once per message
and does its per-character work in C, never in a Python loop:

* ASCII text (most messages) takes one `bytes.translate` through a 256-byte
  table (lowercase letters and digits, everything else a space) and one
  `str.split`;
* text that begins with ASCII and is Latin-1 (most messages beyond ASCII) takes
  one encode, told by its length, and one decode through the Latin-1 folding
  table; ASCII but for emoji beyond the BMP is told by the length of its UTF-8
  and folds as ASCII; Latin-1 but for emoji, curly quotes and dashes encodes each
  of those as "?", a space (issue 13: all three without a look at each character
  in Python or a search for the first one beyond ASCII);
* text whose characters each fold alone takes a shortcut (`_fold_plain`):
  text of one single-byte code page (Latin-1, or Windows' Western, Cyrillic,
  Greek, Central European, Turkish, Baltic page, chosen by its first character
  beyond Latin-1) is encoded and decoded back through a folding table built
  from the general path, one C call each; emoji and the punctuation of other
  scripts first become spaces; CJK text is one word a character; other text is
  casefolded and, if all its characters are "plain" (generated class: they
  fold to themselves whatever is around them), split as it stands;
* anything else (decomposed accents, marks that stay, letters beyond the BMP)
  takes the general path (`_fold_general`): casefold and NFKD, emoji become
  spaces, the dropped marks are removed with one regular-expression
  substitution, then NFC; if that left ASCII it takes the ASCII path, else one
  `findall` with character classes generated from `unicodedata`
  (pageflows/rules/unicode_classes.py, compiled on the first non-ASCII text)
  splits it into words. It is the reference: tests check every shortcut
  against it, character by character and on random text.

This module is pure and uses the standard library only.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from codecs import charmap_decode as _charmap_decode
from codecs import charmap_encode as _charmap_encode
from collections.abc import Callable
from functools import cache, lru_cache
from itertools import repeat
from typing import Any

from pageflows.rules import unicode_classes as classes

__all__ = ["fold_words"]

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

# The planes that hold every letter, digit, mark and format character that
# `unicodedata` knows: the BMP, plane 1, the CJK planes 2-3 and plane 14 (tags,
# variation selectors). tests/unit/test_keyword_index.py checks the rest holds none.
SCANNED_RANGES: tuple[tuple[int, int], ...] = ((0x0000, 0x3FFFF), (0xE0000, 0xE0FFF))

# ASCII: lowercase letters and digits stay, everything else separates.
_ASCII_TABLE: dict[int, str] = {
    cp: (chr(cp).lower() if chr(cp).isalnum() else " ") for cp in range(128)
}


def _char_class(ranges: list[tuple[int, int]]) -> str:
    """A regular-expression character class (without brackets) for sorted ranges."""
    return "".join(f"\\U{lo:08x}" if lo == hi else f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in ranges)


def _one_of(ranges: list[tuple[int, int]]) -> str:
    """A pattern matching one character of `ranges`, fast for the BMP.

    Python's `re` tests a class of characters up to U+FFFF against a bitmap, but
    one with characters beyond that against every range in turn: so the BMP part
    is a class of its own, and the rest is tried only for characters beyond it.
    """
    bmp, astral = _split_ranges(ranges, ((0, 0xFFFF),))
    if not astral:
        return f"[{_char_class(bmp)}]"
    return f"(?:[{_char_class(bmp)}]|(?=[\\U00010000-\\U0010ffff])[{_char_class(astral)}])"


def _split_ranges(
    ranges: list[tuple[int, int]], cut: tuple[tuple[int, int], ...]
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(the parts of `ranges` inside `cut`, the parts outside), both sorted."""
    inside: list[tuple[int, int]] = []
    outside: list[tuple[int, int]] = []
    for lo, hi in ranges:
        start = lo
        for c_lo, c_hi in sorted(cut):
            if c_hi < start or c_lo > hi:
                continue
            if c_lo > start:
                outside.append((start, c_lo - 1))
            inside.append((max(start, c_lo), min(hi, c_hi)))
            start = min(hi, c_hi) + 1
            if start > hi:
                break
        if start <= hi:
            outside.append((start, hi))
    return sorted(inside), sorted(outside)


# The kind of each general category: W letter or digit, M mark, F format, . other.
_KINDS = {
    **dict.fromkeys(("Lu", "Ll", "Lt", "Lm", "Lo", "Nd", "Nl", "No"), "W"),
    **dict.fromkeys(("Mn", "Mc", "Me"), "M"),
    "Cf": "F",
}
_RUN = re.compile(r"W+|M+|F+")


def _scan() -> dict[str, list[tuple[int, int]]]:
    """Ranges of letters and digits (W), marks (M) and format characters (F).

    The scan runs in C (`map`, then one regular expression over a string of kinds).
    """
    runs: dict[str, list[tuple[int, int]]] = {"W": [], "M": [], "F": []}
    for lo, hi in SCANNED_RANGES:
        categories = map(unicodedata.category, map(chr, range(lo, hi + 1)))
        kinds = "".join(map(_KINDS.get, categories, repeat(".")))
        for run in _RUN.finditer(kinds):
            runs[run.group()[0]].append((lo + run.start(), lo + run.end() - 1))
    return runs


def pattern_sources() -> dict[str, str]:
    """The patterns of pageflows/rules/unicode_classes.py, from this Python's `unicodedata`.

    drop: marks and invisible format characters, removed before NFC; words: a
    solo-script letter with its marks, or a run of letters, digits and marks.
    Python's `re` tests a class of characters up to U+FFFF against a bitmap but
    one with characters beyond that against every range in turn, so each comes
    twice: for text of the BMP only (once emoji are turned into spaces) and for
    any text.
    """
    runs = _scan()
    solo, word = _split_ranges(runs["W"], _SOLO_RANGES)
    # Format characters are invisible, except the zero-width space, which separates.
    _, invisible = _split_ranges(runs["F"], ((0x200B, 0x200B),))
    dropped = _merge([*_DROP_RANGES, *invisible])
    marks = runs["M"]
    word_or_mark = sorted(word + marks)

    def words(one_of: Callable[[list[tuple[int, int]]], str]) -> str:
        return f"{one_of(solo)}{one_of(marks)}*|{one_of(word)}{one_of(word_or_mark)}*"

    plain, solo_plain = _plain_ranges(word, solo, dropped)
    return {
        "drop": f"{_bmp_class(dropped)}+",
        "words": words(_bmp_class),
        "drop_astral": f"{_one_of(dropped)}+",
        "words_astral": words(_one_of),
        # ASCII (any: the byte table lowercases it and turns the rest into spaces)
        # and the letters and digits that fold to themselves whatever is around them.
        "plain": f"{_bmp_class([(0, 0x7F), *plain])}*",
        # The ASCII that separates, and the letters of scripts written without spaces
        # that fold to themselves: every letter is a word of its own.
        "solo_plain": f"{_bmp_class([*_SOLO_SEPARATORS, *solo_plain])}*",
        # Those letters alone: text of them, once the common punctuation is replaced
        # away, is its words character by character.
        "solo_letters": f"{_bmp_class(solo_plain)}*",
    }


# ASCII characters that are neither letters nor digits, and the punctuation of
# CJK text (ideographic comma and full stop, fullwidth and halfwidth forms): the
# separators that text of a solo script may hold and still take its shortcut.
_SOLO_SEPARATORS = (
    (0x00, 0x2F),
    (0x3A, 0x40),
    (0x5B, 0x60),
    (0x7B, 0x7F),
    (0x3000, 0x3003),
    (0xFF01, 0xFF0F),
    (0xFF1A, 0xFF20),
    (0xFF3B, 0xFF40),
    (0xFF5B, 0xFF65),
)


def _plain_ranges(
    word: list[tuple[int, int]], solo: list[tuple[int, int]], dropped: list[tuple[int, int]]
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(BMP letters and digits beyond ASCII that fold to themselves, those of solo scripts).

    A plain character is already casefolded, NFKD leaves it alone or NFC brings
    it back (so "が" is plain, "ﬁ" is not), its decomposition holds no dropped
    mark, no separator and no letter of `_FOLDS`, and it is never the second of
    a canonical composition (the Hangul vowel and final jamo, which compose with
    the letter before them). Text made only of such characters (once casefolded,
    decomposed and stripped of the Latin combining marks) folds one character at
    a time: the fast paths of `fold_words` rely on it and a test checks every one.
    """
    drop = {cp for lo, hi in dropped for cp in range(lo, hi + 1)}
    seconds = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))
    for lo, hi in SCANNED_RANGES:
        for cp in range(lo, hi + 1):
            parts = unicodedata.decomposition(chr(cp)).split()
            if len(parts) == 2 and not parts[0].startswith("<"):
                seconds.add(int(parts[1], 16))

    def is_plain(cp: int) -> bool:
        ch = chr(cp)
        if cp < 0x80 or cp in seconds or ch in _FOLDS or ch.casefold() != ch:
            return False
        parts = unicodedata.normalize("NFKD", ch)
        if parts.casefold() != parts or unicodedata.normalize("NFC", parts) != ch:
            return False
        return all(
            ord(part) not in drop and _KINDS.get(unicodedata.category(part)) in ("W", "M")
            for part in parts
        ) and (_KINDS.get(unicodedata.category(parts[0])) == "W" and ord(parts[0]) not in seconds)

    def plain_of(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
        found = [cp for lo, hi in ranges for cp in range(lo, min(hi, 0xFFFF) + 1) if is_plain(cp)]
        return _merge([(cp, cp) for cp in found])

    return plain_of(word), plain_of(solo)


def classes_source() -> str:
    """The text of pageflows/rules/unicode_classes.py (a test keeps the file in step).

    The classes are generated once, not built at run time: a scan of Unicode
    costs tens of milliseconds, and every pattern given to `re` in pageflows is
    a literal (tests/unit/test_layers.py), never text a person wrote. Regenerate:

        .venv/bin/python -c 'from pageflows.rules.folding import classes_source as s
        print(s(), end="")' > pageflows/rules/unicode_classes.py
    """
    lines = [
        '"""Character classes for pageflows/rules/folding.py: generated, do not edit.',
        "",
        f"From Unicode {unicodedata.unidata_version} (Python's `unicodedata`), by `classes_source`",
        "in pageflows/rules/folding.py, which says how to regenerate it.",
        "tests/unit/test_keyword_index.py fails when this file and `unicodedata` disagree.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import re",
        "from functools import cache",
        "",
        f'UNIDATA_VERSION = "{unicodedata.unidata_version}"',
    ]
    for name, pattern in pattern_sources().items():
        lines += ["", "", "@cache", f"def {name}() -> re.Pattern[str]:", "    return re.compile("]
        lines += [f'        r"{piece}"' for piece in _pieces(pattern, 80)]
        lines += ["    )"]
    return "\n".join(lines) + "\n"


def _pieces(pattern: str, width: int) -> list[str]:
    """`pattern` cut into pieces of about `width` characters, never inside an escape."""
    tokens = re.findall(r"\\U[0-9a-f]{8}|.", pattern)
    pieces = [""]
    for token in tokens:
        if len(pieces[-1]) + len(token) > width:
            pieces.append("")
        pieces[-1] += token
    return pieces


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def _bmp_class(ranges: list[tuple[int, int]]) -> str:
    return f"[{_char_class(_split_ranges(ranges, ((0, 0xFFFF),))[0])}]"


_ASTRAL = re.compile("[\\U00010000-\\U0010ffff]")


@cache
def _separates(ch: str) -> bool:
    """A character that is neither a letter, a digit, a mark nor invisible (e.g. an emoji)."""
    return _KINDS.get(unicodedata.category(ch)) is None or ch == "\u200b"


# Punctuation and symbols common in Latin-script messages ("¿", "«»", "’", "—",
# "…", "❤"): turned into spaces, text that was ASCII but for them takes the ASCII
# path. Every character here separates words (a test checks it).
_PUNCTUATION = re.compile(
    "[\u00a1-\u00a9\u00ab\u00ac\u00ae-\u00b1\u00b4\u00b6-\u00b8\u00bb\u00bf\u00d7\u00f7"
    "\u2010-\u2027\u2030-\u205e\u2190-\u21ff\u2600-\u2775\u2794-\u27bf\u3000-\u3003]"
)
_FOLD_CHARS = re.compile("[ıłøđħŧƀɨæœ]")  # the keys of _FOLDS
_FOLD_TABLE = {ord(k): v for k, v in _FOLDS.items()}
_ASCII_BYTES = bytes(ord(_ASCII_TABLE[cp]) if cp < 128 else 32 for cp in range(256))


def fold_words(text: str) -> list[str]:
    """Split `text` into case- and accent-folded words (see the module docstring)."""
    if text.isascii():
        # bytes.translate is a plain 256-byte table; str.translate looks up a dict.
        # issue 13: A: the default codec (UTF-8, the same bytes for ASCII) skips the
        # codec name's look-up: 5% of an ASCII message's folding.
        return text.encode().translate(_ASCII_BYTES).decode().split()
    ch = text[0]
    if ch < "\x80":
        # issue 13: text that begins with ASCII is mostly Latin-1 (Portuguese, Spanish,
        # French): one encode tells, without looking for its first character beyond
        # ASCII (`str.lstrip` builds a filter of the 128 ASCII characters on every call).
        raw = text.encode("latin-1", "ignore")
        if len(raw) == len(text):
            try:
                return _charmap_decode(raw, "strict", _LATIN1_FOLDS or _latin1_folds())[0].split()
            except UnicodeError:  # a character it does not fold alone ("ß", soft hyphen)
                words = _fold_mixed(text)
                return _fold_general(text) if words is None else words
        words = _fold_ascii_and_emoji(text, len(text) - len(raw))
        if words is not None:
            return words
        letter = _NOT_LATIN1_OR_SEPARATOR.search(text)
        if letter is None:  # Latin-1 but for emoji, curly quotes, dashes...
            return _fold_latin1_separated(text)
        ch = letter.group()  # the first letter beyond Latin-1 picks the path
    # issue 13: the code page shortcut of `_fold_plain`, inlined: most messages beyond
    # ASCII take it, and two calls fewer are a tenth of their folding.
    codec = _CODEC_OF.get(ch)
    if codec is None:
        codec = _learn_codec(ch)
    if codec.__class__ is tuple:
        encoding, folds = codec
        try:
            if encoding is None:
                raw = text.encode("latin-1")
            else:
                raw = _charmap_encode(text, "strict", encoding)[0]
            return _charmap_decode(raw, "strict", folds)[0].split()
        except UnicodeError:  # a character beyond the page, or one it does not fold alone
            words = _fold_mixed(text)
    elif codec is False and ch >= "\u3000":
        # issue 13: CJK, kana (`_fold_unpaged`, inlined: a call is 3% of such a text's
        # folding): its common punctuation replaced away, in C, it is its letters.
        letters = _cjk_letters(text)
        solo_plain, solo_letters = _SOLO or _solo()
        if solo_letters(letters):
            return list(letters)  # every letter a word
        # Other punctuation: as `_fold_unpaged` goes on.
        words = list(_SOLO_SEPARATOR.sub("", text)) if solo_plain(text) else _fold_mixed(text)
    else:
        words = _fold_unpaged(text, ch, codec)  # type: ignore[arg-type]
    return _fold_general(text) if words is None else words


_LATIN1_FOLDS = ""  # the Latin-1 folding table (`_page_codec`), once a text needed it


def _fold_ascii_and_emoji(text: str, beyond: int) -> list[str] | None:
    """`fold_words` of ASCII text but for emoji of _SEPARATORS beyond the BMP, else None.

    `beyond` is how many characters of `text` are beyond Latin-1. Its UTF-8 tells,
    with byte counts in C rather than a look at every character: each character
    beyond the BMP is four bytes, any other beyond ASCII two or three, so the UTF-8
    is 3 * `beyond` bytes longer than the text only when those are all beyond the BMP
    and the rest ASCII; each begins F0 9F (U+1F000-U+1FFFF) when they are as many as
    those; and none is outside U+1F1E6-U+1F1FF and U+1F300-U+1FAFF when
    `_UTF8_NOT_EMOJI` (a literal prefix: a fast scan) finds nothing. Every byte beyond
    ASCII then becomes a space (issue 13: 1.67 -> 1.2 µs for such a message).
    """
    try:
        utf8 = text.encode()
    except UnicodeEncodeError:  # a lone surrogate
        return None
    if (
        len(utf8) - len(text) != 3 * beyond
        or utf8.count(b"\xf0\x9f") != beyond
        or _UTF8_NOT_EMOJI.search(utf8) is not None
    ):
        return None
    return utf8.translate(_ASCII_BYTES).decode().split()


# In UTF-8, a character of U+1F000-U+1FFFF that is not one of _SEPARATORS: all but
# U+1F1E6-U+1F1FF (F0 9F 87 A6-BF) and U+1F300-U+1FAFF (F0 9F 8C-AB).
_UTF8_NOT_EMOJI = re.compile(b"\xf0\x9f(?:[\x80-\x86\x88-\x8b\xac-\xbf]|\x87[\x80-\xa5])")


def _fold_latin1_separated(text: str) -> list[str]:
    """`fold_words` of text of Latin-1 and _SEPARATORS beyond it: each of those becomes
    "?", which the Latin-1 table folds to a space, as the general path does them."""
    raw = text.encode("latin-1", "replace")
    try:
        return _charmap_decode(raw, "strict", _LATIN1_FOLDS or _latin1_folds())[0].split()
    except UnicodeError:  # a character it does not fold alone ("ß", soft hyphen)
        words = _fold_mixed(text)
        return _fold_general(text) if words is None else words


def _latin1_folds() -> str:
    """`_page_codec("latin-1")`'s folding table, kept in `_LATIN1_FOLDS` (built on the
    first text beyond ASCII, as the classes of the general path are)."""
    global _LATIN1_FOLDS
    _LATIN1_FOLDS = _page_codec("latin-1")[1]
    return _LATIN1_FOLDS


# Emoji and the punctuation of other scripts: separators, turned into spaces
# before anything else (a test checks each one separates in any context).
_SEPARATORS = re.compile(
    "[\u00a1-\u00a9\u00ab\u00ac\u00ae-\u00b1\u00b4\u00b6-\u00b8\u00bb\u00bf\u00d7\u00f7"
    "\u2010-\u2027\u2030-\u205e\u2190-\u21ff\u2600-\u2775\u2794-\u27bf\u3000-\u3003"
    "\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
    "\U0001f1e6-\U0001f1ff\U0001f300-\U0001faff]"
)
# A character beyond ASCII that is not one of _SEPARATORS: when there is none (ASCII
# text with emoji or curly quotes), every character beyond ASCII becomes a space.
_NOT_A_SEPARATOR = re.compile(
    "[^\x00-\x7f\u00a1-\u00a9\u00ab\u00ac\u00ae-\u00b1\u00b4\u00b6-\u00b8\u00bb\u00bf\u00d7\u00f7"
    "\u2010-\u2027\u2030-\u205e\u2190-\u21ff\u2600-\u2775\u2794-\u27bf\u3000-\u3003"
    "\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
    "\U0001f1e6-\U0001f1ff\U0001f300-\U0001faff]"
)  # a test keeps it in step with _SEPARATORS
# The same beyond Latin-1: text without one is Latin-1 and separators.
_NOT_LATIN1_OR_SEPARATOR = re.compile(
    "[^\x00-\xff\u2010-\u2027\u2030-\u205e\u2190-\u21ff\u2600-\u2775\u2794-\u27bf\u3000-\u3003"
    "\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
    "\U0001f1e6-\U0001f1ff\U0001f300-\U0001faff]"
)  # a test keeps it in step with _SEPARATORS
_BEYOND_LATIN1 = re.compile("[^\x00-\xff]")
_ASCII_CHARS = "".join(map(chr, range(128)))  # str.lstrip: up to the first beyond ASCII
_LATIN_MARKS = re.compile("[\u0300-\u036f]")  # dropped: never part of a plain text
# The characters of _SOLO_SEPARATORS (a test keeps the two in step).
_SOLO_SEPARATOR = re.compile(
    "[\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f\u3000-\u3003"
    "\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]"
)
# UTF-8 bytes: ASCII as in _ASCII_BYTES, the bytes of other characters unchanged.
_UTF8_BYTES = _ASCII_BYTES[:128] + bytes(range(128, 256))

# Single-byte code pages, in the order tried for the first character beyond
# Latin-1: Western (curly quotes, dashes, the euro sign), Cyrillic, Greek, Central
# European, Turkish, Baltic. Text that one of them encodes folds in one encode
# and one decode through a folding table, both in C.
_PAGES = ("cp1252", "cp1251", "cp1253", "cp1250", "cp1254", "cp1257")


@lru_cache(maxsize=4096)
def _page_of(ch: str) -> str | None:
    """The first of `_PAGES` that holds `ch`, or None (emoji, CJK, most scripts)."""
    for page in _PAGES:
        try:
            ch.encode(page)
        except UnicodeEncodeError:
            continue
        return page
    return None


# In a decoding table: a byte with no character (here: no fold one character long).
_UNDEFINED = "\ufffe"


@cache
def _page_codec(page: str) -> tuple[Any, str]:
    """(the page's encoding map, or None for Latin-1; the folding decoding table).

    The decoding table gives each byte of the page what the general path makes
    of its character between two letters: a letter of any script ("É" -> "e",
    "Ж" -> "ж", "µ" -> "μ"), a space (a separator), or `_UNDEFINED` when it needs
    the general path (the soft hyphen is dropped, "ß" is two letters, some bytes
    are no character). So one encode and one decode, both in C, fold the text.
    """
    folds: list[str] = []
    for byte in range(256):
        if byte < 0x80:
            folds.append(chr(_ASCII_BYTES[byte]))
            continue
        try:
            ch = bytes([byte]).decode(page)
        except UnicodeDecodeError:
            folds.append(_UNDEFINED)
            continue
        folds.append(_fold_between_letters(ch))
    if page == "latin-1":
        return None, "".join(folds)
    chars = (bytes([byte]).decode(page, errors="replace") for byte in range(256))
    encoding = codecs.charmap_build("".join(_UNDEFINED if c == "\ufffd" else c for c in chars))
    return encoding, "".join(folds)


def _fold_between_letters(ch: str) -> str:
    """What the general path makes of `ch` between two letters, if one character.

    A letter or digit (not of a solo script), a space for a separator, else
    `_UNDEFINED` (dropped, several characters, a mark, a solo letter). Read off
    the general path's folded text, not its words, so that building a page's
    table never compiles the big classes of words (tens of milliseconds).
    """
    folded, _ = _folded_text(f"a{ch}b")
    if len(folded) != 3 or folded[0] != "a" or folded[2] != "b":
        return _UNDEFINED
    one = folded[1]
    if one.isascii():
        return one if one.isalnum() else " "
    kind = _KINDS.get(unicodedata.category(one))
    if kind is None or one == "\u200b":
        return " "
    solo = any(lo <= ord(one) <= hi for lo, hi in _SOLO_RANGES)
    return one if kind == "W" and not solo else _UNDEFINED


def _fold_page(text: str, page: str) -> list[str] | None:
    """The words of `text` through one code page's folding table, or None."""
    return _fold_with(text, _page_codec(page))


def _fold_with(text: str, codec: tuple[Any, str]) -> list[str] | None:
    """The words of `text` through a page's codec (`_page_codec`), or None."""
    encoding, folds = codec
    try:
        if encoding is None:
            raw = text.encode("latin-1")
        else:
            raw = _charmap_encode(text, "strict", encoding)[0]
        return _charmap_decode(raw, "strict", folds)[0].split()
    except UnicodeError:  # a character beyond the page, or one it does not fold alone
        return None


# The first character beyond ASCII -> its page's codec (`_page_codec`), or, when
# no page holds it, whether it is one of _SEPARATORS (an emoji: the text may be
# ASCII but for emoji) or not (a letter: CJK, say). A plain dict read on every
# message beyond ASCII (an lru_cache and two calls cost more); `_learn_codec`
# bounds it.
_CODEC_OF: dict[str, tuple[Any, str] | bool] = {}


def _learn_codec(ch: str) -> tuple[Any, str] | bool:
    """`_page_codec` of the page holding `ch`, else whether `ch` is a separator."""
    page = "latin-1" if ch <= "\xff" else _page_of(ch)
    codec: tuple[Any, str] | bool
    codec = _SEPARATORS.match(ch) is not None if page is None else _page_codec(page)
    if len(_CODEC_OF) < 4096:  # the characters messages begin with: a few dozen
        _CODEC_OF[ch] = codec
    return codec


def _fold_plain(text: str) -> list[str] | None:
    """The words of text whose characters fold one at a time, else None.

    Most messages beyond ASCII are of that kind: Latin-1 (Portuguese, Spanish,
    French, German), text of one Windows code page (Cyrillic, Greek, Central
    European, curly quotes), any of these with emoji, plain text of other
    scripts, and CJK with its own punctuation. Each takes a few passes in C
    instead of the six or more of `_fold_general`; anything else (decomposed
    accents, marks that stay, letters beyond the BMP) returns None for the
    general path.

    The first character beyond ASCII says what the text most likely is: most
    hold one code page's characters only (one encode and one decode answer
    them, without reading the whole text for its widest character first), or
    ASCII and emoji, or CJK. A text that is not what it seemed takes
    `_fold_mixed`, which reads it all.
    """
    ch = text.lstrip(_ASCII_CHARS)[:1] or "\x80"
    codec = _CODEC_OF.get(ch)
    if codec is None:
        codec = _learn_codec(ch)
    if codec.__class__ is tuple:
        words = _fold_with(text, codec)
        return _fold_mixed(text) if words is None else words
    return _fold_unpaged(text, ch, codec)  # type: ignore[arg-type]


def _fold_unpaged(text: str, first: str, separator: bool) -> list[str] | None:
    """`_fold_plain` of text whose first character beyond ASCII (`first`) no code
    page holds: an emoji or the like (`separator`), or a letter (CJK, say)."""
    if separator:
        letter = _NOT_A_SEPARATOR.search(text)
        if letter is None:
            # ASCII but for emoji and the like: each one character, so one "?", a space.
            return text.encode("ascii", "replace").translate(_ASCII_BYTES).decode().split()
        # The first letter beyond ASCII says what the rest most likely is.
        codec = _CODEC_OF.get(first := letter.group())
        if codec is None:
            codec = _learn_codec(first)
        if codec.__class__ is tuple:
            return _fold_mixed(text)
    # (When the first is a letter, _NOT_A_SEPARATOR would find it: no need to look.)
    solo_plain, solo_letters = _SOLO or _solo()
    if first >= "\u3000":  # CJK, kana: its common punctuation replaced away (C, no regex)
        letters = _cjk_letters(text)
        if solo_letters(letters):
            return list(letters)  # every letter a word
    if solo_plain(text):
        return list(_SOLO_SEPARATOR.sub("", text))  # CJK: every letter a word
    return _fold_mixed(text)


def _cjk_letters(text: str) -> str:
    """CJK text without its common punctuation and spaces, replaced away in C (no regex):
    when what is left is letters of a solo script, they are its words."""
    return (
        text.replace("\uff0c", "")  # fullwidth comma
        .replace("\u3002", "")  # ideographic full stop
        .replace("\uff1f", "")  # fullwidth question mark
        .replace("\uff01", "")  # fullwidth exclamation mark
        .replace("\u3001", "")  # ideographic comma
        .replace(" ", "")
    )


_Fullmatch = Callable[[str], "re.Match[str] | None"]
_SOLO: tuple[_Fullmatch, _Fullmatch] | None = None


def _solo() -> tuple[_Fullmatch, _Fullmatch]:
    """`fullmatch` of classes.solo_plain and solo_letters, bound once (they compile
    on first use; issue 13: the look-ups cost 3% of a CJK message's folding)."""
    global _SOLO
    _SOLO = (classes.solo_plain().fullmatch, classes.solo_letters().fullmatch)
    return _SOLO


def _fold_mixed(text: str) -> list[str] | None:
    """`_fold_plain` for text of several kinds: its widest character picks the page,
    separators (emoji, other scripts' punctuation) become spaces first."""
    beyond = _BEYOND_LATIN1.search(text)
    page = "latin-1" if beyond is None else _page_of(beyond.group())
    if page is not None:
        words = _fold_page(text, page)
        if words is not None:
            return words
    if beyond is None:
        return _fold_unicode(text)  # "ß", "µ": casefolding
    if page is None and classes.solo_plain().fullmatch(text):
        return list(_SOLO_SEPARATOR.sub("", text))  # CJK: every letter a word
    text = _SEPARATORS.sub(" ", text)
    # Dropped wherever they are: emoji presentation selector, zero-width joiner.
    if "\ufe0f" in text or "\u200d" in text:
        text = text.replace("\ufe0f", "").replace("\u200d", "")
    if text.isascii():
        return text.encode().translate(_ASCII_BYTES).decode().split()
    beyond = _BEYOND_LATIN1.search(text)
    page = "latin-1" if beyond is None else _page_of(beyond.group())
    if page is not None:
        words = _fold_page(text, page)
        if words is not None:
            return words
    return _fold_unicode(text)


def _fold_unicode(text: str) -> list[str] | None:
    """`_fold_plain` beyond Latin-1: solo scripts, or plain text once casefolded."""
    if classes.solo_plain().fullmatch(text):
        return list(_SOLO_SEPARATOR.sub("", text))
    folded = text.casefold()
    if not unicodedata.is_normalized("NFKD", folded):
        folded = _LATIN_MARKS.sub("", unicodedata.normalize("NFKD", folded))
    if classes.plain().fullmatch(folded):
        return folded.encode("utf-8").translate(_UTF8_BYTES).decode("utf-8").split()
    return None


def _fold_general(text: str) -> list[str]:
    """`fold_words` for any text, in six passes or so: the reference of the fast paths."""
    folded, wide = _folded_text(text)
    if folded.isascii():
        return folded.encode().translate(_ASCII_BYTES).decode().split()
    return (classes.words_astral() if wide else classes.words()).findall(folded)


def _folded_text(text: str) -> tuple[str, bool]:
    """The general path before the split: (folded text, whether it holds letters beyond the BMP)."""
    folded = text.casefold()
    if not unicodedata.is_normalized("NFKD", folded):
        folded = unicodedata.normalize("NFKD", folded)
        again = folded.casefold()  # NFKD can yield letters with case ("ℌ" -> "H")
        if again != folded:
            folded = unicodedata.normalize("NFKD", again)
    wide = False
    astral = _ASTRAL.findall(folded)
    if astral:  # emoji, mostly: separators, so spaces
        for ch in set(astral):
            if _separates(ch):
                folded = folded.replace(ch, " ")
        wide = _ASTRAL.search(folded) is not None
    folded = (classes.drop_astral() if wide else classes.drop()).sub("", folded)
    if _FOLD_CHARS.search(folded):
        folded = folded.translate(_FOLD_TABLE)
    folded = unicodedata.normalize("NFC", folded)
    if not folded.isascii():
        folded = _PUNCTUATION.sub(" ", folded)
    return folded, wide
