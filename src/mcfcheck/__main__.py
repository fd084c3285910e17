"""Run mcfcheck as ``python -m mcfcheck``."""

from __future__ import annotations

import sys

from mcfcheck.cli import main

sys.exit(main())
