"""A flow's diagram as a standalone SVG (`pageflows graph FLOW --format svg`, the console).

No layout engine to install: lanes are cards in a grid (triggers first, then
steps, then broadcasts, as in the file), their rows listed in order and
indented under `after`, `if` and `split`, each quick reply on a line of its
own saying what it does. An arrow runs from a quick reply or `goto` to the
card of the step it leads to. With numbers (the console's funnel) each message
row gets a line `sent · delivered · read · clicked · replied`, and each card
its totals. Text is measured by an average glyph width, so long texts are cut
with an ellipsis rather than overflow a card.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from pageflows.rules.diagram import MESSAGE_ROWS, Diagram, Lane, Row, short

CARD_WIDTH = 300
GAP_X, GAP_Y = 60, 40
PAD = 10
HEADER_LINE = 18
LINE = 17
SMALL_LINE = 15
CHAR = 6.6  # average width of a 12px sans-serif glyph
INDENT = 14
MAX_COLUMNS = 3
COUNT_NAMES = ("sent", "delivered", "read", "clicked", "replied")
ICONS = {
    "send": "\u2709", "buttons": "\u2709", "cards": "\u25a4", "media": "\u25a3",
    "template": "\u2709", "private_reply": "\u21a9", "ask": "?", "after": "\u25f7",
    "if": "\u25c7", "else": "\u25c7", "split": "\u2442", "tag": "#", "untag": "#",
    "set": "=", "goto": "\u2192", "handoff": "\u260e", "stop": "\u25a0", "notify": "\u21d7",
    "typing": "\u2026", "request_notifications": "\u2691",
}  # fmt: skip
COLORS = {"trigger": "#0866ff", "step": "#5b6b7f", "broadcast": "#c25e00"}

Counts = dict[str, dict[str, int]]


@dataclass
class _Placed:
    lane: Lane
    x: float
    y: float
    height: float
    row_y: dict[str, float]  # row id -> the y of its first line's middle


def fits(text: str, width: float) -> str:
    return short(text, max(8, int(width / CHAR)))


def count_line(numbers: dict[str, int]) -> str:
    return " \u00b7 ".join(f"{name} {numbers.get(name, 0)}" for name in COUNT_NAMES)


def _row_lines(row: Row, counts: Counts | None) -> int:
    lines = 1 + len(row.taps)
    if counts is not None and row.kind in MESSAGE_ROWS:
        lines += 1
    return lines


def _header_height(lane: Lane, counts: Counts | None) -> float:
    return len(_title_lines(lane.title)) * HEADER_LINE + (SMALL_LINE if counts is not None else 0)


def _lane_height(lane: Lane, counts: Counts | None) -> float:
    header = _header_height(lane, counts)
    body = sum(_row_lines(row, counts) * LINE + 4 for row in lane.rows) or LINE
    return PAD + header + PAD + body + PAD


def _totals(lane: Lane, counts: Counts) -> dict[str, int]:
    totals = dict.fromkeys(COUNT_NAMES, 0)
    for row in lane.rows:
        for name, value in counts.get(row.site or "", {}).items():
            if name in totals:
                totals[name] += value
    return totals


def _title_lines(title: str) -> list[str]:
    limit = int((CARD_WIDTH - 2 * PAD) / (CHAR * 1.05))
    if len(title) <= limit:
        return [title]
    cut = title.rfind(" ", 0, limit)
    cut = cut if cut > limit // 2 else limit
    return [title[:cut], short(title[cut:].strip(), limit)]


def to_svg(diagram: Diagram, counts: Counts | None = None) -> str:
    columns = max(1, min(MAX_COLUMNS, len(diagram.lanes)))
    placed: dict[str, _Placed] = {}
    y: float = GAP_Y
    for start in range(0, len(diagram.lanes), columns):
        band = diagram.lanes[start : start + columns]
        heights = [_lane_height(lane, counts) for lane in band]
        for i, lane in enumerate(band):
            x = GAP_X / 2 + i * (CARD_WIDTH + GAP_X)
            placed[lane.id] = _Placed(lane, x, y, heights[i], {})
        y += max(heights) + GAP_Y
    width = GAP_X / 2 + columns * (CARD_WIDTH + GAP_X)
    elsewhere_y = y
    height = y + (len(diagram.elsewhere) * (LINE + 16) + GAP_Y if diagram.elsewhere else 0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}"'
        f' width="{width:.0f}" height="{height:.0f}" role="img"'
        f' aria-label={quoteattr("flow " + diagram.flow)} class="flow-diagram">',
        f"<title>{escape('flow ' + diagram.flow)}</title>",
        "<defs><marker id='arrow' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7'"
        " markerHeight='7' orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z'"
        " fill='#8a94a6'/></marker></defs>",
        "<style>text{font:12px system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
        "fill:#1c1e21}.h{font-weight:600;fill:#fff}.tap{fill:#3a4a5e}.n{font-size:10.5px;"
        "fill:#2e7d32}.hn{font-size:10.5px;fill:#eef}.edge{fill:none;stroke:#8a94a6;"
        "stroke-width:1.3}.lbl{font-size:10.5px;fill:#5b6b7f}</style>",
    ]
    for spot in placed.values():
        parts.extend(_card(spot, counts))
    targets = {lane_id: (spot.x, spot.y) for lane_id, spot in placed.items()}
    for i, name in enumerate(diagram.elsewhere):
        ex, ey = GAP_X / 2, elsewhere_y + i * (LINE + 16)
        targets[f"elsewhere:{name}"] = (ex, ey)
        parts.append(
            f'<g class="elsewhere"><rect x="{ex}" y="{ey}" width="{CARD_WIDTH}"'
            f' height="{LINE + 8}" rx="6" fill="#f4f6f8" stroke="#c8ced6"'
            ' stroke-dasharray="4 3"/>'
            f'<text x="{ex + PAD}" y="{ey + LINE}">\u2192 {escape(name)} (another flow)</text></g>'
        )
    rows_at = {rid: (spot, ry) for spot in placed.values() for rid, ry in spot.row_y.items()}
    for edge in diagram.edges:
        if edge.source not in rows_at or edge.target not in targets:
            continue
        spot, ry = rows_at[edge.source]
        tx, ty = targets[edge.target]
        tx += 24
        # Out of the card's side that faces the target, into the top of the target's card.
        leftward = tx < spot.x
        sx, sy = (spot.x, ry) if leftward else (spot.x + CARD_WIDTH, ry)
        out = -1 if leftward else 1
        bend = max(40.0, abs(tx - sx) / 2)
        dash = ' stroke-dasharray="5 4"' if edge.kind == "no_answer" else ""
        parts.append(
            f'<path class="edge" d="M{sx:.0f},{sy:.0f} C{sx + out * bend:.0f},{sy:.0f}'
            f' {tx:.0f},{ty - bend:.0f} {tx:.0f},{ty - 2:.0f}"{dash} marker-end="url(#arrow)"/>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _card(spot: _Placed, counts: Counts | None) -> list[str]:
    lane, x, y = spot.lane, spot.x, spot.y
    color = COLORS[lane.kind]
    titles = _title_lines(lane.title)
    header = _header_height(lane, counts)
    out = [
        f'<g class="lane {lane.kind}" data-lane={quoteattr(lane.id)}>',
        f'<rect x="{x}" y="{y}" width="{CARD_WIDTH}" height="{spot.height:.0f}" rx="8"'
        ' fill="#fff" stroke="#dddfe2"/>',
        f'<path d="M{x},{y + 8} a8,8 0 0 1 8,-8 h{CARD_WIDTH - 16} a8,8 0 0 1 8,8'
        f' v{PAD + header - 8} h-{CARD_WIDTH} z" fill="{color}"/>',
    ]
    for i, title in enumerate(titles):
        out.append(
            f'<text class="h" x="{x + PAD}" y="{y + PAD + 12 + i * HEADER_LINE}">'
            f"{escape(title)}</text>"
        )
    if counts is not None:
        out.append(
            f'<text class="hn" x="{x + PAD}" y="{y + PAD + 12 + len(titles) * HEADER_LINE}">'
            f"{escape(count_line(_totals(lane, counts)))}</text>"
        )
    cy = y + PAD + header + PAD + 12
    if not lane.rows:
        out.append(f'<text class="tap" x="{x + PAD}" y="{cy}">(nothing)</text>')
    for row in lane.rows:
        spot.row_y[row.id] = cy - 4
        indent = x + PAD + row.depth * INDENT
        room = CARD_WIDTH - 2 * PAD - row.depth * INDENT - 18
        site = f" data-site={quoteattr(row.site)}" if row.site else ""
        out.append(f'<g class="row {row.kind}"{site}>')
        out.append(
            f'<text x="{indent}" y="{cy}">{escape(ICONS[row.kind])} '
            f"{escape(fits(row.text, room))}</text>"
        )
        cy += LINE
        for tap in row.taps:
            text = fits(f"\u25b8 {tap.title}: {tap.does}", room - 10)
            out.append(f'<text class="tap" x="{indent + 14}" y="{cy}">{escape(text)}</text>')
            cy += LINE
        if counts is not None and row.kind in MESSAGE_ROWS:
            numbers = counts.get(row.site or "", {})
            out.append(
                f'<text class="n" x="{x + PAD + 14}" y="{cy}">{escape(count_line(numbers))}</text>'
            )
            cy += LINE
        out.append("</g>")
        cy += 4
    out.append("</g>")
    return out
