"""The compiled modules: in use where the wheel holds them, and never in the sources that development runs.

``make test`` runs these tests on the installed wheel (``MCFCHECK_BUILD`` says what it
holds: "compiled", "mypyc" or "plain"; ``MCFCHECK_WHEEL`` names its file) and once more
on the sources, in the editable install.
"""

from __future__ import annotations

import gc
import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import mcfcheck
from mcfcheck import cli
from mcfcheck.cli import app
from mcfcheck.native import COLLECTOR_THRESHOLD, compiled_modules, tune_allocator
from mcfcheck.rules.base import source_docstrings
from mcfcheck.rules.registry import load_registry
from mcfcheck.run.parts import worker_pool

from .conftest import ROOT, SAMPLES

#: The modules that run once per installation; the wheel holds them compiled.
HOT_MODULES = {"mcfcheck.rules.engine", "mcfcheck.rules.views", "mcfcheck.rules.packs.common", "mcfcheck.check.file"}


def test_the_tests_run_on_the_installed_wheel_or_on_the_sources() -> None:
    package = Path(mcfcheck.__file__).resolve().parent
    if os.environ.get("MCFCHECK_WHEEL"):
        # The wheel, installed in this environment: not the sources of this checkout.
        assert not package.is_relative_to(ROOT / "src"), package
        assert package.is_relative_to(Path(sys.prefix).resolve()), package
    else:
        # The editable install: the sources as they are, with nothing compiled beside them.
        assert package == ROOT / "src" / "mcfcheck"
        assert compiled_modules() == []


def test_make_runs_the_tests_on_the_compiled_modules() -> None:
    compiled = set(compiled_modules())
    # make test says what the wheel holds: "compiled", "mypyc" (no C reader) or "plain".
    build = os.environ.get("MCFCHECK_BUILD")
    if build in ("compiled", "mypyc"):
        assert compiled >= HOT_MODULES
        assert ("mcfcheck.native._fastread" in compiled) == (build == "compiled")
    elif build == "plain":
        assert not compiled
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert ("compiled with mypyc" in result.output) == bool(compiled - {"mcfcheck.native._fastread"}), result.output
    state = "in use" if build == "compiled" else "not built"
    assert result.output.rstrip().endswith(f"; the C module {state})"), result.output


def test_rule_documentation_survives_compilation() -> None:
    # A compiled class has an empty docstring; the documentation is read from the source beside it.
    registry = load_registry()
    for code, rule in registry.rules.items():
        written = source_docstrings(rule.__module__).get(rule.__qualname__)
        assert written, code
        assert rule.documentation().startswith(written.split("\n", 1)[0]), code


def test_mcfchecks_processes_tune_their_allocator(monkeypatch: pytest.MonkeyPatch) -> None:
    build = os.environ.get("MCFCHECK_BUILD")
    applied = tune_allocator()
    if build == "compiled" and platform.libc_ver()[0] == "glibc":
        assert applied
    elif build in ("mypyc", "plain"):
        assert not applied
    calls: list[str] = []

    def tune() -> bool:
        calls.append("cli")
        return True

    monkeypatch.setattr(cli, "tune_process", tune)
    assert cli.main(["--version"]) == 0
    assert calls == ["cli"]
    with worker_pool(1) as pool:
        # Each worker runs the tuning first (its collector says so); with the C module it reports it applied.
        assert pool.submit(tune_allocator).result() == applied
        assert pool.submit(_collector_state).result() == (COLLECTOR_THRESHOLD, True, "1")


def _collector_state() -> tuple[int, bool, str | None]:
    """In a worker: the collector's first threshold, whether objects were frozen, OpenBLAS's threads."""
    return gc.get_threshold()[0], gc.get_freeze_count() > 0, os.environ.get("OPENBLAS_NUM_THREADS")


def test_tuning_a_process_changes_the_collector_and_the_allocator() -> None:
    # In a fresh process, as the command line starts.
    script = (
        "import gc, os\n"
        "from mcfcheck.native import tune_process\n"
        "applied = tune_process()\n"
        "print(gc.get_threshold()[0], gc.get_freeze_count() > 0, os.environ['OPENBLAS_NUM_THREADS'], applied)\n"
    )
    environment = {key: value for key, value in os.environ.items() if key != "OPENBLAS_NUM_THREADS"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment, check=True)
    threshold, frozen, threads, applied = done.stdout.split()
    assert (int(threshold), frozen, threads) == (COLLECTOR_THRESHOLD, "True", "1")
    assert applied == str(tune_allocator())


_USES_C = """
from mcfcheck import native
from mcfcheck.input import xml
from mcfcheck.rules import keys, views
from mcfcheck.run import parts
print(native.FAST is not None, xml.NATIVE_PARSER, views.FAST_READER, keys._KEY_BUFFER is not None,
      parts._COUNT_LINES is not None, native.tune_allocator())
"""


def test_one_switch_leaves_the_c_module_unused_everywhere(tmp_path: Path) -> None:
    """MCFCHECK_PURE=1: the parser, the installation reader, the key buffer, the line counter and
    the allocator's tuning all run as plain Python; the findings are the same."""
    environment = {key: value for key, value in os.environ.items() if key != "MCFCHECK_PURE"}
    default = subprocess.run(
        [sys.executable, "-c", _USES_C], capture_output=True, text=True, check=True, env=environment
    )
    pure = subprocess.run(
        [sys.executable, "-c", _USES_C],
        capture_output=True,
        text=True,
        check=True,
        env={**environment, "MCFCHECK_PURE": "1"},
    )
    assert pure.stdout.split() == ["False"] * 6
    if os.environ.get("MCFCHECK_BUILD") == "compiled":
        assert default.stdout.split()[:5] == ["True"] * 5
    sample = tmp_path / "sample.xml"
    text = (SAMPLES / "mpan-format-invalid.xml").read_text(encoding="utf-8")
    sample.write_text(text.replace("<Status>Active</Status>", "<Status>Bogus</Status>", 2), encoding="utf-8")
    command = [sys.executable, "-m", "mcfcheck", "validate", "--jobs", "1", str(sample)]
    findings = subprocess.run(command, capture_output=True, text=True, env=environment)
    pure_findings = subprocess.run(command, capture_output=True, text=True, env={**environment, "MCFCHECK_PURE": "1"})
    assert findings.returncode == pure_findings.returncode == 1
    assert findings.stdout == pure_findings.stdout
    version = subprocess.run(
        [sys.executable, "-m", "mcfcheck", "--version"],
        capture_output=True,
        text=True,
        env={**environment, "MCFCHECK_PURE": "1"},
    )
    # Only a C module that is there is left unused.
    unused = "left unused by MCFCHECK_PURE=1" if os.environ.get("MCFCHECK_BUILD") == "compiled" else "not built"
    assert f"the C module {unused})" in version.stdout


_UNDER_ANOTHER_LXML = """
import sys
from lxml import etree
etree.__version__ = "0.0.1"  # as if another lxml were installed than the one the C module was compiled against
from mcfcheck.cli import main
from mcfcheck.native import FAST
print(FAST is None, file=sys.stderr)
sys.exit(main(sys.argv[1:]))
"""


def test_a_c_module_built_for_another_lxml_is_not_loaded_and_the_version_says_so(tmp_path: Path) -> None:
    version = subprocess.run(
        [sys.executable, "-c", _UNDER_ANOTHER_LXML, "--version"], capture_output=True, text=True, check=True
    )
    assert version.stderr.strip() == "True"
    if os.environ.get("MCFCHECK_BUILD") == "compiled":
        lxml_version = importlib.metadata.version("lxml")
        assert version.stdout.rstrip().endswith(
            f"; the C module not loaded: compiled against lxml {lxml_version}, not the installed one)"
        ), version.stdout
    else:
        assert version.stdout.rstrip().endswith("; the C module not built)"), version.stdout
    # mcfcheck reads installations through lxml's Python API instead: the same findings.
    sample = str(SAMPLES / "mpan-format-invalid.xml")
    other = subprocess.run(
        [sys.executable, "-c", _UNDER_ANOTHER_LXML, "validate", "--jobs", "1", sample], capture_output=True, text=True
    )
    usual = subprocess.run(
        [sys.executable, "-m", "mcfcheck", "validate", "--jobs", "1", sample], capture_output=True, text=True
    )
    assert other.returncode == usual.returncode == 1
    assert other.stdout == usual.stdout
