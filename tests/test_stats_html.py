"""The HTML page of mcfcheck stats: self-contained, its charts agree with the JSON document, rendered in Chromium."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from lxml import html

from mcfcheck.reports.stats import StatsRun
from mcfcheck.reports.stats_html import MAX_BARS, write_html
from mcfcheck.rules.statistics import DIMENSION_NAMES, HEADER_FIELDS, Distribution, FileStatistics, Totals
from mcfcheck.run.stats import FileCount

from . import browser
from .conftest import SAMPLES

BAR_BLUE = (0x3B, 0x6E, 0xA8)


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The HTML page and JSON document of one run over files of every cohort, a sample and a missing file."""
    folder = tmp_path_factory.mktemp("stats-page")
    inputs = browser.cohort_files(folder, 300)
    inputs += [SAMPLES / "cb-valid.xml", folder / "missing.xml"]
    return browser.page_and_json(folder, ["stats", "--max-values", "6"], inputs, 2)


_parse = browser.parse_page


def _bars(page: html.HtmlElement, chart: str) -> list[tuple[str, int]]:
    return [
        (bar.get("data-label"), int(bar.get("data-count")))
        for bar in page.xpath(f"//figure[@id='{chart}']//*[local-name()='g'][@data-label]")
    ]


def _expected(distribution: dict[str, Any]) -> list[tuple[str, int]]:
    rows = distribution["rows"]
    if distribution["name"] == "dormant_by_planned_migration_week":
        rows = sorted(rows, key=lambda row: (row["values"][0] is None, row["values"][0] or ""))
    bars = [(" / ".join(value or "(none)" for value in row["values"]), row["count"]) for row in rows[:MAX_BARS]]
    other = distribution["other"]
    if other is not None:
        bars.append((f"(other: {other['values']:,} values)", other["count"]))
    return bars


def test_charts_and_tables_agree_with_the_json_document(pages: tuple[Path, dict[str, Any]]) -> None:
    path, document = pages
    page = _parse(path.read_bytes())
    sections = [("total", document["total"]["statistics"])]
    sections += [
        (f"file-{index + 1}", file["statistics"])
        for index, file in enumerate(document["files"])
        if file["statistics"] is not None
    ]
    charted = 0
    for anchor, statistics in sections:
        for distribution in statistics["distributions"]:
            chart = f"{anchor}-{distribution['name']}"
            if not distribution["rows"]:
                assert not page.xpath(f"//figure[@id='{chart}']")
                continue
            assert _bars(page, chart) == _expected(distribution)
            charted += 1
    assert charted > 40
    # With six values at most, the devices' chart has an other bar.
    assert _bars(page, "total-devices_by_model")[-1][0].startswith("(other: ")
    tiles = {tile.get("data-tile"): tile.find("span").text_content() for tile in page.xpath("//div[@data-tile]")}
    total = document["total"]
    assert tiles["files"] == "6"
    assert tiles["counted"] == str(total["counted"]) == "5"
    assert tiles["unusable"] == "1"
    assert tiles["installations"] == f"{total['statistics']['installations']:,}"
    rows = page.get_element_by_id("files-table").find("tbody")
    assert rows is not None
    assert [row.get("class") for row in rows] == ["agrees"] * 5 + ["unreadable"]
    assert "no such file" in rows[5].text_content()


def test_the_page_fetches_nothing_and_runs_no_script(pages: tuple[Path, dict[str, Any]]) -> None:
    page = _parse(pages[0].read_bytes())
    browser.assert_fetches_nothing(page)
    assert not page.xpath("//script")


def test_hostile_text_stays_text() -> None:
    hostile = "</style><script>alert(1)</script><img src=x>"
    distributions = {name: Distribution(name, ()) for name in DIMENSION_NAMES}
    distributions["installations_by_status"] = Distribution("installations_by_status", ((("<b>" + hostile,), 2),))
    statistics = FileStatistics(
        header=dict.fromkeys(HEADER_FIELDS, hostile),
        cohort=None,
        totals=Totals.of(3, None, 2, 0),
        distributions=distributions,
    )
    out = io.StringIO()
    write_html(out, StatsRun([FileCount(hostile + ".xml", statistics)], 1000))
    page = _parse(out.getvalue())
    assert not page.xpath("//script | //img | //b")
    assert _bars(page, "file-1-installations_by_status") == [("<b>" + hostile, 2)]
    assert "the trailer declares 3" in page.text_content()


def test_chromium_renders_the_page(pages: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    path, document = pages
    rendered = _parse(browser.dump_dom(path.as_uri()))
    assert _bars(rendered, "total-installations_by_status") == _expected(
        document["total"]["statistics"]["distributions"][0]
    )
    shot = tmp_path / "stats.png"
    browser.screenshot(path.as_uri(), shot, width=1000, height=1400)
    image = browser.read_png(shot.read_bytes())
    assert (image.width, image.height) == (1000, 1400)
    # The bars are drawn in their colour.
    assert image.count(BAR_BLUE) > 10_000
