"""The HTML page of ``mcfcheck ledger summary``: the ledger's rollups as one self-contained page.

Tiles with the ledger's figures; then, per supplier, per SMSO and per GroupID, a table
(files, valid files, installations, accepted, rejected, findings by code) and a chart of
each value's installations, accepted and rejected (inline SVG, drawn when the page is
written). No script, the styles of the HTML report inline, and a Content-Security-Policy
that forbids every fetch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Final, TextIO

from mcfcheck import __version__
from mcfcheck.reports.base import TOOL_NAME
from mcfcheck.reports.html import page_head
from mcfcheck.run.ledger import Rollup

#: The groupings, in the order the page shows them, with their names.
GROUPINGS: Final = {"supplier": "Supplier", "smso": "SMSO", "group_id": "GroupID"}
#: Sizes of the charts, in SVG user units.
_LABEL: Final = 220
_AREA: Final = 420
_ROW: Final = 22

_STYLE: Final = """
.ledger section.grouping { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 4px 18px 16px; margin-top: 18px; }
.ledger .chart rect.accepted { fill: #2e7d4f; }
.ledger .chart rect.rejected { fill: #b3261e; }
.ledger .chart text.count { fill: var(--muted); }
.ledger td:last-child { white-space: normal; overflow-wrap: anywhere; }
.ledger .legend span { margin-right: 14px; }
.ledger .legend .accepted::before { content: "■ "; color: #2e7d4f; }
.ledger .legend .rejected::before { content: "■ "; color: #b3261e; }
"""


def _label(value: str | None) -> str:
    return value if value is not None else "(none)"


def _chart(by: str, rollups: Sequence[Rollup]) -> str:
    """Each value's installations as a bar: accepted, then rejected."""
    largest = max((rollup.installations for rollup in rollups), default=0) or 1
    width, height = _LABEL + _AREA + 150, _ROW * len(rollups) + 6
    parts = [
        f'<figure class="chart" id="chart-{by}"><figcaption>Installations by {escape(GROUPINGS[by])} '
        '<span class="legend"><span class="accepted">accepted</span><span class="rejected">rejected</span></span>'
        f'</figcaption><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="installations accepted and rejected, {len(rollups)} bars">'
    ]
    for index, rollup in enumerate(rollups):
        y = 3 + index * _ROW
        label = _label(rollup.value)
        accepted = _AREA * rollup.accepted / largest
        rejected = _AREA * rollup.rejected / largest
        parts.append(
            f'<g class="bar" data-label="{escape(label)}" data-accepted="{rollup.accepted}" '
            f'data-rejected="{rollup.rejected}"><title>{escape(label)}: {rollup.accepted:,} accepted, '
            f"{rollup.rejected:,} rejected</title>"
            f'<text x="{_LABEL - 8}" y="{y + 14}" text-anchor="end">{escape(label[:34])}</text>'
            f'<rect class="accepted" x="{_LABEL}" y="{y + 2}" width="{accepted:.1f}" height="{_ROW - 6}"/>'
            f'<rect class="rejected" x="{_LABEL + accepted:.1f}" y="{y + 2}" width="{rejected:.1f}" '
            f'height="{_ROW - 6}"/><text class="count" x="{_LABEL + accepted + rejected + 6:.1f}" y="{y + 14}">'
            f"{rollup.accepted:,} · {rollup.rejected:,}</text></g>"
        )
    parts.append("</svg></figure>")
    return "".join(parts)


def _table(by: str, rollups: Sequence[Rollup]) -> str:
    rows = []
    for rollup in rollups:
        findings = ", ".join(f"{escape(code)} {count:,}" for code, count in rollup.findings.items()) or "-"
        rows.append(
            f'<tr data-value="{escape(_label(rollup.value))}"><td>{escape(_label(rollup.value))}</td>'
            f'<td class="number">{rollup.files:,}</td><td class="number">{rollup.valid_files:,}</td>'
            f'<td class="number">{rollup.installations:,}</td><td class="number">{rollup.accepted:,}</td>'
            f'<td class="number">{rollup.rejected:,}</td><td>{findings}</td></tr>'
        )
    heading = escape(GROUPINGS[by])
    return (
        f'<table id="table-{by}"><thead><tr><th>{heading}</th><th>Files</th><th>Valid files</th>'
        "<th>Installations</th><th>Accepted</th><th>Rejected</th><th>Findings by code</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def write_ledger_html(out: TextIO, ledger: str, groups: Mapping[str, Sequence[Rollup]]) -> None:
    """The page of ``groups`` (each grouping's rollups, as :meth:`mcfcheck.run.ledger.Ledger.summary` gives them)."""
    every = groups.get("supplier", ())
    tiles = [
        ("files", sum(rollup.files for rollup in every), ""),
        ("valid files", sum(rollup.valid_files for rollup in every), "ok"),
        ("installations", sum(rollup.installations for rollup in every), ""),
        ("accepted", sum(rollup.accepted for rollup in every), "ok"),
        ("rejected", sum(rollup.rejected for rollup in every), "bad"),
    ]
    tile_html = "".join(
        f'<div class="tile {kind}" data-tile="{name}"><span class="value">{value:,}</span>'
        f'<span class="name">{name}</span></div>'
        for name, value, kind in tiles
    )
    sections = "".join(
        f'<section class="grouping" id="{by}"><h2>By {escape(heading)}</h2>{_table(by, groups.get(by, ()))}'
        f"{_chart(by, groups.get(by, ()))}</section>\n"
        for by, heading in GROUPINGS.items()
    )
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out.write(
        page_head(f"{TOOL_NAME} ledger", _STYLE) + '<body class="ledger">\n'
        f'<header><h1>{TOOL_NAME} ledger</h1><p class="muted">{escape(ledger)} · {escape(created)} · '
        f"{TOOL_NAME} {escape(__version__)} · the latest record of each file</p></header>\n"
        f'<main id="rollups">\n<section id="summary"><div class="tiles">{tile_html}</div></section>\n'
        f"{sections}</main>\n</body>\n</html>\n"
    )
