"""SARIF logs checked by a real SARIF validator: the SARIF Multitool's ``validate``.

``make test`` installs it from the npm registry into ``node_modules/`` (``package.json``
pins its version). It checks a log against the SARIF 2.1.0 JSON Schema it carries and
against its own rules of the specification, and writes what it finds as a SARIF log.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from .conftest import ROOT

MULTITOOL = ROOT / "node_modules" / ".bin" / "sarif-multitool"


def sarif_errors(log: Path) -> list[str]:
    """What the SARIF Multitool's validator reports at error level in the SARIF log ``log``, one line each."""
    if not MULTITOOL.exists():
        pytest.fail(f"no SARIF validator at {MULTITOOL}: `make sarif-validator` installs it (make test does)")
    found = log.with_name(f"{log.name}.validation.sarif")
    command = [str(MULTITOOL), "validate", str(log), "--output", str(found), "--log", "ForceOverwrite", "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    (run,) = json.loads(found.read_text(encoding="utf-8"))["runs"]
    assert all(invocation["executionSuccessful"] for invocation in run["invocations"]), run["invocations"]
    return [
        f"{result['ruleId']}: {', '.join(result['message'].get('arguments', []))}"
        for result in run.get("results", [])
        if result.get("level", "warning") == "error"
    ]


def check_sarif(text: str, folder: Path) -> None:
    """Write the SARIF log ``text`` into ``folder`` and assert that the validator finds no error in it."""
    log = folder / "checked.sarif"
    log.write_text(text, encoding="utf-8")
    assert sarif_errors(log) == []
