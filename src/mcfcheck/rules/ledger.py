"""Which installation a line belongs to, for problems reported once the file has ended."""

from __future__ import annotations

from array import array
from bisect import bisect_right

from mcfcheck.rules.keys import Spill


class InstallationLedger:
    """Every installation's first line and reference: 12 bytes each, the references on disk."""

    def __init__(self, spill: Spill) -> None:
        self._spill = spill
        self._lines = array("I")
        self._references = array("Q")
        self.parent_path = ""

    def __len__(self) -> int:
        return len(self._lines)

    def add(self, line: int, reference: str | None, parent_path: str) -> None:
        """Record the next installation: where it starts and its reference."""
        self.parent_path = parent_path
        self._lines.append(min(line, 0xFFFFFFFF))
        self._references.append(self._spill.write((reference or "").encode("utf-8")))

    def locate(self, line: int) -> tuple[int, str | None]:
        """The 1-based position and the reference of the installation holding ``line``."""
        position = bisect_right(self._lines, line)
        if position == 0:
            return 0, None
        reference = self._spill.read(self._references[position - 1]).decode("utf-8")
        return position, reference or None

    def xpath(self, position: int, inner: str = "") -> str:
        """The XPath of the installation at ``position``, with ``inner`` (starting with /) appended."""
        return f"{self.parent_path}/Installation[{position}]{inner}"
