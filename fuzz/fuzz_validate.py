"""A coverage-guided fuzzer (atheris) for mcfcheck's validation of whole files.

Run it with ``make fuzz`` (a bounded run) or directly for longer runs::

    .venv/bin/python fuzz/fuzz_validate.py fuzz/corpus -max_total_time=3600

Each input is validated as an MCF file with every rule on. Any exception other than
mcfcheck's own one-line errors, a multi-line error, or a crash is a finding: atheris
stops and writes the input to a ``crash-*`` file.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    import mcfcheck

WORKDIR = Path(tempfile.mkdtemp(prefix="mcfcheck-fuzz-"))
TARGET = WORKDIR / "input.xml"


def test_one_input(data: bytes) -> None:
    """Validate one input; mcfcheck must answer with a report, never an exception."""
    TARGET.write_bytes(data)
    report = mcfcheck.validate(TARGET)
    if report.error is not None and "\n" in report.error:
        raise AssertionError(f"a multi-line error: {report.error!r}")


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
