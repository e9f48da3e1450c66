"""The hand-written block reader gives Lark's very trees, or leaves the block to Lark.

issue 13: A. build.py reads rule names, children, token types and texts and
every position; `differences` compares all of them. The reader must read the
language's common forms itself (else `check` is slow again: the forms below
and every example must not be left to Lark), and must never accept a block
Lark refuses or read one differently: the mutation test edits real blocks.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark.exceptions import LarkError

from pageflows.rules import parse, read_block
from pageflows.rules.parse import decode, split_blocks

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from both_ways import edited  # noqa: E402

from bench.bench_check import flow_text  # noqa: E402

# Every rule of grammar.lark at least once, in the shapes marketers write.
EVERY_FORM = """\
# a comment before the first block

on keyword "price", "cost" contains:
    send "From $7." # a comment after a line
        quick "Yes" -> menu
        quick "Tag me" -> tag "asked"
        quick "Untag" -> untag "asked"
        quick "Set" -> set size = "M"
        quick "Other" -> other_flow.menu
on regex /order \\d+/i:
    goto menu
on ref missing:
    stop
on ref "spring" from ads:
    stop
on ref "qr1" from chat plugin:
    stop
on ref "x":
    stop
on comment on post "123_456" containing "price", "cost":
    private reply "Sent you a message!"
on comment:
    private reply "Thanks!"
on postback "MENU":
    typing 2s
    typing
on get started:
    handoff "Someone will answer" for 2h
on first message:
    handoff
on message:
    notify "A message came in"
on attachment location:
    stop
on optin "deals":
    request notifications "deals" title "Deals" frequency weekly
on window closing in 2h:
    send template "order_update" language "en_US" with "{contact.first_name}", "A1"
        quick "Stop" -> stop_it
on keyword "cards" exact:
    send cards:
        card "One":
            subtitle "First"
            image "https://example.com/1.png"
            link "https://example.com/1"
            button "Open" url "https://example.com"
        card "Two":
            button "Call" call "+15551234567"
            button "Go" -> menu
    send card "Solo":
        subtitle "Only one"
    send buttons "Pick one":
        button "Site" url "https://example.com"
        button "Menu" -> menu
    send image "https://example.com/a.png"
    send video "https://example.com/a.mp4"
step menu:
    ask "Your email?" into email as email for 2d:
        invalid "That is not an email"
        quick "Skip" -> skipped
        quick "Later"
        retries 3
        cancel "stop", "cancel"
        if no answer -> menu
    ask "Your size?" into size
    ask "How many?" into guests as number:
        if no answer continue
    tag "vip"
    untag "cold"
    set last_topic = "menu"
    if tagged "vip" and not (guests >= 8 or size == "M") or plan != "free":
        send "VIP"
    elif guests < -1.5:
        send "Few"
    elif (tagged "a"):
        send "A"
    else:
        send "Others"
    unless tagged "vip":
        send "Not VIP"
    else:
        send "VIP"
    split 50%:
        send "A"
    else:
        send "B"
    after 20h at "10:00" unless replied with tag POST_PURCHASE_UPDATE:
        send "Still there?"
    after 1d via notification "deals":
        send "Deal!"
    before {contact.booking_date} by 1d at "18:00":
        send "See you tomorrow"
    after {contact.booking_date} by 2h unless replied:
        send "How was it?"
broadcast weekly_deals to subscribers of "deals" every monday, thursday at "10:00" in "UTC":
    send "Deals"
broadcast news to tagged "news" at "2026-12-01 10:00" in "UTC" with tag ACCOUNT_UPDATE:
    send "News"
broadcast all to everyone at "2026-12-01 10:00" in "UTC":
    send "Hello all"

# a comment after the last block
"""


def blocks(text: str) -> list[str]:
    source, problems = decode("x.flow", text.encode("utf-8"))
    assert source is not None, problems
    return [chunk for _, chunk in split_blocks(source.text)]


def lark_tree(chunk: str) -> object | None:
    try:
        return parse.parser().parse(chunk)
    except LarkError:
        return None


def assert_same_or_left_to_lark(chunk: str) -> bool:
    """True if the reader read the block (and then exactly as Lark)."""
    ours = read_block.read(chunk)
    if ours is None:
        return False
    theirs = lark_tree(chunk)
    assert theirs is not None, f"the reader accepted a block Lark refuses:\n{chunk}"
    assert read_block.differences(ours, theirs) == [], chunk
    return True


def corpus() -> list[str]:
    found = blocks(EVERY_FORM)
    for folder in ("examples", "tests/golden", "tests/fixtures"):
        for path in sorted((ROOT / folder).rglob("*.flow")):
            source, _ = decode(str(path), path.read_bytes())
            if source is not None:
                found += [chunk for _, chunk in split_blocks(source.text)]
    return found


CORPUS = corpus()


def test_every_form_of_the_language_is_read_as_lark_reads_it() -> None:
    chunks = blocks(EVERY_FORM)
    assert len(chunks) == 21
    for chunk in chunks:
        assert assert_same_or_left_to_lark(chunk), f"left to Lark:\n{chunk}"


@pytest.mark.parametrize("findings", [False, True])
def test_the_benchmark_flows_are_read_without_lark(findings: bool) -> None:
    chunks = blocks(flow_text(0, 400, findings=findings))
    assert all(assert_same_or_left_to_lark(chunk) for chunk in chunks)


def test_examples_and_golden_cases_match_lark_and_only_tabs_or_mistakes_go_to_lark() -> None:
    left = [chunk for chunk in CORPUS if not assert_same_or_left_to_lark(chunk)]
    for chunk in left:
        assert "\t" in chunk or lark_tree(chunk) is None, f"a good block left to Lark:\n{chunk}"
    assert len(left) < len(CORPUS) / 4


def test_the_words_it_knows_are_the_grammars() -> None:
    assert parse._all_keywords() == read_block.KEYWORDS
    assert parse._top_level_words() == read_block.TOP_LEVEL_WORDS
    by_value = {str(t.pattern.value): t.name for t in parse.parser().terminals}
    for value, name in read_block.KEPT_TYPES.items():
        assert by_value[value] == name
    kept = "exact contains starts ads link qr chat plugin image audio video file location"
    kept += " email phone number text date time before after daily weekly monthly"
    for value in kept.split():
        assert read_block.KEPT_TYPES.get(value, value.upper()) == by_value[value], value


def test_what_it_is_not_sure_of_goes_to_lark() -> None:
    assert read_block.read('on keyword "a":\n\tsend "x"\n') is None  # tabs
    assert read_block.read('on keyword "a":\n     send "x"\n') is None  # 5 spaces
    assert read_block.read('on keyword "a":\n    sned "x"\n') is None  # a slip
    assert read_block.read('on keyword "a":\n    gotomenu\n') is None  # glued words
    assert read_block.read('on keyword "a":\n    send "x\u00a0"\u00a0\n') is None  # odd space
    assert read_block.read('on keyword "a":\n    send "unclosed\n') is None


# ------------------------------------------------------------------ edits of real blocks

PIECES = (
    *sorted(read_block.KEYWORDS), "->", "==", "=", "!=", ">=", "<", ":", ",", ".", "(", ")",
    '"t"', '"', "20h", "2", "-1", "1,5", "50%", "x", "a-b", "{contact.d}", "/a/", "#c", " ",
    "    ", "\n", "\n    ", "\t", "é", "\u00a0",
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(CORPUS),
    st.lists(
        st.tuples(st.floats(0, 1), st.integers(0, 12), st.sampled_from(PIECES)),
        min_size=1,
        max_size=4,
    ),
)
def test_edited_blocks_are_read_as_lark_reads_them_or_left_to_it(
    chunk: str, edits: list[tuple[float, int, str]]
) -> None:
    """Insert a piece, or replace up to 12 characters with it, anywhere in a real block."""
    assert_same_or_left_to_lark(edited(chunk, edits))
