"""Every ref the flows react to, its m.me link, and a QR code of it.

A link is `https://m.me/<username>?ref=<ref>`, the username being the Page's
(`username` under [[pages]], or PAGEFLOWS_PAGE_USERNAME). A QR code encodes
the same link with QR_MARKER after the ref (engine/events.py): Facebook reports
a scan exactly like a tap on the link, and the marker is how arrivals tell them
apart; the engine takes it off before flows see the ref. Refs with a `*` are
patterns: they take many refs but make no link of their own.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

import segno

from pageflows.engine.events import QR_MARKER
from pageflows.rules import model as m
from pageflows.rules.compile import Program
from pageflows.service.config import PageConfig

REF_MAX = 250  # Facebook's limit on a ref (shared/messenger, docs/language.md)
QR_SIZE_MIN, QR_SIZE_MAX, QR_SIZE_DEFAULT = 64, 4096, 512
QrFormat = Literal["png", "svg"]
MEDIA_TYPES: dict[str, str] = {"png": "image/png", "svg": "image/svg+xml"}
HOW_TO_SET_USERNAME = (
    'set the Page\'s username: `username = "yourpage"` under its [[pages]] in pageflows.toml,'
    " or PAGEFLOWS_PAGE_USERNAME=yourpage (as in https://m.me/yourpage)"
)


class LinkError(ValueError):
    """A link or QR code that cannot be made; the message says why and what to do."""


@dataclass(frozen=True)
class FlowRef:
    ref: str
    flows: tuple[str, ...]
    sources: tuple[str, ...] = ()  # `from ads|link|qr|chat_plugin`; empty: any way
    where: str = ""  # file:line of the first trigger

    @property
    def is_pattern(self) -> bool:
        return "*" in self.ref


@dataclass
class _Collected:
    flows: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    any_source: bool = False
    where: str = ""


def flow_refs(program: Program) -> list[FlowRef]:
    """The refs of every `on ref "x"` trigger, each once, in the order flows declare them."""
    found: dict[str, _Collected] = {}
    for compiled in program.triggers:
        trigger = compiled.trigger
        if not isinstance(trigger, m.RefTrigger):
            continue
        entry = found.setdefault(trigger.ref, _Collected(where=_where(compiled.block)))
        if compiled.flow not in entry.flows:
            entry.flows.append(compiled.flow)
        if trigger.source is None:
            entry.any_source = True
        elif trigger.source not in entry.sources:
            entry.sources.append(trigger.source)
    return [
        FlowRef(
            ref,
            tuple(c.flows),
            () if c.any_source else tuple(c.sources),
            c.where,
        )
        for ref, c in found.items()
    ]


def _where(block: m.TriggerBlock) -> str:
    return f"{block.span.path}:{block.span.line}"


def mme_link(username: str, ref: str, qr: bool = False) -> str:
    """The m.me link for `ref`; `qr`: the one our QR codes carry (marked, see module doc)."""
    value = ref + QR_MARKER if qr else ref
    if len(value) > REF_MAX:
        raise LinkError(
            f"the ref {ref!r} is {len(ref)} characters; a QR code's ref carries"
            f" {len(QR_MARKER)} more and Facebook takes at most {REF_MAX}"
        )
    # `+` would read as a space in a query string; the other allowed characters are safe.
    return f"https://m.me/{username}?ref={quote(value, safe='-._:/=')}"


def username_of(page: PageConfig) -> str:
    if not page.username:
        raise LinkError(f"page {page.id} has no username for m.me links: {HOW_TO_SET_USERNAME}")
    return page.username


def find_ref(program: Program, ref: str) -> FlowRef:
    """The flows' ref with that exact value; a pattern or an unknown ref is refused."""
    for found in flow_refs(program):
        if found.ref == ref and not found.is_pattern:
            return found
    known = [r.ref for r in flow_refs(program) if not r.is_pattern]
    raise LookupError(f"no flow has `on ref {ref!r}`; the refs are: {', '.join(known) or 'none'}")


def check_size(size: int) -> int:
    if not QR_SIZE_MIN <= size <= QR_SIZE_MAX:
        raise LinkError(f"size must be {QR_SIZE_MIN} to {QR_SIZE_MAX} pixels; got {size}")
    return size


def qr_image(url: str, fmt: QrFormat, size: int = QR_SIZE_DEFAULT) -> bytes:
    """A QR code of `url`, about `size` pixels wide (a whole number of pixels per module,
    never wider than `size`), with the quiet zone scanners need."""
    check_size(size)
    code = segno.make(url, error="m", micro=False)
    width, _ = code.symbol_size(scale=1)  # modules, quiet zone included
    scale = max(1, size // width)
    out = io.BytesIO()
    if fmt == "png":
        code.save(out, kind="png", scale=scale)
    else:
        code.save(out, kind="svg", scale=scale, xmldecl=True, title=url)
    return out.getvalue()


def link_rows(page: PageConfig, program: Program) -> list[dict[str, Any]]:
    """Each ref with its link and QR link (or why there is none), for `links` and the API."""
    rows = []
    for found in flow_refs(program):
        row: dict[str, Any] = {
            "ref": found.ref,
            "flows": list(found.flows),
            "from": list(found.sources),
            "where": found.where,
        }
        if found.is_pattern:
            row["link"] = None
            row["note"] = "a pattern: links need a whole ref that matches it"
        elif page.username:
            try:
                row["link"] = mme_link(page.username, found.ref)
                row["qr_link"] = mme_link(page.username, found.ref, qr=True)
            except LinkError as exc:
                row["link"] = mme_link(page.username, found.ref)
                row["qr_link"] = None
                row["note"] = str(exc)
        else:
            row["link"] = None
        rows.append(row)
    return rows
