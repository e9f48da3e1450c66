"""Benchmark: keyword matching cost per message as the number of keywords grows.

For 10, 100, 1,000, 10,000 and 100,000 keywords (seeded random pseudo-words in
mixed 1-3 word phrases, plus a handful of real shop keywords so that some
messages match), this builds a `KeywordIndex` and matches a fixed set of
realistic ~20-word messages, then prints, per size, the microseconds per
message (best of several rounds, `time.perf_counter`) of: `ours` (the full
`KeywordIndex.match`, normalization included), `normalize` (only
`normalize_words`, the part of `ours` that does not depend on the keywords),
`regex` (the usual baseline: one `\\b(?:kw1|kw2|...)\\b` alternation with
`re.I`, searched over the casefolded, accent-stripped text; it stops at the
leftmost hit, so it does less work than a lowest-rank match) and, when
pyahocorasick is installed, `aho-corasick` (a bare `ahocorasick.Automaton` of
the space-padded normalized phrases, iterated over the same normalized words
and keeping the lowest rank). The `ours/x` columns are ratios measured in the
same run (below 1 means ours is faster), `hits` counts the messages for which
something matched (both baselines treat every phrase as "contains", ignoring
exact/starts, so their hits can be higher), and the last lines give the growth of our cost from the
smallest to the largest index: a flat ~1x is what "cost grows with the
message, not with the number of keywords" means, whereas the regex column grows
roughly linearly with the keywords. Absolute numbers depend on the machine;
compare columns and sizes within one run. There is no pass/fail.

Run: .venv/bin/python bench/bench_matching.py [--quick]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pageflows.rules.keyword_index import (
    KeywordEntry,
    KeywordIndex,
    KeywordMode,
    normalize_words,
)

try:
    import ahocorasick  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # pragma: no cover - optional
    ahocorasick = None

SIZES = (10, 100, 1_000, 10_000, 100_000)

REAL_KEYWORDS = [
    ("price", KeywordMode.CONTAINS),
    ("how much", KeywordMode.CONTAINS),
    ("preço", KeywordMode.CONTAINS),
    ("shipping", KeywordMode.CONTAINS),
    ("order status", KeywordMode.CONTAINS),
    ("hi", KeywordMode.STARTS),
    ("refund", KeywordMode.CONTAINS),
    ("stop", KeywordMode.EXACT),
]

MESSAGES = [
    "Hi there! How much is the shipping to Lisbon for the blue jacket I saw on your page?",
    "Olá, qual é o preço do casaco azul tamanho M e quanto tempo demora a entrega em Lisboa?",
    "I ordered two pairs of sneakers last Tuesday and still have no tracking number, what now?",
    "Hello, can you tell me if the red dress comes in a smaller size and when it is back?",
    "Buenos días, ¿cuánto cuesta el envío a Madrid y aceptan devoluciones después de treinta días?",
    "my order status says pending since friday, can someone from your team please check it for me",
    "Do you ship to Canada? My sister wants the same leather bag in brown for her birthday gift.",
    "Привет! Сколько стоит доставка в Москву и можно ли оплатить картой при получении заказа?",
    "The zipper broke after one week, I would like a refund or a replacement as soon as possible",
    "Bonjour, est-ce que la boutique sera ouverte samedi matin? Je voudrais essayer ces bottes.",
    "hey!! 🔥🔥 saw your story, is the summer sale still on and does it include the kids section?",
    "你好，请问这件外套还有蓝色的吗？价格多少，可以包邮到上海吗？谢谢你们的帮助",
]

_SYLLABLES = [c + v for c in "bcdfghjklmnprstvz" for v in "aeiou"] + ["é", "ã", "ço", "ñu", "ü"]


def random_word(rnd: random.Random) -> str:
    return "".join(rnd.choice(_SYLLABLES) for _ in range(rnd.randint(2, 4)))


def make_entries(n: int, rnd: random.Random) -> list[KeywordEntry]:
    entries: list[KeywordEntry] = []
    for phrase, mode in REAL_KEYWORDS[:n]:
        entries.append(KeywordEntry(phrase, mode, (0, len(entries)), len(entries)))
    modes = [KeywordMode.CONTAINS] * 3 + [KeywordMode.STARTS, KeywordMode.EXACT]
    while len(entries) < n:
        words = rnd.choices((1, 2, 3), weights=(6, 3, 1))[0]
        phrase = " ".join(random_word(rnd) for _ in range(words))
        i = len(entries)
        entries.append(KeywordEntry(phrase, rnd.choice(modes), (1, i), i))
    return entries


def fold(text: str) -> str:
    """Casefold and strip combining marks: what a regex baseline would search."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# --------------------------------------------------------------------------- matchers

Matcher = Callable[[str], Any]


def build_ours(entries: list[KeywordEntry]) -> Matcher:
    return KeywordIndex.build(entries).match


def build_regex(entries: list[KeywordEntry]) -> Matcher:
    phrases = sorted({fold(e.phrase) for e in entries}, key=len, reverse=True)
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, phrases)) + r")\b", re.I)

    def match(text: str) -> Any:
        return pattern.search(fold(text))

    return match


def build_aho(entries: list[KeywordEntry]) -> Matcher:
    automaton = ahocorasick.Automaton()
    for e in entries:
        key = " " + " ".join(normalize_words(e.phrase)) + " "
        best = automaton.get(key, None)
        if best is None or e.rank < best[0]:
            automaton.add_word(key, (e.rank, e))
    automaton.make_automaton()

    def match(text: str) -> Any:
        best: Any = None
        for _end, value in automaton.iter(" " + " ".join(normalize_words(text)) + " "):
            if best is None or value[0] < best[0]:
                best = value
        return None if best is None else best[1]

    return match


# --------------------------------------------------------------------------- timing


def time_per_message(fn: Matcher, rounds: int, target_s: float) -> float:
    """Best-of-`rounds` µs per message over MESSAGES, each round lasting ~target_s."""

    def one_pass(reps: int) -> float:
        start = time.perf_counter()
        for _ in range(reps):
            for msg in MESSAGES:
                fn(msg)
        return time.perf_counter() - start

    first = one_pass(1)
    reps = max(1, int(target_s / max(first, 1e-9)))
    best = min(one_pass(reps) / reps for _ in range(rounds))
    return best / len(MESSAGES) * 1e6


def timed_build(
    build: Callable[[list[KeywordEntry]], Matcher], entries: list[KeywordEntry]
) -> tuple[Matcher, float]:
    start = time.perf_counter()
    fn = build(entries)
    return fn, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds (< 20 s)")
    args = parser.parse_args()
    rounds, target_s = (3, 0.02) if args.quick else (7, 0.2)

    builders: list[tuple[str, Callable[[list[KeywordEntry]], Matcher]]] = [
        ("ours", build_ours),
        ("regex", build_regex),
    ]
    if ahocorasick is not None:
        builders.append(("aho-corasick", build_aho))
    else:
        print("pyahocorasick not installed: aho-corasick column skipped")

    avg_words = sum(len(normalize_words(m)) for m in MESSAGES) / len(MESSAGES)
    print(
        f"{len(MESSAGES)} messages, {avg_words:.1f} normalized words on average; "
        f"best of {rounds} rounds; µs per message"
    )
    normalize_us = time_per_message(normalize_words, rounds, target_s)

    summary: list[tuple[int, dict[str, float]]] = []
    for n in SIZES:
        entries = make_entries(n, random.Random(n))
        us: dict[str, float] = {}
        print(f"\n== {n:,} keywords ==")
        print(f"  {'impl':<13} {'build s':>8} {'µs/msg':>9} {'ours/x':>8} {'hits':>5}")
        rows = []
        for name, build in builders:
            fn, build_s = timed_build(build, entries)
            hits = sum(1 for m in MESSAGES if fn(m) is not None)
            us[name] = time_per_message(fn, rounds, target_s)
            rows.append((name, build_s, hits))
        for name, build_s, hits in rows:
            print(
                f"  {name:<13} {build_s:>8.3f} {us[name]:>9.2f} "
                f"{us['ours'] / us[name]:>8.3f} {hits:>3}/{len(MESSAGES)}"
            )
        print(f"  {'normalize':<13} {'':>8} {normalize_us:>9.2f} {'':>8} (part of ours)")
        summary.append((n, us))

    print("\n== summary: µs per message ==")
    names = [name for name, _ in builders]
    print(f"  {'keywords':>9} " + " ".join(f"{name:>13}" for name in names))
    for n, us in summary:
        print(f"  {n:>9,} " + " ".join(f"{us[name]:>13.2f}" for name in names))
    first, last = summary[0], summary[-1]
    for name in names:
        growth = last[1][name] / first[1][name]
        print(f"  growth of {name} from {first[0]:,} to {last[0]:,} keywords: {growth:.2f}x")


if __name__ == "__main__":
    main()
