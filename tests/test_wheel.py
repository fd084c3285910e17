"""The wheel that ``pip install .`` gives: every file the package reads, its tag, what it requires.

``make test`` builds the wheel (hatch_build.py compiles into it), names its file in
``MCFCHECK_WHEEL`` and what it holds in ``MCFCHECK_BUILD``, and runs the tests on it,
installed. The pure-Python wheel (``MCFCHECK_PURE=1`` at build time) is built here.
"""

from __future__ import annotations

import email.message
import email.parser
import importlib.metadata
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import mcfcheck
from mcfcheck.schema.loading import schemas_folder

from .conftest import ROOT, SCHEMAS

PACKAGE = ROOT / "src" / "mcfcheck"
#: Modules that run once per installation: a compiled wheel holds each as an extension module.
HOT_MODULES = ("mcfcheck/rules/engine", "mcfcheck/rules/views", "mcfcheck/rules/packs/common", "mcfcheck/check/file")


def _names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def _dist_info(wheel: Path, name: str) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        (path,) = [item for item in archive.namelist() if item.endswith(f".dist-info/{name}")]
        return email.parser.Parser().parsestr(archive.read(path).decode("utf-8"))


def _package_files() -> list[str]:
    """Every file of the package in the sources and of the bundled schemas, where the wheel must hold it."""
    sources = [
        "mcfcheck/" + path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".so")
    ]
    return sorted([*sources, *(f"mcfcheck/schemas/{path.name}" for path in SCHEMAS.iterdir() if path.is_file())])


@pytest.fixture(scope="module")
def pure_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built with MCFCHECK_PURE=1 (with this environment's hatchling, offline)."""
    folder = tmp_path_factory.mktemp("pure-wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*command, "--wheel-dir", str(folder), str(ROOT)],
        env={**os.environ, "MCFCHECK_PURE": "1"},
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = folder.glob("mcfcheck-*.whl")
    return wheel


def _built_wheel() -> Path | None:
    """The wheel make test built and installed, if this run was given one."""
    named = os.environ.get("MCFCHECK_WHEEL")
    return Path(named) if named else None


def test_the_wheels_hold_every_file_of_the_package(pure_wheel: Path) -> None:
    expected = _package_files()
    # The files that are read at run time, by name: a package without them is broken.
    for name in ("py.typed", "rules/cohorts.toml", "rules/bank_holidays.json", "schemas/mcf-1.0.xsd"):
        assert f"mcfcheck/{name}" in expected, name
    assert "mcfcheck/schemas/mcfcheck-report-1.1.schema.json" in expected
    for wheel in (pure_wheel, _built_wheel()):
        if wheel is not None:
            missing = sorted(set(expected) - _names(wheel))
            assert missing == [], f"{wheel.name} lacks {missing}"


def test_the_pure_wheel_is_for_any_platform_and_holds_nothing_compiled(pure_wheel: Path) -> None:
    assert pure_wheel.name == f"mcfcheck-{mcfcheck.__version__}-py3-none-any.whl"
    assert _dist_info(pure_wheel, "WHEEL")["Root-Is-Purelib"] == "true"
    assert not [name for name in _names(pure_wheel) if name.endswith(".so")]
    requires = _dist_info(pure_wheel, "METADATA").get_all("Requires-Dist") or []
    assert "lxml>=6.1" in requires
    assert not [requirement for requirement in requires if requirement.startswith("lxml==")]


def test_the_wheel_make_test_built_holds_what_it_says() -> None:
    wheel = _built_wheel()
    build = os.environ.get("MCFCHECK_BUILD")
    if wheel is None or build is None:
        pytest.fail("make test runs this test on the wheel it builds (MCFCHECK_WHEEL and MCFCHECK_BUILD)")
    names = _names(wheel)
    extensions = {name.split(".", 1)[0] for name in names if name.endswith(".so")}
    tag = _dist_info(wheel, "WHEEL")["Tag"]
    requires = _dist_info(wheel, "METADATA").get_all("Requires-Dist") or []
    if build == "plain":
        assert (tag, extensions) == ("py3-none-any", set())
        return
    # A wheel for this Python and platform, with the hot modules compiled beside their sources.
    assert tag.startswith(f"cp{sys.version_info.major}{sys.version_info.minor}-"), tag
    assert not tag.endswith("-any"), tag
    assert set(HOT_MODULES) <= extensions
    assert all(f"{module}.py" in names for module in HOT_MODULES)
    assert ("mcfcheck/native/_fastread" in extensions) == (build == "compiled")
    # The C module loads only under the lxml it was compiled against: the wheel requires that one.
    pins = [requirement for requirement in requires if requirement.startswith("lxml==")]
    assert pins == ([f"lxml=={importlib.metadata.version('lxml')}"] if build == "compiled" else [])


def test_the_installed_package_reads_its_own_data() -> None:
    if _built_wheel() is None:
        pytest.fail("make test runs this test on the wheel it builds and installs (MCFCHECK_WHEEL)")
    package = Path(mcfcheck.__file__).resolve().parent
    # The schemas bundled in the package, not those of the checkout beside it.
    assert schemas_folder().resolve() == package / "schemas"
    assert (package / "py.typed").is_file()
