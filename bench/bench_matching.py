"""Benchmark 1: keyword matching at 10, 1,000 and 100,000 keywords.

For each size (seeded random pseudo-words in 1-3 word phrases of all three
modes, plus a handful of real shop keywords so that some messages match) this
builds the index and matches twelve realistic ~20-word messages (seven ASCII,
five not: Portuguese, Spanish, Russian, Chinese and one with emoji), and
measures, in microseconds per message (best of several rounds,
`time.perf_counter`, each call given a new string equal to its message, as a
Page's messages arrive: see `time_interleaved`):

* `ours`: `KeywordIndex.match`, folding included;
* `ahocorasick-rs folded`: the baseline doing the same job: the message folded
  by the same function, space-padded, one ahocorasick-rs automaton of the
  space-padded folded phrases searched with overlapping matches, the best rank
  kept with the same exact/starts/contains rules. Its answers must equal ours
  for every message (checked; the run fails otherwise);
* `ahocorasick-rs raw`: the same automaton on the raw message (no folding, no
  word boundaries): the floor of any matcher, the time folding is compared with;
* `regex`: one `\\b(?:kw1|kw2|...)\\b` alternation over the folded text (it stops
  at the leftmost hit, so it does less than a best-rank match);
* `fold`: `fold_words` alone, on all messages and on the ASCII ones; and on the
  non-ASCII ones against its general path alone (what they all took before the
  shortcuts of pageflows/rules/folding.py), together and one by one.

Memory per keyword: ours with tracemalloc (what `KeywordIndex.build` allocates
and keeps, the entries given to it not counted), ahocorasick-rs (whose memory
is Rust's, unseen by tracemalloc) and ours again by the growth of the resident
set (VmRSS) of a fresh process building only that index, at 100,000 keywords.
Build time is the wall time of one build.

Run: .venv/bin/python bench/bench_matching.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import gc
import random
import re
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ahocorasick_rs

from bench.results import Results, arguments, ratio_at_most, value_at_most
from pageflows.rules.folding import _fold_general, fold_words
from pageflows.rules.keyword_index import KeywordEntry, KeywordIndex, KeywordMode

SIZES = (10, 1_000, 100_000)
MEMORY_SIZE = 100_000
QUICK_MEMORY_SIZE = 20_000  # --quick: the memory figures on fewer keywords (~3 s less)

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
ASCII_MESSAGES = [m for m in MESSAGES if m.isascii()]
OTHER_MESSAGES = [m for m in MESSAGES if not m.isascii()]

_SYLLABLES = [c + v for c in "bcdfghjklmnprstvz" for v in "aeiou"] + ["é", "ã", "ço", "ñu", "ü"]


def random_word(rnd: random.Random) -> str:
    return "".join(rnd.choice(_SYLLABLES) for _ in range(rnd.randint(2, 4)))


@cache  # the largest size is used twice (timed, then its memory): generated once
def make_entries(n: int) -> list[KeywordEntry]:
    rnd = random.Random(n)
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


# --------------------------------------------------------------------------- baselines

Matcher = Callable[[str], Any]


class AhoFolded:
    """ahocorasick-rs doing our job: same folding, same modes, same ranks."""

    def __init__(self, entries: list[KeywordEntry]) -> None:
        ordered = sorted(enumerate(entries), key=lambda item: (item[1].rank, item[0]))
        self.entries = [e for _, e in ordered]
        none = len(self.entries)
        self.patterns: list[str] = []
        self.best: list[list[int]] = []  # per pattern: [whole, prefix, contains]
        slot_of: dict[str, int] = {}
        reach = {KeywordMode.EXACT: 1, KeywordMode.STARTS: 2, KeywordMode.CONTAINS: 3}
        for order, e in enumerate(self.entries):
            words = fold_words(e.phrase)
            if not words:
                continue
            key = " " + " ".join(words) + " "
            slot = slot_of.get(key)
            if slot is None:
                slot = slot_of[key] = len(self.patterns)
                self.patterns.append(key)
                self.best.append([none, none, none])
            for i in range(reach[e.mode]):
                self.best[slot][i] = min(self.best[slot][i], order)
        self.none = none
        self.automaton = ahocorasick_rs.AhoCorasick(self.patterns)

    def match(self, text: str) -> KeywordEntry | None:
        folded = " " + " ".join(fold_words(text)) + " "
        end_all = len(folded)
        best = self.none
        for slot, start, end in self.automaton.find_matches_as_indexes(folded, overlapping=True):
            bests = self.best[slot]
            found = bests[2] if start else (bests[0] if end == end_all else bests[1])
            best = min(best, found)
        return None if best == self.none else self.entries[best]


def build_ours(entries: list[KeywordEntry]) -> Matcher:
    return KeywordIndex.build(entries).match


def build_aho_folded(entries: list[KeywordEntry]) -> Matcher:
    return AhoFolded(entries).match


class RawSearch:
    """The automaton alone on the raw message: no folding, no boundaries, no ranks.

    Timed as its bound method called straight from the timing loop
    (`time_interleaved`), as `fold_words` is: a Python function around it would add a
    frame, ~0.05 µs of its ~0.55, that is no part of the automaton's time.
    """

    def __init__(self, automaton: ahocorasick_rs.AhoCorasick) -> None:
        self.search = automaton.find_matches_as_indexes  # (text, overlapping)

    def __call__(self, text: str) -> Any:
        return self.search(text, True)


def build_aho_raw(entries: list[KeywordEntry]) -> Matcher:
    patterns = sorted({" ".join(fold_words(e.phrase)) for e in entries} - {""})
    return RawSearch(ahocorasick_rs.AhoCorasick(patterns))


def build_regex(entries: list[KeywordEntry]) -> Matcher:
    phrases = sorted({" ".join(fold_words(e.phrase)) for e in entries} - {""}, key=len)
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, reversed(phrases))) + r")\b")

    def match(text: str) -> Any:
        return pattern.search(" ".join(fold_words(text)))

    return match


# --------------------------------------------------------------------------- measuring


def fresh_copies(messages: list[str], reps: int) -> list[str]:
    """`reps` times `messages`, each a new string equal to its message (no cached UTF-8)."""
    return [msg.encode().decode() for _ in range(reps) for msg in messages]


def time_per_message(fn: Matcher, messages: list[str], rounds: int, target_s: float) -> float:
    """Best-of-`rounds` µs per message over `messages`, each round lasting ~target_s."""
    return time_interleaved({"fn": fn}, messages, rounds, target_s)["fn"]


def time_interleaved(
    fns: dict[str, Matcher], messages: list[str], rounds: int, target_s: float
) -> dict[str, float]:
    """Best-of-`rounds` µs per message of each function, the functions taking turns.

    The machine is shared: taking turns round by round exposes every function to
    the same load, so their ratio holds even when the absolute numbers move.

    Every call is given a fresh copy of its message, made before the pass and not
    timed, as a Page's messages each arrive as a new string. The same 12 objects
    again and again would favour ahocorasick-rs: it reads a message as UTF-8, and
    CPython keeps the UTF-8 of a non-ASCII string inside the string once asked for
    it, so from the second call on the automaton skipped the encoding it does for
    every new message (0.08-0.12 µs of its 0.5-0.7 on each non-ASCII message),
    while folding has no such cache (issue 13, eighth session).
    """

    def one_pass(fn: Matcher, reps: int) -> float:
        batch = fresh_copies(messages, reps)
        gc.disable()  # as timeit does: a collection of the whole heap is no matcher's cost
        try:
            if isinstance(fn, RawSearch):  # the automaton's method itself, overlapping
                search = fn.search
                start = time.perf_counter()
                for msg in batch:
                    search(msg, True)
                return time.perf_counter() - start
            start = time.perf_counter()
            for msg in batch:
                fn(msg)
            return time.perf_counter() - start
        finally:
            gc.enable()

    reps = {name: max(1, int(target_s / max(one_pass(fn, 1), 1e-9))) for name, fn in fns.items()}
    best = dict.fromkeys(fns, float("inf"))
    # Each round takes the functions in a new order (seeded): a disturbance that recurs
    # with the period of a round would otherwise fall on the same function every round,
    # and the best of all rounds would not escape it.
    order = list(fns)
    shuffle = random.Random(len(order)).shuffle
    for _ in range(rounds):
        shuffle(order)
        for name in order:
            best[name] = min(best[name], one_pass(fns[name], reps[name]) / reps[name])
    return {name: t / len(messages) * 1e6 for name, t in best.items()}


def timed_build(
    build: Callable[[list[KeywordEntry]], Matcher], entries: list[KeywordEntry]
) -> tuple[Matcher, float]:
    gc.collect()
    start = time.perf_counter()
    fn = build(entries)
    return fn, time.perf_counter() - start


def traced_bytes_per_keyword(entries: list[KeywordEntry]) -> float:
    """What KeywordIndex.build allocates and keeps (tracemalloc), per keyword."""
    gc.collect()
    tracemalloc.start()
    index = KeywordIndex.build(entries)
    gc.collect()
    kept, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del index
    return kept / len(entries)


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def rss_child(which: str, n: int) -> None:
    """In a fresh process: print the resident-set growth per keyword of one build."""
    entries = make_entries(n)
    fold_words("é")  # the Unicode classes are built once per process: not the index's
    if which == "aho":
        patterns = sorted({" " + " ".join(fold_words(e.phrase)) + " " for e in entries})
        gc.collect()
        before = _rss_bytes()
        keep: Any = ahocorasick_rs.AhoCorasick(patterns)
    else:
        gc.collect()
        before = _rss_bytes()
        keep = KeywordIndex.build(entries)
    gc.collect()
    print((_rss_bytes() - before) / n)
    del keep


def rss_bytes_per_keyword(n: int) -> dict[str, float]:
    """Resident-set growth per keyword of ours and ahocorasick-rs, each in a fresh
    process, the two at once (each alone on one of the cores; a second apiece)."""
    children = {
        which: subprocess.Popen(
            [sys.executable, __file__, "--rss-child", which, str(n)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for which in ("ours", "aho")
    }
    found: dict[str, float] = {}
    for which, child in children.items():
        out, _ = child.communicate()
        if child.returncode:
            raise SystemExit(f"the {which} resident-set child failed ({child.returncode})")
        found[which] = float(out.strip())
    return found


def main() -> int:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--sizes", help="comma-separated keyword counts (default 10,1000,100000)")
    parser.add_argument(
        "--memory-size",
        type=int,
        help=f"keywords for memory (default {MEMORY_SIZE:,}; --quick {QUICK_MEMORY_SIZE:,})",
    )
    parser.add_argument("--rss-child", nargs=2, metavar=("WHICH", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child[0], int(args.rss_child[1]))
        return 0
    sizes = tuple(int(n) for n in args.sizes.split(",")) if args.sizes else SIZES
    memory_size = args.memory_size or (QUICK_MEMORY_SIZE if args.quick else MEMORY_SIZE)
    # Many short rounds, the best kept: on a shared machine a short round is more
    # often run undisturbed than a long one, so the minimum is steadier.
    rounds, target_s = (41, 0.001) if args.quick else (201, 0.002)
    results = Results("matching", quick=args.quick)
    fold_words("é")  # build the Unicode classes once, outside every timing

    avg_words = sum(len(fold_words(m)) for m in MESSAGES) / len(MESSAGES)
    print(
        f"{len(MESSAGES)} messages ({len(ASCII_MESSAGES)} ASCII), {avg_words:.1f} words on"
        f" average; best of {rounds} rounds; µs per message"
    )
    kept: dict[int, dict[str, Matcher]] = {}  # the smallest and largest, timed together below
    failures = 0
    for n in sizes:
        entries = make_entries(n)
        builders: list[tuple[str, Callable[[list[KeywordEntry]], Matcher]]] = [
            ("ours", build_ours),
            ("aho folded", build_aho_folded),
            ("aho raw", build_aho_raw),
        ]
        if not (args.quick and n > 10_000):  # 100,000 alternatives: ~20 ms a message
            builders.append(("regex", build_regex))
        fns: dict[str, Matcher] = {}
        build_s: dict[str, float] = {}
        for name, build in builders:
            fns[name], build_s[name] = timed_build(build, entries)
        hits = 0
        for msg in MESSAGES:
            ours, theirs = fns["ours"](msg), fns["aho folded"](msg)
            hits += ours is not None
            if ours != theirs:
                failures += 1
                print(
                    f"MISMATCH at {n:,} keywords on {msg!r}: ours {ours}, ahocorasick-rs {theirs}"
                )
        us = time_interleaved({**fns, "fold": fold_words}, MESSAGES, rounds, target_s)
        ascii_us = time_interleaved(
            {"fold": fold_words, "aho raw": fns["aho raw"]}, ASCII_MESSAGES, rounds, target_s
        )
        if n in (sizes[0], sizes[-1]):
            kept[n] = {"ours": fns["ours"], "aho folded": fns["aho folded"]}
        print(
            f"{n:>7,} keywords, {hits}/{len(MESSAGES)} messages match: "
            + ", ".join(f"{name} {v:.2f}" for name, v in us.items())
        )
        k = f"{n:,} keywords"
        results.add(
            f"match, {k}: ours vs ahocorasick-rs on folded text",
            us["ours"],
            "µs/msg",
            baseline=us["aho folded"],
            baseline_name="ahocorasick-rs, same folding, same modes and ranks",
            target=ratio_at_most(1.0),
        )
        if "regex" in us:
            results.add(
                f"match, {k}: ours vs a regex alternation",
                us["ours"],
                "µs/msg",
                baseline=us["regex"],
                baseline_name="re alternation over the folded text",
            )
        results.add(
            f"fold, all messages: vs ahocorasick-rs raw, {k}",
            us["fold"],
            "µs/msg",
            baseline=us["aho raw"],
            baseline_name="ahocorasick-rs on the raw message",
            target=ratio_at_most(2.0),
        )
        results.add(
            f"fold, ASCII messages: vs ahocorasick-rs raw, {k}",
            ascii_us["fold"],
            "µs/msg",
            baseline=ascii_us["aho raw"],
            baseline_name="ahocorasick-rs on the raw ASCII messages",
            target=ratio_at_most(2.0),
        )
        results.add(
            f"build, {k}: ours vs ahocorasick-rs",
            build_s["ours"],
            "s",
            baseline=build_s["aho folded"],
            baseline_name="ahocorasick-rs build, folding included",
        )
    small, large = sizes[0], sizes[-1]
    growth = time_interleaved(
        {f"{name} {n}": fn for n in (small, large) for name, fn in kept[n].items()},
        MESSAGES,
        rounds,
        target_s,
    )
    del kept
    results.add(
        f"match: ours at {large:,} keywords vs at {small:,}",
        growth[f"ours {large}"],
        "µs/msg",
        baseline=growth[f"ours {small}"],
        baseline_name=f"ours at {small:,} keywords, timed in the same turns",
        target=ratio_at_most(1.5),
    )
    results.add(
        f"match: ahocorasick-rs folded at {large:,} keywords vs at {small:,}",
        growth[f"aho folded {large}"],
        "µs/msg",
        baseline=growth[f"aho folded {small}"],
        baseline_name=f"ahocorasick-rs folded at {small:,} keywords, timed in the same turns",
    )
    by_path = time_interleaved(
        {"fold": fold_words, "general": _fold_general}, OTHER_MESSAGES, rounds, target_s
    )
    results.add(
        "fold, non-ASCII messages: shortcuts vs the general path alone",
        by_path["fold"],
        "µs/msg",
        baseline=by_path["general"],
        baseline_name="folding.py's general path (all non-ASCII text before the shortcuts)",
    )
    for msg in [] if args.quick else OTHER_MESSAGES:  # where the time goes, per script
        one = time_interleaved(
            {"fold": fold_words, "general": _fold_general}, [msg], rounds, target_s
        )
        results.add(
            f"fold, {msg[:12]!r}: shortcuts vs the general path",
            one["fold"],
            "µs/msg",
            baseline=one["general"],
            baseline_name="folding.py's general path",
        )
    entries = make_entries(memory_size)
    rss = rss_bytes_per_keyword(memory_size)
    aho_rss = rss["aho"]
    results.add(
        f"memory, {memory_size:,} keywords: ours (tracemalloc) per keyword",
        traced_bytes_per_keyword(entries),
        "bytes",
        baseline=aho_rss,
        baseline_name="ahocorasick-rs, resident-set growth",
        target=value_at_most(300),
    )
    results.add(
        f"memory, {memory_size:,} keywords: ours (resident set) per keyword",
        rss["ours"],
        "bytes",
        baseline=aho_rss,
        baseline_name="ahocorasick-rs, resident-set growth",
    )
    print()
    print(results.table())
    results.write(args.json)
    print(f"\nwritten to {args.json}")
    if failures:
        print(f"{failures} answers differ from ahocorasick-rs: see MISMATCH above")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
