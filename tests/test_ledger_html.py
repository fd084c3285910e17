"""The HTML page of mcfcheck ledger summary: self-contained, agreeing with the JSON rollups, rendered in Chromium."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lxml import html
from typer.testing import CliRunner

from mcfcheck.cli import app

from . import browser

ACCEPTED_GREEN = (0x2E, 0x7D, 0x4F)
REJECTED_RED = (0xB3, 0x26, 0x1E)
runner = CliRunner()


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], Path]:
    """A ledger of files of every cohort, some with planted errors: its page, its JSON rollups, and the page's path."""
    folder = tmp_path_factory.mktemp("ledger-page")
    inputs = browser.cohort_files(folder, 120, error_rate=0.1)
    (folder / "again").mkdir()
    inputs += browser.cohort_files(folder / "again", 40)
    book = folder / "ledger.sqlite"
    result = runner.invoke(app, ["batch", "-q", "--jobs", "1", "--ledger", str(book), *map(str, inputs)])
    assert result.exit_code == 1, result.output
    page = runner.invoke(app, ["ledger", "summary", "--ledger", str(book), "--format", "html"])
    assert page.exit_code == 0, page.output
    path = folder / "ledger.html"
    path.write_text(page.stdout, encoding="utf-8")
    document = runner.invoke(app, ["ledger", "summary", "--ledger", str(book), "--format", "json"])
    return path, json.loads(document.stdout), book


def _cells(page: html.HtmlElement, by: str) -> list[list[str]]:
    return [
        [cell.text_content() for cell in row.xpath("td")] for row in page.xpath(f"//table[@id='table-{by}']//tbody/tr")
    ]


def _bars(page: html.HtmlElement, by: str) -> list[tuple[str, int, int]]:
    return [
        (str(bar.get("data-label")), int(str(bar.get("data-accepted"))), int(str(bar.get("data-rejected"))))
        for bar in page.xpath(f"//figure[@id='chart-{by}']//*[local-name()='g'][@data-label]")
    ]


def _expected(rollups: list[dict[str, Any]]) -> tuple[list[list[str]], list[tuple[str, int, int]]]:
    cells = [
        [
            rollup["value"] or "(none)",
            f"{rollup['files']:,}",
            f"{rollup['valid_files']:,}",
            f"{rollup['installations']:,}",
            f"{rollup['accepted']:,}",
            f"{rollup['rejected']:,}",
            ", ".join(f"{code} {count:,}" for code, count in rollup["findings"].items()) or "-",
        ]
        for rollup in rollups
    ]
    bars = [(rollup["value"] or "(none)", rollup["accepted"], rollup["rejected"]) for rollup in rollups]
    return cells, bars


def test_tables_and_charts_agree_with_the_json_rollups(ledger: tuple[Path, dict[str, Any], Path]) -> None:
    path, document, _book = ledger
    page = browser.parse_page(path.read_bytes())
    for by in ("supplier", "smso", "group_id"):
        cells, bars = _expected(document[by])
        assert _cells(page, by) == cells
        assert _bars(page, by) == bars
    assert {rollup["value"] for rollup in document["group_id"]} >= {"CB"}
    rejected = sum(rollup["rejected"] for rollup in document["supplier"])
    assert rejected > 0
    (tile,) = page.xpath("//div[@data-tile='rejected']/span[@class='value']")
    assert tile.text_content() == f"{rejected:,}"
    browser.assert_fetches_nothing(page)
    assert not page.xpath("//script")


def test_html_is_for_the_summary_only(ledger: tuple[Path, dict[str, Any], Path]) -> None:
    _path, _document, book = ledger
    result = runner.invoke(app, ["ledger", "runs", "--ledger", str(book), "--format", "html"])
    assert result.exit_code == 2
    assert "choose from console, json" in result.output


def test_chromium_renders_the_page(ledger: tuple[Path, dict[str, Any], Path], tmp_path: Path) -> None:
    path, document, _book = ledger
    rendered = browser.parse_page(browser.dump_dom(path.as_uri()))
    assert _bars(rendered, "smso") == _expected(document["smso"])[1]
    shot = tmp_path / "ledger.png"
    browser.screenshot(path.as_uri(), shot, width=1000, height=1400)
    image = browser.read_png(shot.read_bytes())
    assert (image.width, image.height) == (1000, 1400)
    # Accepted and rejected installations are drawn, each in its colour.
    assert image.count(ACCEPTED_GREEN) > 2_000
    assert image.count(REJECTED_RED) > 200
