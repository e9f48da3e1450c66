"""Checked flows -> a Program: the trigger indexes the engine matches against.

Built once at load. Precedence is fixed here, as ranks: at most one trigger
fires per event, the most specific first (exact keyword > starts > contains
> regex; a ref equal to the value > a glob; a comment on a given post with
words > on a post > with words > any), then the order of declaration (files
by path, then top to bottom).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

from pageflows.rules import model as m
from pageflows.rules.keyword_index import KeywordEntry, KeywordIndex, KeywordMode, normalize_words
from pageflows.rules.linear_regex import LinearRegex, compile_regex

MODE_RANK = {"exact": 0, "starts": 1, "contains": 2}

# How much of a contact's message the text triggers read. Messenger documents
# one text limit, the Send API's (`text` < 2000 characters, shared/messenger/
# send-api.md); the webhook reference gives none of its own for `message.text`.
# So matching reads the first 2000 characters: a longer message is matched on
# its beginning, and no message, however long, costs more than that to match.
MATCHED_TEXT_MAX = 2000


@dataclass(frozen=True)
class CompiledTrigger:
    id: int
    flow: str
    block: m.TriggerBlock

    @property
    def trigger(self) -> m.Trigger:
        return self.block.trigger


@dataclass(frozen=True)
class Program:
    flows: dict[str, m.Flow]
    triggers: tuple[CompiledTrigger, ...]
    keywords: KeywordIndex
    regexes: tuple[tuple[LinearRegex, int], ...]
    refs: dict[str, tuple[int, ...]]
    ref_globs: tuple[tuple[str, int], ...]
    by_kind: dict[str, tuple[int, ...]] = field(default_factory=dict)
    broadcasts: dict[str, tuple[str, m.Broadcast]] = field(default_factory=dict)
    # issue 13 (tenth session): what the engine looked up in this program by an address
    # (engine/run.py `Run.follow_up`: a stored follow-up's `after`), kept with the program:
    # the flows are frozen once compiled, and a changed flow is a new Program, so a new,
    # empty memo. Not part of what the program is (compared, shown).
    memo: dict[object, object] = field(default_factory=dict, compare=False, repr=False)

    def first(self, kind: str) -> CompiledTrigger | None:
        ids = self.by_kind.get(kind, ())
        return self.triggers[ids[0]] if ids else None

    def all(self, kind: str) -> list[CompiledTrigger]:
        return [self.triggers[i] for i in self.by_kind.get(kind, ())]

    def step(self, flow: str, name: str) -> m.Step | None:
        owner = self.flows.get(flow)
        return owner.step(name) if owner else None

    def match_ref(self, ref: str, source: str | None) -> CompiledTrigger | None:
        """An equal ref before a glob; a trigger restricted to a source needs that source."""
        for trigger_id in self.refs.get(ref, ()):
            if _source_ok(self.triggers[trigger_id], source):
                return self.triggers[trigger_id]
        for pattern, trigger_id in self.ref_globs:
            if fnmatch.fnmatchcase(ref, pattern) and _source_ok(self.triggers[trigger_id], source):
                return self.triggers[trigger_id]
        return None

    def match_text(self, text: str) -> CompiledTrigger | None:
        """Keywords first, then patterns, on the first MATCHED_TEXT_MAX characters."""
        text = text[:MATCHED_TEXT_MAX]
        entry = self.keywords.match(text)
        if entry is not None:
            return self.triggers[entry.trigger]
        for pattern, trigger_id in self.regexes:
            if pattern.search(text):
                return self.triggers[trigger_id]
        return None

    def match_comment(self, post_id: str, text: str) -> CompiledTrigger | None:
        words = " " + " ".join(normalize_words(text)) + " "
        best: tuple[tuple[int, int], CompiledTrigger] | None = None
        for compiled in self.all("comment"):
            trigger = compiled.trigger
            assert isinstance(trigger, m.CommentTrigger)
            if trigger.post_id is not None and trigger.post_id != post_id:
                continue
            if trigger.containing and not any(
                " " + " ".join(normalize_words(w)) + " " in words for w in trigger.containing
            ):
                continue
            rank = (comment_specificity(trigger), compiled.id)
            if best is None or rank < best[0]:
                best = (rank, compiled)
        return best[1] if best else None


def comment_specificity(trigger: m.CommentTrigger) -> int:
    return {(True, True): 0, (True, False): 1, (False, True): 2}.get(
        (trigger.post_id is not None, bool(trigger.containing)), 3
    )


def _source_ok(compiled: CompiledTrigger, source: str | None) -> bool:
    trigger = compiled.trigger
    assert isinstance(trigger, m.RefTrigger)
    return trigger.source is None or trigger.source == source


def keyword_entries(triggers: tuple[CompiledTrigger, ...]) -> list[KeywordEntry]:
    """One entry per keyword phrase, in the order of the triggers and their phrases.

    issue 13: A: made twice per `check` (the index, the shadow check) for every
    phrase: the trigger's kind is compared (`type is`: no model class has
    subclasses, test_walk_nodes) and its mode looked up, not converted.
    """
    entries: list[KeywordEntry] = []
    append = entries.append
    for compiled in triggers:
        trigger = compiled.block.trigger
        if type(trigger) is m.KeywordTrigger:
            mode = _MODES[trigger.mode]
            rank = (MODE_RANK[trigger.mode], compiled.id)
            for phrase in trigger.phrases:
                # issue 13: A: made as KeywordEntry(...) makes it (see _new below), `mode` a
                # KeywordMode already (what its __post_init__ would make of it).
                entry = _new(KeywordEntry)
                _set(entry, "phrase", phrase)
                _set(entry, "mode", mode)
                _set(entry, "rank", rank)
                _set(entry, "trigger", compiled.id)
                append(entry)
    return entries


# issue 13: A. The entries and compiled triggers of 10,000 triggers (17,000 and 10,000)
# are made the way their frozen dataclasses' __init__ makes them (`object.__setattr__`
# of each field, in the declared order, so the same attributes in the same order: equal,
# the same hash and the same size), without __init__'s keyword arguments and look-ups
# and, for an entry, the call of __post_init__ (tests/unit/test_compile_made.py).
_new = object.__new__
_set = object.__setattr__


def _compiled(n: int, flow: str, block: m.TriggerBlock) -> CompiledTrigger:
    compiled = _new(CompiledTrigger)
    _set(compiled, "id", n)
    _set(compiled, "flow", flow)
    _set(compiled, "block", block)
    return compiled


_MODES = {mode.value: mode for mode in KeywordMode}


def compile_program(flows: list[m.Flow]) -> Program:
    ordered = sorted(flows, key=lambda f: f.path)
    triggers = tuple(
        _compiled(n, flow.name, block)
        for n, (flow, block) in enumerate((f, b) for f in ordered for b in f.triggers)
    )
    regexes: list[tuple[LinearRegex, int]] = []
    refs: dict[str, list[int]] = {}
    globs = []
    by_kind: dict[str, list[int]] = {}
    for compiled in triggers:
        trigger = compiled.trigger
        by_kind.setdefault(trigger.kind, []).append(compiled.id)
        if isinstance(trigger, m.RegexTrigger):
            pattern = compile_regex(trigger.pattern, trigger.flags)
            if isinstance(pattern, LinearRegex):  # else build.py reported it; never served
                regexes.append((pattern, compiled.id))
        elif isinstance(trigger, m.RefTrigger):
            if trigger.is_glob:
                globs.append((trigger.ref, compiled.id))
            else:
                refs.setdefault(trigger.ref, []).append(compiled.id)
    return Program(
        flows={f.name: f for f in ordered},
        triggers=triggers,
        keywords=KeywordIndex.build(keyword_entries(triggers)),
        regexes=tuple(regexes),
        refs={k: tuple(v) for k, v in refs.items()},
        ref_globs=tuple(globs),
        by_kind={k: tuple(v) for k, v in by_kind.items()},
        broadcasts={b.name: (f.name, b) for f in ordered for b in f.broadcasts},
    )
