"""Build mcfcheck's C extension module (``mcfcheck.native._fastread``) in place, beside its source.

``make compile`` runs it after mypyc. It compiles against the headers of the lxml that
is installed (lxml ships them), so it is rebuilt whenever lxml changes; the module
refuses to load under another lxml, and mcfcheck then reads installations through
lxml's Python API instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

import lxml
from setuptools import Distribution, Extension

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    extension = Extension(
        "mcfcheck.native._fastread",
        [str(ROOT / "src/mcfcheck/native/_fastread.c")],
        include_dirs=lxml.get_include(),  # type: ignore[attr-defined] # not in lxml's stubs
        extra_compile_args=["-O2", "-Wall", "-Werror=implicit-function-declaration"],
    )
    distribution = Distribution({"ext_modules": [extension], "package_dir": {"": str(ROOT / "src")}})
    command = distribution.get_command_obj("build_ext")
    command.inplace = True
    command.build_temp = str(ROOT / "src/build/fastread")
    distribution.run_command("build_ext")
    # The copy beside the source keeps the build's time, truncated to the second: mark
    # it as made now, so that it never looks older than its source.
    built = Path(command.get_ext_fullpath(extension.name))
    built.touch()
    return 0


if __name__ == "__main__":
    sys.exit(main())
