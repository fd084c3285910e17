"""What a rule is: its code, name, severity, cohorts, what it visits, and its options."""

from __future__ import annotations

import enum
import functools
import inspect
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, ClassVar, Final

from mcfcheck.findings import Location, Severity
from mcfcheck.rules.options import default_values
from mcfcheck.rules.provenance import Source, provenance
from mcfcheck.schema.binding import Binding, default_binding

if TYPE_CHECKING:
    from lxml import etree

    from mcfcheck.cache import Json
    from mcfcheck.rules.cohorts import Cohort
    from mcfcheck.rules.ledger import InstallationLedger
    from mcfcheck.rules.views import DeviceView, HeaderView, InstallationView, TrailerView

#: Rule codes: a pack prefix of three upper-case letters, then three digits (GEN001).
CODE_PATTERN: Final = re.compile(r"^[A-Z]{3}[0-9]{3}$")
#: Rule names: lower-case words joined by hyphens (mpan-check-digit).
NAME_PATTERN: Final = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


class Visit(enum.Enum):
    """The parts of a file a rule can ask to see, in the order the file holds them."""

    HEADER = "header"
    INSTALLATION = "installation"
    DEVICE = "device"
    TRAILER = "trailer"


@dataclass(frozen=True, slots=True)
class Problem:
    """What a rule reports: a message and the element it concerns (for line and XPath).

    Problems reported from :meth:`Rule.finish`, when elements are gone, give their
    place with ``line``, ``xpath``, ``installation`` and that installation's
    ``status`` instead (:meth:`InstallationLedger.locate` tells all four). ``related``
    are the other places the problem concerns (see :attr:`mcfcheck.findings.Finding.related`).
    """

    message: str
    element: etree._Element | None = None
    line: int | None = None
    xpath: str | None = None
    installation: str | None = None
    status: str | None = None
    related: tuple[Location, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleContext:
    """What every rule of a file can read: the file, its cohort and the installations seen."""

    file: str
    cohort: Cohort
    ledger: InstallationLedger
    #: The SMETS1 Eligible Product Combinations list (CSV), when the user gives one.
    epcl: Path | None = None
    #: Where rules that spill to disk put named files another process can read, when
    #: the file is validated in parts; None for a single pass.
    spill_folder: Path | None = None
    #: Where the file's dialect holds what rules read (by default, mcfcheck's own dialect).
    binding: Binding = field(default_factory=default_binding)


class Rule:
    """The base of every rule. Subclasses set the class attributes and override visits.

    The class docstring is the rule's documentation: its first line is the summary
    shown by ``mcfcheck rules`` and in reports; the rest shows a failing and a passing
    example. Where the rule comes from is said apart from it, by :attr:`sources` (and
    :attr:`reading`) or by :attr:`own_check` (see :mod:`mcfcheck.rules.provenance`).

    A rule that spans records keeps small state and reports from :meth:`finish`.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity] = Severity.ERROR
    #: The cohorts (IOC, CB, SECURE, FOC) the rule applies to; empty means all.
    cohorts: ClassVar[frozenset[str]] = frozenset()
    visits: ClassVar[frozenset[Visit]] = frozenset()
    #: The concepts the rule reads (:data:`mcfcheck.schema.binding.CONCEPTS`): a rule runs
    #: on a file only where the file's binding places them all. None (the default, for
    #: rules written before bindings) means every concept.
    reads: ClassVar[frozenset[str] | None] = None
    #: Whether the rule checks across files (``mcfcheck batch``, with its ledger) rather than in
    #: one: it visits nothing in a file, and the batch reports its findings.
    across_files: ClassVar[bool] = False
    #: The rule's options, by name: a default value (its type is the option's), or an
    #: :class:`mcfcheck.rules.options.Option` with bounds or choices. Configuration may
    #: override them; each value is checked when the run starts.
    defaults: ClassVar[Mapping[str, object]] = {}
    #: The clauses of public documents the rule checks, each with what it says.
    sources: ClassVar[tuple[Source, ...]] = ()
    #: Where the rule reads more into its sources than they say (a convention, an
    #: inference about what a file must therefore hold): what mcfcheck reads into them.
    reading: ClassVar[str] = ""
    #: For a check no document gives: why a correct file must pass it.
    own_check: ClassVar[str] = ""

    def __init__(self, context: RuleContext, options: Mapping[str, object]) -> None:
        self.context = context
        self.options = {**_default_values(type(self)), **options}
        #: What this rule visits in this file; a rule with nothing to check for a file
        #: (EPC001 without a list) empties it, and is then never called.
        self.active_visits: frozenset[Visit] = type(self).visits

    @classmethod
    def summary(cls) -> str:
        """The first line of the rule's documentation."""
        return cls.docstring().split("\n", 1)[0].strip()

    @classmethod
    def docstring(cls) -> str:
        """The rule's docstring, read from its source if compiled away."""
        return inspect.cleandoc(cls.__doc__ or source_docstrings(cls.__module__).get(cls.__qualname__, ""))

    @classmethod
    def documentation(cls) -> str:
        """The rule's whole documentation: its summary, where it comes from, then the rest of its docstring."""
        summary, _, rest = cls.docstring().partition("\n")
        parts = [summary.strip(), provenance(cls.sources, cls.reading, cls.own_check), rest.strip()]
        return "\n\n".join(part for part in parts if part)

    def header(self, header: HeaderView) -> Iterator[Problem]:
        """Check the file's header."""
        return iter(())

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        """Check one installation."""
        return iter(())

    def device(self, device: DeviceView, installation: InstallationView) -> Iterator[Problem]:
        """Check one device of an installation (the Communications Hub included)."""
        return iter(())

    def trailer(self, trailer: TrailerView) -> Iterator[Problem]:
        """Check the file's trailer."""
        return iter(())

    def finish(self) -> Iterator[Problem]:
        """Report what only the whole file shows; called once, after the trailer."""
        return iter(())

    def state(self) -> object:
        """What this rule gathered over a part of a file, for :meth:`merge` in another process.

        Rules whose :meth:`finish` or trailer check depends on every installation
        return their state (picklable); others return None.
        """
        return None

    def merge(self, states: Sequence[object]) -> None:
        """Take the states of the parts of a file, in file order, before the trailer and finish."""

    def outcome(self) -> object:
        """What the rule concluded over the whole file, for a caller that asks; None by default.

        Asked once the trailer and the finish step have run, before :meth:`close`; it
        must be picklable (a worker hands it back). ``mcfcheck stats`` reads its counts so.
        """
        return None

    @classmethod
    def merges_parts(cls) -> bool:
        """Whether the rule gives the same answer on a file validated in parts as in one pass.

        A rule that reports from :meth:`trailer` or :meth:`finish` may depend on every
        installation of the file, which no part has seen alone: it must say what it
        gathered (:meth:`state`) and how to take in the parts' (:meth:`merge`). A rule
        that reports from those steps without both is run on files validated in a
        single pass.
        """

        def overrides(name: str) -> bool:
            return getattr(cls, name) is not getattr(Rule, name)

        if not (overrides("trailer") or overrides("finish")):
            return True
        return overrides("state") and overrides("merge")

    def close(self) -> None:
        """Release what the rule holds (temporary files); called once the file is done."""


class StagedRule(Rule):
    """A rule (a collector of ``stats``, ``convert``, ``split``, ``diff``) whose process writes files of its own.

    Each process of a file validated in parts stages what it read in its own files
    (:meth:`staged`); the parent takes the parts' (:meth:`state`, :meth:`merge`), and
    :meth:`staged_files` gives every one in file order, its own last.
    """

    def __init__(self, context: RuleContext, options: Mapping[str, object]) -> None:
        super().__init__(context, options)
        #: The parts' staged files, in file order.
        self.parts: list[object] = []

    def staged(self) -> object:
        """This process's staged files, closed (asked more than once: the same each time)."""
        raise NotImplementedError

    def staging_file(self, prefix: str) -> tuple[str, BinaryIO]:
        """A new file of this process's in the folder the ``staging`` option names: its name, open to write."""
        staging = self.options["staging"]
        assert isinstance(staging, str)
        assert staging, f"{self.code} needs a staging folder"
        descriptor, name = tempfile.mkstemp(prefix=prefix, suffix=".txt", dir=staging)
        return name, os.fdopen(descriptor, "wb", buffering=1 << 20)

    def state(self) -> object:
        return [self.staged()]

    def merge(self, states: Sequence[object]) -> None:
        for state in states:
            assert isinstance(state, list)
            self.parts.extend(state)

    def staged_files(self) -> list[object]:
        """Every staged file of the file, in file order: the parts', then this process's own."""
        return [*self.parts, self.staged()]


#: Each rule's options' default values, by rule.
_DEFAULTS: dict[type[Rule], dict[str, object]] = {}


def _default_values(rule: type[Rule]) -> dict[str, object]:
    """A rule's options' default values (each file makes its rules: worked out once a rule)."""
    found = _DEFAULTS.get(rule)
    if found is None:
        found = _DEFAULTS[rule] = default_values(rule.defaults)
    return found


@functools.cache
def source_docstrings(module_name: str) -> dict[str, str]:
    """The docstrings of a module (under ``""``) and of its top-level classes, read from its source.

    A rule pack compiled to an extension module (mcfcheck compiles its own with
    mypyc) keeps no class docstrings; its source beside it still has them. Parsing the
    sources is a good part of a small file's run: what they give is kept in the cache
    (:mod:`mcfcheck.cache`) until the source changes.
    """
    file = getattr(sys.modules.get(module_name), "__file__", None)
    if not file:
        return {}
    path = Path(file)
    source = path if path.suffix == ".py" else path.with_name(path.name.split(".", 1)[0] + ".py")
    from mcfcheck.cache import cached, file_key

    return cached(
        "docstrings", str(source), file_key(source), lambda: _parsed_docstrings(source), _encoded, _decoded_docstrings
    )


def _parsed_docstrings(source: Path) -> dict[str, str]:
    import ast

    try:
        tree = ast.parse(source.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return {}
    found = {node.name: ast.get_docstring(node) or "" for node in tree.body if isinstance(node, ast.ClassDef)}
    return {"": ast.get_docstring(tree) or "", **found}


def _encoded(docstrings: dict[str, str]) -> Json:
    return dict(docstrings)


def _decoded_docstrings(value: Json) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(text, str) for text in value.values()):
        raise TypeError("not docstrings by name")
    return {name: str(text) for name, text in value.items()}
