"""Layering: the library core never imports the command line's packages."""

from __future__ import annotations

import subprocess
import sys

CORE = (
    "mcfcheck",
    "mcfcheck.check.file",
    "mcfcheck.schema.loading",
    "mcfcheck.run.batch",
    "mcfcheck.rules.config",
    "mcfcheck.generate",
    "mcfcheck.testing",
    "mcfcheck.rules.engine",
    "mcfcheck.rules.registry",
)


def test_core_modules_import_neither_typer_nor_rich() -> None:
    program = (
        f"import sys\nfor name in {CORE!r}:\n    __import__(name)\n"
        "from mcfcheck.rules.registry import load_registry\nload_registry()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'rich', 'click')))"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
