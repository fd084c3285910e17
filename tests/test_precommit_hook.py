"""The pre-commit hooks, run by the real pre-commit tool in a temporary repository of samples.

The samples repository's configuration names this repository as a user's would (``repo:``
and ``rev:``), by a copy of its working tree committed in a repository of its own, as
``pre-commit try-repo`` does: so that what is tested is the hooks as they are now, and
their ``args`` as a user writes them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, SAMPLES, SCHEMAS

PRE_COMMIT = Path(sys.executable).with_name("pre-commit")


def _git(folder: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def _new_repository(folder: Path) -> Path:
    folder.mkdir()
    _git(folder, "init", "-q")
    _git(folder, "config", "user.email", "samples@example.com")
    _git(folder, "config", "user.name", "Samples")
    return folder


@pytest.fixture(scope="module")
def hooks_repository(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This repository's working tree, committed in a repository of its own: (its path, the commit)."""
    copy = _new_repository(tmp_path_factory.mktemp("hooks") / "mcfcheck")
    tracked = _git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z").split("\0")
    for name in filter(None, tracked):
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    _git(copy, "add", "-A")
    _git(copy, "commit", "-q", "-m", "the working tree")
    return copy, _git(copy, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One pre-commit cache for the module's tests: mcfcheck is installed into it once."""
    return tmp_path_factory.mktemp("pre-commit-home")


def _run_hooks(samples: Path, home: Path, repository: tuple[Path, str], hooks: str) -> subprocess.CompletedProcess[str]:
    path, commit = repository
    (samples / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {path}\n    rev: {commit}\n    hooks:\n{hooks}", encoding="utf-8"
    )
    _git(samples, "add", ".")
    # The hook's environment gets the pure-Python wheel: the compiled build takes minutes
    # to build, and make test tests it from the wheel it builds itself.
    environment = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never", "MCFCHECK_PURE": "1"}
    return subprocess.run(
        [str(PRE_COMMIT), "run", "--all-files", "--verbose"],
        cwd=samples,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


@pytest.mark.slow
def test_hook_passes_valid_samples_skips_what_is_not_an_mcf_and_shows_why_one_fails(
    tmp_path: Path, hooks_repository: tuple[Path, str], pre_commit_home: Path
) -> None:
    samples = _new_repository(tmp_path / "samples-repo")
    shutil.copy(SAMPLES / "cb-valid.xml", samples / "cb-valid.xml")
    # An XSD is XML too, but the hook must leave it alone; a Maven POM is XML but not an MCF.
    shutil.copy(SCHEMAS / "mcf-1.0.xsd", samples / "mcf-1.0.xsd")
    (samples / "pom.xml").write_text(
        '<?xml version="1.0"?>\n<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        "</project>\n",
        encoding="utf-8",
    )
    hooks = "      - id: mcfcheck\n"

    passing = _run_hooks(samples, pre_commit_home, hooks_repository, hooks)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "cb-valid.xml: valid" in passing.stdout
    assert not [line for line in passing.stdout.splitlines() if line.startswith("mcf-1.0.xsd:")]
    assert passing.stdout.count("skipped 1 file whose root element is in no MCF namespace: pom.xml") == 1

    shutil.copy(SAMPLES / "status-value-invalid.xml", samples / "status-value-invalid.xml")
    failing = _run_hooks(samples, pre_commit_home, hooks_repository, hooks)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "status-value-invalid.xml: invalid, 1 error" in failing.stdout
    # The reason, not only the verdict: the finding's line, code and message.
    assert "status-value-invalid.xml:93:7: XSD001 Element 'Status'" in failing.stdout


@pytest.mark.slow
def test_schema_hook_checks_against_the_users_schema_and_refuses_to_run_without_one(
    tmp_path: Path, hooks_repository: tuple[Path, str], pre_commit_home: Path
) -> None:
    samples = _new_repository(tmp_path / "samples-repo")
    (samples / "schemas").mkdir()
    shutil.copy(SCHEMAS / "mcf-1.0.xsd", samples / "schemas" / "ours.xsd")
    shutil.copy(SAMPLES / "cb-valid.xml", samples / "cb-valid.xml")
    shutil.copy(SAMPLES / "status-value-invalid.xml", samples / "status-value-invalid.xml")

    with_schema = _run_hooks(
        samples,
        pre_commit_home,
        hooks_repository,
        "      - id: mcfcheck-schema\n        args: [--schema, schemas/ours.xsd]\n",
    )
    assert with_schema.returncode == 1, with_schema.stdout + with_schema.stderr
    assert "cb-valid.xml: valid" in with_schema.stdout
    assert "status-value-invalid.xml:93:7: XSD001" in with_schema.stdout
    assert "schema ours.xsd" in with_schema.stdout

    without = _run_hooks(samples, pre_commit_home, hooks_repository, "      - id: mcfcheck-schema\n")
    # pre-commit fails with 1 whatever the hook's status; the hook's own is 2: a usage error.
    assert without.returncode == 1, without.stdout + without.stderr
    assert "exit code: 2" in without.stdout
    assert "error: no --schema given" in without.stdout
