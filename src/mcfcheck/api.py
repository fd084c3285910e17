"""mcfcheck's Python API: validate MCFs and read their findings, as ``mcfcheck validate`` does.

Every function takes the command line's choices as keyword arguments: ``schema`` (an XSD;
by default the bundled schema for each file's namespace and ``schemaVersion``),
``select``, ``ignore`` and ``extend_select`` (code prefixes), ``config`` (a configuration
from :func:`load_config`, or the path of one; by default none: every rule, the built-in
cohorts), ``binding`` (a binding for every file, whatever its namespace) and ``rules``
(False: the schema only). A configuration, schema or binding that cannot be used is a
:class:`mcfcheck.errors.McfcheckError` (``ConfigError``, ``SchemaError``), raised before
any file is read. See ``docs/api.md``.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import BinaryIO

from mcfcheck.check.file import FileCheck, check_file, load_schema_for
from mcfcheck.errors import McfcheckError
from mcfcheck.findings import FileReport, Finding
from mcfcheck.rules.config import Configuration, find_configuration, load_configuration, rule_settings
from mcfcheck.rules.engine import RuleSettings
from mcfcheck.rules.registry import RuleRegistry, load_registry
from mcfcheck.run.batch import validate_files
from mcfcheck.run.parts import default_jobs
from mcfcheck.schema.loading import CompiledSchema

#: What the functions read: a path, or a binary file object (read to its end, not closed).
Source = str | os.PathLike[str] | BinaryIO
#: A path given as text or as a path.
PathLike = str | os.PathLike[str]


def load_config(path: PathLike | None = None) -> Configuration:
    """The configuration in ``path`` (an ``mcfcheck.toml``, or a ``pyproject.toml`` with a
    ``[tool.mcfcheck]`` table); without ``path``, the nearest one from the current folder up,
    as the command line finds it, or the defaults where there is none.
    """
    found = Path(path) if path is not None else find_configuration(Path.cwd())
    return load_configuration(found) if found is not None else Configuration()


def _configuration(config: Configuration | PathLike | None) -> Configuration:
    if config is None:
        return Configuration()
    if isinstance(config, Configuration):
        return config
    return load_configuration(Path(config))


@cache
def _installed_rules() -> RuleRegistry:
    """The installed packs' rules, loaded once a process: loading them took half of validating a small file."""
    return load_registry()


def _setup(
    config: Configuration | PathLike | None,
    select: Sequence[str] | None,
    ignore: Sequence[str] | None,
    extend_select: Sequence[str] | None,
    binding: PathLike | None,
    rules: bool,
) -> tuple[RuleRegistry, RuleSettings]:
    registry = _installed_rules() if rules else RuleRegistry()
    settings = rule_settings(
        _configuration(config),
        registry,
        tuple(select or ()),
        tuple(ignore or ()),
        tuple(extend_select or ()),
        binding=Path(binding) if binding is not None else None,
    )
    return registry, settings if rules else dataclasses.replace(settings, run_rules=False)


def _schema(schema: PathLike | None, settings: RuleSettings) -> CompiledSchema | None:
    return load_schema_for(Path(schema), settings.bindings) if schema is not None else None


@contextmanager
def spooled(stream: BinaryIO) -> Iterator[Path]:
    """``stream``'s bytes (read to its end, not closed) copied to a file of their own, removed after."""
    folder = Path(tempfile.mkdtemp(prefix="mcfcheck-stream-"))
    try:
        copy = folder / "stream.xml"
        with copy.open("wb") as written:
            shutil.copyfileobj(stream, written, 1 << 20)
        yield copy
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _as_path(source: Source) -> Iterator[tuple[Path, dict[str, str]]]:
    """``source`` as a file: a path as it is, a file object :func:`spooled`; and the names reports give
    the files (for a copy: the file object's ``name``, or ``<stream>``).
    """
    if isinstance(source, str | os.PathLike):
        yield Path(source), {}
        return
    name = getattr(source, "name", None)
    with spooled(source) as copy:
        yield copy, {str(copy): name if isinstance(name, str) else "<stream>"}


def _renamed_text(text: str, names: Mapping[str, str]) -> str:
    for old, new in names.items():
        text = text.replace(old, new)
    return text


def renamed_finding(finding: Finding, names: Mapping[str, str]) -> Finding:
    """``finding`` with the files ``names`` maps (a copy's path to the name reports give it) renamed, in
    its location and its related ones.
    """
    if not names:
        return finding
    places = (finding.location, *finding.related)
    if not any(place.file in names for place in places):
        return finding
    moved = [dataclasses.replace(place, file=names.get(place.file, place.file)) for place in places]
    return dataclasses.replace(finding, location=moved[0], related=tuple(moved[1:]))


def renamed_report(report: FileReport, names: Mapping[str, str]) -> FileReport:
    """``report`` with the files ``names`` maps renamed: its path, its error's text and its findings."""
    if not names:
        return report
    error = _renamed_text(report.error, names) if report.error is not None else None
    findings = tuple(renamed_finding(finding, names) for finding in report.findings)
    return dataclasses.replace(report, path=_renamed_text(report.path, names), error=error, findings=findings)


def validate(
    source: Source,
    *,
    schema: PathLike | None = None,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    extend_select: Sequence[str] | None = None,
    config: Configuration | PathLike | None = None,
    binding: PathLike | None = None,
    rules: bool = True,
    settings: RuleSettings | None = None,
) -> FileReport:
    """Validate one MCF against its schema and its cohort's rules: its report, with every finding.

    A problem that stops the check (the file cannot be read, is not well-formed XML, has
    no schema) is the report's ``error``, after the findings made before it.
    ``settings``, where given, are used as they are instead of ``select``, ``ignore``,
    ``extend_select``, ``config`` and ``binding``.
    """
    registry, chosen = _setup(config, select, ignore, extend_select, binding, rules)
    chosen = settings or chosen
    with _as_path(source) as (path, names):
        try:
            compiled = _schema(schema, chosen)
        except McfcheckError as problem:
            return FileReport(names.get(str(path), str(path)), None, 0, (), str(problem))
        return renamed_report(check_file(path, compiled, (registry, chosen) if rules else None), names)


def iter_findings(
    source: Source,
    *,
    schema: PathLike | None = None,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    extend_select: Sequence[str] | None = None,
    config: Configuration | PathLike | None = None,
    binding: PathLike | None = None,
    rules: bool = True,
) -> Iterator[Finding]:
    """The findings of one MCF, one at a time as the file is read (memory holds none of them).

    A problem that stops the check is raised (an :class:`mcfcheck.errors.InputError`, or a
    ``SchemaError``) after the findings made before it.
    """
    registry, settings = _setup(config, select, ignore, extend_select, binding, rules)
    compiled = _schema(schema, settings)
    with _as_path(source) as (path, names):
        check = FileCheck(path, compiled, rules=(registry, settings) if rules else None)
        for finding in check:
            yield renamed_finding(finding, names)


class _Collected:
    """A report sink that keeps each file's findings in its report."""

    def __init__(self) -> None:
        self.reports: list[FileReport] = []
        self._findings: list[Finding] = []

    def start(self) -> None:
        pass

    def file_started(self, path: str) -> None:
        self._findings = []

    def finding(self, finding: Finding) -> None:
        self._findings.append(finding)

    def file_finished(self, report: FileReport) -> None:
        self.reports.append(dataclasses.replace(report, findings=tuple(self._findings)))

    def finish(self) -> None:
        pass


def validate_many(
    paths: Iterable[PathLike],
    *,
    jobs: int = 0,
    schema: PathLike | None = None,
    select: Sequence[str] | None = None,
    ignore: Sequence[str] | None = None,
    extend_select: Sequence[str] | None = None,
    config: Configuration | PathLike | None = None,
    binding: PathLike | None = None,
    rules: bool = True,
) -> list[FileReport]:
    """Validate several MCFs on ``jobs`` worker processes (0: one a core), as ``mcfcheck validate``
    does (large files in parts, small ones several at once): a report for each, in the order given.

    A schema that cannot be loaded is a ``SchemaError``.
    """
    registry, settings = _setup(config, select, ignore, extend_select, binding, rules)
    _schema(schema, settings)
    collected = _Collected()
    validate_files(
        [Path(path) for path in paths],
        collected,
        schema=Path(schema) if schema is not None else None,
        rules=(registry, settings) if rules else None,
        jobs=jobs or default_jobs(),
    )
    return collected.reports
