"""The Python API: the examples of docs/api.md and the README, and the API against the command line."""

from __future__ import annotations

import doctest
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import mcfcheck
from mcfcheck.cli import app
from mcfcheck.errors import InputError, SchemaError
from mcfcheck.rules.config import rule_settings
from mcfcheck.rules.registry import load_registry

from .conftest import ROOT, SAMPLES

README = ROOT / "README.md"
#: Every sample the repository ships, valid and not.
ALL_SAMPLES = sorted(path for path in SAMPLES.glob("*.xml") if not path.name.startswith("EPC"))


def _blocks(text: str, language: str, after: str) -> list[str]:
    """The ``language`` code blocks of ``text``'s section headed ``after``."""
    start = text.index(after)
    end = text.find("\n## ", start + len(after))
    section = text[start : end if end >= 0 else len(text)]
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.DOTALL)


def test_the_examples_of_docs_api_md(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    failures, tried = doctest.testfile(str(ROOT / "docs" / "api.md"), module_relative=False, verbose=False)
    assert tried >= 15
    assert failures == 0


def test_the_readme_api_snippet_runs(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)
    [snippet] = _blocks(README.read_text(encoding="utf-8"), "python", "## Python API")
    scope: dict[str, object] = {}
    exec(compile(snippet, "README.md", "exec"), scope)  # noqa: S102 - the README's own example
    assert "XSD001" in capsys.readouterr().out
    reports = scope["reports"]
    assert isinstance(reports, list)
    assert [report.valid for report in reports] == [True, True]


def test_the_readme_testing_snippet_runs_its_cases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = README.read_text(encoding="utf-8")
    snippet = next(block for block in _blocks(text, "python", "## Writing rules") if "mcfcheck.testing" in block)
    (tmp_path / "cases").mkdir()
    # Any case file will do: the snippet's own would be a plugin's.
    shutil.copy(ROOT / "tests" / "rule_cases" / "GEN001.toml", tmp_path / "cases" / "XMP001.toml")
    monkeypatch.chdir(tmp_path)
    scope: dict[str, object] = {}
    exec(compile(snippet, "README.md", "exec"), scope)  # noqa: S102 - the README's own example
    test = scope["test_rule"]
    cases = test.pytestmark[0].args[1]  # type: ignore[attr-defined]
    assert cases
    for number, case in enumerate(cases):
        folder = tmp_path / f"case-{number}"
        folder.mkdir()
        test(case, folder)  # type: ignore[operator]


@pytest.mark.parametrize("where", ["pyproject.toml", "mcfcheck.toml"])
def test_the_readme_configuration_is_read_in_either_file(tmp_path: Path, where: str) -> None:
    text = README.read_text(encoding="utf-8")
    [toml] = _blocks(text, "toml", "### Configuration")
    if where == "mcfcheck.toml":
        # As the README says: the same keys at the top, without tool.mcfcheck.
        toml = toml.replace("[tool.mcfcheck]\n", "").replace("[tool.mcfcheck.", "[")
    (tmp_path / where).write_text(toml, encoding="utf-8")
    shutil.copy(SAMPLES / "EPC001-eligible-product-combination.csv", tmp_path / "eligible-combinations.csv")
    (tmp_path / "dialects").mkdir()
    for file in (ROOT / "tests" / "data" / "inventory dialect").iterdir():
        shutil.copy(file, tmp_path / "dialects" / file.name)
    config = mcfcheck.load_config(tmp_path / where)
    assert config.ignore == ("GEN003",)
    assert config.rules["MDS003"] == {"apn": "elster"}
    settings = rule_settings(config, load_registry())
    assert settings.severities["GEN003"] == mcfcheck.Severity.ERROR


@pytest.mark.parametrize("sample", ALL_SAMPLES, ids=lambda path: path.name)
def test_the_api_finds_what_the_command_line_finds(sample: Path) -> None:
    result = CliRunner().invoke(app, ["validate", "--format", "json", "--jobs", "1", str(sample)])
    [file] = json.loads(result.stdout)["files"]
    report = mcfcheck.validate(sample)
    assert [(f.code, f.location.line) for f in report.findings] == [
        (f["code"], f["location"]["line"]) for f in file["findings"]
    ]
    assert report.valid == file["summary"]["valid"]
    # One at a time, and from a file object, the same.
    if report.error is None:
        assert list(mcfcheck.iter_findings(sample)) == list(report.findings)
    with sample.open("rb") as stream:
        from_stream = mcfcheck.validate(stream)
    assert from_stream.path == str(sample)
    assert [(f.code, f.location.file, f.message) for f in from_stream.findings] == [
        (f.code, f.location.file, f.message) for f in report.findings
    ]


def test_validate_many_gives_each_files_report_in_order() -> None:
    paths = [*ALL_SAMPLES[:6], ALL_SAMPLES[0]]
    reports = mcfcheck.validate_many(paths, jobs=2)
    assert [report.path for report in reports] == [str(path) for path in paths]
    assert [report.findings for report in reports] == [mcfcheck.validate(path).findings for path in paths]


def test_a_stream_without_a_name_and_what_stops_a_file() -> None:
    data = (SAMPLES / "status-value-invalid.xml").read_bytes()
    report = mcfcheck.validate(io.BytesIO(data))
    assert report.path == "<stream>"
    assert {finding.location.file for finding in report.findings} == {"<stream>"}
    cut = mcfcheck.validate(io.BytesIO(data[:500]))
    assert cut.error is not None
    assert cut.error.startswith("<stream>:")
    with pytest.raises(InputError, match="not well-formed"):
        list(mcfcheck.iter_findings(io.BytesIO(data[:500])))
    with pytest.raises(SchemaError):
        list(mcfcheck.iter_findings(SAMPLES / "cb-valid.xml", schema=SAMPLES / "no-such.xsd"))


def test_code_using_the_api_passes_mypy_strict(tmp_path: Path) -> None:
    consumer = tmp_path / "consumer.py"
    consumer.write_text(
        "from pathlib import Path\n"
        "import mcfcheck\n"
        "from mcfcheck import FileReport, Finding, Severity\n\n"
        "def errors(path: Path) -> list[str]:\n"
        "    report: FileReport = mcfcheck.validate(path, select=['GEN', 'XSD'], rules=True)\n"
        "    found: list[Finding] = list(mcfcheck.iter_findings(path, ignore=['GEN003']))\n"
        "    many = mcfcheck.validate_many([path], jobs=1, config=mcfcheck.load_config())\n"
        "    return [f.code for f in report.findings + tuple(found) if f.severity is Severity.ERROR] + [\n"
        "        r.path for r in many\n"
        "    ]\n",
        encoding="utf-8",
    )
    mypy = [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--python-version", "3.11"]
    environment = {**os.environ, "MYPYPATH": ""}
    # Run where this project's own mypy configuration is not: as a user's project would.
    done = subprocess.run(
        [*mypy, str(consumer)], capture_output=True, text=True, check=False, env=environment, cwd=tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # And a mistake is caught.
    typo = subprocess.run(
        [*mypy, "-c", "import mcfcheck\nmcfcheck.validate('a.xml', selct=['GEN'])\n"],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
        cwd=tmp_path,
    )
    assert typo.returncode == 1
    assert 'Unexpected keyword argument "selct"' in typo.stdout
