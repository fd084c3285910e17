"""Running the rules of a file's cohort over the parts the streaming parse hands over.

The validator parses the file once; it gives the engine the header when the first
installation arrives (the header is complete by then), each installation before
releasing it, and the trailer at the end. The engine picks the cohort from the
header's GroupID, builds the selected rules that apply to it, and dispatches each part
to the rules that visit it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Final

from lxml import etree

from mcfcheck.errors import ConfigError
from mcfcheck.findings import Finding, Location, Severity
from mcfcheck.rules.base import Problem, Rule, RuleContext, Visit
from mcfcheck.rules.cohorts import Cohort, builtin_cohorts
from mcfcheck.rules.ledger import InstallationLedger, LedgerState
from mcfcheck.rules.registry import RuleRegistry
from mcfcheck.rules.selection import Selection
from mcfcheck.rules.views import DeviceView, HeaderView, InstallationView, Reader, TrailerView
from mcfcheck.schema.binding import CONCEPT_NAMES, Binding, BindingSet, default_binding

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

#: The code of the engine's own check that the header's GroupID names a known cohort.
UNKNOWN_GROUP_ID: Final = "COH001"
UNKNOWN_GROUP_ID_SUMMARY: Final = "The header's GroupID must name a known cohort"

#: Turns an element into its place: line, column and XPath.
Locator = Callable[[etree._Element], tuple[int | None, int | None, str | None]]


def field_values(instance: DataclassInstance) -> tuple[object, ...]:
    """A dataclass's field values, in order: what its ``__reduce__`` pickles.

    Compiled with mypyc, a frozen dataclass cannot be unpickled attribute by attribute,
    so the frozen records sent to worker processes pickle as their constructor's arguments.
    """
    return tuple(getattr(instance, item.name) for item in fields(instance))


@dataclass(frozen=True)
class PartState:
    """What the rules of one part of a file hand to the process that merges the parts."""

    rules: dict[str, object]
    ledger: LedgerState

    def __reduce__(self) -> tuple[type[PartState], tuple[object, ...]]:
        return type(self), field_values(self)


@dataclass(frozen=True)
class RuleSettings:
    """How rules run: which, with what options and severities, for which cohorts."""

    selection: Selection = field(default_factory=Selection)
    #: Options by rule code or name.
    options: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    #: Severity overrides by rule code.
    severities: Mapping[str, Severity] = field(default_factory=dict)
    cohorts: Mapping[str, Cohort] = field(default_factory=builtin_cohorts)
    #: The SMETS1 Eligible Product Combinations list, when the user gives one.
    epcl: Path | None = None
    #: The dialects' bindings, chosen by a file's namespace (the bundled ones by default).
    bindings: BindingSet = field(default_factory=BindingSet.of)
    #: Whether rules run (False: the schema only, the bindings still naming each file's
    #: record element).
    run_rules: bool = True
    #: Whether files are validated against their schema (False: ``mcfcheck stats``, which
    #: reads what the bindings place; the schema still says where records stand).
    check_schema: bool = True

    def __reduce__(self) -> tuple[type[RuleSettings], tuple[object, ...]]:
        return type(self), field_values(self)

    def cohort_for(self, group_id: str | None) -> Cohort | None:
        """The cohort one of whose GroupIDs is ``group_id``."""
        return next((cohort for cohort in self.cohorts.values() if group_id in cohort.group_ids), None)


def selected_rules(registry: RuleRegistry, selection: Selection, cohort: str | None) -> list[str]:
    """The codes of the rules selected for a file of ``cohort``, in code order.

    The rules for every cohort, and those of ``cohort``; where the cohort is not known
    (None), every selected rule, as none can be told not to apply. The engine's own check
    (:data:`UNKNOWN_GROUP_ID`) is not among them, nor the rules across files, which look at
    no file alone (``mcfcheck batch`` runs them).
    """
    return [
        code
        for code, rule_class in sorted(registry.rules.items())
        if selection.is_selected(code)
        and not rule_class.across_files
        and (cohort is None or not rule_class.cohorts or cohort in rule_class.cohorts)
    ]


def skipped_without_engine(registry: RuleRegistry, selection: Selection, cohort: str | None) -> list[str]:
    """The codes of what did not run on a file where no rule could (no binding, no engine), in code order.

    Every rule selected for ``cohort`` (see :func:`selected_rules`), and the engine's own
    check of the GroupID if it is selected.
    """
    codes = selected_rules(registry, selection, cohort)
    if selection.is_selected(UNKNOWN_GROUP_ID):
        codes.append(UNKNOWN_GROUP_ID)
    return sorted(codes)


class RuleEngine:
    """The rules of one file, and their dispatch."""

    def __init__(
        self,
        registry: RuleRegistry,
        settings: RuleSettings,
        file: str,
        spill_folder: Path | None = None,
        binding: Binding | None = None,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.file = file
        self.spill_folder = spill_folder
        self.binding = binding or default_binding()
        self.reader = Reader(self.binding)
        self.ledger = InstallationLedger(spill_folder, self.binding.record)
        #: The selected rules of the file's cohort that did not run, each with the
        #: concepts its binding lacks (the engine's own GroupID check among them where
        #: the binding has no group_id); and how many were selected for the cohort.
        self.not_run: list[tuple[str, tuple[str, ...]]] = []
        self.selected = 0
        self._rules: list[Rule] = []
        self._by_visit: dict[Visit, list[Rule]] = {visit: [] for visit in Visit}
        # The installation and device checks, bound once: they run for every installation.
        self._installation_checks: list[tuple[Rule, Callable[[InstallationView], Iterable[Problem]]]] = []
        self._device_checks: list[tuple[Rule, Callable[[DeviceView, InstallationView], Iterable[Problem]]]] = []
        self._started = False

    def close(self) -> None:
        """Release the rules' and the ledger's temporary files."""
        for rule in self._rules:
            rule.close()
        self.ledger.close()

    def _build(self, cohort: Cohort) -> None:
        context = RuleContext(self.file, cohort, self.ledger, self.settings.epcl, self.spill_folder, self.binding)
        # Without a GroupID to read, the cohort is not known: no rule can be told not to apply.
        known = cohort.name if "group_id" in self.binding.concepts else None
        for code in selected_rules(self.registry, self.settings.selection, known):
            rule_class = self.registry.rules[code]
            self.selected += 1
            reads = CONCEPT_NAMES if rule_class.reads is None else rule_class.reads
            if rule_class.cohorts:
                reads = reads | {"group_id"}
            missing = self.binding.missing(reads)
            if missing:
                self.not_run.append((code, tuple(missing)))
                continue
            options = {
                **self.settings.options.get(rule_class.name, {}),
                **self.settings.options.get(code, {}),
            }
            try:
                rule = rule_class(context, options)
            except (ValueError, TypeError) as error:
                raise ConfigError(f"{code} ({rule_class.name}): invalid options: {error}") from None
            self._rules.append(rule)
            for visit in rule.active_visits:
                self._by_visit[visit].append(rule)
            if Visit.INSTALLATION in rule.active_visits:
                self._installation_checks.append((rule, rule.installation))
            if Visit.DEVICE in rule.active_visits:
                self._device_checks.append((rule, rule.device))
        if known is None and self.settings.selection.is_selected(UNKNOWN_GROUP_ID):
            # The engine's own check of the GroupID cannot run either.
            self.selected += 1
            self.not_run.append((UNKNOWN_GROUP_ID, ("group_id",)))
            self.not_run.sort()

    def _finding(
        self,
        rule: Rule,
        problem: Problem,
        locate: Locator | None,
        installation: str | None,
        status: str | None = None,
    ) -> Finding:
        line, column, xpath = problem.line, None, problem.xpath
        if problem.element is not None and locate is not None:
            line, column, xpath = locate(problem.element)
        return Finding(
            code=rule.code,
            message=problem.message,
            severity=self.settings.severities.get(rule.code, rule.severity),
            location=Location(
                self.file,
                line,
                column,
                xpath,
                problem.installation or installation,
                problem.status or (status if problem.installation in (None, installation) else None),
            ),
            rule=rule.name,
            related=problem.related,
        )

    def _run(
        self,
        visit: Visit,
        call: Callable[[Rule], Iterable[Problem]],
        locate: Locator | None,
        installation: str | None = None,
    ) -> Iterator[Finding]:
        for rule in self._by_visit[visit]:
            for problem in call(rule):
                yield self._finding(rule, problem, locate, installation)

    def header(self, element: etree._Element | None, locate: Locator) -> Iterator[Finding]:
        """Choose the cohort from the header and run the header rules."""
        self._started = True
        view = HeaderView(element, self.binding) if element is not None else None
        group_id = view.group_id if view is not None else None
        cohort = self.settings.cohort_for(group_id)
        if cohort is None and "group_id" in self.binding.concepts:
            known = ", ".join(f"{each} ({c.name})" for c in self.settings.cohorts.values() for each in c.group_ids)
            target = view.place("group_id") if view is not None else None
            line, column, xpath = locate(target) if target is not None else (None, None, None)
            yield Finding(
                code=UNKNOWN_GROUP_ID,
                message=f"GroupID {group_id!r} names no known cohort; known GroupIDs: {known}",
                severity=Severity.ERROR,
                location=Location(self.file, line, column, xpath, None),
                rule="unknown-group-id",
            )
        if cohort is None:
            # Only the rules for every cohort can run.
            cohort = Cohort("UNKNOWN", "unknown cohort", (group_id,) if group_id else (), (), (), "", 0)
        self._build(cohort)
        if view is not None:
            yield from self._run(Visit.HEADER, lambda rule: rule.header(view), locate)

    @property
    def started(self) -> bool:
        """Whether the header has been seen and the rules built."""
        return self._started

    def installation(self, element: etree._Element, locate: Locator, line: int, parent_path: str) -> Iterator[Finding]:
        """Run the installation and device rules over one installation."""
        view = self.reader.installation(element)
        reference, status = view.reference, view.status
        self.ledger.add(line, reference, parent_path, status)
        for rule, check in self._installation_checks:
            for problem in check(view):
                yield self._finding(rule, problem, locate, reference, status)
        if self._device_checks:
            devices = ([view.hub] if view.hub is not None else []) + view.devices
            for device in devices:
                for rule, check_device in self._device_checks:
                    for problem in check_device(device, view):
                        yield self._finding(rule, problem, locate, reference, status)

    def export_states(self) -> PartState:
        """What the rules and the ledger gathered over this part of a file."""
        states = {rule.code: rule.state() for rule in self._rules}
        return PartState(
            rules={code: state for code, state in states.items() if state is not None},
            ledger=self.ledger.export(),
        )

    def merge_states(self, parts: Sequence[PartState]) -> None:
        """Take the states of every part of the file, in file order."""
        self.ledger.merge([part.ledger for part in parts])
        for rule in self._rules:
            states = [part.rules[rule.code] for part in parts if rule.code in part.rules]
            if states:
                rule.merge(states)

    def outcomes(self) -> dict[str, object]:
        """What each rule concluded over the whole file (:meth:`Rule.outcome`), by code, where it says."""
        found = {rule.code: rule.outcome() for rule in self._rules}
        return {code: outcome for code, outcome in found.items() if outcome is not None}

    def trailer(self, element: etree._Element | None, locate: Locator) -> Iterator[Finding]:
        """Run the trailer rules, then every rule's finish step."""
        if element is not None:
            view = TrailerView(element, self.binding)
            yield from self._run(Visit.TRAILER, lambda rule: rule.trailer(view), locate)
        for rule in self._rules:
            for problem in rule.finish():
                yield self._finding(rule, problem, None, None)
