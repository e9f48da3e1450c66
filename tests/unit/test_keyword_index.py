"""Tests for pageflows.rules.keyword_index (normalization, trie matching, ranks)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pageflows.rules.folding import fold_words
from pageflows.rules.keyword_index import (
    KeywordEntry,
    KeywordIndex,
    KeywordMode,
    normalize_words,
)

EXACT = KeywordMode.EXACT
STARTS = KeywordMode.STARTS
CONTAINS = KeywordMode.CONTAINS


def entry(
    phrase: str, mode: KeywordMode = CONTAINS, rank: int = 0, trigger: int = 0
) -> KeywordEntry:
    return KeywordEntry(phrase=phrase, mode=mode, rank=(rank,), trigger=trigger)


def index(*entries: KeywordEntry) -> KeywordIndex:
    return KeywordIndex.build(entries)


# --------------------------------------------------------------------------- reference


def naive_matches(entries: Sequence[KeywordEntry], text: str) -> list[KeywordEntry]:
    """Reference implementation: scan every entry, sort by (rank, declaration order)."""
    words = normalize_words(text)
    found: list[tuple[tuple[int, ...], int, KeywordEntry]] = []
    for order, e in enumerate(entries):
        phrase = normalize_words(e.phrase)
        if not phrase:
            continue
        k = len(phrase)
        if e.mode == EXACT:
            hit = words == phrase
        elif e.mode == STARTS:
            hit = words[:k] == phrase
        else:
            hit = any(words[i : i + k] == phrase for i in range(len(words) - k + 1))
        if hit:
            found.append((e.rank, order, e))
    found.sort(key=lambda item: (item[0], item[1]))
    return [item[2] for item in found]


def naive_match(entries: Sequence[KeywordEntry], text: str) -> KeywordEntry | None:
    found = naive_matches(entries, text)
    return found[0] if found else None


# --------------------------------------------------------------------------- normalize_words


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Prêço", ("preco",)),
        ("PRÉCIO", ("precio",)),
        ("Ünïcödé", ("unicode",)),
        ("Straße", ("strasse",)),
        ("ＰＲＩＣＥ １００", ("price", "100")),  # fullwidth forms
        ("what's up?", ("what", "s", "up")),
        ("what’s up?", ("what", "s", "up")),  # typographic apostrophe
        ("  hello,world!!  ", ("hello", "world")),
        ("❤️price🔥!!", ("price",)),
        ("👍🏽", ()),
        ("", ()),
        ("?!... --", ()),
        ("Привет, ЦЕНА!", ("привет", "цена")),
        ("Τιμή; ΤΙΜΗ", ("τιμη", "τιμη")),
        ("السعرُ كمْ؟", ("السعر", "كم")),  # harakat dropped
        ("שָׁלוֹם", ("שלום",)),  # niqqud dropped
        ("हिंदी में कीमत", ("हिंदी", "में", "कीमत")),  # vowel signs kept
        ("这个价格多少", ("这", "个", "价", "格", "多", "少")),
        ("iPhone价格", ("iphone", "价", "格")),
        ("がぎ", ("が", "ぎ")),
        ("ราคา", ("ร", "า", "ค", "า")),
        ("Łódź Ørsted İstanbul cœur", ("lodz", "orsted", "istanbul", "coeur")),
        ("pri\u00adce", ("price",)),  # soft hyphen is invisible
        ("one\u200btwo", ("one", "two")),  # zero-width space separates
    ],
)
def test_normalize_words(text: str, words: tuple[str, ...]) -> None:
    assert normalize_words(text) == words


def test_persian_zero_width_non_joiner_is_ignored() -> None:
    assert normalize_words("می\u200cخواهم") == normalize_words("میخواهم")


@given(st.text())
def test_normalize_words_is_idempotent(text: str) -> None:
    words = normalize_words(text)
    assert all(words)
    assert normalize_words(" ".join(words)) == words


# --------------------------------------------------------------------------- matching


def test_case_and_accent_insensitive() -> None:
    idx = index(entry("precio", trigger=1), entry("Ünïcödé", trigger=2))
    assert idx.match("¿Cuál es el PRÉCIO?") == entry("precio", trigger=1)
    assert idx.match("I love unicode") == entry("Ünïcödé", trigger=2)
    assert idx.match("UNICODE") == entry("Ünïcödé", trigger=2)


@pytest.mark.parametrize("text", ["price", "the price?", "PRICE!!", "price-list", "(price)"])
def test_word_boundaries_match(text: str) -> None:
    assert index(entry("price")).match(text) is not None


@pytest.mark.parametrize("text", ["priceless", "apriced", "prices", "pr ice", ""])
def test_word_boundaries_do_not_match(text: str) -> None:
    assert index(entry("price")).match(text) is None


def test_exact_mode() -> None:
    idx = index(entry("how much", EXACT))
    assert idx.match("How much?") is not None
    assert idx.match("  how   MUCH!!! ") is not None
    assert idx.match("how much is it") is None
    assert idx.match("so how much") is None
    assert idx.match("how") is None


def test_starts_mode() -> None:
    idx = index(entry("hi", STARTS))
    assert idx.match("hi") is not None
    assert idx.match("Hi there!") is not None
    assert idx.match("oh hi") is None
    assert idx.match("hiya") is None


def test_contains_mode() -> None:
    idx = index(entry("price", CONTAINS))
    assert idx.match("what is the price of this") is not None
    assert idx.match("price") is not None
    assert idx.match("what is the cost") is None


def test_multi_word_phrases() -> None:
    idx = index(entry("how much", trigger=1), entry("free shipping", STARTS, trigger=2))
    assert idx.match("so... how much is it?") == entry("how much", trigger=1)
    assert idx.match("how is it much") is None
    assert idx.match("much how") is None
    assert idx.match("Free-shipping to Lisbon?") == entry("free shipping", STARTS, trigger=2)
    assert idx.match("is there free shipping") is None


def test_overlapping_phrases_all_found() -> None:
    a = entry("how much", rank=2, trigger=1)
    b = entry("much is", rank=1, trigger=2)
    c = entry("how much is it", EXACT, rank=3, trigger=3)
    idx = index(a, b, c)
    assert idx.matches("how much is it") == [b, a, c]
    assert idx.match("how much is it") == b


def test_lowest_rank_wins_regardless_of_position_or_mode() -> None:
    late = entry("shipping", CONTAINS, rank=1, trigger=1)
    early = entry("hello", STARTS, rank=5, trigger=2)
    exact = entry("hello shipping", EXACT, rank=9, trigger=3)
    idx = index(early, exact, late)
    assert idx.match("hello shipping") == late
    assert idx.matches("hello shipping") == [late, early, exact]


def test_rank_tuples_compare_lexicographically() -> None:
    a = KeywordEntry("price", CONTAINS, (1, 5), 1)
    b = KeywordEntry("price", CONTAINS, (1, 2), 2)
    c = KeywordEntry("price", CONTAINS, (0, 9, 9), 3)
    assert index(a, b, c).matches("price") == [c, b, a]


def test_same_phrase_several_entries() -> None:
    a = entry("price", rank=3, trigger=1)
    b = entry("PRICE", rank=1, trigger=2)
    c = entry("Price", EXACT, rank=2, trigger=3)
    idx = index(a, b, c)
    assert len(idx) == 3
    assert idx.match("price") == b
    assert idx.matches("price") == [b, c, a]
    assert idx.matches("the price") == [b, a]


def test_equal_ranks_keep_declaration_order() -> None:
    a = entry("price", rank=0, trigger=1)
    b = entry("price", rank=0, trigger=2)
    assert index(a, b).match("price") == a
    assert index(b, a).match("price") == b


def test_contains_phrase_occurring_twice_is_listed_once() -> None:
    e = entry("price")
    assert index(e).matches("price? price!") == [e]


def test_cjk_inside_a_sentence() -> None:
    idx = index(entry("价格", trigger=1), entry("いくら", trigger=2))
    assert idx.match("这个价格多少") == entry("价格", trigger=1)
    assert idx.match("你好，请问价格？") == entry("价格", trigger=1)
    assert idx.match("これはいくらですか") == entry("いくら", trigger=2)
    assert idx.match("这个多少钱") is None


def test_thai_inside_a_sentence() -> None:
    idx = index(entry("ราคา"))
    assert idx.match("ราคาเท่าไหร่ครับ") is not None
    assert idx.match("สวัสดีครับ") is None


@pytest.mark.parametrize(
    ("phrase", "text"),
    [
        ("цена", "Какая ЦЕНА?"),
        ("ёлка", "елка есть?"),
        ("τιμή", "Ποια είναι η ΤΙΜΗ;"),
        ("السعر", "كم السعرُ؟"),
        ("أهلا", "اهلا وسهلا"),
        ("מחיר", "מה המחיר? מחיר!"),
        ("कीमत", "इसकी कीमत क्या है?"),
        ("가격", "가격 알려주세요"),
    ],
)
def test_other_scripts(phrase: str, text: str) -> None:
    assert index(entry(phrase)).match(text) is not None


def test_other_scripts_respect_word_boundaries() -> None:
    assert index(entry("цена")).match("бесценная вещь") is None
    assert index(entry("τιμη")).match("τιμηθηκε") is None


def test_emoji_and_punctuation() -> None:
    idx = index(entry("buy now", trigger=1), entry("🔥", trigger=2))
    assert idx.match("🔥🔥 BUY!!! now 🔥🔥") == entry("buy now", trigger=1)
    assert idx.match("buy...now") is not None
    assert idx.match("🔥") is None  # the emoji phrase has no words: ignored
    assert len(idx) == 1
    assert idx.ignored == (entry("🔥", trigger=2),)


def test_apostrophes_split_consistently() -> None:
    idx = index(entry("what's the price", EXACT))
    assert idx.match("What’s the price?") is not None
    assert idx.match("what s the price") is not None
    assert idx.match("whats the price") is None


def test_empty_text_and_empty_index() -> None:
    idx = index(entry("price"), entry("hi", STARTS), entry("yes", EXACT))
    assert idx.match("") is None
    assert idx.matches("") == []
    assert idx.match("   !!! 😀") is None
    empty = KeywordIndex.build([])
    assert len(empty) == 0
    assert empty.match("price") is None
    assert empty.matches("price") == []


def test_empty_phrases_are_ignored() -> None:
    idx = index(entry(""), entry("   "), entry("?!"), entry("price"))
    assert len(idx) == 1
    assert len(idx.ignored) == 3
    assert idx.match("?!") is None


def test_mode_accepts_string_spelling_and_rejects_unknown() -> None:
    e = KeywordEntry("price", "exact", (0,), 1)  # type: ignore[arg-type]
    assert e.mode is EXACT
    with pytest.raises(ValueError):
        KeywordEntry("price", "fuzzy", (0,), 1)  # type: ignore[arg-type]


def test_build_accepts_a_generator() -> None:
    idx = KeywordIndex.build(entry(w, trigger=i) for i, w in enumerate(["a", "b", "c"]))
    assert len(idx) == 3
    assert idx.match("x c") == entry("c", trigger=2)


def test_large_index() -> None:
    entries = [entry(f"kw{i} w{i % 7}", rank=i, trigger=i) for i in range(20_000)]
    entries.append(entry("price", rank=-1, trigger=-1))
    idx = KeywordIndex.build(entries)
    assert len(idx) == 20_001
    assert idx.match("the kw12345 w4 thing") == entries[12345]
    assert idx.match("the price of kw12345 w4") == entries[-1]
    assert idx.match("kw12345 w5") is None


# --------------------------------------------------------------------------- properties

# A small vocabulary with case, accent, script and separator variants so that
# random phrases and messages collide often.
VOCAB = [
    "price",
    "PRICE",
    "Prîce",
    "how",
    "much",
    "is",
    "it",
    "what's",
    "whats",
    "s",
    "ship",
    "shipping",
    "цена",
    "ЦЕНА",
    "τιμή",
    "السعر",
    "价格",
    "价",
    "格",
    "多少",
    "🔥",
    "!!",
    "",
]
SEPARATORS = [" ", "  ", "-", ", ", "?", "'", "\n", "🙂"]

phrases = st.lists(st.sampled_from(VOCAB), min_size=1, max_size=3).flatmap(
    lambda words: st.lists(
        st.sampled_from(SEPARATORS), min_size=len(words), max_size=len(words)
    ).map(lambda seps: "".join(w + s for w, s in zip(words, seps, strict=True)).strip())
)
messages = st.lists(st.sampled_from(VOCAB), max_size=8).flatmap(
    lambda words: st.lists(
        st.sampled_from(SEPARATORS), min_size=len(words), max_size=len(words)
    ).map(lambda seps: "".join(w + s for w, s in zip(words, seps, strict=True)))
)
entries_strategy = st.lists(
    st.builds(
        KeywordEntry,
        phrase=phrases,
        mode=st.sampled_from(list(KeywordMode)),
        rank=st.lists(st.integers(0, 3), min_size=1, max_size=2).map(tuple),
        trigger=st.integers(0, 50),
    ),
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(entries_strategy, st.lists(messages, min_size=1, max_size=5))
def test_match_equals_naive_reference(entries: list[KeywordEntry], texts: list[str]) -> None:
    idx = KeywordIndex.build(entries)
    assert len(idx) == sum(1 for e in entries if normalize_words(e.phrase))
    for text in texts:
        assert idx.match(text) == naive_match(entries, text)
        assert idx.matches(text) == naive_matches(entries, text)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1), st.text(), st.text(), st.sampled_from(list(KeywordMode)))
def test_phrase_is_found_where_it_occurs(
    phrase: str, before: str, after: str, mode: KeywordMode
) -> None:
    e = KeywordEntry(phrase, mode, (0,), 1)
    idx = KeywordIndex.build([e])
    if not normalize_words(phrase):
        assert len(idx) == 0
        return
    assert idx.match(phrase) == e
    assert idx.match(f"{phrase} {after}") == (
        None if mode == EXACT and normalize_words(after) else e
    )
    if mode == CONTAINS:
        assert idx.match(f"{before} {phrase} {after}") == e


# --------------------------------------------------------------------------- issue 13: folding

# The rules of pageflows/rules/folding.py written the plain way, one character at
# a time (the index's folding does the same work in C): the fast folding must
# give the same words for any text.
_REFERENCE_FOLDS = {"ı": "i", "ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ŧ": "t", "ƀ": "b"}
_REFERENCE_FOLDS |= {"ɨ": "i", "æ": "ae", "œ": "oe"}


def reference_words(text: str) -> tuple[str, ...]:
    import unicodedata

    from pageflows.rules import folding

    def dropped(cp: int) -> bool:
        return any(lo <= cp <= hi for lo, hi in folding._DROP_RANGES)

    def solo(cp: int) -> bool:
        return any(lo <= cp <= hi for lo, hi in folding._SOLO_RANGES)

    def invisible(ch: str) -> bool:
        return unicodedata.category(ch) == "Cf" and ch != "\u200b"

    text = unicodedata.normalize("NFKD", text.casefold())
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(
        _REFERENCE_FOLDS.get(ch, ch) for ch in text if not dropped(ord(ch)) and not invisible(ch)
    )
    text = unicodedata.normalize("NFC", text)
    words: list[str] = []
    buf = ""
    buf_solo = False
    for ch in text:
        category = unicodedata.category(ch)
        if category[0] in "LN":
            if solo(ord(ch)) or buf_solo:
                if buf:
                    words.append(buf)
                buf = ""
            buf += ch
            buf_solo = solo(ord(ch))
        elif category[0] == "M":
            buf += ch if buf else ""  # a stray mark is dropped
        elif not invisible(ch):
            if buf:
                words.append(buf)
            buf, buf_solo = "", False
    if buf:
        words.append(buf)
    return tuple(words)


# Characters that exercise every branch of the folding: accents composed and not,
# stroke letters, marks that stay, invisible characters, solo scripts, emoji and
# letters beyond U+FFFF.
_TRICKY = (
    "aéE\u0301İıIßſℌﬁæŁø 0١٢\u0300\u0307\u093c\u0e31\u200b\u200c\u00ad\u0600\ufeff"
    "-'’.,!?¿ \n\tप्रकीमतกราคา价格がぎ가가🔥👍🏽❤️\U00010400\U0001d400\U00020000\U000110bd\U000e0041"
)


@settings(max_examples=1000, deadline=None)
@given(st.text() | st.text(alphabet=_TRICKY))
def test_folding_equals_the_reference(text: str) -> None:
    assert normalize_words(text) == reference_words(text)


def test_folding_classes_cover_every_letter_mark_and_format_character() -> None:
    """folding.py scans only some planes for its classes: nothing it needs lies elsewhere."""
    import unicodedata

    from pageflows.rules.folding import SCANNED_RANGES

    scanned = set()
    for lo, hi in SCANNED_RANGES:
        scanned.update(range(lo, hi + 1))
    needed = ("L", "N", "M", "Cf")
    outside = [
        cp
        for cp in range(0x110000)
        if cp not in scanned and unicodedata.category(chr(cp)).startswith(needed)
    ]
    assert outside == []


def test_generated_unicode_classes_are_in_step_with_unicodedata() -> None:
    import unicodedata

    from pageflows.rules import unicode_classes
    from pageflows.rules.folding import classes_source

    if unicodedata.unidata_version != unicode_classes.UNIDATA_VERSION:
        pytest.skip(
            f"classes from Unicode {unicode_classes.UNIDATA_VERSION}, this Python has"
            f" {unicodedata.unidata_version}: regenerate (pageflows/rules/folding.py)"
        )
    path = Path(unicode_classes.__file__)
    assert path.read_text(encoding="utf-8") == classes_source(), "regenerate unicode_classes.py"


def test_punctuation_shortcut_only_holds_separators() -> None:
    import unicodedata

    from pageflows.rules.folding import _PUNCTUATION

    found = [chr(cp) for cp in range(0x10000) if _PUNCTUATION.match(chr(cp))]
    assert len(found) > 500
    for ch in found:
        category = unicodedata.category(ch)
        assert category[0] not in "LNM" and category != "Cf", (hex(ord(ch)), category)
    assert normalize_words("¿Cuánto cuesta? «Très» bien — what’s up… ❤") == (
        "cuanto",
        "cuesta",
        "tres",
        "bien",
        "what",
        "s",
        "up",
    )


def test_cafe_does_not_match_caf() -> None:
    assert index(entry("caf")).match("un café, por favor") is None
    assert index(entry("café")).match("un CAFE, por favor") is not None
    assert index(entry("cafe")).match("caf") is None


def test_priceless_does_not_match_price() -> None:
    idx = index(entry("price"), entry("hi", STARTS))
    assert idx.match("priceless") is None
    assert idx.match("this is PRICELESS!") is None
    assert idx.match("high price") == entry("price")
    assert idx.match("hiya") is None


@pytest.mark.parametrize(
    ("phrase", "text"),
    [
        ("café", "cafe\u0301"),  # composed keyword, decomposed message
        ("cafe\u0301", "CAFÉ?"),  # and the other way round
        ("preço", "prec\u0327o"),
        ("Ångström", "A\u030angstro\u0308m"),
        ("ñu", "n\u0303u"),
    ],
)
def test_composed_and_decomposed_accents_match_each_other(phrase: str, text: str) -> None:
    assert index(entry(phrase, EXACT)).match(text) == entry(phrase, EXACT)


def test_turkish_dotted_i_does_not_shift_positions() -> None:
    # "İ".casefold() is "i" plus a combining dot: two characters for one. The dot
    # is a mark inside the word, never a boundary, so words and positions hold.
    assert normalize_words("İSTANBUL İÇİN FİYAT") == ("istanbul", "icin", "fiyat")
    assert normalize_words("İİİ fiyat") == ("iii", "fiyat")
    idx = index(entry("fiyat", STARTS, trigger=1), entry("istanbul için", EXACT, trigger=2))
    assert idx.match("FİYAT nedir?") == entry("fiyat", STARTS, trigger=1)
    assert idx.match("İİİ fiyat") is None  # not at the start
    assert idx.match("İSTANBUL İÇİN") == entry("istanbul için", EXACT, trigger=2)
    assert idx.match("İSTANBUL İÇİNDE") is None  # a longer word is another word
    assert index(entry("fiyat")).match("FİYATİ") is None
    assert index(entry("fiyat")).match("İfiyat") is None
    assert index(entry("i")).match("İ") == entry("i")


def test_ascii_and_non_ascii_paths_agree() -> None:
    # The same words reached by the ASCII shortcut and by the full Unicode path.
    assert normalize_words("Hello, WORLD 42!") == normalize_words("Hello, WORLD 42! 🔥")
    assert normalize_words("naïve café") == normalize_words("naive cafe")
    assert normalize_words("K") == ("k",)  # the Kelvin sign folds to ASCII


def test_emoji_separate_words_and_letters_beyond_the_bmp_stay() -> None:
    assert normalize_words("buy🔥now") == ("buy", "now")
    assert normalize_words("𝐏𝐑𝐈𝐂𝐄 𐐀") == ("price", "𐐨")  # bold math letters, Deseret
    assert normalize_words("𠀀𠀁") == ("𠀀", "𠀁")  # CJK extension B: one word each


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([*VOCAB, "İ", "café", "cafe\u0301", "caf", "priceless"]), max_size=6),
    st.lists(st.sampled_from(list(KeywordMode)), min_size=1, max_size=1),
    st.lists(messages, min_size=1, max_size=4),
)
def test_large_ranks_and_many_phrases_equal_the_reference(
    phrase_words: list[str], modes: list[KeywordMode], texts: list[str]
) -> None:
    # Many entries (so the packed numbers take many bits), each phrase a suffix of
    # the next: every key is both a phrase and the beginning of a longer one.
    entries = [
        KeywordEntry(" ".join(phrase_words[: k + 1]), modes[0], (k % 3, -k), k)
        for k in range(len(phrase_words))
    ] + [entry(f"filler{i}", rank=i, trigger=i) for i in range(70)]
    idx = KeywordIndex.build(entries)
    for text in texts:
        assert idx.match(text) == naive_match(entries, text)
        assert idx.matches(text) == naive_matches(entries, text)


# --------------------------------------------------------------------------- issue 13: fast paths
#
# fold_words takes shortcuts for text that folds one character at a time (Latin-1,
# emoji and curly quotes, Cyrillic, Greek, CJK with its punctuation). Each must
# give exactly the words of the general path, whatever the text around.

_SHORTCUT_ALPHABET = (
    "".join(map(chr, range(0x80, 0x100)))
    + "aZ09 ,.!?'\n’“”…—–€™🔥❤️👍🏽\u200d\ufe0f☺✔"
    + "АБВйЙёЁїЇщЩ ΣσςΆάΐ İıŁłğşŒœ"
    + "价格你好，？。！：が か\u3099ㄱㅏ가각각ｶﾞ"
    + "\u0301\u0308\u0327\u093c\u0903\u0e31\u00ad\u200b\u3000ßﬁℌK\U0001d400\U00020000"
)


@settings(max_examples=1500, deadline=None)
@given(st.text(alphabet=_SHORTCUT_ALPHABET) | st.text())
def test_fast_paths_equal_the_general_path(text: str) -> None:
    from pageflows.rules.folding import _fold_general

    assert normalize_words(text) == tuple(_fold_general(text))


def _class_members(pattern: re.Pattern[str]) -> list[str]:
    return [chr(cp) for cp in range(0x80, 0x10000) if pattern.fullmatch(chr(cp))]


def test_every_plain_character_folds_alone_in_any_company() -> None:
    from pageflows.rules import unicode_classes
    from pageflows.rules.folding import _fold_general

    plain = _class_members(unicode_classes.plain())
    solo = _class_members(unicode_classes.solo_plain())
    assert len(plain) > 5000 and len(solo) > 20000
    assert {"é", "ß", "Ж"}.isdisjoint(plain)  # not casefolded, or not NFKD-stable
    assert {"ж", "σ", "ð", "ש"} <= set(plain)
    assert {"价", "が", "ก"} <= set(solo)
    for ch in plain:
        for text in (ch, f"жa{ch}{ch}", f"{ch}\u0301 {ch}é", f"价{ch}-ᄀ{ch}"):
            assert fold_words(text) == _fold_general(text), (hex(ord(ch)), text)
    for ch in solo:
        for text in (ch, f"价{ch}，{ch}a", f"{ch}\u3099{ch}"):
            assert fold_words(text) == _fold_general(text), (hex(ord(ch)), text)


def _page_characters() -> str:
    from pageflows.rules.folding import _PAGES

    found = {chr(cp) for cp in range(0x80, 0x100)}
    for page in _PAGES:
        found.update(bytes(range(0x80, 0x100)).decode(page, errors="ignore"))
    return "".join(sorted(found))


def test_every_code_page_character_folds_alone_in_any_company() -> None:
    from pageflows.rules.folding import _fold_general

    chars = _page_characters()
    assert len(chars) > 400
    for ch in chars:
        for text in (ch, f"a{ch}b", f"É{ch}{ch} ¿{ch}?", f"{ch}\u0301ж", f"Ж{ch}ж’{ch}🔥"):
            assert fold_words(text) == _fold_general(text), (hex(ord(ch)), text)


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=_page_characters() + "aZ09 ,.!?🔥❤️\u200d\u0301"))
def test_code_page_text_folds_as_the_general_path(text: str) -> None:
    from pageflows.rules.folding import _fold_general

    assert normalize_words(text) == tuple(_fold_general(text))


def test_shortcut_separators_separate_in_any_company() -> None:
    from pageflows.rules.folding import _SEPARATORS, _fold_general

    found = [
        chr(cp)
        for lo, hi in ((0x80, 0xFFFF), (0x1F000, 0x1FFFF))
        for cp in range(lo, hi + 1)
        if _SEPARATORS.match(chr(cp))
    ]
    assert len(found) > 2500
    for ch in found:
        assert _fold_general(f"a{ch}b") == ["a", "b"], hex(ord(ch))
        assert _fold_general(f"ж{ch}\ufe0fж") == ["ж", "ж"], hex(ord(ch))
        assert fold_words(f"a{ch}\u200d{ch}b") == ["a", "b"], hex(ord(ch))


def test_messages_of_many_scripts_fold_as_a_reader_expects() -> None:
    assert normalize_words("Olá, qual é o PREÇO? ¿Cuánto cuesta?") == (
        "ola", "qual", "e", "o", "preco", "cuanto", "cuesta",
    )  # fmt: skip
    assert normalize_words("Привет! Сколько стоит? Ёлка") == ("привет", "сколько", "стоит", "елка")
    assert normalize_words("你好，价格？") == ("你", "好", "价", "格")
    assert normalize_words("love it ❤️🔥 so much 👍🏽!") == ("love", "it", "so", "much")
    assert normalize_words("Straße “quoted” — fine…") == ("strasse", "quoted", "fine")


def test_common_messages_take_a_shortcut() -> None:
    # Not a timing: which path answers. If a shortcut stopped applying, the tests
    # above would still pass (the general path gives the same words), so say it here.
    from pageflows.rules.folding import _fold_plain

    for text in (
        "Olá, qual é o preço?",
        "¿Cuánto cuesta el envío?",
        "what’s the price… 🔥🔥❤️",
        "hey!! 🔥🔥 saw your story 👍",  # ASCII but for emoji: each a space
        "Olá 🔥 “isso” é ótimo",  # Latin-1 first, then emoji and curly quotes
        "Привет! Сколько стоит доставка?",
        "Γεια σας, πόσο κάνει;",
        "你好，请问价格多少？",
        "Straße",
        "İstanbul'da güzel şeyler",
        "Zażółć gęślą jaźń",
    ):
        assert _fold_plain(text) is not None, text
    for text in ("cafe\u0301", "नमस्ते", "iPhone价格"):
        assert _fold_plain(text) is None, text  # the general path


def test_solo_separators_are_separators_and_in_step() -> None:
    from pageflows.rules.folding import _SOLO_SEPARATOR, _SOLO_SEPARATORS, _fold_general

    listed = {chr(cp) for lo, hi in _SOLO_SEPARATORS for cp in range(lo, hi + 1)}
    assert {chr(cp) for cp in range(0x10000) if _SOLO_SEPARATOR.match(chr(cp))} == listed
    for ch in listed:
        assert _fold_general(f"价a{ch}b格") == ["价", "a", "b", "格"], hex(ord(ch))


def test_not_a_separator_is_every_character_beyond_ascii_but_the_separators() -> None:
    from pageflows.rules.folding import _NOT_A_SEPARATOR, _SEPARATORS

    for cp in range(0x80, 0x20000):
        ch = chr(cp)
        assert bool(_NOT_A_SEPARATOR.match(ch)) != bool(_SEPARATORS.match(ch)), hex(cp)


def test_not_latin1_or_separator_is_every_character_beyond_latin1_but_the_separators() -> None:
    from pageflows.rules.folding import _NOT_LATIN1_OR_SEPARATOR, _SEPARATORS

    for cp in range(0x100, 0x20000):
        ch = chr(cp)
        assert bool(_NOT_LATIN1_OR_SEPARATOR.match(ch)) != bool(_SEPARATORS.match(ch)), hex(cp)
    assert not any(_NOT_LATIN1_OR_SEPARATOR.match(chr(cp)) for cp in range(0x100))


# Text that begins with ASCII: Latin-1 (one encode), ASCII but for emoji beyond the BMP
# (told by its UTF-8's length), Latin-1 but for separators (each a "?"), or a letter
# beyond Latin-1 picks the path. Characters at the edges of each shortcut's ranges:
_ASCII_FIRST_ALPHABET = (
    "aZ09 ,.!?'\n"
    + "é¿ßÉ\u00ad\u00a0"
    + "’—…€❤\u200d\ufe0f"
    + "\U0001f1e5\U0001f1e6\U0001f1ff\U0001f200\U0001f2ff\U0001f300\U0001f525\U0001f3fd"
    + "\U0001faff\U0001fb00\U0001fbf0\U0001f10c\U0001f110\U0001f000\U0001d400\U00020000"
    + "\U000e0001\U000e0100\ud83d"
    + "жЖ价，ı\u0301"
)


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=_ASCII_FIRST_ALPHABET), st.text(alphabet="aZ0 !?", min_size=1))
def test_text_beginning_with_ascii_folds_as_the_general_path(text: str, ascii_start: str) -> None:
    from pageflows.rules.folding import _fold_general

    text = ascii_start + text
    assert fold_words(text) == _fold_general(text)


def test_every_character_beyond_the_bmp_folds_alike_after_ascii() -> None:
    from pageflows.rules.folding import _fold_ascii_and_emoji, _fold_general

    taken = 0
    for cp in [*range(0x10000, 0x40000), *range(0xE0000, 0xE1000)]:
        ch = chr(cp)
        for text in (f"a{ch}b", f"hey {ch}{ch}!", f"{ch}x {ch}"[::-1]):
            assert fold_words(text) == _fold_general(text), (hex(cp), text)
        taken += _fold_ascii_and_emoji(f"a{ch}b", 1) is not None
    # The shortcut takes exactly the emoji of _SEPARATORS beyond the BMP.
    assert taken == (0x1F1FF - 0x1F1E6 + 1) + (0x1FAFF - 0x1F300 + 1)


def test_messages_beginning_with_ascii_take_their_shortcut() -> None:
    # Not a timing: which path answers (the general path would give the same words).
    from pageflows.rules import folding

    assert folding._fold_ascii_and_emoji("hey!! 🔥🔥 saw your story 👍🏽", 4) is not None
    assert folding._fold_ascii_and_emoji("hey 🔥 café", 1) is None  # Latin-1 too
    assert folding._fold_ascii_and_emoji("x \U0001d400", 1) is None  # a letter
    assert folding._NOT_LATIN1_OR_SEPARATOR.search("Olá 🔥 “isso” é ótimo — ok…") is None
    assert folding._NOT_LATIN1_OR_SEPARATOR.search("Hi Привет").group() == "П"


def test_one_word_heads_are_the_one_word_keys() -> None:
    idx = KeywordIndex.build(
        [
            KeywordEntry("how much", KeywordMode.CONTAINS, (0,), 0),
            KeywordEntry("price of it", KeywordMode.STARTS, (1,), 1),
            KeywordEntry("Preço", KeywordMode.EXACT, (2,), 2),
        ]
    )
    assert idx._heads == {"how", "price", "preco"}
    assert idx._heads == {key for key in idx._phrases if " " not in key}
    assert idx.match("so, HOW MUCH?") is not None
    assert idx.match("price of it is") is not None
    assert idx.match("preço") is not None and idx.match("preço!!") is not None
    assert idx.match("the price of it") is None
