"""Streaming schema validation of Migration Common Files.

The file is parsed once, in chunks, by libxml2 (through lxml). Each Installation is
validated against the schema as soon as its end tag has been read, then released:
only the first installation of each run of consecutive installations is kept, empty,
as a placeholder. When the file ends, what is left (header, trailer, placeholders)
is validated against the *skeleton* schema, which checks everything but the
installations' content. Memory therefore stays flat whatever the file's size.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Final

from lxml import etree

from mcfcheck.check.columns import ColumnFinder
from mcfcheck.check.part import Part, part_chunks, release_padding_before
from mcfcheck.check.places import CLARK_NAME, canonical_path, local_name, resolve_log_path
from mcfcheck.check.spool import Anchored, FindingSpool, in_file_order
from mcfcheck.check.tree import content_kept, release_into_run
from mcfcheck.errors import InputError, McfcheckError, SchemaError
from mcfcheck.findings import FileReport, Finding, Location, Severity
from mcfcheck.input.xml import (
    DEFAULT_MAX_DECOMPRESSED_BYTES,
    PROLOG_LIMIT_BYTES,
    describe_syntax_error,
    iter_chunks,
    open_input,
    prolog_verdict,
    read_root,
    record_source,
    require_lxml,
    secure_pull_parser,
)
from mcfcheck.rules.engine import Locator, PartState, RuleEngine, RuleSettings, skipped_without_engine
from mcfcheck.rules.registry import RuleRegistry
from mcfcheck.rules.views import concept_text, part_of
from mcfcheck.schema.binding import Binding, BindingSet, bundled_bindings, default_binding
from mcfcheck.schema.codes import schema_error_code
from mcfcheck.schema.loading import (
    BUNDLED,
    CompiledSchema,
    bundled_schema,
    load_schema,
    schema_model,
    schemas_folder,
    target_namespace,
)
from mcfcheck.schema.model import SchemaModel, check_binding


class Phase(enum.Enum):
    """The step of a file's check that findings come from, in the order they run."""

    #: The installations: each one's schema findings and rules, and the header's rules.
    INSTALLATIONS = "installations"
    #: The document: the skeleton's schema findings, once the installations are released.
    DOCUMENT = "document"
    #: The finish: the trailer's rules and the checks across installations, the file read.
    FINISH = "finish"


#: How many installations are checked together: the schema checks them all, then the rules run.
RECORD_BATCH: Final = 64


class _FileValidation:
    """The state of validating one file: counters, placeholders, and where records sit."""

    def __init__(
        self,
        path: Path,
        schema: CompiledSchema,
        columns: ColumnFinder,
        engine: RuleEngine | None,
        part: Part | None = None,
        binding: Binding | None = None,
        check_schema: bool = True,
    ) -> None:
        self.path = path
        #: Whether installations and the skeleton are validated (False: only read, for the rules).
        self.check_schema = check_schema
        #: Where the header, the trailer, references and statuses are in the file's dialect.
        self.binding = binding or default_binding()
        self.schema = schema
        self.columns = columns
        self.engine = engine
        self.part = part
        #: Which step the findings come from: installations, document (the skeleton) or finish.
        self.phase = Phase.INSTALLATIONS
        #: The line that places the findings being made in file order: the installation's
        #: start for an installation's findings; None: each finding's own line.
        self.anchor: int | None = None
        #: The line of the element that holds the first installation (None before one is read).
        self.container_line: int | None = None
        self.installations = 0
        self._record_tag = schema.record_tag
        #: The header's GroupID, once the header has been read.
        self.group_id: str | None = None
        self._header_read = False
        self._parent: etree._Element | None = None
        self._parent_path = ""
        #: Whether the installations under ``_parent`` stand where the schema puts them.
        self._placed = True
        self._containers = 0
        self._position = 0
        # Placeholders left in the skeleton, by source line: (path, reference, status).
        self._placeholders: dict[int, tuple[str, str | None, str | None]] = {}
        # Installations set aside where they do not belong, by source line: (reference, status).
        self._aside: dict[int, tuple[str | None, str | None]] = {}

    def _finding(
        self,
        entry: etree._LogEntry,
        element: etree._Element | None,
        xpath: str | None,
        installation: str | None,
        status: str | None = None,
    ) -> Finding:
        message = CLARK_NAME.sub("", entry.message).strip()
        line = entry.line or None
        column = entry.column or None
        if column is None and element is not None:
            column = self.columns.column(line, local_name(element.tag))
        return Finding(
            code=schema_error_code(entry.type_name),
            message=message,
            severity=Severity.ERROR,
            location=Location(
                file=str(self.path),
                line=line,
                column=column,
                xpath=xpath,
                installation=installation,
                status=status,
            ),
        )

    def _place(self, element: etree._Element, xpath: str) -> tuple[int | None, int | None, str | None]:
        line = element.sourceline
        return line, self.columns.column(line, local_name(element.tag)), xpath

    def _locate_outside(self, element: etree._Element) -> tuple[int | None, int | None, str | None]:
        """The place of an element of the header or trailer."""
        return self._place(element, canonical_path(element))

    def _locator_in(self, record: etree._Element, record_path: str) -> Locator:
        """Places of elements inside the installation being checked."""

        def locate(element: etree._Element) -> tuple[int | None, int | None, str | None]:
            inner = canonical_path(element, stop=record) if element is not record else ""
            return self._place(element, record_path + (inner if inner != "/" else ""))

        return locate

    def _identity(self, record: etree._Element) -> tuple[str | None, str | None]:
        """An installation's reference and status, which its findings tell."""
        return concept_text(record, self.binding, "reference"), concept_text(record, self.binding, "status")

    def _read_header(self, root: etree._Element) -> None:
        """Note the header's GroupID (the header is complete once the first installation arrives)."""
        self._header_read = True
        header = part_of(root, self.binding.header)
        self.group_id = concept_text(header, self.binding, "group_id") if header is not None else None

    def _start_rules(self, root: etree._Element) -> Iterator[Finding]:
        """Give the engine the header (complete once the first installation arrives)."""
        if self.engine is not None and not self.engine.started:
            yield from self.engine.header(part_of(root, self.binding.header), self._locate_outside)

    def check_records(self, records: list[etree._Element]) -> Iterator[Finding]:
        """Validate installations that have just been read, in file order, then release them.

        The schema checks them all first, then the rules run over each in turn: each
        step's code stays in the processor's caches across the batch, which is
        measurably faster than alternating per installation. Each installation's
        findings still come in the same order: its schema findings, then its rules'.
        """
        validated = [self._validate(record) for record in records]
        for record, outcome in zip(records, validated, strict=True):
            if outcome is None:
                continue  # nested in another installation: validated with it.
            record_path, parent_path, findings = outcome
            if self.engine is not None and not self.engine.started:
                self.anchor = None
                yield from self._start_rules(record.getroottree().getroot())
            self.anchor = record.sourceline or 0
            yield from findings
            if self.engine is not None:
                yield from self.engine.installation(
                    record, self._locator_in(record, record_path), record.sourceline or 0, parent_path
                )
            self._release(record, record_path)

    def _validate(self, record: etree._Element) -> tuple[str, str, list[Finding]] | None:
        """The installation's path, its parent's, and its schema findings.

        None for an installation nested in another (validated with it), and for one
        that stands where the schema puts no installation (the skeleton's validation
        finds it "not expected" there, as libxml2 validating the whole document does,
        and looks no further into it).
        """
        assert self._record_tag is not None
        parent = record.getparent()
        if self.container_line is None:
            self.container_line = (parent.sourceline if parent is not None else record.sourceline) or 0
        if parent is not self._parent:
            # Installations under the parent of the last one are not nested in another:
            # that was checked when the parent was first seen.
            if next(record.iterancestors(self._record_tag), None) is not None:
                return None
            self._parent = parent
            self._placed = self._stands_where_expected(parent)
            if self._placed:
                self._containers += 1
                self._position = 0
                if self._containers == 1 and self.part is not None and parent is not None:
                    # A part's padding (blank lines) before its first installation.
                    parent.text = content_kept(parent.text)
                self._parent_path = canonical_path(parent) if parent is not None else ""
        if not self._placed:
            self._set_aside(record)
            return None
        self._position += 1
        self.installations += 1
        record_path = f"{self._parent_path}/{local_name(record.tag)}[{self._position}]"
        schema = self.schema.installation_schema
        if not self._header_read:
            self._read_header(record.getroottree().getroot())
        findings: list[Finding] = []
        if self.check_schema and not schema.validate(record):
            reference, status = self._identity(record)
            for entry in schema.error_log:
                element = resolve_log_path(record, entry.path)
                inner = canonical_path(element, stop=record) if element is not None and element is not record else ""
                findings.append(
                    self._finding(entry, element, record_path + (inner if inner != "/" else ""), reference, status)
                )
        return record_path, self._parent_path, findings

    def _stands_where_expected(self, parent: etree._Element | None) -> bool:
        """Whether an installation under ``parent`` stands where the schema lets installations stand."""
        places = self.schema.record_parents
        if places is None:
            return True
        if parent is None:
            return () in places
        tags = [str(parent.tag), *(str(ancestor.tag) for ancestor in parent.iterancestors())]
        return tuple(reversed(tags)) in places

    def _set_aside(self, record: etree._Element) -> None:
        """Keep a misplaced installation, emptied, for the skeleton to find it there.

        What it holds is not validated (libxml2 does not look into an element it did not
        expect); of several in a row, the first stays.
        """
        parent = record.getparent()
        if parent is None or release_into_run(parent, record):
            return
        self._aside[record.sourceline or 0] = self._identity(record)
        for child in list(record):
            record.remove(child)
        record.text = None

    def _release(self, record: etree._Element, record_path: str) -> None:
        """Let an installation go: only the first of a run stays, emptied, as a placeholder.

        Comments and processing instructions between installations go too; character
        content after an installation (not allowed where installations stand) is kept,
        for the skeleton's validation to report it.
        """
        parent = record.getparent()
        if parent is not None and release_into_run(parent, record):
            return
        self._placeholders[record.sourceline or 0] = (
            record_path,
            *self._identity(record),
        )
        record.clear(keep_tail=True)

    def check_skeleton(self, root: etree._Element) -> Iterator[Finding]:
        """Validate what is left once every installation has been released; then the trailer's rules."""
        self.phase = Phase.DOCUMENT
        self.anchor = None
        if not self._header_read:
            self._read_header(root)
        yield from self._skeleton_findings(root)
        if self.engine is None:
            return
        yield from self._start_rules(root)
        if self.part is not None and not self.part.finish:
            return
        if self.part is not None and self.part.merge_states:
            self.engine.merge_states(self.part.merge_states)
            # The merged stores hold copies: let the parts' states go now.
            self.part.merge_states.clear()
        self.phase = Phase.FINISH
        yield from self.engine.trailer(part_of(root, self.binding.trailer), self._locate_outside)

    def _skeleton_findings(self, root: etree._Element) -> Iterator[Finding]:
        schema = self.schema.skeleton_schema
        if not self.check_schema or schema.validate(root):
            return
        for entry in schema.error_log:
            element = resolve_log_path(root, entry.path)
            installation = status = None
            if element is None:
                xpath = None
            elif self._record_tag is not None and element.tag == self._record_tag:
                line = element.sourceline or 0
                if line in self._aside:
                    xpath = canonical_path(element)
                    installation, status = self._aside[line]
                else:
                    xpath, installation, status = self._placeholders.get(line, (None, None, None))
            else:
                xpath = canonical_path(element)
            yield self._finding(entry, element, xpath, installation, status)


def _syntax_error(path: Path, head: bytes) -> InputError:
    """The error to raise for a file whose root element could not be read from ``head``."""
    parser = secure_pull_parser()
    try:
        parser.feed(head)
        parser.close()
    except etree.XMLSyntaxError as error:
        return _not_well_formed(path, error)
    return InputError(f"{path}: its root element does not start in the first {len(head)} bytes")


def _not_well_formed(path: Path, error: etree.XMLSyntaxError) -> InputError:
    message, line, column = describe_syntax_error(path, error)
    where = f":{line}:{column}" if line is not None else ""
    return InputError(f"{path}{where}: not well-formed XML: {message}", line)


def _read_head(path: Path, chunks: Iterator[bytes]) -> bytes:
    """The file's first bytes, enough to hold its prolog, checked to declare no DOCTYPE."""
    head = b""
    try:
        for chunk in chunks:
            head += chunk
            if prolog_verdict(head, complete=False) is not None or len(head) >= PROLOG_LIMIT_BYTES:
                return head
        prolog_verdict(head, complete=True)
    except ValueError as error:
        raise InputError(f"{path}: {error}") from None
    return head


class FileCheck:
    """Validation of one file in a single streaming pass.

    Iterating over it runs the check and yields findings as they are made;
    ``on_progress`` is told the bytes read and the installations checked so far. It
    raises :class:`InputError` when the file cannot be read or is not well-formed
    (after yielding what was found before that point), and :class:`SchemaError`
    when no schema fits the document. Afterwards ``installations`` and
    ``schema_name`` say what was checked.
    """

    def __init__(
        self,
        path: Path,
        schema: CompiledSchema | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        rules: tuple[RuleRegistry, RuleSettings] | None = None,
        part: Part | None = None,
        max_decompressed: int = DEFAULT_MAX_DECOMPRESSED_BYTES,
    ) -> None:
        self.path = path
        self.schema = schema
        self.on_progress = on_progress
        self.rules = rules
        self.part = part
        self.max_decompressed = max_decompressed
        self.installations = 0
        self.schema_name: str | None = schema.name if schema is not None else None
        #: The step the last finding came from (installations, document or finish).
        self.phase = Phase.INSTALLATIONS
        #: For a part that does not finish: what its rules gathered, for merging.
        self.states: PartState | None = None
        #: What the rules concluded over the whole file (:meth:`RuleEngine.outcomes`), once it is read.
        self.outcomes: dict[str, object] = {}
        #: The cohort the header's GroupID names, once the header has been read.
        self.cohort: str | None = None
        #: The line of the element that holds the first installation, once one is read.
        self.container_line: int | None = None
        #: Which rules did not run on this file and why, where rules were asked for.
        self.rules_not_run: str | None = None
        #: The codes of the selected rules that did not run: those whose concepts the
        #: binding lacks, or every one where no binding or no engine could be used.
        self.skipped_rules: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[Finding]:
        """The findings in file order: by the line of the installation or element they are about.

        The findings of the installations are held back (see :mod:`mcfcheck.check.spool`) until
        the skeleton's, which are only known when the file ends, can be put among them;
        those of the finish step (the trailer's rules, the checks across installations)
        come last. What was found before a problem that stops the check comes first.
        """
        spool = FindingSpool()
        skeleton: list[Anchored] = []
        ordered = False
        try:
            for phase, anchor, finding in self.tagged():
                if phase is Phase.INSTALLATIONS:
                    spool.add(anchor, finding)
                elif phase is Phase.DOCUMENT:
                    skeleton.append((anchor, finding))
                else:
                    if not ordered:
                        ordered = True
                        yield from in_file_order(skeleton, spool)
                    yield finding
            if not ordered:
                yield from in_file_order(skeleton, spool)
        except McfcheckError:
            if not ordered:
                yield from in_file_order(skeleton, spool)
            raise
        finally:
            spool.close()

    def tagged(self) -> Iterator[tuple[Phase, int, Finding]]:
        """Every selected finding as it is made, with its step and the line that places it."""
        require_lxml()
        with open_input(self.path) as stream:
            chunks = (
                iter_chunks(stream, self.path, self.max_decompressed)
                if self.part is None
                else part_chunks(stream, self.path, self.part)
            )
            head = _read_head(self.path, chunks)
            if not head.strip(b" \t\r\n\xef\xbb\xbf"):
                raise InputError(f"{self.path}: is empty, not an XML document")
            schema = self.schema or self._bundled_schema(head)
            self.schema_name = schema.name
            columns = ColumnFinder()
            binding = self._binding_for(schema, head)
            schema = _with_record_of(schema, binding)
            engine = self._engine_for(schema, binding)
            check_schema = self.rules is None or self.rules[1].check_schema
            validation = _FileValidation(self.path, schema, columns, engine, self.part, binding, check_schema)
            # The selection decides schema findings' codes too; rules it leaves out are not even built.
            selection = self.rules[1].selection if self.rules is not None and self._rules_asked else None
            # Whether each code is selected, decided once per code: a file may have millions of findings.
            selected: dict[str, bool] = {}
            try:
                for finding in self._stream(validation, columns, _chain(head, chunks)):
                    self.phase = validation.phase
                    code = finding.code
                    chosen = selected.get(code)
                    if chosen is None:
                        chosen = selected[code] = selection is None or selection.is_selected(code)
                    if chosen:
                        anchor = validation.anchor
                        if anchor is None:
                            anchor = finding.location.line or 0
                        yield validation.phase, anchor, finding
                if engine is not None and self.part is not None and not self.part.finish and engine.started:
                    self.states = engine.export_states()
                elif engine is not None and engine.started:
                    self.outcomes = engine.outcomes()
            finally:
                self.installations = validation.installations
                self.container_line = validation.container_line
                self.cohort = self._cohort_named(validation.group_id)
                if engine is not None:
                    self._note_rules_not_run(engine)
                    engine.close()
                elif self._rules_asked and self.rules_not_run is not None:
                    self._note_no_rules_ran()

    def _cohort_named(self, group_id: str | None) -> str | None:
        settings = self.rules[1] if self.rules is not None else RuleSettings()
        cohort = settings.cohort_for(group_id) if group_id is not None else None
        return cohort.name if cohort is not None else None

    @property
    def _rules_asked(self) -> bool:
        """Whether rules were asked for (``rules`` may only say which bindings to use: ``run_rules``)."""
        return self.rules is not None and self.rules[1].run_rules

    def _binding_for(self, schema: CompiledSchema, head: bytes) -> Binding | None:
        """The binding of the file's dialect, chosen by the namespace of its installations (or root)."""
        settings = self.rules[1] if self.rules is not None else RuleSettings()
        if schema.record_tag is not None:
            namespace = etree.QName(schema.record_tag).namespace
        else:
            root = read_root(head)
            namespace = root.namespace if root is not None else None
        binding = settings.bindings.for_namespace(namespace)
        if binding is None and self._rules_asked:
            where = f"namespace {namespace!r}" if namespace else "no namespace"
            self.rules_not_run = f"schema only: no rules ran ({where} has no binding; see `mcfcheck bind`)"
        return binding

    def _engine_for(self, schema: CompiledSchema, binding: Binding | None) -> RuleEngine | None:
        """The rule engine, for files whose dialect has a binding.

        Where the rules were asked for and cannot run, :attr:`rules_not_run` says why.
        """
        if self.rules is None or not self._rules_asked or binding is None:
            return None
        if schema.record_tag is None or etree.QName(schema.record_tag).localname != binding.record:
            self.rules_not_run = (
                f"schema only: no rules ran (the schema {schema.name} declares no {binding.record} element, "
                f"the record of the binding {binding.source})"
            )
            return None
        registry, settings = self.rules
        spill_folder = self.part.spill_folder if self.part is not None else None
        return RuleEngine(registry, settings, str(self.path), spill_folder, binding)

    def _note_rules_not_run(self, engine: RuleEngine) -> None:
        """Say which selected rules did not run on this file, and why."""
        if not engine.not_run:
            return
        self.skipped_rules = tuple(code for code, _missing in engine.not_run)
        missing = list(dict.fromkeys(name for _code, names in engine.not_run for name in names))
        self.rules_not_run = (
            f"{len(engine.not_run)} of {engine.selected} rules not run: no binding for "
            f"{', '.join(missing)}; see `mcfcheck bind`"
        )

    def _note_no_rules_ran(self) -> None:
        """Where no rule could run at all: every rule selected for the file's cohort (if known) was skipped."""
        assert self.rules is not None
        registry, settings = self.rules
        self.skipped_rules = tuple(skipped_without_engine(registry, settings.selection, self.cohort))

    def _bundled_schema(self, head: bytes) -> CompiledSchema:
        root = read_root(head)
        if root is None:
            raise _syntax_error(self.path, head)
        try:
            return bundled_schema(root.namespace, root.attributes.get("schemaVersion"))
        except SchemaError as error:
            raise SchemaError(f"{self.path}: {error}") from None

    def _stream(self, validation: _FileValidation, columns: ColumnFinder, chunks: Iterator[bytes]) -> Iterator[Finding]:
        padding = self.part.padding_target if self.part is not None and self.part.padding_lines > 0 else None
        source = record_source(validation.schema.record_tag, padding)
        done = 0
        batch: list[etree._Element] = []

        def completed(nodes: list[etree._Element]) -> Iterator[Finding]:
            nonlocal batch
            for node in nodes:
                if padding is not None and isinstance(node, etree._ProcessingInstruction):
                    release_padding_before(node, padding)
                    continue
                batch.append(node)
                if len(batch) == RECORD_BATCH:
                    yield from validation.check_records(batch)
                    batch = []

        def flush() -> Iterator[Finding]:
            nonlocal batch
            if batch:
                yield from validation.check_records(batch)
                batch = []

        for chunk in chunks:
            columns.add(chunk)
            nodes, error = source.feed(chunk)
            yield from completed(nodes)
            if error is not None:
                # The installations completed before the error are checked first, so that
                # what is reported does not depend on where the chunks happen to begin.
                yield from flush()
                raise _not_well_formed(self.path, error)
            done += len(chunk)
            if self.on_progress is not None:
                self.on_progress(done, validation.installations)
        nodes, error = source.close()
        yield from completed(nodes)
        yield from flush()
        if error is not None:
            raise _not_well_formed(self.path, error)
        root = source.root()
        assert root is not None
        yield from validation.check_skeleton(root)


def _chain(head: bytes, chunks: Iterator[bytes]) -> Iterator[bytes]:
    yield head
    yield from chunks


def load_schema_for(path: Path, bindings: BindingSet) -> CompiledSchema:
    """A user's schema, with the record element that the binding of its namespace names."""
    binding = bindings.for_namespace(target_namespace(path))
    return load_schema(path, binding.record) if binding is not None else load_schema(path)


@cache
def _load_with_record(path: Path, record: str) -> CompiledSchema:
    return load_schema(path, record)


def _with_record_of(schema: CompiledSchema, binding: Binding | None) -> CompiledSchema:
    """``schema``, compiled for the record element ``binding`` names if it was compiled for another.

    A user's schema is compiled for the record its namespace's binding names
    (:func:`load_schema_for`); one compiled for mcfcheck's record element by a caller that
    did not know the file's binding is compiled again, once per process, for the file's.
    """
    if binding is None or schema.path is None or schema.record_element == binding.record:
        return schema
    return _load_with_record(schema.path, binding.record)


def check_bindings_fit(bindings: BindingSet, schema: Path | None) -> None:
    """Check the bindings a run uses against the schemas they are used with (:func:`check_binding`).

    With a user's ``schema``, the binding of its namespace (or the one given for every
    file) is checked against it; without, each binding the user gave (``--binding`` or
    the configuration's) against the bundled schemas of its namespaces. A schema that
    cannot be read is left to the run, which reports it. Raises :class:`ConfigError`
    naming the binding's file and line.
    """
    if schema is not None:
        try:
            model = schema_model(schema)
            namespace = target_namespace(schema)
        except SchemaError:
            return
        binding = bindings.for_namespace(namespace)
        if binding is not None:
            check_binding(binding, model)
        return
    given = [bindings.forced] if bindings.forced is not None else []
    given += [binding for binding in bindings.bindings if binding not in bundled_bindings()]
    for binding in given:
        # A binding is used with the bundled schema of a namespace it names; for another,
        # the run asks for --schema.
        for (namespace, _version), file_name in sorted(BUNDLED.items()):
            if namespace in binding.namespaces:
                check_binding(binding, _bundled_model(file_name))


@cache
def _bundled_model(file_name: str) -> SchemaModel:
    return schema_model(schemas_folder() / file_name)


def check_file(
    path: Path,
    schema: CompiledSchema | None = None,
    rules: tuple[RuleRegistry, RuleSettings] | None = None,
    max_decompressed: int = DEFAULT_MAX_DECOMPRESSED_BYTES,
) -> FileReport:
    """Validate one file and collect every finding into a report."""
    check = FileCheck(path, schema, rules=rules, max_decompressed=max_decompressed)
    findings: list[Finding] = []
    error: str | None = None
    try:
        findings.extend(check)
    except McfcheckError as problem:
        error = str(problem)
    return FileReport(
        str(path),
        check.schema_name,
        check.installations,
        tuple(findings),
        error,
        check.cohort,
        check.rules_not_run,
        check.skipped_rules,
    )
