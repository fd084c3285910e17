"""Configuration files: found, read, checked against the rules, with errors naming the key."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from typer.testing import CliRunner

import mcfcheck
from mcfcheck.cli import app
from mcfcheck.errors import ConfigError
from mcfcheck.findings import Severity
from mcfcheck.rules import Document, Rule, Source, Visit
from mcfcheck.rules.cohorts import builtin_cohorts
from mcfcheck.rules.config import find_configuration, load_configuration, rule_settings
from mcfcheck.rules.options import Option
from mcfcheck.rules.registry import RuleRegistry, load_registry

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
        ('[cohorts.FOC]\ngroup_id = "CD"\ngroup_ids = ["CE"]', "cohorts.FOC gives group_id and group_ids"),
        ("[cohorts.FOC]\ngroup_ids = []", 'cohorts.FOC.group_ids must be a list of GroupIDs, such as ["CD", "CE"]'),
        ('[cohorts.FOC]\ngroup_ids = "CD"', "cohorts.FOC.group_ids must be a list of GroupIDs"),
        ("[cohorts.FOC]\ngroup_id = 7", "cohorts.FOC.group_id must be a GroupID (a string), not 7"),
        (
            '[cohorts.SECURE]\ngroup_ids = ["CC", "CD"]',
            "GroupID 'CD' is claimed by both cohorts.SECURE and cohorts.FOC; a GroupID selects one cohort",
        ),
        ("select = [", "not valid TOML"),
        (
            '[rules.GEN040]\nfuture_tolerance_hours = "abc"',
            "rules.GEN040.future_tolerance_hours of GEN040 must be a number from 0 to 8784, not 'abc'",
        ),
        ("[rules.GEN040]\nfuture_tolerance_hours = -1", "must be a number from 0 to 8784, not -1"),
        # Not finite, or too large for a time span: once an internal error in the middle of the run.
        ("[rules.GEN040]\nfuture_tolerance_hours = inf", "must be a number from 0 to 8784, not inf"),
        ("[rules.GEN040]\nfuture_tolerance_hours = nan", "must be a number from 0 to 8784, not nan"),
        ("[rules.GEN040]\nfuture_tolerance_hours = 1e300", "must be a number from 0 to 8784, not 1e+300"),
        ('[rules.GEN040]\nearliest = "21/06/2019"', "earliest of GEN040 must be a date as YYYY-MM-DD"),
        ("[rules.DRM001]\nworking_days = 2.5", "working_days of DRM001 must be a whole number of at least 0"),
        ("[rules.DRM001]\nworking_days = true", "working_days of DRM001 must be a whole number of at least 0"),
        ('[rules.migration-notice-period]\ncalendar = "wales"', "calendar of DRM002 must be one of"),
        ('[rules.SEC003]\nminimum_hours = "336"', "minimum_hours of SEC003 must be a whole number"),
        ("[rules.MDS003]\napn = 1", "apn of MDS003 must be a string, not 1"),
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


def test_a_bad_option_value_stops_the_run_before_any_file_is_read(tmp_path: Path) -> None:
    """future_tolerance_hours = "abc" gave a traceback in the middle of the parse, and exit status 1.

    The options are checked when the run starts: a file that does not exist is not even opened.
    """
    config = tmp_path / "mcfcheck.toml"
    config.write_text('[rules.GEN040]\nfuture_tolerance_hours = "abc"\n')
    result = runner.invoke(app, ["validate", "--config", str(config), str(tmp_path / "missing.xml")])
    assert result.exit_code == 2
    assert result.output == (
        f"error: {config}: rules.GEN040.future_tolerance_hours of GEN040 must be a number from 0 to 8784, not 'abc'\n"
    )


@given(value=st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(), st.text(max_size=5)))
def test_a_whole_number_option_takes_exactly_the_whole_numbers_in_its_bounds(value: object) -> None:
    option = Option(5, minimum=0, maximum=100)
    admitted = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100
    if admitted:
        assert option.check(value) == value
    else:
        with pytest.raises(ValueError, match="a whole number from 0 to 100"):
            option.check(value)


@given(value=st.one_of(st.integers(), st.floats(), st.booleans(), st.text(max_size=5)))
@example(value=9_007_199_254_740_993)  # 2**53 + 1: its float is 2**53
@example(value=10**400)  # beyond any float: was an OverflowError, not a configuration error
def test_a_number_option_takes_finite_whole_and_decimal_numbers_not_booleans(value: object) -> None:
    option = Option(24.0, minimum=0)
    admitted = (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (math.isfinite(value) if isinstance(value, float) else value < 2**1024)
        and value >= 0
    )
    if admitted:
        assert isinstance(value, int | float)
        checked = option.check(value)
        assert checked == float(value)
        assert isinstance(checked, float)
    else:
        with pytest.raises(ValueError, match="a number of at least 0"):
            option.check(value)


def test_a_rule_whose_option_default_has_no_type_is_refused_at_registration() -> None:
    class Listed(Rule):
        """Takes a list.

        Fails: never. Passes: always.
        """

        code = "XMP009"
        name = "listed"
        visits = frozenset({Visit.INSTALLATION})
        defaults: ClassVar[Mapping[str, object]] = {"names": ["a"]}

    registry = RuleRegistry()
    registry.register("mine", Listed)
    assert registry.problems == ["plugin 'mine': XMP009 (Listed): option 'names' has a default of type list"]


def test_a_rule_that_reads_a_concept_no_binding_has_is_refused_at_registration() -> None:
    """A misspelt concept in ``reads`` was ignored: the rule ran even where its concept had no binding."""

    class Misspelt(Rule):
        """Reads a misspelt concept.

        Fails: never. Passes: always.
        """

        code = "XMP010"
        name = "misspelt"
        visits = frozenset({Visit.INSTALLATION})
        reads = frozenset({"mpan", "mpna"})

    registry = RuleRegistry()
    registry.register("mine", Misspelt)
    assert registry.problems == [
        "plugin 'mine': XMP010 (Misspelt) reads 'mpna', which no binding can place "
        "(see mcfcheck.schema.binding.CONCEPTS)"
    ]
    assert "XMP010" not in registry.rules


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


def test_a_rule_that_says_neither_its_source_nor_why_is_refused_at_registration() -> None:
    class Unsourced(Rule):
        """Says nothing of where it comes from.

        Fails: never. Passes: always.
        """

        code = "XMP011"
        name = "unsourced"
        visits = frozenset({Visit.INSTALLATION})

    class Sourced(Unsourced):
        """Cites a document of its author's own.

        Fails: never. Passes: always.
        """

        code = "XMP012"
        name = "sourced"
        sources = (
            Source(Document("ACME", "Inventory rules", "1 May 2026", "the supplier's own"), "rule 3", "as quoted"),
        )

    registry = RuleRegistry()
    registry.register("mine", Unsourced)
    registry.register("mine", Sourced)
    assert registry.problems == [
        "plugin 'mine': XMP011 (Unsourced) says neither where it comes from (sources) nor why a correct file must "
        "pass it (own_check)"
    ]
    assert list(registry.rules) == ["XMP012"]
    assert "Source: ACME, Inventory rules, 1 May 2026\n- rule 3: \u201cas quoted\u201d" in Sourced.documentation()


def test_several_group_ids_select_one_cohort(tmp_path: Path) -> None:
    settings = _settings(tmp_path, '[cohorts.FOC]\ngroup_ids = ["CD", "CE"]\n')
    foc = settings.cohorts["FOC"]
    assert (foc.group_ids, foc.group_id) == (("CD", "CE"), "CD")
    assert settings.cohort_for("CD") is foc
    assert settings.cohort_for("CE") is foc
    text = (SAMPLES / "foc-valid.xml").read_text(encoding="utf-8")
    for group_id in ("CD", "CE"):
        path = tmp_path / f"foc-{group_id}.xml"
        path.write_text(text.replace("<GroupID>CD</GroupID>", f"<GroupID>{group_id}</GroupID>"), encoding="utf-8")
        report = mcfcheck.validate(path, settings=settings)
        assert (report.cohort, report.findings) == ("FOC", ())
        # FOC's own rules run on it: an SMSO of another cohort is FOC001's finding.
        path.write_text(path.read_text(encoding="utf-8").replace("Landis+Gyr</SMSOName>", "MDS</SMSOName>"))
        assert [finding.code for finding in mcfcheck.validate(path, settings=settings).findings] == ["FOC001"]


def test_an_unknown_group_id_lists_every_known_one(tmp_path: Path) -> None:
    settings = _settings(tmp_path, '[cohorts.FOC]\ngroup_ids = ["CD", "CE"]\n')
    path = tmp_path / "unknown.xml"
    text = (SAMPLES / "foc-valid.xml").read_text(encoding="utf-8")
    path.write_text(text.replace("<GroupID>CD</GroupID>", "<GroupID>ZZ</GroupID>"), encoding="utf-8")
    (finding,) = mcfcheck.validate(path, settings=settings).findings
    assert finding.code == "COH001"
    assert finding.message == (
        "GroupID 'ZZ' names no known cohort; known GroupIDs: CA (IOC), CB (CB), CC (SECURE), CD (FOC), CE (FOC)"
    )


def test_the_bundled_registry_gives_each_cohort_one_group_id() -> None:
    cohorts = builtin_cohorts()
    assert {name: cohort.group_ids for name, cohort in cohorts.items()} == {
        "IOC": ("CA",),
        "CB": ("CB",),
        "SECURE": ("CC",),
        "FOC": ("CD",),
    }
    assert {name: cohort.group_id for name, cohort in cohorts.items()} == {
        "IOC": "CA",
        "CB": "CB",
        "SECURE": "CC",
        "FOC": "CD",
    }


@pytest.mark.parametrize(
    ("arguments", "configuration", "message"),
    [
        (["--select", "GEN9"], "", "--select 'GEN9': no check's code starts with it"),
        (["--ignore", "GEN001,MDX"], "", "--ignore 'MDX': no check's code starts with it"),
        (["--extend-select", "EPC002"], "", "--extend-select 'EPC002': no check's code starts with it"),
        ([], 'ignore = ["GEN03X"]\n', "mcfcheck.toml: ignore 'GEN03X': no check's code starts with it"),
        ([], '[severity]\nGEN999 = "warning"\n', "mcfcheck.toml: severity.GEN999 is not a check's code"),
    ],
)
def test_a_code_that_names_no_check_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arguments: list[str], configuration: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    if configuration:
        (tmp_path / "mcfcheck.toml").write_text(configuration, encoding="utf-8")
    result = runner.invoke(app, ["validate", str(SAMPLES / "cb-valid.xml"), *arguments])
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_prefixes_that_name_checks_are_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mcfcheck.toml").write_text('select = ["ALL"]\nignore = ["XSD0", "XFL"]\n', encoding="utf-8")
    result = runner.invoke(app, ["validate", str(SAMPLES / "cb-valid.xml"), "--select", "GEN,COH001", "-q"])
    assert result.exit_code == 0, result.output
