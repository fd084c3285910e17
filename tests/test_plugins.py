"""Third-party rule packs: installed as a real distribution, loaded through entry points."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mcfcheck.generate import MCFGenerator
from mcfcheck.rules.cohorts import builtin_cohorts
from mcfcheck.rules.registry import RuleRegistry, load_registry

from .conftest import SAMPLES

PLUGIN = Path(__file__).parent / "plugin_example"
MCFCHECK = Path(sys.executable).with_name("mcfcheck")


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example pack installed (by pip, offline) into a folder of its own."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(PLUGIN),
        ],
        check=True,
        capture_output=True,
    )
    return target


def _mcfcheck(plugin_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(plugin_path)}
    return subprocess.run(
        [str(MCFCHECK), *args], capture_output=True, text=True, env=environment, check=False, timeout=120
    )


def test_an_installed_pack_is_listed_and_broken_ones_are_named(plugin_path: Path) -> None:
    listed = _mcfcheck(plugin_path, "rules")
    assert listed.returncode == 0, listed.stderr
    assert "XMP001" in listed.stdout
    assert "reference-prefix" in listed.stdout
    warnings = listed.stderr
    assert "plugin 'broken'" in warnings
    assert "broken on purpose" in warnings
    assert "plugin 'miscoded'" in warnings
    assert "'x1'" in warnings
    assert "plugin 'duplicate'" in warnings
    assert "GEN001 is already used by plugin 'common'" in warnings
    assert "Traceback" not in warnings


def test_an_installed_rule_runs_in_the_validation_pass(plugin_path: Path) -> None:
    done = _mcfcheck(plugin_path, "validate", str(SAMPLES / "cb-valid.xml"))
    # The generated references (CB001-…) break the example pack's convention.
    assert done.returncode == 1
    assert done.stdout.count("XMP001 reference 'CB001-") == 4
    # The built-in GEN001 is still the built-in rule, not the duplicate.
    assert "duplicate-code" not in done.stdout


def test_an_installed_rule_can_be_ignored_and_configured(plugin_path: Path, tmp_path: Path) -> None:
    assert _mcfcheck(plugin_path, "validate", "--ignore", "XMP", str(SAMPLES / "cb-valid.xml")).returncode == 0
    config = tmp_path / "mcfcheck.toml"
    config.write_text('[rules.reference-prefix]\nprefix = "CB001-"\n')
    done = _mcfcheck(plugin_path, "validate", "--config", str(config), str(SAMPLES / "cb-valid.xml"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_registration_checks_name_the_plugin() -> None:
    registry = RuleRegistry()
    registry.register_all("mine", object())
    registry.register("mine", int)
    assert registry.problems == [
        "plugin 'mine': gives object, not rule classes",
        "plugin 'mine': <class 'int'> is not a subclass of mcfcheck.rules.Rule",
    ]


def test_built_in_rules_come_through_the_entry_point_group() -> None:
    registry = load_registry()
    assert registry.plugins["GEN001"] == "common"
    assert registry.plugins["MDS003"] == "mds"


def test_an_installed_reporter_is_a_format(plugin_path: Path) -> None:
    done = _mcfcheck(
        plugin_path,
        "validate",
        "--jobs",
        "1",
        "--ignore",
        "XMP",
        "--format",
        "codes",
        str(SAMPLES / "mpan-format-invalid.xml"),
    )
    assert done.returncode == 1
    assert done.stdout == f"{SAMPLES / 'mpan-format-invalid.xml'} XSD001\n"


@pytest.fixture(scope="module")
def large_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file large enough to be validated in parts (8 MiB and more)."""
    path = tmp_path_factory.mktemp("large") / "large.xml"
    MCFGenerator(builtin_cohorts()["CB"], seed=4).write(path, 4_500)
    assert path.stat().st_size >= 8 << 20
    return path


@pytest.mark.parametrize("code", ["XMP002", "XMP003"])
def test_a_plugin_rule_that_counts_gives_the_same_answer_in_parts(
    plugin_path: Path, large_file: Path, code: str
) -> None:
    """A plugin rule counting installations and reporting from finish() said 4500 with --jobs 1 and 0 in parts.

    XMP002 does not say how to merge its count: the file is validated in a single pass,
    and a note says why. XMP003 merges its parts' counts: no note.
    """
    single = _mcfcheck(plugin_path, "validate", "--jobs", "1", "--select", code, str(large_file))
    parts = _mcfcheck(plugin_path, "validate", "--jobs", "2", "--select", code, str(large_file))
    assert single.returncode == parts.returncode == 0, parts.stderr
    assert f"{code} 4500 installations" in single.stdout
    assert parts.stdout == single.stdout
    note = f"note: {code} (example) report from the trailer or the finish step without saying how to merge"
    assert (note in parts.stderr) is (code == "XMP002")
    assert "Traceback" not in parts.stderr
    # The merging rule's file was really validated in parts (and the other's, in one pass).
    in_parts = _in_parts(plugin_path, large_file, code)
    assert in_parts is (code == "XMP003")


_IN_PARTS = """
import sys
from pathlib import Path
from mcfcheck.rules.engine import RuleSettings
from mcfcheck.rules.registry import load_registry
from mcfcheck.rules.selection import Selection
from mcfcheck.run.parts import ParallelFileCheck, worker_pool

registry = load_registry()
settings = RuleSettings(selection=Selection(select=(sys.argv[2],)))
split = not registry.unmerged(settings.selection)
with worker_pool(2, registry) as pool:
    check = ParallelFileCheck(Path(sys.argv[1]), lambda: pool, 2, rules=(registry, settings))
    findings = list(check) if split else []
print(split and check.parallel, len(findings))
"""


def _in_parts(plugin_path: Path, path: Path, code: str) -> bool:
    """Whether mcfcheck validates ``path`` in parts with only ``code`` selected (the plugin installed)."""
    environment = {**os.environ, "PYTHONPATH": str(plugin_path)}
    done = subprocess.run(
        [sys.executable, "-c", _IN_PARTS, str(path), code], capture_output=True, text=True, env=environment, check=True
    )
    return done.stdout.split()[0] == "True"
