"""The HTML report: self-contained, its figures agree with the JSON report, and it renders in Chromium."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from lxml import html
from typer.testing import CliRunner

from mcfcheck.findings import FileReport, Finding, Location, Severity
from mcfcheck.reports.base import ReportSettings
from mcfcheck.reports.html import NO_INSTALLATION, NOT_KNOWN, HtmlReporter
from mcfcheck.rules.catalogue import catalogue
from mcfcheck.rules.registry import load_registry

from .browser import (
    assert_fetches_nothing,
    cohort_files,
    dump_dom,
    page_and_json,
    parse_page,
    read_png,
    screenshot,
)
from .conftest import SAMPLES

runner = CliRunner()
ERROR_RED = (0xC6, 0x28, 0x28)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The HTML and JSON reports of one run over files of every cohort with planted errors."""
    folder = tmp_path_factory.mktemp("html-report")
    inputs = cohort_files(folder, 300, error_rate=0.1)
    inputs += [
        SAMPLES / "GEN003-mprn-check-digits-invalid.xml",
        SAMPLES / "GEN010-unique-device-id-invalid.xml",
        SAMPLES / "GEN033-dormant-needs-notice-invalid.xml",
        SAMPLES / "group-id-format-invalid.xml",
        SAMPLES / "missing-trailer-invalid.xml",
        SAMPLES / "cb-valid.xml",
    ]
    return page_and_json(folder, ["validate"], inputs, 1)


_parse = parse_page


def _data(page: html.HtmlElement, name: str) -> Any:
    return json.loads(page.get_element_by_id(name).text or "")


def _body(page: html.HtmlElement, table: str) -> html.HtmlElement:
    body = page.get_element_by_id(table).find("tbody")
    assert body is not None
    return body


def _findings(report: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(file, finding) for file in report["files"] for finding in file["findings"]]


def _bars(page: html.HtmlElement, chart: str) -> dict[str, tuple[int, int]]:
    return {
        bar.get("data-label"): (int(bar.get("data-errors")), int(bar.get("data-warnings")))
        for bar in page.xpath(f"//figure[@id='chart-{chart}']//*[local-name()='g'][@data-label]")
    }


def _tally(keys: list[tuple[str, str]]) -> dict[str, tuple[int, int]]:
    counts = Counter(keys)
    labels = {label for label, _ in keys}
    return {label: (counts[label, "error"], counts[label, "warning"]) for label in labels}


def test_rows_and_charts_agree_with_the_json_report(reports: tuple[Path, dict[str, Any]]) -> None:
    path, report = reports
    page = _parse(path.read_bytes())
    rows = _data(page, "findings-data")
    paths = _data(page, "files-data")
    findings = _findings(report)
    assert len(rows) == len(findings) > 100
    for row, (file, finding) in zip(rows, findings, strict=True):
        where = finding["location"]
        assert paths[row[0]] == file["path"]
        assert row[1:] == [
            where["line"],
            where["column"],
            finding["code"],
            finding["severity"],
            where["installation"],
            where["status"],
            finding["message"],
            where["xpath"],
        ]
    assert _bars(page, "by-rule") == _tally([(f["code"], f["severity"]) for _, f in findings])
    assert _bars(page, "by-cohort") == _tally(
        [(file["summary"]["cohort"] or NOT_KNOWN, finding["severity"]) for file, finding in findings]
    )
    statuses = [
        (
            NO_INSTALLATION if f["location"]["installation"] is None else f["location"]["status"] or NOT_KNOWN,
            f["severity"],
        )
        for _, f in findings
    ]
    assert _bars(page, "by-status") == _tally(statuses)
    assert {"Active", "Dormant", NO_INSTALLATION} <= set(_bars(page, "by-status"))
    assert set(_bars(page, "by-cohort")) == {"IOC", "CB", "SECURE", "FOC", NOT_KNOWN}
    tiles = {tile.get("data-tile"): int(tile[0].text_content().replace(",", "")) for tile in page.find_class("tile")}
    summary = report["summary"]
    assert tiles["files"] == summary["files"] == 10
    assert (tiles["errors"], tiles["warnings"]) == (summary["errors"], summary["warnings"])
    assert tiles["installations"] == sum(file["summary"]["installations"] for file in report["files"])
    verdicts = [row[3].text_content() for row in _body(page, "files-table")]
    assert verdicts == ["valid" if file["summary"]["valid"] else "invalid" for file in report["files"]]


def test_the_page_fetches_nothing(reports: tuple[Path, dict[str, Any]]) -> None:
    assert_fetches_nothing(_parse(reports[0].read_bytes()))


def test_hostile_text_stays_text() -> None:
    out = io.StringIO()
    reporter = HtmlReporter(out, ReportSettings(lambda: catalogue(load_registry())))
    message = "</script><script>alert(1)</script><!-- & \u2028"
    status = "<b onmouseover=alert(2)>Sleeping</b>"
    reporter.start()
    reporter.file_started("</td><img src=x>.xml")
    reporter.finding(Finding("XSD001", message, Severity.ERROR, Location("a.xml", 3, 4, "/A", "<i>REF</i>", status)))
    reporter.file_finished(FileReport("</td><img src=x>.xml", None, 1, (), None, None))
    reporter.finish()
    page = _parse(out.getvalue())
    assert len(page.xpath("//script")) == 3
    assert not page.xpath("//img | //b | //i")
    (row,) = _data(page, "findings-data")
    assert row[5:8] == ["<i>REF</i>", status, message]
    assert _bars(page, "by-status") == {status: (1, 0)}


def _rendered(url: str) -> html.HtmlElement:
    return _parse(dump_dom(url))


def test_chromium_renders_the_charts_and_a_page_of_the_table(reports: tuple[Path, dict[str, Any]]) -> None:
    path, report = reports
    page = _rendered(path.as_uri())
    findings = _findings(report)
    body = _body(page, "findings-table")
    assert len(body) == 100
    first = [cell.text_content() for cell in body[0]]
    file, finding = findings[0]
    assert first[:4] == [
        file["path"],
        str(finding["location"]["line"]),
        str(finding["location"]["column"]),
        finding["code"],
    ]
    assert page.get_element_by_id("pager-text").text_content() == f"1\u2013100 of {len(findings):,}"
    for chart in ("by-rule", "by-cohort", "by-status"):
        widths = [
            float(rect.get("width"))
            for rect in page.xpath(f"//figure[@id='chart-{chart}']//*[local-name()='rect'][@class='error']")
        ]
        assert max(widths, default=0) > 100


def test_a_search_in_the_address_filters_the_table(reports: tuple[Path, dict[str, Any]]) -> None:
    path, report = reports
    page = _rendered(path.as_uri() + "#q=GEN010")
    wanted = [f for file, f in _findings(report) if "gen010" in (file["path"] + json.dumps(f)).lower()]
    rows = _body(page, "findings-table")
    assert 0 < len(rows) == len(wanted) < 100
    assert {row[3].text_content() for row in rows} == {"GEN010"}
    assert "matching" in page.get_element_by_id("pager-text").text_content()


def test_a_screenshot_shows_the_bars(reports: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    screenshot(reports[0].as_uri(), shot, width=1000, height=900)
    image = read_png(shot.read_bytes())
    assert (image.width, image.height) == (1000, 900)
    # The error bars are drawn in their colour: the three legends' keys have 300 such pixels.
    assert image.count(ERROR_RED) > 5_000
