"""A rule's options as typed data: each one's type, default, and the values it may take.

A rule declares its options in ``defaults``, by name: a plain value (its type is the
option's type) or an :class:`Option` with bounds or choices. Configuration may override
them; every value is checked here, once, when the run starts, so that a bad one is a
configuration error naming the file, the rule and the key, before any file is read.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

#: What an option's type is called in messages.
_TYPE_NAMES: Final = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}


@dataclass(frozen=True, slots=True)
class Option:
    """One option: its default, and the values it may take.

    The type is the default's (an ``int`` default admits whole numbers, a ``float`` one
    any number, a tuple of strings a list of strings); ``minimum`` and ``maximum`` bound
    a number; ``choices`` lists the strings admitted; ``iso_date`` asks a string to be a
    date as ``YYYY-MM-DD``; ``pattern`` is a regular expression every string of a list
    must match whole, with ``pattern_says`` saying in words what it admits.
    """

    default: bool | int | float | str | tuple[str, ...]
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    iso_date: bool = False
    pattern: str = ""
    pattern_says: str = ""

    def describe(self) -> str:
        """What values the option takes, for messages and documentation."""
        if isinstance(self.default, tuple):
            return f"a list of {self.pattern_says or 'strings'}"
        if self.choices:
            return "one of " + ", ".join(repr(choice) for choice in self.choices)
        if self.iso_date:
            return "a date as YYYY-MM-DD"
        kind = _TYPE_NAMES[type(self.default)]
        if self.minimum is not None and self.maximum is not None:
            return f"{kind} from {self.minimum:g} to {self.maximum:g}"
        if self.minimum is not None:
            return f"{kind} of at least {self.minimum:g}"
        if self.maximum is not None:
            return f"{kind} of at most {self.maximum:g}"
        return kind

    def shown(self) -> str:
        """The default as a configuration file writes it (a list as ``["234", "235"]``)."""
        if isinstance(self.default, tuple):
            return "[" + ", ".join(f'"{item}"' for item in self.default) + "]"
        return repr(self.default)

    def check(self, value: object) -> bool | int | float | str | tuple[str, ...]:
        """``value`` as the option's type; :class:`ValueError` saying what is expected otherwise."""
        kind = type(self.default)
        accepted: bool | int | float | str | tuple[str, ...]
        if kind is tuple:
            if not isinstance(value, list | tuple) or not all(
                isinstance(item, str) and (not self.pattern or re.fullmatch(self.pattern, item)) for item in value
            ):
                raise ValueError(self.describe())
            accepted = tuple(str(item) for item in value)
        elif kind is bool:
            if not isinstance(value, bool):
                raise ValueError(self.describe())
            accepted = value
        elif kind is int or kind is float:
            whole = isinstance(value, int) and not isinstance(value, bool)
            if not (whole or (kind is float and isinstance(value, float))):
                raise ValueError(self.describe())
            assert isinstance(value, int | float)
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(self.describe())
            if (self.minimum is not None and value < self.minimum) or (
                self.maximum is not None and value > self.maximum
            ):
                raise ValueError(self.describe())
            # A number option takes a whole number as the nearest number it can hold; one
            # beyond any float (10**400 in TOML) is no number it can take.
            try:
                accepted = float(value) if kind is float else value
            except OverflowError:
                raise ValueError(self.describe()) from None
        else:
            if not isinstance(value, str) or (self.choices and value not in self.choices):
                raise ValueError(self.describe())
            if self.iso_date:
                try:
                    dt.date.fromisoformat(value)
                except ValueError:
                    raise ValueError(self.describe()) from None
            accepted = value
        return accepted


def option_specs(defaults: Mapping[str, object]) -> dict[str, Option]:
    """A rule's options, each as an :class:`Option` (plain defaults made into one)."""
    specs: dict[str, Option] = {}
    for name, default in defaults.items():
        if isinstance(default, Option):
            specs[name] = default
        elif isinstance(default, bool | int | float | str) or (
            isinstance(default, tuple) and all(isinstance(item, str) for item in default)
        ):
            specs[name] = Option(default)
        else:
            raise TypeError(f"option {name!r} has a default of type {type(default).__name__}")
    return specs


def default_values(defaults: Mapping[str, object]) -> dict[str, object]:
    """The options' default values."""
    return {name: spec.default for name, spec in option_specs(defaults).items()}
