"""The HTML report: one self-contained page to read and to share.

The page holds the run's summary, charts of the findings by rule, by cohort and by
installation status (inline SVG, drawn when the report is written), a table of the
files (each with why selected rules did not run on it, where some did not), and a
searchable, paged table of every finding. It needs nothing at view time: styles and
script are inline, and its Content-Security-Policy forbids every fetch.

Findings are written as they are made, as rows of a JSON array inside the page, so
memory holds counts, never the findings. The summary is written last and shown
first. A search can be given in the address: ``report.html#q=GEN010``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Final

from mcfcheck import __version__
from mcfcheck.findings import FileReport, Finding, Severity
from mcfcheck.reports.base import TOOL_NAME, DataReporter

#: The bucket of findings that concern no installation (header, trailer, whole file).
NO_INSTALLATION: Final = "no installation"
#: The bucket of findings whose installation's Status, or whose file's cohort, is not known.
NOT_KNOWN: Final = "not known"
#: Distinct installation statuses charted one by one; the rest are charted as "other".
MAX_STATUS_BARS: Final = 12
#: Rule codes charted one by one; the rest are summed in the chart's last bar.
MAX_RULE_BARS: Final = 40
OTHER: Final = "other"

_POLICY: Final = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def _json(value: object) -> str:
    """JSON that is safe inside a ``<script>`` element whatever the strings hold."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


@dataclass
class _Count:
    errors: int = 0
    warnings: int = 0

    @property
    def total(self) -> int:
        return self.errors + self.warnings

    def add(self, severity: Severity, count: int = 1) -> None:
        if severity is Severity.ERROR:
            self.errors += count
        else:
            self.warnings += count


@dataclass(frozen=True)
class _File:
    path: str
    cohort: str | None
    installations: int
    verdict: str
    counts: _Count
    error: str | None
    rules_not_run: str | None = None
    skipped_rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Bar:
    label: str
    count: _Count
    title: str
    #: What clicking the bar searches the findings for ("" for nothing).
    search: str = ""


class HtmlReporter(DataReporter):
    """Writes the HTML report; memory holds counts by rule, status, cohort and file."""

    def start(self) -> None:
        self._by_code: dict[str, _Count] = {}
        self._by_status: dict[str, _Count] = {}
        self._by_cohort: dict[str, _Count] = {}
        self._files: list[_File] = []
        self._file_count = _Count()
        self._rows = 0
        created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        self.out.write(
            "<!DOCTYPE html>\n"
            '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<meta name="generator" content="{TOOL_NAME} {escape(self.version)}">\n'
            f"<title>{TOOL_NAME} report</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
            f'<header><h1>{TOOL_NAME} report</h1><p class="muted">{escape(created)} · '
            f"{TOOL_NAME} {escape(self.version)}</p></header>\n"
            '<main id="report">\n'
            '<section id="findings"><h2>Findings</h2>\n'
            '<div class="controls"><input id="search" type="search" placeholder="Search findings: code, '
            'installation, message, XPath…" aria-label="Search findings">'
            '<select id="severity" aria-label="Severity"><option value="">every severity</option>'
            '<option value="error">errors</option><option value="warning">warnings</option></select>'
            '<span id="pager"></span></div>\n'
            '<table id="findings-table"><thead><tr><th>File</th><th>Line</th><th>Column</th><th>Code</th>'
            "<th>Severity</th><th>Installation</th><th>Status</th><th>Message</th><th>XPath</th></tr></thead>"
            "<tbody></tbody></table>\n"
            "<noscript><p>The table of findings needs JavaScript; the summary above does not.</p></noscript>\n"
            '<script type="application/json" id="findings-data">['
        )

    def file_started(self, path: str) -> None:
        self._file_count = _Count()

    def finding(self, finding: Finding) -> None:
        where = finding.location
        row = [
            len(self._files),
            where.line,
            where.column,
            finding.code,
            finding.severity.value,
            where.installation,
            where.status,
            finding.message,
            where.xpath,
        ]
        self.out.write(("," if self._rows else "") + "\n" + _json(row))
        self._rows += 1
        self._file_count.add(finding.severity)
        self._by_code.setdefault(finding.code, _Count()).add(finding.severity)
        if where.installation is None:
            status = NO_INSTALLATION
        elif where.status is None:
            status = NOT_KNOWN
        elif where.status in self._by_status or len(self._by_status) < MAX_STATUS_BARS:
            status = where.status
        else:
            status = OTHER
        self._by_status.setdefault(status, _Count()).add(finding.severity)

    def file_finished(self, report: FileReport) -> None:
        counts = self._file_count
        cohort = report.cohort or NOT_KNOWN
        tally = self._by_cohort.setdefault(cohort, _Count())
        tally.add(Severity.ERROR, counts.errors)
        tally.add(Severity.WARNING, counts.warnings)
        verdict = "unusable" if report.error is not None else "invalid" if counts.errors else "valid"
        self._files.append(
            _File(
                report.path,
                report.cohort,
                report.installations,
                verdict,
                counts,
                report.error,
                report.rules_not_run,
                report.skipped_rules,
            )
        )
        self._file_count = _Count()

    def finish(self) -> None:
        self.out.write("\n]</script>\n</section>\n")
        self.out.write(self._summary())
        self.out.write("</main>\n")
        paths = [file.path for file in self._files]
        self.out.write(f'<script type="application/json" id="files-data">{_json(paths)}</script>\n')
        self.out.write(f"<script>{_SCRIPT}</script>\n</body>\n</html>\n")

    def _summary(self) -> str:
        files = self._files
        errors = sum(count.errors for count in self._by_code.values())
        warnings = sum(count.warnings for count in self._by_code.values())
        verdicts = [file.verdict for file in files]
        tiles = [
            ("files", len(files), ""),
            ("valid", verdicts.count("valid"), "ok"),
            ("invalid", verdicts.count("invalid"), "bad" if "invalid" in verdicts else ""),
            ("unusable", verdicts.count("unusable"), "bad" if "unusable" in verdicts else ""),
            ("installations", sum(file.installations for file in files), ""),
            ("errors", errors, "bad" if errors else ""),
            ("warnings", warnings, "warn" if warnings else ""),
        ]
        short = sum(file.rules_not_run is not None for file in files)
        if short:
            tiles.append(("rules not run", short, "warn"))
        tile_html = "".join(
            f'<div class="tile {kind}" data-tile="{name}"><span class="value">{value:,}</span>'
            f'<span class="name">{name}</span></div>'
            for name, value, kind in tiles
        )
        charts = "".join(
            [
                _chart("by-rule", "Findings by rule", self._rule_bars(), "rule codes"),
                _chart("by-cohort", "Findings by cohort", self._bars(self._by_cohort, "cohort"), "cohorts"),
                _chart(
                    "by-status",
                    "Findings by installation status",
                    self._bars(self._by_status, "status"),
                    "installation statuses",
                ),
            ]
        )
        return (
            '<section id="summary"><h2>Summary</h2>\n'
            f'<div class="tiles">{tile_html}</div>\n<div class="charts">{charts}</div>\n</section>\n'
            f'<section id="files"><h2>Files</h2>\n{self._files_table()}</section>\n'
        )

    def _rule_bars(self) -> list[_Bar]:
        ranked = sorted(self._by_code.items(), key=lambda item: (-item[1].total, item[0]))
        bars = []
        for code, count in ranked[:MAX_RULE_BARS]:
            check = self.checks.get(code)
            title = f"{code} {check.name}: {check.summary}" if check is not None else code
            bars.append(_Bar(code, count, title, code))
        rest = ranked[MAX_RULE_BARS:]
        if rest:
            total = _Count(sum(c.errors for _, c in rest), sum(c.warnings for _, c in rest))
            bars.append(_Bar(f"{len(rest)} more", total, f"{len(rest)} more rule codes"))
        return bars

    @staticmethod
    def _bars(counts: dict[str, _Count], what: str) -> list[_Bar]:
        ranked = sorted(counts.items(), key=lambda item: (-item[1].total, item[0]))
        return [_Bar(label, count, f"{what} {label}", label if what == "status" else "") for label, count in ranked]

    def _files_table(self) -> str:
        rows = []
        for file in self._files:
            error = f'<div class="muted">{escape(file.error)}</div>' if file.error else ""
            if file.rules_not_run is not None:
                codes = (
                    f' <span class="muted">({escape(", ".join(file.skipped_rules))})</span>'
                    if file.skipped_rules
                    else ""
                )
                error += f'<div class="rules-not-run">{escape(file.rules_not_run)}{codes}</div>'
            rows.append(
                f'<tr class="{file.verdict}"><td>{escape(file.path)}{error}</td>'
                f"<td>{escape(file.cohort or NOT_KNOWN)}</td>"
                f'<td class="number">{file.installations:,}</td><td>{file.verdict}</td>'
                f'<td class="number">{file.counts.errors:,}</td><td class="number">{file.counts.warnings:,}</td></tr>'
            )
        return (
            '<table id="files-table"><thead><tr><th>File</th><th>Cohort</th><th>Installations</th>'
            "<th>Verdict</th><th>Errors</th><th>Warnings</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>\n"
        )


#: Sizes of the charts, in SVG user units.
_LABEL_WIDTH: Final = 120
_BAR_AREA: Final = 300
_ROW: Final = 24


def _chart(name: str, title: str, bars: list[_Bar], what: str) -> str:
    """A horizontal bar chart of error and warning counts, as inline SVG."""
    if not bars:
        return (
            f'<figure class="chart" id="chart-{name}"><figcaption>{escape(title)}</figcaption>'
            f'<p class="muted">No findings: nothing to chart.</p></figure>'
        )
    largest = max(bar.count.total for bar in bars) or 1
    width = _LABEL_WIDTH + _BAR_AREA + 70
    height = _ROW * len(bars) + 8
    parts = [
        f'<figure class="chart" id="chart-{name}"><figcaption>{escape(title)}</figcaption>'
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title)}, {len(bars)} {escape(what)}">'
    ]
    for index, bar in enumerate(bars):
        y = 4 + index * _ROW
        error_width = _BAR_AREA * bar.count.errors / largest
        warning_width = _BAR_AREA * bar.count.warnings / largest
        search = f' data-search="{escape(bar.search)}"' if bar.search else ""
        parts.append(
            f'<g class="bar" data-label="{escape(bar.label)}" data-errors="{bar.count.errors}" '
            f'data-warnings="{bar.count.warnings}"{search}><title>{escape(bar.title)}: {bar.count.errors:,} errors, '
            f"{bar.count.warnings:,} warnings</title>"
            f'<text x="{_LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end">{escape(_short(bar.label))}</text>'
            f'<rect class="error" x="{_LABEL_WIDTH}" y="{y + 2}" width="{error_width:.1f}" height="{_ROW - 6}"/>'
            f'<rect class="warning" x="{_LABEL_WIDTH + error_width:.1f}" y="{y + 2}" '
            f'width="{warning_width:.1f}" height="{_ROW - 6}"/>'
            f'<text class="count" x="{_LABEL_WIDTH + error_width + warning_width + 6:.1f}" '
            f'y="{y + 15}">{bar.count.total:,}</text></g>'
        )
    parts.append(
        '</svg><p class="legend"><span class="key error"></span>errors <span class="key warning"></span>warnings</p>'
        "</figure>"
    )
    return "".join(parts)


def _short(label: str, limit: int = 22) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


_STYLE: Final = """
:root { --error: #c62828; --warning: #ef8f00; --ok: #2e7d32; --ink: #1d2430; --muted: #5f6b7a; --line: #dde3ea; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  background: #f6f8fa; }
header { padding: 18px 28px 6px; }
h1 { margin: 0; font-size: 22px; }
h2 { font-size: 17px; margin: 22px 0 10px; }
.muted { color: var(--muted); }
main { display: flex; flex-direction: column; padding: 0 28px 28px; }
#summary { order: 1; }
#findings { order: 2; }
#files { order: 3; }
.tiles { display: flex; flex-wrap: wrap; gap: 10px; }
.tile { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px; min-width: 110px; }
.tile .value { display: block; font-size: 22px; font-weight: 600; }
.tile .name { color: var(--muted); }
.tile.ok .value { color: var(--ok); }
.tile.bad .value { color: var(--error); }
.tile.warn .value { color: var(--warning); }
.rules-not-run { color: var(--warning); }
.charts { display: flex; flex-wrap: wrap; gap: 14px; margin-top: 14px; align-items: flex-start; }
.chart { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.chart figcaption { font-weight: 600; margin-bottom: 6px; }
.chart svg { max-width: 100%; height: auto; font-size: 12px; }
.chart rect.error, .key.error { fill: var(--error); background: var(--error); }
.chart rect.warning, .key.warning { fill: var(--warning); background: var(--warning); }
.chart text { fill: var(--ink); }
.chart text.count { fill: var(--muted); }
.chart g.bar[data-search] { cursor: pointer; }
.chart g.bar:hover rect { opacity: 0.8; }
.legend { margin: 4px 0 0; color: var(--muted); font-size: 12px; }
.key { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 8px; border-radius: 2px; }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top;
  white-space: nowrap; }
#findings-table td:nth-child(1), #findings-table td:nth-child(8), #files-table td:nth-child(1) {
  white-space: normal; overflow-wrap: break-word; }
#findings-table td:nth-child(9) { white-space: normal; overflow-wrap: anywhere; }
th { background: #eef2f6; position: sticky; top: 0; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
tr.invalid td:nth-child(4), tr.unusable td:nth-child(4), tr.error td:nth-child(5) { color: var(--error);
  font-weight: 600; }
tr.valid td:nth-child(4) { color: var(--ok); font-weight: 600; }
tr.warning td:nth-child(5) { color: var(--warning); font-weight: 600; }
#findings-table td:nth-child(9) { font-family: ui-monospace, monospace; font-size: 12px; color: var(--muted); }
.controls { display: flex; gap: 10px; align-items: center; margin-bottom: 8px; }
.controls input { flex: 1; padding: 6px 10px; border: 1px solid var(--line); border-radius: 6px; font: inherit; }
.controls select, .controls button { padding: 5px 8px; font: inherit; }
"""

#: The page's styles and Content-Security-Policy, which the page of ``mcfcheck stats`` shares.
PAGE_STYLE: Final = _STYLE
PAGE_POLICY: Final = _POLICY

_SCRIPT: Final = """
(function () {
  "use strict";
  var rows = JSON.parse(document.getElementById("findings-data").textContent);
  var files = JSON.parse(document.getElementById("files-data").textContent);
  var body = document.querySelector("#findings-table tbody");
  var search = document.getElementById("search");
  var severity = document.getElementById("severity");
  var pager = document.getElementById("pager");
  var PAGE = 100, page = 0, shown = rows, timer = null;
  function haystack(row) {
    return [files[row[0]]].concat(row.slice(1)).join(" ").toLowerCase();
  }
  function apply() {
    var wanted = search.value.trim().toLowerCase(), level = severity.value;
    shown = rows.filter(function (row) {
      return (!level || row[4] === level) && (!wanted || haystack(row).indexOf(wanted) >= 0);
    });
    page = 0;
    render();
  }
  function cell(tr, value) {
    var td = document.createElement("td");
    td.textContent = value === null || value === undefined ? "" : String(value);
    tr.appendChild(td);
  }
  function button(label, target, enabled) {
    var b = document.createElement("button");
    b.textContent = label;
    b.disabled = !enabled;
    b.addEventListener("click", function () { page = target; render(); });
    return b;
  }
  function render() {
    var start = page * PAGE, fragment = document.createDocumentFragment();
    shown.slice(start, start + PAGE).forEach(function (row) {
      var tr = document.createElement("tr");
      tr.className = row[4];
      cell(tr, files[row[0]]);
      for (var i = 1; i < row.length; i++) cell(tr, row[i]);
      fragment.appendChild(tr);
    });
    body.replaceChildren(fragment);
    var end = Math.min(start + PAGE, shown.length);
    var text = document.createElement("span");
    text.id = "pager-text";
    text.textContent = shown.length
      ? (start + 1).toLocaleString() + "\\u2013" + end.toLocaleString() + " of " + shown.length.toLocaleString() +
        (shown.length < rows.length ? " matching (" + rows.length.toLocaleString() + " in all)" : "")
      : (rows.length ? "no finding matches" : "no findings");
    pager.replaceChildren(button("\\u2039", page - 1, page > 0), text, button("\\u203a", page + 1, end < shown.length));
  }
  function later() {
    clearTimeout(timer);
    timer = setTimeout(apply, 150);
  }
  search.addEventListener("input", later);
  severity.addEventListener("change", apply);
  document.querySelectorAll("g.bar[data-search]").forEach(function (bar) {
    bar.addEventListener("click", function () {
      search.value = bar.getAttribute("data-search");
      apply();
      document.getElementById("findings").scrollIntoView();
    });
  });
  var hash = /^#q=(.*)$/.exec(window.location.hash);
  if (hash) search.value = decodeURIComponent(hash[1]);
  apply();
})();
"""


def page_head(title: str, style: str) -> str:
    """A self-contained page's start, to its ``<body>``: its policy (no fetch), ``title`` and the report's styles
    with ``style`` after them.
    """
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{PAGE_POLICY}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="{TOOL_NAME} {escape(__version__)}">\n'
        f"<title>{escape(title)}</title>\n<style>{PAGE_STYLE}{style}</style>\n</head>\n"
    )
