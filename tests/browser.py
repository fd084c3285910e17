"""Headless Chromium (Debian's ``chromium`` package, which ``make test`` installs) for page tests."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import html

#: Flags for a headless run on a machine with no network: no sandbox (tests may run as
#: root), no GPU, and none of the background connections Chromium makes on its own.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--run-all-compositor-stages-before-draw",
)
TIMEOUT_SECONDS = 120


def cohort_files(folder: Path, installations: int, error_rate: float = 0.0, suffix: str = ".xml") -> list[Path]:
    """One generated file per cohort in ``folder`` (seeds 0, 1, …), for pages to show."""
    from mcfcheck.generate import MCFGenerator
    from mcfcheck.rules.cohorts import builtin_cohorts

    paths = []
    for seed, (name, cohort) in enumerate(builtin_cohorts().items()):
        path = folder / f"{name.lower()}{suffix}"
        MCFGenerator(cohort, seed=seed, error_rate=error_rate).write(path, installations)
        paths.append(path)
    return paths


def parse_page(text: str | bytes) -> html.HtmlElement:
    """A page as lxml's HTML tree."""
    page = html.fromstring(text)
    assert isinstance(page, html.HtmlElement)
    return page


def page_and_json(folder: Path, arguments: list[str], inputs: list[Path], status: int) -> tuple[Path, dict[str, Any]]:
    """Run ``mcfcheck ARGUMENTS`` over ``inputs`` writing its HTML page and JSON document; both, once read."""
    from typer.testing import CliRunner

    from mcfcheck.cli import app

    page, data = folder / "page.html", folder / "page.json"
    options = ["--jobs", "1", "--quiet", "-o", f"html={page}", "-o", f"json={data}"]
    result = CliRunner().invoke(app, [*arguments, *options, *map(str, inputs)])
    assert result.exit_code == status, result.output
    return page, json.loads(data.read_text())


def assert_fetches_nothing(page: html.HtmlElement) -> None:
    """That a page (lxml's HTML tree) forbids fetches by its policy and refers to nothing outside itself."""
    (policy,) = page.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")
    assert "default-src 'none'" in policy
    assert not page.xpath("//*[@src] | //link | //*[local-name()='image'] | //iframe | //object")
    assert not re.search(r"url\(|@import", page.xpath("string(//style)"))


def chromium() -> str:
    """The Chromium executable, or an error saying how to install it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise RuntimeError("Chromium is not installed: `make test` installs Debian's chromium package")
    return found


def _run(url: str, *options: str) -> str:
    with tempfile.TemporaryDirectory(prefix="mcfcheck-chromium-") as profile:
        done = subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *options, url],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=True,
        )
    return done.stdout


def dump_dom(url: str) -> str:
    """The page's DOM once it has loaded and its scripts have run, as HTML."""
    return _run(url, "--dump-dom")


def screenshot(url: str, path: Path, width: int = 1280, height: int = 1600) -> None:
    """A PNG of the page at the given window size."""
    _run(url, f"--screenshot={path}", f"--window-size={width},{height}")


@dataclass(frozen=True)
class Image:
    """The pixels of an 8-bit RGB or RGBA PNG."""

    width: int
    height: int
    channels: int
    rows: list[bytes]

    def count(self, colour: tuple[int, int, int], tolerance: int = 12) -> int:
        """How many pixels are within ``tolerance`` of ``colour`` in each channel."""
        found = 0
        step = self.channels
        for row in self.rows:
            for start in range(0, len(row), step):
                if all(abs(row[start + i] - colour[i]) <= tolerance for i in range(3)):
                    found += 1
        return found


def read_png(data: bytes) -> Image:
    """Decode a non-interlaced 8-bit RGB or RGBA PNG (what Chromium's screenshots are)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    position, compressed = 8, b""
    width = height = channels = 0
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour_type not in (2, 6) or interlace:
                raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour_type}, interlace {interlace}")
            channels = 3 if colour_type == 2 else 4
        elif kind == b"IDAT":
            compressed += body
    raw = zlib.decompress(compressed)
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        offset = y * (stride + 1)
        filter_type, line = raw[offset], bytearray(raw[offset + 1 : offset + 1 + stride])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            corner = previous[x - channels] if x >= channels else 0
            if filter_type == 1:
                line[x] = (line[x] + left) & 0xFF
            elif filter_type == 2:
                line[x] = (line[x] + up) & 0xFF
            elif filter_type == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif filter_type == 4:
                estimate = left + up - corner
                distances = (abs(estimate - left), abs(estimate - up), abs(estimate - corner))
                predictor = (left, up, corner)[distances.index(min(distances))]
                line[x] = (line[x] + predictor) & 0xFF
        rows.append(bytes(line))
        previous = line
    return Image(width, height, channels, rows)
