"""Configuration files: found, read, checked against the rules, with errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mcfcheck.cli import app
from mcfcheck.config import find_configuration, load_configuration, rule_settings
from mcfcheck.errors import ConfigError
from mcfcheck.findings import Severity
from mcfcheck.rules.registry import load_registry

from .conftest import SAMPLES

REGISTRY = load_registry()
runner = CliRunner()


def _settings(tmp_path: Path, text: str, name: str = "mcfcheck.toml"):  # type: ignore[no-untyped-def]
    path = tmp_path / name
    path.write_text(text)
    return rule_settings(load_configuration(path), REGISTRY)


def test_every_key_is_read(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        """
select = ["GEN", "MDS"]
ignore = ["GEN003"]
extend-select = ["EPC"]
epcl = "list.csv"
[rules.GEN040]
earliest = "2020-01-01"
[rules.migration-notice-period]
calendar = "scotland"
[severity]
GEN003 = "error"
[cohorts.FOC]
smso = ["Trilliant"]
group_id = "ZF"
""",
    )
    assert settings.selection.is_selected("GEN001")
    assert not settings.selection.is_selected("GEN003")
    assert settings.selection.is_selected("EPC001")
    assert not settings.selection.is_selected("SEC001")
    assert settings.options == {"GEN040": {"earliest": "2020-01-01"}, "DRM002": {"calendar": "scotland"}}
    assert settings.severities == {"GEN003": Severity.ERROR}
    assert settings.cohorts["FOC"].smso == ("Trilliant",)
    assert settings.cohort_for("ZF") is settings.cohorts["FOC"]
    assert settings.epcl == tmp_path / "list.csv"


def test_pyproject_tool_table_is_found_from_a_subfolder(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.mcfcheck]\nignore = ["GEN0"]\n')
    folder = tmp_path / "samples" / "deep"
    folder.mkdir(parents=True)
    found = find_configuration(folder)
    assert found == tmp_path / "pyproject.toml"
    assert load_configuration(found).ignore == ("GEN0",)


def test_a_pyproject_without_the_table_is_not_a_configuration(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert find_configuration(tmp_path) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('selct = ["GEN"]', "unknown key 'selct'"),
        ('select = "GEN"', "select must be a list of code prefixes"),
        ("[rules.NOPE001]\nx = 1", "rules.NOPE001 names no rule"),
        ('[rules.GEN040]\nlatest = "2020-01-01"', "rules.GEN040.latest is not an option of GEN040"),
        ('[severity]\nGEN001 = "fatal"', "severity.GEN001 must be one of error, warning"),
        ("[cohorts.MOC]\nsmso = []", "cohorts.MOC is not a cohort"),
        ("[cohorts.FOC]\nsmsos = []", "unknown key cohorts.FOC.smsos"),
        ("[cohorts.FOC]\nsmso = 'x'", "cohorts.FOC.smso must be a list of names"),
        ("select = [", "not valid TOML"),
    ],
)
def test_invalid_configuration_names_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _settings(tmp_path, text)
    assert message in str(raised.value)
    assert str(raised.value).startswith(str(tmp_path / "mcfcheck.toml"))


def test_a_bad_option_value_is_a_usage_error_not_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "mcfcheck.toml"
    config.write_text('[rules.DRM001]\ncalendar = "wales-only"\n')
    result = runner.invoke(app, ["validate", "--config", str(config), str(SAMPLES / "cb-valid.xml")])
    assert result.exit_code == 2
    assert "DRM001" in result.output
    assert "wales-only" in result.output
    assert "Traceback" not in result.output


def test_invalid_configuration_exits_2_on_the_command_line(tmp_path: Path) -> None:
    config = tmp_path / "mcfcheck.toml"
    config.write_text("colour = 1\n")
    result = runner.invoke(app, ["validate", "--config", str(config), str(SAMPLES / "cb-valid.xml")])
    assert result.exit_code == 2
    assert "unknown key 'colour'" in result.output


def test_severity_override_turns_a_warning_into_an_error(tmp_path: Path) -> None:
    sample = SAMPLES / "GEN003-mprn-check-digits-invalid.xml"
    assert runner.invoke(app, ["validate", str(sample)]).exit_code == 0  # a warning only
    config = tmp_path / "mcfcheck.toml"
    config.write_text('[severity]\nGEN003 = "error"\n')
    assert runner.invoke(app, ["validate", "--config", str(config), str(sample)]).exit_code == 1


def test_command_line_selection_adds_to_the_configuration(tmp_path: Path) -> None:
    sample = SAMPLES / "GEN001-mpan-check-digit-invalid.xml"
    assert runner.invoke(app, ["validate", str(sample)]).exit_code == 1
    assert runner.invoke(app, ["validate", "--ignore", "GEN001", str(sample)]).exit_code == 0
    assert runner.invoke(app, ["validate", "--select", "MDS,XSD", str(sample)]).exit_code == 0
    config = tmp_path / "mcfcheck.toml"
    config.write_text('ignore = ["GEN"]\n')
    assert runner.invoke(app, ["validate", "--config", str(config), str(sample)]).exit_code == 0


def test_schema_only_runs_ignore_rule_options(tmp_path: Path) -> None:
    config = tmp_path / "mcfcheck.toml"
    config.write_text('[rules.GEN040]\nearliest = "2020-01-01"\n')
    result = runner.invoke(app, ["validate", "--no-rules", "--config", str(config), str(SAMPLES / "cb-valid.xml")])
    assert result.exit_code == 0, result.output
