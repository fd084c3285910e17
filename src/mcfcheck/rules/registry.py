"""Finding the rules: packs load through the ``mcfcheck.rules`` entry-point group.

mcfcheck's own packs are declared in the same group as third-party ones. An entry
point names a rule class, or a sequence of them. Each rule is checked when it
registers (code and name format, severity, no duplicate code); a plugin that cannot
be loaded, or a rule that fails the checks, is reported by name and left out, and
the run goes on.

Finding the group's entry points reads the metadata of every installed distribution:
the list found is kept in the cache (:mod:`mcfcheck.cache`) until a distribution is
added, removed or changed.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, NamedTuple, Protocol

from mcfcheck.findings import Severity
from mcfcheck.rules.base import CODE_PATTERN, NAME_PATTERN, Rule, Visit
from mcfcheck.rules.options import option_specs
from mcfcheck.rules.provenance import Source
from mcfcheck.rules.selection import Selection
from mcfcheck.schema.binding import CONCEPT_NAMES

if TYPE_CHECKING:
    from mcfcheck.cache import Json

ENTRY_POINT_GROUP: Final = "mcfcheck.rules"


@dataclass
class RuleRegistry:
    """The rules found, by code, with the plugin each came from and the problems met."""

    rules: dict[str, type[Rule]] = field(default_factory=dict)
    plugins: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def register(self, plugin: str, rule: object) -> None:
        """Add one rule from ``plugin``, or note why it is refused."""
        problem = _registration_problem(rule)
        if problem is not None:
            self.problems.append(f"plugin {plugin!r}: {problem}")
            return
        assert isinstance(rule, type)
        assert issubclass(rule, Rule)
        if rule.code in self.rules:
            self.problems.append(
                f"plugin {plugin!r}: rule code {rule.code} is already used by plugin "
                f"{self.plugins[rule.code]!r} ({self.rules[rule.code].__name__}); {rule.__name__} is left out"
            )
            return
        self.rules[rule.code] = rule
        self.plugins[rule.code] = plugin

    def unmerged(self, selection: Selection) -> list[str]:
        """The selected rules that cannot merge what they gather across parts (see :meth:`Rule.merges_parts`)."""
        return [
            code for code, rule in sorted(self.rules.items()) if selection.is_selected(code) and not rule.merges_parts()
        ]

    def register_all(self, plugin: str, loaded: object) -> None:
        """Add what an entry point gave: a rule class or a sequence of them."""
        rules: Iterable[object]
        if isinstance(loaded, type):
            rules = (loaded,)
        elif isinstance(loaded, (list, tuple)):
            rules = loaded
        else:
            self.problems.append(f"plugin {plugin!r}: gives {type(loaded).__name__}, not rule classes")
            return
        for rule in rules:
            self.register(plugin, rule)


def _registration_problem(rule: object) -> str | None:
    if not (isinstance(rule, type) and issubclass(rule, Rule)):
        return f"{rule!r} is not a subclass of mcfcheck.rules.Rule"
    code = getattr(rule, "code", None)
    if not isinstance(code, str) or not CODE_PATTERN.match(code):
        return f"{rule.__name__} has code {code!r}, which is not three upper-case letters and three digits"
    name = getattr(rule, "name", None)
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        return f"{code} ({rule.__name__}) has name {name!r}, which is not lower-case words joined by hyphens"
    if not isinstance(rule.severity, Severity):
        return f"{code} ({rule.__name__}) has severity {rule.severity!r}, not a mcfcheck Severity"
    if (not rule.visits and not rule.across_files) or not all(isinstance(visit, Visit) for visit in rule.visits):
        return f"{code} ({rule.__name__}) does not say what it visits"
    if not rule.summary():
        return f"{code} ({rule.__name__}) has no documentation"
    reads = rule.reads
    if reads is not None:
        unknown = sorted(str(name) for name in reads if name not in CONCEPT_NAMES)
        if unknown:
            return (
                f"{code} ({rule.__name__}) reads {', '.join(repr(name) for name in unknown)}, "
                "which no binding can place (see mcfcheck.schema.binding.CONCEPTS)"
            )
    try:
        option_specs(rule.defaults)
    except TypeError as error:
        return f"{code} ({rule.__name__}): {error}"
    if not isinstance(rule.sources, tuple) or not all(isinstance(source, Source) for source in rule.sources):
        return f"{code} ({rule.__name__}) has sources that are not mcfcheck.rules.provenance.Source"
    if not rule.sources and not rule.own_check:
        return (
            f"{code} ({rule.__name__}) says neither where it comes from (sources) nor why a correct file "
            "must pass it (own_check)"
        )
    return None


class EntryPoint(Protocol):
    """What an entry point of the group gives: its name, what it names (``module:attribute``), and that loaded."""

    @property
    def name(self) -> str: ...
    @property
    def value(self) -> str: ...
    def load(self) -> object: ...


class PackEntryPoint(NamedTuple):
    """An entry point of the group, as the cache keeps it."""

    name: str
    value: str

    def load(self) -> object:
        """What the entry point names: the module, then each attribute in turn (extras in brackets ignored)."""
        module, _, attributes = self.value.split("[", 1)[0].partition(":")
        loaded: object = importlib.import_module(module.strip())
        for attribute in attributes.strip().split("."):
            if attribute:
                loaded = getattr(loaded, attribute)
        return loaded


def installed_packs() -> list[PackEntryPoint]:
    """The entry points of the group in the installed distributions, from the cache while they are unchanged."""
    from mcfcheck.cache import cached, distributions_key

    key = distributions_key()
    if key is None:
        return _found_packs()
    return cached("entry-points", "\n".join(sys.path), key, _found_packs, _encoded_packs, _decoded_packs)


def _found_packs() -> list[PackEntryPoint]:
    from importlib import metadata

    return [PackEntryPoint(point.name, point.value) for point in metadata.entry_points(group=ENTRY_POINT_GROUP)]


def _encoded_packs(packs: list[PackEntryPoint]) -> Json:
    return [[pack.name, pack.value] for pack in packs]


def _decoded_packs(value: Json) -> list[PackEntryPoint]:
    if not isinstance(value, list):
        raise TypeError("not a list of entry points")
    packs = []
    for pack in value:
        match pack:
            case [str(name), str(named)]:
                packs.append(PackEntryPoint(name, named))
            case _:
                raise TypeError("not an entry point")
    return packs


def load_registry(entry_points: Iterable[EntryPoint] | None = None) -> RuleRegistry:
    """Every rule the installed packs provide, loading each entry point in isolation."""
    registry = RuleRegistry()
    found = installed_packs() if entry_points is None else entry_points
    for entry_point in sorted(found, key=lambda point: point.name):
        try:
            loaded = entry_point.load()
        except Exception as error:  # a broken plugin must not stop the run
            registry.problems.append(
                f"plugin {entry_point.name!r} ({entry_point.value}) cannot be loaded: {type(error).__name__}: {error}"
            )
            continue
        registry.register_all(entry_point.name, loaded)
    return registry
