"""The wheel's compiled build: mcfcheck's hot modules compiled with mypyc, and its C module.

Hatchling runs this hook for every wheel it builds (``pip install .``, ``pip wheel .``,
``python -m build``, cibuildwheel). It compiles the modules that run once per installation
(``compiled`` in ``[tool.hatch.build.targets.wheel.hooks.custom]``) with mypyc, and
``mcfcheck.native._fastread`` (C, against the headers of the lxml in the build
environment), into a temporary folder, and adds the extension modules to the wheel beside
the sources, which the wheel keeps (the rules' documentation is read from them, and type
checkers read them). The wheel is then tagged for this Python and platform, and requires
the very lxml the C module was compiled against: the module refuses to load under another.

Nothing is built beside the sources: an editable install runs the sources as they are.

What cannot be built is left out with a one-line message, and the wheel says so by what it
holds (``mcfcheck --version`` says which build runs): without a C compiler or Python's
headers, a pure-Python wheel; without lxml's headers, the mypyc modules alone.
``MCFCHECK_PURE=1`` at build time builds the pure-Python wheel without trying, and
``MCFCHECK_REQUIRE_COMPILED=1`` makes anything short of the whole compiled build an error
(cibuildwheel sets it).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

#: Set to 1 at build time: a pure-Python wheel, nothing compiled.
PURE_VARIABLE = "MCFCHECK_PURE"
#: Set to 1 at build time: fail unless both the mypyc modules and the C module are built.
REQUIRE_VARIABLE = "MCFCHECK_REQUIRE_COMPILED"
#: What the compiled build needs in the build environment (pip installs it there), besides
#: mcfcheck's own dependencies and the typing stubs of its type checks (the dev extra's
#: ``types-*``): mypyc compiles from the types mypy infers, and mypy checks the modules as
#: strictly as ``make typecheck`` does, so it needs every package they import. lxml, one
#: of them, ships the headers the C module is compiled against.
BUILD_REQUIREMENTS = [
    # mypyc, the version whose compiled build mcfcheck's tests pass on.
    "mypy==2.4.1",
    # Compiles the C sources of both (mypyc's build goes through it too).
    "setuptools>=65",
]


class CompileError(Exception):
    """Part of the compiled build could not be built; the message says which and why."""


def _module_name(source: Path, sources_root: Path) -> str:
    return ".".join(source.relative_to(sources_root).with_suffix("").parts)


class CompiledBuild(BuildHookInterface):  # type: ignore[type-arg] # generic over its config in hatchling
    """Adds the compiled modules to a standard wheel (never to an editable one)."""

    PLUGIN_NAME = "custom"

    def dependencies(self) -> list[str]:
        if os.environ.get(PURE_VARIABLE) == "1":
            return []
        core = self.metadata.core
        stubs = [
            requirement for requirement in core.optional_dependencies.get("dev", []) if requirement.startswith("types-")
        ]
        return [*BUILD_REQUIREMENTS, *core.dependencies, *stubs]

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        if os.environ.get(PURE_VARIABLE) == "1":
            self._say(f"{PURE_VARIABLE}=1: a pure-Python wheel (mcfcheck runs as plain Python)")
            return
        self._folder = Path(tempfile.mkdtemp(prefix="mcfcheck-build-"))
        built: dict[Path, str] = {}
        try:
            built.update(self._build_mypyc())
        except CompileError as error:
            self._give_up(error, "a pure-Python wheel (mcfcheck runs as plain Python)")
            return
        try:
            built.update(self._build_c_module(build_data))
        except CompileError as error:
            self._give_up(error, "the wheel reads installations through lxml's Python API")
        for path, target in built.items():
            build_data["force_include"][str(path)] = target
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        self._say(f"compiled {len(built)} extension modules into the wheel")

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        folder = getattr(self, "_folder", None)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def _say(self, message: str) -> None:
        print(f"mcfcheck build: {message}", file=sys.stderr, flush=True)

    def _give_up(self, error: CompileError, fallback: str) -> None:
        """Say what could not be built and what the wheel is instead, or fail where the whole build is required."""
        if os.environ.get(REQUIRE_VARIABLE) == "1":
            raise RuntimeError(f"mcfcheck build: {error}, and {REQUIRE_VARIABLE}=1 asks for the whole compiled build")
        self._say(f"{error}: {fallback}")

    def _sources(self) -> list[Path]:
        """The modules to compile with mypyc, from the hook's ``compiled`` patterns."""
        root = Path(self.root)
        patterns = self.config.get("compiled", [])
        found = sorted({path for pattern in patterns for path in root.glob(pattern) if path.name != "__init__.py"})
        if not found:
            raise CompileError("no module to compile: see `compiled` in the hook's configuration")
        return found

    def _build_extensions(self, extensions: list[Any], folder: str, name: str) -> dict[Path, str]:
        """Build ``extensions`` with setuptools into ``folder`` of the temporary folder.

        Returns each built file and its place in the wheel.
        """
        from setuptools import Distribution

        output = self._folder / folder
        distribution = Distribution({"ext_modules": extensions, "script_name": "hatch_build.py"})
        command = distribution.get_command_obj("build_ext")
        command.build_lib = str(output / "lib")
        command.build_temp = str(output / "temp")
        try:
            distribution.run_command("build_ext")
        except (Exception, SystemExit) as error:
            raise CompileError(f"{name} could not be built ({type(error).__name__}: {error})") from error
        library = output / "lib"
        return {path: path.relative_to(library).as_posix() for path in sorted(library.rglob("*")) if path.is_file()}

    def _build_mypyc(self) -> dict[Path, str]:
        root = Path(self.root)
        sources = self._sources()
        try:
            from mypyc.build import mypycify
        except ImportError as error:
            raise CompileError(f"mypyc is not installed ({error})") from error
        self._say(f"compiling {len(sources)} modules with mypyc (about a minute)")
        try:
            extensions = mypycify(
                ["--config-file", str(root / "pyproject.toml"), *map(str, sources)],
                target_dir=str(self._folder / "mypyc-c"),
            )
        except (Exception, SystemExit) as error:
            raise CompileError(f"mypyc could not compile the modules ({type(error).__name__}: {error})") from error
        modules = {_module_name(source, root / "src") for source in sources}
        built = self._build_extensions(extensions, "mypyc", "the mypyc modules")
        missing = modules - {target.split(".", 1)[0].replace("/", ".") for target in built.values()}
        if missing:
            raise CompileError(f"mypyc built no extension module for {', '.join(sorted(missing))}")
        return built

    def _build_c_module(self, build_data: dict[str, Any]) -> dict[Path, str]:
        try:
            import lxml
            from setuptools import Extension
        except ImportError as error:
            raise CompileError(f"the C module needs lxml's headers ({error})") from error
        extension = Extension(
            "mcfcheck.native._fastread",
            [str(Path(self.root) / "src/mcfcheck/native/_fastread.c")],
            depends=[str(Path(self.root) / "src/mcfcheck/native/blake2b.h")],
            include_dirs=lxml.get_include(),  # type: ignore[attr-defined] # not in lxml's stubs
            extra_compile_args=["-O2", "-Wall", "-Werror=implicit-function-declaration"],
        )
        built = self._build_extensions([extension], "fastread", "the C module")
        # The C module loads only under the lxml whose headers it was compiled against.
        build_data["dependencies"].append(f"lxml=={lxml.__version__}")  # type: ignore[attr-defined] # not in lxml's stubs
        return built
