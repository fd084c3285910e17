"""The HTML page of ``mcfcheck stats``: one self-contained page of tables and charts.

The page holds tiles with the run's figures, a table of the files, and for the files
together (with several) and then each file, its header, its totals against the
trailer's, and a bar chart (inline SVG, drawn when the page is written) of each
distribution. It needs nothing at view time: no script at all, the styles inline (those
of the HTML report), and its Content-Security-Policy forbids every fetch.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Final, TextIO

from mcfcheck import __version__
from mcfcheck.reports.base import TOOL_NAME
from mcfcheck.reports.html import page_head
from mcfcheck.reports.stats import TOTAL_NAME, StatsRun, totals_said
from mcfcheck.rules.statistics import DIMENSIONS, Dimension, Distribution, FileStatistics, Key

#: The most bars a chart draws; the values beyond are one bar, with the other row's.
MAX_BARS: Final = 25
#: Sizes of the charts, in SVG user units.
_LABEL: Final = 310
_AREA: Final = 320
_ROW: Final = 22

_STYLE: Final = """
.stats section.file { order: 4; background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 4px 18px 16px; margin-top: 18px; }
.stats dl { display: grid; grid-template-columns: max-content auto; gap: 2px 18px; margin: 0 0 10px; }
.stats dt { color: var(--muted); }
.stats dd { margin: 0; }
.stats .agree { color: var(--ok); font-weight: 600; }
.stats .disagree { color: var(--error); font-weight: 600; }
.stats .none { color: var(--muted); }
.stats .chart rect { fill: #3b6ea8; }
.stats .chart g.other rect { fill: #9aa7b4; }
.stats .chart text.count { fill: var(--muted); }
.stats .error-line { color: var(--error); }
.stats tr.agrees td:nth-child(5) { color: var(--ok); font-weight: 600; }
.stats tr.disagrees td:nth-child(5), .stats tr.unreadable td:nth-child(5) { color: var(--error); font-weight: 600; }
"""


def _label(key: Key) -> str:
    return " / ".join(part if part is not None else "(none)" for part in key)


def _short(text: str, limit: int = 46) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chart(dimension: Dimension, distribution: Distribution, chart_id: str) -> str:
    """A horizontal bar chart of a distribution's counts, as inline SVG."""
    rows = list(distribution.rows)
    if dimension.chronological:
        rows.sort(key=lambda row: (row[0][0] is None, row[0][0] or ""))
    bars = [(_label(key), count, "") for key, count in rows[:MAX_BARS]]
    hidden = rows[MAX_BARS:]
    other_values = distribution.other_values + len(hidden)
    other_count = distribution.other_count + sum(count for _key, count in hidden)
    if other_values:
        bars.append((f"(other: {other_values:,} values)", other_count, "other"))
    largest = max(count for _label_text, count, _kind in bars)
    total = distribution.total
    width, height = _LABEL + _AREA + 90, _ROW * len(bars) + 6
    caption = f"{escape(dimension.description)} <span class='muted'>({total:,} {escape(dimension.counts)})</span>"
    parts = [
        f'<figure class="chart" id="{chart_id}" data-dimension="{dimension.name}"><figcaption>{caption}</figcaption>'
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(dimension.description)}, {len(bars)} bars">'
    ]
    for index, (label, count, kind) in enumerate(bars):
        y = 3 + index * _ROW
        length = _AREA * count / largest
        parts.append(
            f'<g class="bar {kind}" data-label="{escape(label)}" data-count="{count}">'
            f"<title>{escape(label)}: {count:,} ({count / total:.1%})</title>"
            f'<text x="{_LABEL - 8}" y="{y + 14}" text-anchor="end">{escape(_short(label))}</text>'
            f'<rect x="{_LABEL}" y="{y + 2}" width="{length:.1f}" height="{_ROW - 6}"/>'
            f'<text class="count" x="{_LABEL + length + 6:.1f}" y="{y + 14}">{count:,} · {count / total:.1%}</text></g>'
        )
    parts.append("</svg></figure>")
    return "".join(parts)


def _section(title: str, anchor: str, statistics: FileStatistics, several: bool = False) -> str:
    fields = [
        (name.replace("_", " "), escape(value) if value is not None else "<span class='muted'>(none)</span>")
        for name, value in statistics.header.items()
    ]
    fields.append(("cohort", escape(statistics.cohort or "(none)")))
    for label, counted, kind, words in totals_said(statistics, several):
        fields.append((label, f"{counted:,} <span class='{kind}'>({escape(words)})</span>"))
    if statistics.not_bound:
        fields.append(("not bound", escape(", ".join(statistics.not_bound))))
    listing = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in fields)
    charts = "".join(
        _chart(dimension, statistics.distributions[dimension.name], f"{anchor}-{dimension.name}")
        for dimension in DIMENSIONS
        if statistics.distributions[dimension.name].rows
    )
    return (
        f'<section class="file" id="{anchor}"><h2>{escape(title)}</h2><dl>{listing}</dl>'
        f'<div class="charts">{charts}</div></section>\n'
    )


def write_html(out: TextIO, run: StatsRun) -> None:
    """The page: tiles, the files' table, then the total's and each file's sections."""
    counted = run.counted
    total = run.total()
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    tiles = [
        ("files", len(run.files), ""),
        ("counted", len(counted), "ok" if counted else ""),
        ("unusable", len(run.files) - len(counted), "bad" if len(counted) < len(run.files) else ""),
        ("installations", total.totals.installations if total is not None else 0, ""),
        ("devices", total.totals.devices if total is not None else 0, ""),
        (
            "trailers agree",
            sum(s.totals.installations_agree is True and s.totals.devices_agree is True for s in counted),
            "",
        ),
    ]
    tile_html = "".join(
        f'<div class="tile {kind}" data-tile="{name}"><span class="value">{value:,}</span>'
        f'<span class="name">{name}</span></div>'
        for name, value, kind in tiles
    )
    rows = []
    for index, count in enumerate(run.files):
        statistics = count.statistics
        if statistics is None:
            rows.append(
                f'<tr class="unreadable"><td>{escape(count.path)}'
                f'<div class="error-line">{escape(count.error or "")}</div></td><td></td>'
                '<td class="number"></td><td class="number"></td><td>unusable</td></tr>'
            )
            continue
        totals = statistics.totals
        agree = totals.installations_agree is not False and totals.devices_agree is not False
        rows.append(
            f'<tr class="{"agrees" if agree else "disagrees"}"><td><a href="#file-{index + 1}">{escape(count.path)}</a>'
            f"</td><td>{escape(statistics.cohort or '(none)')}</td>"
            f'<td class="number">{totals.installations:,}</td><td class="number">{totals.devices:,}</td>'
            f"<td>{'agree' if agree else 'disagree'}</td></tr>"
        )
    sections = []
    if total is not None and len(run.files) > 1:
        sections.append(
            _section(f"{TOTAL_NAME}: {len(counted):,} of {len(run.files):,} files", "total", total, several=True)
        )
    sections.extend(
        _section(count.path, f"file-{index + 1}", count.statistics)
        for index, count in enumerate(run.files)
        if count.statistics is not None
    )
    out.write(
        page_head(f"{TOOL_NAME} statistics", _STYLE) + '<body class="stats">\n'
        f'<header><h1>{TOOL_NAME} statistics</h1><p class="muted">{escape(created)} · '
        f"{TOOL_NAME} {escape(__version__)} · at most {run.max_values:,} values per distribution</p></header>\n"
        '<main id="statistics">\n'
        f'<section id="summary"><div class="tiles">{tile_html}</div></section>\n'
        '<section id="files"><h2>Files</h2><table id="files-table"><thead><tr><th>File</th><th>Cohort</th>'
        "<th>Installations</th><th>Devices</th><th>Trailer's totals</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></section>\n"
        f"{''.join(sections)}</main>\n</body>\n</html>\n"
    )
