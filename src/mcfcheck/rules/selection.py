"""Which rules run: select and ignore lists of code prefixes, the longest prefix deciding."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

#: Selects every code.
ALL = "ALL"


def _longest_match(code: str, prefixes: Iterable[str]) -> int:
    """The length of the longest prefix of ``code`` among ``prefixes`` (ALL matches with 0), or -1."""
    lengths = [0 if prefix == ALL else len(prefix) for prefix in prefixes if prefix == ALL or code.startswith(prefix)]
    return max(lengths, default=-1)


@dataclass(frozen=True, slots=True)
class Selection:
    """Selected and ignored code prefixes.

    A code runs when its longest matching prefix in ``select`` (plus ``extend_select``)
    is longer than its longest matching prefix in ``ignore``; on a tie, ignore wins.
    ``ALL`` matches every code, as the shortest possible prefix.
    """

    select: tuple[str, ...] = (ALL,)
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()

    def is_selected(self, code: str) -> bool:
        """Whether the rule with ``code`` runs (asked for every rule of every file: decided once)."""
        return _is_selected(self, code)


@functools.lru_cache(maxsize=4096)
def _is_selected(selection: Selection, code: str) -> bool:
    selected = _longest_match(code, (*selection.select, *selection.extend_select))
    ignored = _longest_match(code, selection.ignore)
    return selected >= 0 and selected > ignored
