"""The command line: exit statuses, one-line errors, and generation of files."""

from __future__ import annotations

import csv
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import mcfcheck
from mcfcheck import cli
from mcfcheck.cli import app, main
from mcfcheck.rules import Problem, Rule, Visit
from mcfcheck.rules.registry import RuleRegistry, load_registry
from mcfcheck.rules.views import InstallationView

from .conftest import SAMPLES

runner = CliRunner()


def test_valid_files_exit_0_with_a_verdict_each() -> None:
    result = runner.invoke(app, ["validate", str(SAMPLES / "cb-valid.xml"), str(SAMPLES / "foc-valid.xml")])
    assert result.exit_code == 0, result.output
    assert "cb-valid.xml: valid (4 installations" in result.output
    assert "foc-valid.xml: valid (4 installations" in result.output


def test_findings_exit_1_each_on_one_line_with_place_code_installation_and_xpath() -> None:
    result = runner.invoke(app, ["validate", str(SAMPLES / "mpan-format-invalid.xml")])
    assert result.exit_code == 1
    line = next(text for text in result.output.splitlines() if "XSD001" in text)
    assert line.startswith(f"{SAMPLES / 'mpan-format-invalid.xml'}:95:9: XSD001 Element 'MPANCore'")
    assert "installation CB002-000000002" in line
    assert "/MigrationFile/Installations/Installation[2]/MeterPoints/MPANCore" in line
    assert "invalid, 1 error" in result.output


def test_unreadable_input_exits_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"")
    # A folder is searched: its empty file is checked too.
    (tmp_path / "folder").mkdir()
    inner = tmp_path / "folder" / "inner.xml"
    inner.write_bytes(b"")
    result = runner.invoke(app, ["validate", str(empty), str(tmp_path / "missing.xml"), str(tmp_path / "folder")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    errors = [text for text in result.output.splitlines() if text.startswith("error:")]
    assert len(errors) == 3
    assert f"error: {empty}: is empty" in errors[0]
    assert f"error: {inner}: is empty" in errors[2]


def test_worst_outcome_decides_the_status(tmp_path: Path) -> None:
    checked = [str(SAMPLES / "cb-valid.xml"), str(SAMPLES / "status-value-invalid.xml")]
    result = runner.invoke(app, ["validate", *checked, str(tmp_path / "gone.xml")])
    assert result.exit_code == 2
    result = runner.invoke(app, ["validate", str(SAMPLES / "cb-valid.xml"), str(SAMPLES / "status-value-invalid.xml")])
    assert result.exit_code == 1


def test_bad_schema_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(SAMPLES / "cb-valid.xml"), "--schema", str(tmp_path / "none.xsd")])
    assert result.exit_code == 2
    assert "schema not found" in result.output


def test_usage_errors_exit_2() -> None:
    assert main(["validate", "--no-such-option"]) == 2
    assert main(["validate"]) == 2
    assert main(["validate", str(SAMPLES / "cb-valid.xml"), "--format", "nope"]) == 2
    assert main(["generate", "-o", "x.xml", "--cohort", "NOPE"]) == 2


def test_main_returns_the_status() -> None:
    assert main(["validate", "-q", str(SAMPLES / "cb-valid.xml")]) == 0
    assert main(["validate", "-q", str(SAMPLES / "iccid-format-invalid.xml")]) == 1
    assert main(["--version"]) == 0


def test_quiet_prints_only_verdicts() -> None:
    result = runner.invoke(app, ["validate", "-q", str(SAMPLES / "iccid-format-invalid.xml")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"{SAMPLES / 'iccid-format-invalid.xml'}: invalid, 1 error (4 installations, schema mcf-1.0.xsd)"
    ]


def test_generate_writes_a_valid_file_and_lists_planted_errors(tmp_path: Path) -> None:
    output = tmp_path / "out.xml"
    result = runner.invoke(
        app, ["generate", "-o", str(output), "--cohort", "secure", "-n", "40", "--seed", "3", "--error-rate", "0.25"]
    )
    assert result.exit_code == 0, result.output
    listing = tmp_path / "out.xml.planted.csv"
    with listing.open() as rows:
        planted = list(csv.DictReader(rows))
    assert planted
    report = mcfcheck.validate(output)
    assert [(f.location.line, f.location.column, f.location.installation, f.code) for f in report.findings] == [
        (int(row["line"]), int(row["column"]), row["installation"], row["code"]) for row in planted
    ]
    assert not list(tmp_path.glob("*.part"))


def test_generate_without_errors_is_valid(tmp_path: Path) -> None:
    output = tmp_path / "ioc.xml"
    assert main(["generate", "-q", "-o", str(output), "--cohort", "IOC", "-n", "25"]) == 0
    assert mcfcheck.validate(output).valid
    assert not (tmp_path / "ioc.xml.planted.csv").exists()


def test_generate_to_an_unwritable_place_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["generate", "-o", str(tmp_path / "no" / "such" / "dir.xml"), "-n", "2"])
    assert result.exit_code == 2
    assert "cannot be written" in result.output


@pytest.mark.parametrize("args", [["--help"], ["validate", "--help"], ["generate", "--help"]])
def test_help_documents_exit_statuses(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 0
    assert "Exit status: 0" in result.output


def test_console_script_runs_as_a_new_user_would() -> None:
    executable = Path(sys.executable).with_name("mcfcheck")
    done = subprocess.run(
        [str(executable), "validate", str(SAMPLES / "unexpected-element-invalid.xml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "XSD002 Element 'Colour'" in done.stdout
    assert done.stderr == ""


#: Prints the modules a validation to the console loaded, after running it.
LOADED_BY_A_RUN = """
import sys
from mcfcheck.cli import main
status = main(sys.argv[1:])
print(status, *sorted(sys.modules))
"""


@pytest.mark.parametrize(
    ("args", "absent"),
    [
        # A console run loads no report writer, generator, progress bar, table or pydantic.
        (
            [],
            (
                "mcfcheck.reports.html",
                "mcfcheck.reports.json_report",
                "mcfcheck.reports.sarif",
                "mcfcheck.reports.junit",
                "mcfcheck.generate",
                "rich.progress",
                "rich.table",
                "pydantic",
            ),
        ),
        # A report asked for loads its writer.
        (["--format", "json"], ("mcfcheck.generate", "rich.progress", "pydantic")),
    ],
)
def test_a_run_loads_only_what_it_uses(args: list[str], absent: tuple[str, ...]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", LOADED_BY_A_RUN, "validate", "--jobs", "1", str(SAMPLES / "cb-valid.xml"), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    status, *modules = done.stdout.splitlines()[-1].split()
    loaded = set(modules)
    assert status == "0"
    assert "mcfcheck.rules.packs.mds" in loaded
    for module in absent:
        assert module not in loaded
    assert ("mcfcheck.reports.json_report" in loaded) == bool(args)


def test_rules_lists_every_check_with_cohort_severity_and_summary() -> None:
    result = CliRunner().invoke(app, ["rules"], terminal_width=240)
    assert result.exit_code == 0
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") >= 5}
    for code in ("XSD001", "COH001", "GEN001", "DRM002", "MDS003", "SEC003", "FOC002", "IOC001", "ACL001", "EPC001"):
        assert code in rows, code
    assert "CB" in rows["MDS003"]
    assert "warning" in rows["GEN003"]
    assert "every cohort" in rows["GEN001"]


@pytest.mark.parametrize(("code", "expected"), [("MDS003", "TMAD 14.14"), ("migration-notice-period", "DRM002")])
def test_rules_code_prints_the_documentation(code: str, expected: str) -> None:
    result = runner.invoke(app, ["rules", code])
    assert result.exit_code == 0
    assert expected in result.output
    assert "Fails:" in result.output
    assert "Passes:" in result.output


@pytest.mark.parametrize(
    ("code", "reads"), [("GEN001", "mpan"), ("MDS003", "apn, hub"), ("GEN020", "installation_count")]
)
def test_rules_code_says_what_the_rule_reads(code: str, reads: str) -> None:
    result = runner.invoke(app, ["rules", code], terminal_width=240)
    assert result.exit_code == 0
    assert f"Reads: {reads} (a file's binding must place them for it to run" in result.output


def test_rules_for_an_unknown_code_exits_2() -> None:
    result = runner.invoke(app, ["rules", "NOPE999"])
    assert result.exit_code == 2
    assert "no rule 'NOPE999'" in result.output


def test_console_groups_by_installation_caps_and_summarises() -> None:
    samples = [
        str(SAMPLES / "GEN003-mprn-check-digits-invalid.xml"),
        str(SAMPLES / "GEN010-unique-device-id-invalid.xml"),
    ]
    # Not on a terminal, every line of findings is a finding, which names its installation (on a
    # terminal, a line names each installation before its findings: test_reports).
    result = runner.invoke(app, ["validate", "--jobs", "1", *samples])
    lines = result.output.splitlines()
    assert "installation INST-1" not in lines
    findings = [line for line in lines if ": GEN0" in line]
    assert findings
    assert all("(installation INST-" in line for line in findings)
    assert f"{samples[0]}: valid, 1 warning (1 installation, schema mcf-1.0.xsd)" in lines
    assert f"{samples[1]}: invalid, 1 error (2 installations, schema mcf-1.0.xsd)" in lines
    table = result.output[result.output.index("findings by check") :]
    assert "GEN003" in table
    assert "GEN010" in table
    capped = runner.invoke(app, ["validate", "--jobs", "1", "--max-findings", "1", *samples])
    assert "GEN010 Device ID" not in capped.output
    assert f"… 1 more finding in {samples[1]} not shown (--max-findings)" in capped.output
    assert "GEN010" in capped.output[capped.output.index("findings by check") :]
    # None shown at all: no "more".
    none = runner.invoke(app, ["validate", "--jobs", "1", "--max-findings", "0", samples[1]])
    assert f"… 1 finding in {samples[1]} not shown (--max-findings)" in none.output


class _Faulty(Rule):
    """A rule with a planted fault.

    Fails: every installation raises.

    Passes: none.
    """

    code = "ZZZ001"
    name = "planted-fault"
    own_check = "None: it tests how a fault in a rule is reported."
    visits = frozenset({Visit.INSTALLATION})

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        raise ValueError("planted\nfault")


def _with_faulty_rule() -> RuleRegistry:
    registry = load_registry()
    registry.register("planted", _Faulty)
    return registry


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("debug", [False, True])
def test_a_fault_in_a_rule_is_one_line_naming_the_file_and_status_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], jobs: str, debug: bool
) -> None:
    """An exception in a rule is an internal error: one line naming the file, status 3, never 1.

    With MCFCHECK_DEBUG=1 its traceback is printed too. With --jobs 2 the rule runs in the
    workers (forked with the rules loaded here) and the fault comes back through the pool.
    """
    monkeypatch.setattr(cli, "load_registry", _with_faulty_rule)
    if debug:
        monkeypatch.setenv("MCFCHECK_DEBUG", "1")
    else:
        monkeypatch.delenv("MCFCHECK_DEBUG", raising=False)
    first, second = tmp_path / "first.xml", tmp_path / "second.xml"
    first.write_bytes((SAMPLES / "cb-valid.xml").read_bytes())
    second.write_bytes((SAMPLES / "foc-valid.xml").read_bytes())
    assert main(["validate", "-q", "--jobs", jobs, str(first), str(second)]) == 3
    err = capsys.readouterr().err
    line = f"mcfcheck: internal error: {first}: ValueError: planted fault\n"
    assert err.endswith(line)
    assert ("Traceback" in err) is debug


@pytest.mark.parametrize("command", ["validate", "batch"])
def test_exit_zero_leaves_findings_out_of_the_status_but_not_errors(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    invalid = str(SAMPLES / "GEN010-unique-device-id-invalid.xml")
    extra = ["--no-ledger"] if command == "batch" else []
    assert runner.invoke(app, [command, invalid, "-q", *extra]).exit_code == 1
    zero = runner.invoke(app, [command, invalid, "-q", "--exit-zero", *extra])
    assert zero.exit_code == 0
    assert "invalid, 1 error" in zero.output
    missing = runner.invoke(app, [command, invalid, str(tmp_path / "missing.xml"), "-q", "--exit-zero", *extra])
    assert missing.exit_code == 2


def test_only_mcf_skips_xml_that_is_not_an_mcf_and_says_so_once(tmp_path: Path) -> None:
    import gzip

    pom = tmp_path / "pom.xml"
    pom.write_text('<project xmlns="http://maven.apache.org/POM/4.0.0"><a/></project>', encoding="utf-8")
    plain = tmp_path / "plain.xml"
    plain.write_text("<config><a/></config>", encoding="utf-8")
    packed = tmp_path / "cb.xml.gz"
    packed.write_bytes(gzip.compress((SAMPLES / "cb-valid.xml").read_bytes()))
    not_xml = tmp_path / "notes.xml"
    not_xml.write_text("not XML at all", encoding="utf-8")

    result = runner.invoke(app, ["validate", "--only-mcf", str(pom), str(packed), str(plain)])
    assert result.exit_code == 0, result.output
    assert result.output.count(f"skipped 2 files whose root element is in no MCF namespace: {pom}, {plain}") == 1
    assert f"{packed}: valid" in result.output
    assert f"{pom}:" not in result.output.replace(f"namespace: {pom}", "")
    # What is not XML at all is not skipped: its check says what is wrong with it.
    broken = runner.invoke(app, ["validate", "--only-mcf", str(not_xml)])
    assert broken.exit_code == 2, broken.output
    assert str(not_xml) in broken.output
    assert "skipped" not in broken.output
    # Without --only-mcf, the POM is checked (and cannot be: no schema for its namespace).
    assert runner.invoke(app, ["validate", str(pom)]).exit_code == 2


def test_only_mcf_with_a_schema_keeps_the_files_in_its_target_namespace(tmp_path: Path) -> None:
    data = Path(__file__).parent / "data"
    schema = data / "dcc-style schema" / "Migration Schema V1.0 TMAD 2.0.xsd"
    ours = data / "dcc-style-invalid.xml"
    bundled = SAMPLES / "cb-valid.xml"
    result = runner.invoke(
        app, ["validate", "--only-mcf", "--no-rules", "--schema", str(schema), str(ours), str(bundled)]
    )
    # The bundled dialect's namespace is bound too: both are checked against the schema given.
    assert "skipped" not in result.output
    assert f"{ours}: invalid" in result.output
    other = tmp_path / "other.xml"
    other.write_text('<MigrationFile xmlns="urn:example:elsewhere"/>', encoding="utf-8")
    skipped = runner.invoke(app, ["validate", "--only-mcf", "--schema", str(schema), str(other)])
    assert skipped.exit_code == 0, skipped.output
    assert f"skipped 1 file whose root element is in no MCF namespace: {other}" in skipped.output


def test_require_schema_refuses_a_run_without_one() -> None:
    result = runner.invoke(app, ["validate", "--require-schema", str(SAMPLES / "cb-valid.xml")])
    assert result.exit_code == 2
    assert "no --schema given" in result.output


def test_shell_completion_is_on_for_the_shell_that_runs_mcfcheck() -> None:
    # --show-completion prints the script for the shell it is run from (here bash, which must not
    # hand its process over to the command: a second command keeps it).
    command = f"{shlex.quote(sys.executable)} -m mcfcheck --show-completion; exit $?"
    shown = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=False)
    assert shown.returncode == 0, shown.stderr
    assert "complete -o default -F _mcfcheck_completion mcfcheck" in shown.stdout
    assert "_MCFCHECK_COMPLETE=complete_bash" in shown.stdout
