"""The mcfcheck command line: a thin shell over the library that returns an exit status."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final, NoReturn

import typer
from rich.console import Console

from mcfcheck import __version__
from mcfcheck.check.file import check_bindings_fit
from mcfcheck.errors import InternalError, McfcheckError
from mcfcheck.findings import FileReport, Finding, Severity
from mcfcheck.input.xml import DEFAULT_MAX_DECOMPRESSED_BYTES, is_gzip
from mcfcheck.native import build_description, process_tuned, tune_process
from mcfcheck.outputs import (
    KEEP_BYTES,
    REPLACE_UNDECODABLE,
    STANDARD_ERROR_NAME,
    STANDARD_OUTPUT_NAME,
    Output,
    OutputError,
    OutputTarget,
    ReaderGoneError,
    TextOutput,
    atomic_folder,
    atomic_output,
    open_output,
    open_text_output,
    output_target,
    standard_text,
)
from mcfcheck.reports import formats
from mcfcheck.reports.base import Reporter, ReportSettings, dumps
from mcfcheck.reports.console import ConsoleReporter, console, sane_widths, set_color
from mcfcheck.reports.formats import UnknownFormatError, reporter_class
from mcfcheck.rules.catalogue import catalogue
from mcfcheck.rules.cohorts import builtin_cohorts
from mcfcheck.rules.config import Configuration, find_configuration, load_configuration, rule_settings
from mcfcheck.rules.engine import UNKNOWN_GROUP_ID, UNKNOWN_GROUP_ID_SUMMARY, RuleSettings
from mcfcheck.rules.registry import RuleRegistry, load_registry
from mcfcheck.rules.workdays import CALENDARS, CONVENTION, DEFAULT_CALENDAR
from mcfcheck.run.batch import (
    ExitStatus,
    ReportSink,
    StoppedError,
    Tee,
    restore_signals,
    stop_on_signals,
    validate_files,
)
from mcfcheck.run.cluster import DEFAULT_TIMEOUT_SECONDS as DASK_TIMEOUT_SECONDS
from mcfcheck.run.cluster import DaskWorkers, connect
from mcfcheck.run.parts import default_jobs, needs_workers, worker_pool
from mcfcheck.schema.binding import CONCEPTS, concept, load_binding
from mcfcheck.schema.codes import SCHEMA_CODES

if TYPE_CHECKING:
    from concurrent.futures import Executor, ProcessPoolExecutor

    from typer.models import CommandInfo

    from mcfcheck.generate import PlantedError
    from mcfcheck.rules.catalogue import Check
    from mcfcheck.run.schedule import NoticeRule

# What only some runs use is imported where it is used (the report writers, the
# generator, progress bars, tables): a run's start-up is what a pre-commit hook waits for.


def _typer() -> typer.Typer:
    """The command line's application, with no command yet."""
    return typer.Typer(
        name="mcfcheck",
        help="Validate and process SMETS1 Migration Common Files (MCF).",
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )


app = _typer()

#: The exit statuses every command shares.
_EXIT_TAIL = "3 internal error; 129, 130, 143 when stopped by SIGHUP, SIGINT, SIGTERM."
EXIT_CODES_HELP = (
    f"Exit status: 0 every file valid, 1 findings, 2 usage error or unusable input, schema or output, {_EXIT_TAIL}"
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mcfcheck {__version__} ({build_description()})")
        raise typer.Exit(ExitStatus.VALID)


@app.callback(epilog=EXIT_CODES_HELP)
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    color: Annotated[
        str,
        typer.Option(
            "--color",
            help="Colour: auto (on a terminal, unless NO_COLOR is set), always (even into a pipe or a file), never.",
        ),
    ] = "auto",
) -> None:
    """Validate and process SMETS1 Migration Common Files (MCF)."""
    try:
        set_color(color)
    except ValueError as error:
        raise typer.BadParameter(str(error).removeprefix(f"--color {color!r}: "), param_hint="--color") from None


@contextmanager
def _progress_bars(
    err: Console, enabled: bool, batch: list[Path] | None = None
) -> Iterator[Callable[[Path], Callable[[int, int], None] | None]]:
    """A factory of per-file progress callbacks, drawing bars only on a terminal.

    A bar shows the bytes read, the installations checked, the rate and the time left
    (for a compressed file, whose decompressed size is unknown, no time left). With
    ``batch`` (the files of a batch, in order), a bar over the whole batch too: the files
    begun, the bytes of those read (compressed files counted by their size once done),
    the rate and the time left.
    """
    if not enabled or not err.is_terminal:
        yield lambda _path: None
        return
    from rich.filesize import decimal
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        ProgressColumn,
        Task,
        TaskID,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class AverageRate(ProgressColumn):
        """The bytes read a second since the bar began (parts of a file end in steps: a rate
        between two of them would say nothing)."""

        def render(self, task: Task) -> Text:
            elapsed = task.elapsed
            if not task.completed or not elapsed or elapsed < 0.5:
                return Text("?", style="progress.data.speed")
            return Text(f"{decimal(int(task.completed / elapsed))}/s", style="progress.data.speed")

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[installations]}"),
        AverageRate(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as progress:
        sizes = {path: path.stat().st_size if path.is_file() else 0 for path in batch or ()}
        overall = (
            progress.add_task(f"batch: 0/{len(sizes):,} files", total=sum(sizes.values()), installations="")
            if batch is not None
            else None
        )
        begun: list[Path] = []
        shown: list[TaskID] = []
        # The installations of the files before the current one, and of the current one.
        counted = [0, 0]

        def for_file(path: Path) -> Callable[[int, int], None]:
            plain = path.is_file() and not is_gzip(path)
            size = path.stat().st_size if plain else None
            # Files are reported one after another: the previous file's bar is done with.
            while shown:
                progress.remove_task(shown.pop())
            task = progress.add_task(path.name, total=size, installations="0 installations")
            shown.append(task)
            if overall is not None:
                base = sum(sizes.get(done, 0) for done in begun)
                begun.append(path)
                counted[:] = [sum(counted), 0]
                progress.update(overall, completed=base, description=f"batch: {len(begun):,}/{len(sizes):,} files")

            def update(done: int, installations: int) -> None:
                progress.update(task, completed=done, installations=f"{installations:,} installations")
                if overall is not None:
                    counted[1] = installations
                    progress.update(
                        overall,
                        completed=base + done if plain else None,
                        installations=f"{sum(counted):,} installations",
                    )

            return update

        yield for_file


@contextmanager
def _written_together(
    targets: list[tuple[str, OutputTarget]], err: Console, pool: ProcessPoolExecutor | None
) -> Iterator[list[tuple[str, TextOutput]]]:
    """The ``--output`` files, opened, for a command to write; closed and committed together after it.

    On a fault every one is aborted (nothing half-written is left), and a fault of the
    input or of an output is one line on ``err`` and exit 2. The worker pool, if any, is
    shut down either way.
    """
    opened: list[tuple[str, TextOutput]] = []
    try:
        for name, target in targets:
            opened.append((name, open_text_output(target, REPLACE_UNDECODABLE)))
        yield opened
        for _name, report in opened:
            report.close()
        for _name, report in opened:
            report.commit()
    except (McfcheckError, OutputError) as error:
        for _name, report in opened:
            report.abort()
        err.print(f"error: {error}", markup=False)
        raise typer.Exit(ExitStatus.UNUSABLE) from None
    except BaseException:
        for _name, report in opened:
            report.abort()
        raise
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


#: Options every command that reads MCFs takes alike (stats, convert, split, merge, diff).
_MaxDecompressed = Annotated[
    float,
    typer.Option("--max-decompressed", min=0.001, help="The most a gzip-compressed file may decompress to, in GiB."),
]
_ReadingConfig = Annotated[
    Path | None, typer.Option("--config", help="A configuration file (its bindings and cohorts are used).")
]


#: Options of the commands that run the rules (validate, extract).
_Select = Annotated[
    list[str] | None, typer.Option("--select", help="Code prefixes to run, comma-separated (default: all).")
]
_Ignore = Annotated[list[str] | None, typer.Option("--ignore", help="Code prefixes not to run, comma-separated.")]
_ExtendSelect = Annotated[
    list[str] | None, typer.Option("--extend-select", help="Code prefixes added to the selection.")
]
_RuleConfig = Annotated[
    Path | None,
    typer.Option(
        "--config", help="A configuration file (mcfcheck.toml or pyproject.toml); by default the nearest one."
    ),
]
_FailOn = Annotated[Severity, typer.Option("--fail-on", help="The least severity that makes the exit status 1.")]
_ExitZero = Annotated[
    bool,
    typer.Option(
        "--exit-zero", help="Exit with status 0 even where there are findings (2 and 3 still say what they say)."
    ),
]
_Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print only a verdict per file; no progress bar.")]
_OnlyMcf = Annotated[
    bool,
    typer.Option(
        "--only-mcf",
        help="Check only MCFs: files whose root element is in a namespace a binding reads (or the --schema's "
        "target namespace). Other XML documents are skipped, and named once on standard error.",
    ),
]
_Statistics = Annotated[
    bool,
    typer.Option(
        "--statistics",
        help="Print a count of findings per check (the most found first) instead of each finding (console format).",
    ),
]
_Include = Annotated[
    list[str] | None,
    typer.Option(
        "--include", help="A file name pattern folders are searched for (repeatable; default: *.xml, *.xml.gz)."
    ),
]
_RequireSchema = Annotated[
    bool,
    typer.Option("--require-schema", hidden=True, help="Refuse to run without --schema (the mcfcheck-schema hook)."),
]
_NoRules = Annotated[bool, typer.Option("--no-rules", help="Check the schema only; run no cohort rule.")]
_MaxFindings = Annotated[
    int | None,
    typer.Option(
        "--max-findings", min=0, help="Print at most this many findings on the console (the summary counts all)."
    ),
]
_Epcl = Annotated[
    Path | None,
    typer.Option("--epcl", help="The SMETS1 Eligible Product Combinations list (CSV) to check against."),
]


@app.command(epilog=EXIT_CODES_HELP)
def validate(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="MCF files to validate: files, folders (searched at every depth), quoted globs ('samples/**/*.xml'), "
            "or - for standard input.",
            show_default=False,
        ),
    ],
    schema: Annotated[
        Path | None,
        typer.Option(
            "--schema",
            help="An XSD to validate against (for example the DCC's migration schema); "
            "by default the bundled schema matching each file's namespace and schemaVersion.",
        ),
    ] = None,
    binding: Annotated[
        Path | None,
        typer.Option(
            "--binding",
            help="A binding (docs/bindings.md) that says where the rules find what they read, used for every "
            "file whatever its namespace; by default each file's is chosen by its namespace among the bundled "
            "ones and those the configuration lists. Checked against the schema first.",
        ),
    ] = None,
    output_format: Annotated[
        str,
        typer.Option("--format", help=f"The format on standard output: {formats.describe()}; or an installed format."),
    ] = formats.DEFAULT,
    outputs: Annotated[
        list[str] | None,
        typer.Option(
            "--output",
            "-o",
            help=f"Also write a report to a file, as FORMAT=PATH ({', '.join(formats.builtin_names())}, or an "
            "installed format); may be repeated. "
            "Files are replaced atomically; devices, pipes and - (standard output) are written in place; "
            "an input of the run is refused.",
        ),
    ] = None,
    fail_on: _FailOn = Severity.ERROR,
    exit_zero: _ExitZero = False,
    only_mcf: _OnlyMcf = False,
    statistics: _Statistics = False,
    require_schema: _RequireSchema = False,
    max_findings: _MaxFindings = None,
    quiet: _Quiet = False,
    select: _Select = None,
    ignore: _Ignore = None,
    extend_select: _ExtendSelect = None,
    config: _RuleConfig = None,
    epcl: _Epcl = None,
    no_rules: _NoRules = False,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            min=0,
            help="Worker processes: large files are validated in parts, several files at once "
            "(0: all cores; 1: a single process). The findings are the same either way.",
        ),
    ] = 0,
    max_decompressed: Annotated[
        float,
        typer.Option(
            "--max-decompressed",
            min=0.001,
            help="The most a gzip-compressed file may decompress to, in GiB, against decompression bombs.",
        ),
    ] = DEFAULT_MAX_DECOMPRESSED_BYTES / (1 << 30),
    include: _Include = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude", help="A pattern of paths left out of folders and globs, as 'drafts/*' or 'old' (repeatable)."
        ),
    ] = None,
) -> None:
    """Check MCF files against the migration schema and their cohort's rules, in one streaming pass."""
    from mcfcheck.run.discover import DEFAULT_PATTERNS, discover

    run = _Validation.of(locals())
    named = discover(
        [str(path) for path in files], tuple(include or DEFAULT_PATTERNS), exclude=tuple(exclude or ()), once=False
    )
    if not named:
        _unusable(console(stderr=True), f"no file to check in {' '.join(map(str, files))}")
    with _standard_input(named) as (paths, rename):
        run.run(paths, config, epcl, no_rules, jobs, max_decompressed, rename=rename)


#: What batch's ledger does before the files are checked (see :meth:`_Validation.run`).
_LedgerHook = Callable[
    [RuleRegistry, RuleSettings, list[Path]],
    tuple[RuleRegistry, RuleSettings, list[Path], Callable[[ReportSink], ReportSink] | None, ExitStatus],
]


@dataclasses.dataclass
class _Validation:
    """A run of validate (or batch): the options every such run takes, and the run itself."""

    schema: Path | None
    binding: Path | None
    output_format: str
    outputs: list[str]
    fail_on: Severity
    max_findings: int | None
    quiet: bool
    select: list[str] | None
    ignore: list[str] | None
    extend_select: list[str] | None
    #: ``--exit-zero``: findings leave the exit status 0.
    exit_zero: bool = False
    #: ``--only-mcf``: XML documents that are not MCFs are skipped.
    only_mcf: bool = False
    #: ``--statistics``: the console counts the findings by check instead of printing each.
    statistics: bool = False
    #: ``--require-schema``: a run without ``--schema`` is refused.
    require_schema: bool = False

    @classmethod
    def of(cls, options: Mapping[str, object]) -> _Validation:
        """The run a command's options (its parameters, by name) ask for."""
        given = {field.name: options[field.name] for field in dataclasses.fields(cls)}
        return cls(**{**given, "outputs": given["outputs"] or []})  # type: ignore[arg-type]

    def run(
        self,
        files: list[Path],
        config: Path | None,
        epcl: Path | None,
        no_rules: bool,
        jobs: int,
        max_decompressed: float,
        ledger: _LedgerHook | None = None,
        rename: Callable[[ReportSink], ReportSink] | None = None,
        cluster: DaskWorkers | None = None,
    ) -> NoReturn:
        """Validate ``files``; with ``ledger``, which decides the files to check (of those given, with
        the registry and settings, which it may add collectors to) and gives sinks of its own and the
        status of the files it leaves out; with ``cluster``, on a Dask cluster's workers (shut down after).
        """
        schema, binding = self.schema, self.binding
        workers = cluster.threads if cluster is not None else jobs or default_jobs()
        err = console(stderr=True)
        try:
            # Before anything is read: a report must never replace an input.
            targets = _output_targets(self.outputs, [*files, schema, binding, config, epcl])
        except (McfcheckError, OutputError) as error:
            err.print(f"error: {error}", markup=False)
            raise typer.Exit(ExitStatus.UNUSABLE) from None
        # Without rules, the packs (and what they import) are not even loaded. With them, they
        # are loaded before the workers start, so that workers forked from this process have
        # them already; the workers start before the progress bars' thread, and while the
        # reports are set up.
        registry = RuleRegistry() if no_rules else _registry(err)
        try:
            configuration = _configuration(config)
            settings = rule_settings(
                configuration,
                registry,
                _split(self.select),
                _split(self.ignore),
                _split(self.extend_select),
                epcl,
                binding,
            )
            # A binding that does not fit the schema it is used with stops the run before any file is read.
            check_bindings_fit(settings.bindings, schema)
            if no_rules:
                # The settings still say which binding (hence which record element) each file's dialect has.
                settings = dataclasses.replace(settings, run_rules=False)
            if self.require_schema and schema is None:
                raise McfcheckError(
                    "no --schema given: this hook checks files against your schema (args: [--schema, PATH])"
                )
            if self.only_mcf:
                files = self._mcfs(err, files, settings)
            skipped_status: ExitStatus = ExitStatus.VALID
            wrap: Callable[[ReportSink], ReportSink] | None = None
            # The checks the reports describe: a ledger's collector is none.
            described = registry
            if ledger is not None:
                registry, settings, files, wrap, skipped_status = ledger(registry, settings, files)
        except McfcheckError as error:
            err.print(f"error: {error}", markup=False)
            raise typer.Exit(ExitStatus.UNUSABLE) from None
        unmerged = registry.unmerged(settings.selection)
        if unmerged:
            err.print(
                f"note: {', '.join(unmerged)} ({', '.join(sorted({registry.plugins[code] for code in unmerged}))}) "
                "report from the trailer or the finish step without saying how to merge what they gather "
                "(Rule.state and Rule.merge): files are validated in a single pass",
                markup=False,
            )
        split = not unmerged
        pool: Executor | None = cluster
        if cluster is None and needs_workers(files, workers, split=split):
            pool = worker_pool(workers, registry)
        try:
            catalogue_of = functools.partial(catalogue, described)
            with (
                _reports(
                    err,
                    self.output_format,
                    targets,
                    catalogue_of,
                    quiet=self.quiet,
                    max_findings=self.max_findings,
                    statistics=self.statistics,
                ) as sink,
                _progress_bars(err, enabled=not self.quiet, batch=files if ledger is not None else None) as progress,
            ):
                told = wrap(sink) if wrap is not None else sink
                told = rename(told) if rename is not None else told
                status = validate_files(
                    files,
                    told,
                    schema=schema,
                    progress=progress,
                    rules=(registry, settings),
                    jobs=workers,
                    max_decompressed=int(max_decompressed * (1 << 30)),
                    fail_on=self.fail_on,
                    pool=pool,
                    split=split,
                    cluster=cluster is not None,
                )
            # What a sink of the ledger found across files counts too.
            status = max(status, skipped_status, ExitStatus(getattr(told, "status", 0)))
            raise typer.Exit(ExitStatus.VALID if self.exit_zero and status == ExitStatus.FINDINGS else status)
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)

    def _mcfs(self, err: Console, files: list[Path], settings: RuleSettings) -> list[Path]:
        """``files`` but the XML documents that are not MCFs, which are named once on standard error."""
        from mcfcheck.run.discover import not_mcfs
        from mcfcheck.schema.loading import target_namespace

        namespace = target_namespace(self.schema) if self.schema is not None else None
        others = set(not_mcfs(files, settings.bindings, namespace))
        if others:
            names = ", ".join(str(path) for path in files if path in others)
            err.print(
                f"skipped {len(others)} {'file' if len(others) == 1 else 'files'} whose root element is in no MCF "
                f"namespace: {names}",
                markup=False,
                highlight=False,
            )
        return [path for path in files if path not in others]


#: The name standard input is given in reports, as ``-`` names it on the command line.
STANDARD_INPUT = "-"


@contextmanager
def _standard_input(files: list[Path]) -> Iterator[tuple[list[Path], Callable[[ReportSink], ReportSink] | None]]:
    """``files``, where ``-`` is standard input's bytes copied to a file of their own (removed after), and
    what makes a report sink name that file ``-``.
    """
    if Path(STANDARD_INPUT) not in files:
        yield files, None
        return
    from mcfcheck.api import spooled

    with spooled(sys.stdin.buffer) as copy:
        named = [copy if path == Path(STANDARD_INPUT) else path for path in files]
        yield named, functools.partial(_Renamed, names={str(copy): STANDARD_INPUT})


class _Renamed:
    """A report sink that names files by other names (standard input's copy as ``-``), messages included."""

    def __init__(self, sink: ReportSink, names: Mapping[str, str]) -> None:
        self._sink = sink
        self._names = names

    @property
    def status(self) -> int:
        """The wrapped sink's own status (a ledger's checks across files), where it has one."""
        return int(getattr(self._sink, "status", 0))

    def start(self) -> None:
        self._sink.start()

    def file_started(self, path: str) -> None:
        self._sink.file_started(self._names.get(path, path))

    def finding(self, finding: Finding) -> None:
        from mcfcheck.api import renamed_finding

        self._sink.finding(renamed_finding(finding, self._names))

    def file_finished(self, report: FileReport) -> None:
        from mcfcheck.api import renamed_report

        self._sink.file_finished(renamed_report(report, self._names))

    def finish(self) -> None:
        self._sink.finish()


def _unusable(err: Console, error: Exception | str) -> NoReturn:
    """Say what cannot be used, in one line, and end with exit status 2."""
    err.print(f"error: {error}", markup=False)
    raise typer.Exit(ExitStatus.UNUSABLE)


def _one_terminal() -> bool:
    """Whether standard output and standard error are one terminal."""
    try:
        return os.isatty(1) and os.isatty(2) and os.path.samestat(os.fstat(1), os.fstat(2))
    except OSError:
        return False


@contextmanager
def _reports(
    err: Console,
    output_format: str,
    targets: list[tuple[str, OutputTarget]],
    checks_of: Callable[[], Mapping[str, Check]],
    quiet: bool = False,
    max_findings: int | None = None,
    statistics: bool = False,
) -> Iterator[ReportSink]:
    """The reports of a run as one sink: ``output_format`` on standard output, the ``--output`` files.

    Where the format on standard output does not tell each file's verdict, the console
    tells them on standard error. The files are put in place when the run is done, all
    or none: a run that fails, or one that cannot write them, leaves them as they were
    (and ends with exit status 2 and one line).
    """
    try:
        # A report is UTF-8 wherever it goes; so is standard output when it carries one.
        main = reporter_class(output_format)
        on_stdout = standard_text(
            sys.stdout, STANDARD_OUTPUT_NAME, *(() if main.keeps_name_bytes else ("utf-8", REPLACE_UNDECODABLE))
        )
        on_stderr = standard_text(sys.stderr, STANDARD_ERROR_NAME)
        # Where standard output and error are one terminal, the console report prints with the
        # console the progress bars draw on: neither erases nor breaks the other's lines.
        shared = err if err.is_terminal and _one_terminal() else None
        sinks: list[ReportSink] = [
            main(
                on_stdout,
                ReportSettings(
                    checks_of, on_stderr, quiet=quiet, max_findings=max_findings, statistics=statistics, console=shared
                ),
            )
        ]
        if not main.tells_verdicts:
            # Verdicts and errors go to standard error, so that standard output is the report.
            verdicts = err if err.is_terminal else None
            sinks.append(ConsoleReporter(on_stderr, ReportSettings(checks_of, quiet=True, console=verdicts)))
        files_out = _report_files(targets)
    except (McfcheckError, OutputError) as error:
        _unusable(err, error)
    for writer, report in files_out:
        # A report file carries its own error lines; the terminal has them already.
        sinks.append(writer(report.stream, ReportSettings(checks_of)))
    try:
        yield Tee(sinks)
        on_stdout.flush()
        # Every report is written out before any is put in place: a full disk leaves them all as they were.
        for _writer, report in files_out:
            report.close()
        for _writer, report in files_out:
            report.commit()
    except OutputError as error:
        for _writer, report in files_out:
            report.abort()
        _unusable(err, error)
    except BaseException:
        for _writer, report in files_out:
            report.abort()
        raise


def _output_targets(outputs: list[str], inputs: list[Path | None]) -> list[tuple[str, OutputTarget]]:
    """Where the reports --output asks for go (:func:`mcfcheck.outputs.output_target`), before any is read.

    A report that would replace an input of the run, or another report, is refused.
    """
    targets: list[tuple[str, OutputTarget]] = []
    for output in outputs:
        name, separator, path = output.partition("=")
        if not separator or not path:
            raise McfcheckError(f"--output {output!r}: give FORMAT=PATH, for example sarif=report.sarif")
        target = output_target(path, inputs)
        if target.path is None:
            raise OutputError(
                f"{path}: is standard output, which carries the --format report already; "
                f"for the {name} report there, use --format {name}"
            )
        if not target.in_place and any(target.path == other.path for _name, other in targets):
            raise OutputError(f"{path}: given for two reports; give each its own file")
        targets.append((name, target))
    return targets


def _report_files(targets: list[tuple[str, OutputTarget]]) -> list[tuple[type[Reporter], TextOutput]]:
    """The reporters --output asks for, each with its file opened: replaced atomically, or written in place."""
    writers: list[type[Reporter]] = []
    for name, target in targets:
        try:
            writers.append(reporter_class(name))
        except UnknownFormatError as error:
            raise McfcheckError(f"--output {name}={target.name}: {error}") from None
    opened: list[tuple[type[Reporter], TextOutput]] = []
    try:
        for writer, (_name, target) in zip(writers, targets, strict=True):
            # A console report keeps file names as their bytes, as the console shows them.
            opened.append(
                (writer, open_text_output(target, KEEP_BYTES if writer.keeps_name_bytes else REPLACE_UNDECODABLE))
            )
    except OutputError:
        for _writer, report in opened:
            report.abort()
        raise
    return opened


STATS_FORMATS = ("console", "json", "csv", "html")


STATS_EPILOG = (
    "Exit status: 0 every file read, 2 usage error, unusable input, schema or output, "
    "3 internal error; 129, 130, 143 when stopped by SIGHUP, SIGINT, SIGTERM."
)


@app.command(epilog=STATS_EPILOG)
def stats(
    files: Annotated[list[Path], typer.Argument(help="MCF files to count.", show_default=False)],
    output_format: Annotated[
        str, typer.Option("--format", help=f"The format on standard output: {', '.join(STATS_FORMATS)}.")
    ] = "console",
    outputs: Annotated[
        list[str] | None,
        typer.Option(
            "--output",
            "-o",
            help=f"Also write the statistics to a file, as FORMAT=PATH ({', '.join(STATS_FORMATS)}); may be "
            "repeated. Files are replaced atomically; an input of the run is refused.",
        ),
    ] = None,
    schema: Annotated[
        Path | None,
        typer.Option(
            "--schema",
            help="The XSD of the files' dialect (it says where installations stand); by default the bundled "
            "schema matching each file's namespace and schemaVersion. Files are not validated against it.",
        ),
    ] = None,
    binding: Annotated[
        Path | None,
        typer.Option(
            "--binding",
            help="A binding (docs/bindings.md) that says where each counted concept is, used for every file; "
            "by default each file's is chosen by its namespace. Checked against the schema first.",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="A configuration file (its bindings and cohorts are used); by default the nearest one.",
        ),
    ] = None,
    max_values: Annotated[
        int,
        typer.Option(
            "--max-values",
            min=1,
            help="The most distinct values a distribution shows (the most frequent); the rest are one 'other' "
            "row. Counts stay exact: values beyond it are counted on disk.",
        ),
    ] = 1000,  # mcfcheck.rules.statistics.DEFAULT_MAX_VALUES, imported only when the command runs
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            min=0,
            help="Worker processes: large files are read in parts, several files at once (0: all cores; "
            "1: a single process). The counts are the same either way.",
        ),
    ] = 0,
    max_decompressed: Annotated[
        float,
        typer.Option(
            "--max-decompressed",
            min=0.001,
            help="The most a gzip-compressed file may decompress to, in GiB, against decompression bombs.",
        ),
    ] = DEFAULT_MAX_DECOMPRESSED_BYTES / (1 << 30),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Count what MCF files hold: installations, devices, SIMs, notices, per file and in total.

    One streaming pass per file, as validate's (large files in parts on every core), through
    each file's binding. The files are not validated: run validate for a verdict.
    """
    from mcfcheck.reports.stats import FORMATS, StatsRun
    from mcfcheck.run.stats import count_files, statistics_pool, statistics_settings

    workers = jobs or default_jobs()
    err = console(stderr=True)
    try:
        if output_format not in FORMATS:
            raise McfcheckError(f"--format {output_format!r}: choose from {', '.join(FORMATS)}")
        targets = _output_targets(outputs or [], [*files, schema, binding, config])
        for name, target in targets:
            if name not in FORMATS:
                raise McfcheckError(f"--output {name}={target.name}: choose a format from {', '.join(FORMATS)}")
        settings = statistics_settings(
            rule_settings(_configuration(config), RuleRegistry(), binding=binding), max_values
        )
        check_bindings_fit(settings.bindings, schema)
    except (McfcheckError, OutputError) as error:
        err.print(f"error: {error}", markup=False)
        raise typer.Exit(ExitStatus.UNUSABLE) from None
    pool = statistics_pool(workers) if needs_workers(files, workers) else None
    with _written_together(targets, err, pool) as opened:
        with _progress_bars(err, enabled=not quiet) as progress:
            counts = []
            limit = int(max_decompressed * (1 << 30))
            for count in count_files(files, settings, schema, workers, pool, progress, limit):
                if count.error is not None:
                    err.print(f"error: {count.error}", markup=False, highlight=False)
                counts.append(count)
        run = StatsRun(counts, max_values)
        on_stdout = standard_text(
            sys.stdout, STANDARD_OUTPUT_NAME, *(() if output_format == "console" else ("utf-8", REPLACE_UNDECODABLE))
        )
        FORMATS[output_format][1](on_stdout, run)
        on_stdout.flush()
        for name, report in opened:
            FORMATS[name][1](report.stream, run)
    raise typer.Exit(ExitStatus.UNUSABLE if any(count.error for count in counts) else ExitStatus.VALID)


CONVERT_FORMATS = ("csv", "jsonl", "parquet")


@app.command(epilog=STATS_EPILOG)
def convert(
    files: Annotated[list[Path], typer.Argument(help="MCF files to convert.", show_default=False)],
    to: Annotated[str, typer.Option("--to", help=f"The tables' format: {', '.join(CONVERT_FORMATS)}.")],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="The folder to write the tables in (installations, devices, files); it appears complete or "
            "not at all.",
            show_default=False,
        ),
    ],
    force: Annotated[bool, typer.Option("--force", help="Replace the folder if it exists.")] = False,
    with_findings: Annotated[
        bool,
        typer.Option(
            "--with-findings",
            help="Validate in the same pass (the schema and the rules the configuration selects) and write a "
            "findings table too.",
        ),
    ] = False,
    schema: Annotated[
        Path | None, typer.Option("--schema", help="The XSD of the files' dialect (as for stats).")
    ] = None,
    binding: Annotated[
        Path | None, typer.Option("--binding", help="A binding (docs/bindings.md) used for every file.")
    ] = None,
    config: _ReadingConfig = None,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs", "-j", min=0, help="Worker processes (0: all cores; 1: a single process). The rows are the same."
        ),
    ] = 0,
    max_decompressed: _MaxDecompressed = DEFAULT_MAX_DECOMPRESSED_BYTES / (1 << 30),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar, no line per file.")] = False,
) -> None:
    """Write MCF files as tables: installations, devices, files (and findings), in CSV, JSON Lines or Parquet.

    One streaming pass per file, as validate's (large files in parts on every core), through
    each file's binding. Says, per file, whether the rows agree with the trailer's totals.
    """
    from mcfcheck.reports.stats import totals_in_words
    from mcfcheck.rules.parquet import INSTALL_HINT as PARQUET_HINT
    from mcfcheck.rules.parquet import parquet_available, warm_up
    from mcfcheck.run.convert import convert_files, convert_registry
    from mcfcheck.run.stats import Reading

    workers = jobs or default_jobs()
    err, out = console(stderr=True), console()
    try:
        if to not in CONVERT_FORMATS:
            raise McfcheckError(f"--to {to!r}: choose from {', '.join(CONVERT_FORMATS)}")
        if to == "parquet" and not parquet_available():
            raise McfcheckError(f"--to parquet needs pyarrow: {PARQUET_HINT}")
        rules = _registry(err) if with_findings else None
        settings = rule_settings(_configuration(config), rules or RuleRegistry(), binding=binding)
        check_bindings_fit(settings.bindings, schema)
    except McfcheckError as error:
        err.print(f"error: {error}", markup=False)
        raise typer.Exit(ExitStatus.UNUSABLE) from None
    # A rule that cannot merge what it gathers across parts has files read in a single pass.
    split = rules is None or not rules.unmerged(settings.selection)
    unusable = False
    if to == "parquet":
        # Once, before the workers are forked with it (each would take a few tenths of a second);
        # without numpy where this process is mcfcheck's own.
        warm_up(without_numpy=process_tuned())
    registry = convert_registry(rules)
    pool = worker_pool(workers, registry) if needs_workers(files, workers, split=split) else None
    try:
        with atomic_folder(output, [*files, schema, binding, config], force=force) as folder:
            limit = int(max_decompressed * (1 << 30))
            with _progress_bars(err, enabled=not quiet) as progress:
                reading = Reading(schema, workers if split else 1, pool, progress, limit)
                for count in convert_files(files, settings, to, folder, reading, rules):
                    if count.error is not None:
                        unusable = True
                        err.print(f"error: {count.error}", markup=False, highlight=False)
                    elif count.statistics is not None and not quiet:
                        said = totals_in_words(count.statistics)
                        out.print(f"{count.path}: {said}", markup=False, highlight=False)
    except (McfcheckError, OutputError) as error:
        err.print(f"error: {error}", markup=False)
        raise typer.Exit(ExitStatus.UNUSABLE) from None
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    raise typer.Exit(ExitStatus.UNUSABLE if unusable else ExitStatus.VALID)


DIFF_EPILOG = (
    "Exit status: 0 no differences, 1 differences, 2 usage error, unusable input, schema or output, "
    "3 internal error; 129, 130, 143 when stopped by SIGHUP, SIGINT, SIGTERM."
)


@app.command(name="diff", epilog=DIFF_EPILOG)
def diff_command(
    old: Annotated[Path, typer.Argument(help="The earlier MCF file.", show_default=False)],
    new: Annotated[Path, typer.Argument(help="The later MCF file.", show_default=False)],
    output_format: Annotated[
        str, typer.Option("--format", help="The format on standard output: console, json, csv.")
    ] = "console",
    outputs: Annotated[
        list[str] | None,
        typer.Option(
            "--output",
            "-o",
            help="Also write the differences to a file, as FORMAT=PATH (console, json, csv); may be repeated. "
            "Files are replaced atomically; an input of the run is refused.",
        ),
    ] = None,
    schema: Annotated[
        Path | None, typer.Option("--schema", help="The XSD of the files' dialect (as for stats).")
    ] = None,
    new_schema: Annotated[
        Path | None,
        typer.Option("--new-schema", help="The XSD of NEW's dialect, where it is not OLD's (by default --schema)."),
    ] = None,
    binding: Annotated[
        Path | None, typer.Option("--binding", help="A binding (docs/bindings.md) used for both files.")
    ] = None,
    config: _ReadingConfig = None,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs", "-j", min=0, help="Worker processes (0: all cores; 1: a single process). The result is the same."
        ),
    ] = 0,
    max_decompressed: _MaxDecompressed = DEFAULT_MAX_DECOMPRESSED_BYTES / (1 << 30),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Compare two MCF files: installations added, removed and changed (matched by reference), header fields.

    For a changed installation, which concepts changed, with old and new values: devices
    (matched by Device ID) added, removed, swapped or changed, status, SIM, MPAN, notices.
    Each file is read in one streaming pass through its own binding (the two may be in
    different dialects); fingerprints are kept on disk, so memory stays bounded.
    """
    from mcfcheck.reports.diff import FORMATS
    from mcfcheck.run.diff import diff_files, diff_registry
    from mcfcheck.run.stats import Reading

    workers = jobs or default_jobs()
    err = console(stderr=True)
    try:
        if output_format not in FORMATS:
            raise McfcheckError(f"--format {output_format!r}: choose from {', '.join(FORMATS)}")
        targets = _output_targets(outputs or [], [old, new, schema, new_schema, binding, config])
        for name, target in targets:
            if name not in FORMATS:
                raise McfcheckError(f"--output {name}={target.name}: choose a format from {', '.join(FORMATS)}")
        settings = rule_settings(_configuration(config), RuleRegistry(), binding=binding)
        check_bindings_fit(settings.bindings, schema)
        if new_schema is not None:
            check_bindings_fit(settings.bindings, new_schema)
    except (McfcheckError, OutputError) as error:
        err.print(f"error: {error}", markup=False)
        raise typer.Exit(ExitStatus.UNUSABLE) from None
    files = [old, new]
    pool = worker_pool(workers, diff_registry()) if needs_workers(files, workers) else None
    with _written_together(targets, err, pool) as opened:
        limit = int(max_decompressed * (1 << 30))
        with _progress_bars(err, enabled=not quiet) as progress:
            reading = Reading(schema, workers, pool, progress, limit)
            found = diff_files(old, new, settings, reading, new_schema=new_schema)
        with found:
            on_stdout = standard_text(
                sys.stdout,
                STANDARD_OUTPUT_NAME,
                *(() if output_format == "console" else ("utf-8", REPLACE_UNDECODABLE)),
            )
            FORMATS[output_format](on_stdout, found)
            on_stdout.flush()
            for name, report in opened:
                FORMATS[name](report.stream, found)
            differences = found.summary.differences
    raise typer.Exit(ExitStatus.FINDINGS if differences else ExitStatus.VALID)


RESHAPE_EPILOG = (
    "Exit status: 0 written, 1 refused for what the inputs hold (merge: duplicates without "
    "--allow-duplicates), 2 usage error, unusable input, schema or output, 3 internal error; "
    "129, 130, 143 when stopped by SIGHUP, SIGINT, SIGTERM."
)


def _reading_options(
    schema: Path | None, binding: Path | None, config: Path | None
) -> tuple[RuleSettings, Path | None]:
    settings = rule_settings(_configuration(config), RuleRegistry(), binding=binding)
    check_bindings_fit(settings.bindings, schema)
    return settings, schema


@app.command(epilog=RESHAPE_EPILOG)
def split(
    file: Annotated[Path, typer.Argument(help="The MCF file to split.", show_default=False)],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="The folder to write the parts in; it appears complete or not at all.",
            show_default=False,
        ),
    ],
    max_installations: Annotated[
        int | None, typer.Option("--max-installations", min=1, help="At most this many installations per part.")
    ] = None,
    parts: Annotated[int | None, typer.Option("--parts", min=1, help="This many parts, of even sizes.")] = None,
    by: Annotated[
        str | None,
        typer.Option("--by", help="One part per value of: groupid, smso, status, planned-migration-week."),
    ] = None,
    keep_identifier: Annotated[
        bool,
        typer.Option("--keep-identifier", help="Keep the input's file identifier in every part (no suffix)."),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace the folder if it exists.")] = False,
    schema: Annotated[Path | None, typer.Option("--schema", help="The XSD of the file's dialect.")] = None,
    binding: Annotated[Path | None, typer.Option("--binding", help="A binding (docs/bindings.md).")] = None,
    config: _ReadingConfig = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=0, help="Worker processes (0: all cores).")] = 0,
    max_decompressed: _MaxDecompressed = DEFAULT_MAX_DECOMPRESSED_BYTES / (1 << 30),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar, no line per part.")] = False,
) -> None:
    """Split an MCF into valid MCFs: by size, into a number of parts, or by a value.

    Each part has the input's header (its file identifier with a suffix: -part-0001, or
    -status-Dormant…), the input's installations byte for byte, and a trailer with its own
    totals; the folder gets manifest.json (each part's counts and SHA-256).
    """
    from mcfcheck.run.reshape import BY, split_file
    from mcfcheck.run.stats import Reading

    err, out = console(stderr=True), console()
    workers = jobs or default_jobs()
    try:
        given = [
            option
            for option, value in (("--max-installations", max_installations), ("--parts", parts), ("--by", by))
            if value is not None
        ]
        if len(given) != 1:
            raise McfcheckError("give one of --max-installations, --parts, --by")
        if by is not None and by not in BY:
            raise McfcheckError(f"--by {by!r}: choose from {', '.join(BY)}")
        settings, schema = _reading_options(schema, binding, config)
    except McfcheckError as error:
        err.print(f"error: {error}", markup=False, highlight=False)
        raise typer.Exit(ExitStatus.UNUSABLE) from None
    pool = worker_pool(workers, _reshape_registry()) if needs_workers([file], workers) else None
    try:
        with atomic_folder(output, [file, schema, binding, config], force=force) as folder:
            limit = int(max_decompressed * (1 << 30))
            with _progress_bars(err, enabled=not quiet) as progress:
                reading = Reading(schema, workers, pool, progress, limit)
                written = split_file(file, settings, reading, folder, max_installations, parts, by, keep_identifier)
        if not quiet:
            for part in written:
                out.print(
                    f"{Path(output) / part.path}: {part.installations:,} installations, {part.devices:,} devices",
                    markup=False,
                    highlight=False,
                )
    except (McfcheckError, OutputError) as error:
        err.print(f"error: {error}", markup=False, highlight=False)
        raise typer.Exit(ExitStatus.UNUSABLE) from None
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    raise typer.Exit(ExitStatus.VALID)


def _reshape_registry() -> RuleRegistry:
    from mcfcheck.run.reshape import reshape_registry

    return reshape_registry()


#: How many duplicates ``merge`` names before it counts them only.
_MAX_DUPLICATES_TOLD: Final = 20


@app.command(epilog=RESHAPE_EPILOG)
def merge(
    files: Annotated[list[Path], typer.Argument(help="The MCF files to merge, in order.", show_default=False)],
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="The MCF to write; it appears complete or not at all.", show_default=False),
    ],
    allow_duplicates: Annotated[
        bool,
        typer.Option(
            "--allow-duplicates", help="Merge even where an installation reference or Device ID is in two inputs."
        ),
    ] = False,
    file_identifier: Annotated[
        str | None,
        typer.Option("--file-identifier", help="The merged file's identifier (else the first input's)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the output if it exists.")] = False,
    schema: Annotated[Path | None, typer.Option("--schema", help="The XSD of the files' dialect.")] = None,
    binding: Annotated[Path | None, typer.Option("--binding", help="A binding (docs/bindings.md).")] = None,
    config: _ReadingConfig = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=0, help="Worker processes (0: all cores).")] = 0,
    max_decompressed: _MaxDecompressed = DEFAULT_MAX_DECOMPRESSED_BYTES / (1 << 30),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar, no summary line.")] = False,
) -> None:
    """Merge MCFs into one: the first's header, every installation in order, the totals recomputed.

    The headers must agree on GroupID, SMSO and supplier; an installation reference or
    Device ID in two inputs is reported and refuses the merge, unless --allow-duplicates.
    """
    from mcfcheck.run.reshape import RefusedError, merge_files
    from mcfcheck.run.stats import Reading

    err, out = console(stderr=True), console()
    workers = jobs or default_jobs()
    try:
        settings, schema = _reading_options(schema, binding, config)
        target = output_target(output, [*files, schema, binding, config])
        if target.path is not None and target.path.exists() and not target.in_place and not force:
            raise OutputError(f"{output}: exists; give --force to replace it")
    except (McfcheckError, OutputError) as error:
        err.print(f"error: {error}", markup=False, highlight=False)
        raise typer.Exit(ExitStatus.UNUSABLE) from None
    pool = worker_pool(workers, _reshape_registry()) if needs_workers(files, workers) else None

    told = 0

    def report(message: str) -> None:
        nonlocal told
        told += 1
        if told <= _MAX_DUPLICATES_TOLD:
            err.print(f"duplicate: {message}", markup=False, highlight=False)
        elif told == _MAX_DUPLICATES_TOLD + 1:
            err.print("duplicate: … (the count below has them all)", markup=False, highlight=False)

    try:
        limit = int(max_decompressed * (1 << 30))
        scratch = target.path.parent if target.path is not None else Path.cwd()
        with _progress_bars(err, enabled=not quiet) as progress, atomic_output(output) as stream:
            reading = Reading(schema, workers, pool, progress, limit)
            merged = merge_files(files, settings, reading, stream, scratch, allow_duplicates, file_identifier, report)
        if not quiet:
            out.print(
                f"{output}: {merged.installations:,} installations, {merged.devices:,} devices "
                f"from {merged.inputs} files",
                markup=False,
                highlight=False,
            )
    except RefusedError as error:
        err.print(f"error: {error}", markup=False, highlight=False)
        raise typer.Exit(ExitStatus.FINDINGS) from None
    except (McfcheckError, OutputError) as error:
        err.print(f"error: {error}", markup=False, highlight=False)
        raise typer.Exit(ExitStatus.UNUSABLE) from None
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    raise typer.Exit(ExitStatus.VALID)


BATCH_EPILOG = (
    "Exit status: 0 every file valid (those the ledger holds by their verdict there), 1 findings, "
    "2 usage error, a manifest, ledger, schema or configuration that cannot be used, or a report that "
    f"cannot be written, {_EXIT_TAIL}"
)


@app.command(epilog=BATCH_EPILOG)
def batch(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Files; folders, searched at every depth for --include's patterns; @MANIFEST, a file that "
            "lists one path a line (relative to its folder), or @- for standard input.",
            show_default=False,
        ),
    ],
    ledger: Annotated[
        str | None,
        typer.Option(
            "--ledger",
            help="The ledger: sqlite:///PATH or a file name (default: mcfcheck-ledger.sqlite in the current folder), "
            "or postgresql://USER@HOST/DATABASE, which batches on several machines may share.",
        ),
    ] = None,
    no_ledger: Annotated[bool, typer.Option("--no-ledger", help="Keep no ledger: validate the files only.")] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Check again files the ledger holds (the same bytes, the same configuration)."),
    ] = False,
    include: _Include = None,
    schema: Annotated[Path | None, typer.Option("--schema", help="An XSD to validate against.")] = None,
    binding: Annotated[Path | None, typer.Option("--binding", help="A binding (docs/bindings.md).")] = None,
    output_format: Annotated[
        str,
        typer.Option("--format", help=f"The format on standard output: {formats.describe()}; or an installed format."),
    ] = formats.DEFAULT,
    outputs: Annotated[
        list[str] | None,
        typer.Option("--output", "-o", help="Also write a report to a file, as FORMAT=PATH; may be repeated."),
    ] = None,
    fail_on: _FailOn = Severity.ERROR,
    exit_zero: _ExitZero = False,
    only_mcf: _OnlyMcf = False,
    statistics: _Statistics = False,
    require_schema: _RequireSchema = False,
    max_findings: _MaxFindings = None,
    quiet: _Quiet = False,
    select: _Select = None,
    ignore: _Ignore = None,
    extend_select: _ExtendSelect = None,
    config: _RuleConfig = None,
    epcl: _Epcl = None,
    no_rules: _NoRules = False,
    jobs: Annotated[
        int,
        typer.Option("--jobs", "-j", min=0, help="Worker processes (0: all cores; with --dask local, its workers)."),
    ] = 0,
    max_decompressed: _MaxDecompressed = DEFAULT_MAX_DECOMPRESSED_BYTES / (1 << 30),
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            metavar="ADDRESS",
            help="Validate on the workers of a Dask cluster: its scheduler's address (tcp://HOST:8786), or local "
            "to start one on this machine. The workers must see the files and this machine's temporary folder by "
            "the same paths. Needs the extra mcfcheck\\[dask].",
            show_default=False,
        ),
    ] = None,
    dask_timeout: Annotated[
        float,
        typer.Option(
            "--dask-timeout",
            metavar="SECONDS",
            min=0.1,
            help="How long connecting to the Dask scheduler, and waiting for a worker, may take.",
        ),
    ] = DASK_TIMEOUT_SECONDS,
) -> None:
    """Validate many files (folders, manifests) as validate does, and record each in a ledger.

    The ledger (SQLite, or PostgreSQL) keeps, for each file checked, its path, size, SHA-256, header
    (supplier, GroupID, SMSO, file identifier), verdict and findings by code, and each
    installation with its verdict and identifiers; each file in one transaction: a batch
    stopped at any moment can be run again, and a file the ledger holds (the same bytes,
    checked with the same configuration) is skipped, with its recorded verdict (--force
    checks it again). An identifier that an installation with another reference holds in
    another file of the batch or of the ledger is a finding (XFL). mcfcheck ledger gives
    the rollups and an installation's history. A PostgreSQL ledger may be shared by
    batches on several machines: a file that two batches check at once is recorded once.
    """
    from mcfcheck.run.discover import DEFAULT_PATTERNS, discover
    from mcfcheck.run.ledger import (
        Ledger,
        LedgerSink,
        configuration_of,
        cross_checks,
        digests,
        holdings_collected,
    )

    err = console(stderr=True)
    opened: list[Ledger] = []
    staging: list[Path] = []
    try:
        files = discover(paths, tuple(include or DEFAULT_PATTERNS))
        if not no_ledger:
            opened.append(Ledger(ledger))
    except McfcheckError as error:
        err.print(f"error: {error}", markup=False, highlight=False)
        raise typer.Exit(ExitStatus.UNUSABLE) from None
    if not files:
        err.print(f"error: no file to check in {' '.join(paths)}", markup=False, highlight=False)
        raise typer.Exit(ExitStatus.UNUSABLE)
    try:
        cluster = connect(dask, dask_timeout, jobs) if dask is not None else None
    except McfcheckError as error:
        for book in opened:
            book.close()
        _unusable(err, error)

    def with_ledger(
        registry: RuleRegistry, settings: RuleSettings, given: list[Path]
    ) -> tuple[RuleRegistry, RuleSettings, list[Path], Callable[[ReportSink], ReportSink] | None, ExitStatus]:
        if not opened:
            return registry, settings, given, None, ExitStatus.VALID
        book = opened[0]
        configuration = configuration_of(settings, schema, fail_on)
        found = digests(given)
        status, checked, seen = ExitStatus.VALID, [], {}
        for path in given:
            digest = found[str(path)]
            recorded = book.known(digest[1], configuration) if digest is not None else None
            if recorded is None or force:
                checked.append(path)
                # What the ledger held when the batch looked: another batch's record since is kept instead.
                seen[str(path)] = recorded.file if recorded is not None else 0
                continue
            errors = recorded.errors
            verdict = "valid" if recorded.valid else f"invalid, {errors:,} error{'' if errors == 1 else 's'}"
            if not quiet:
                err.print(
                    f"{path}: skipped: the ledger holds it (run {recorded.run}, {recorded.checked}: {verdict})",
                    markup=False,
                    highlight=False,
                )
            if not recorded.valid:
                status = ExitStatus.FINDINGS
        run = book.begin_run(configuration)
        checks = cross_checks(registry, settings) if settings.run_rules else {}
        sink = LedgerSink(book, run, configuration, found, settings.bindings, fail_on, checks, seen)
        sinks.append(sink)
        if settings.run_rules:
            # Each installation's identifiers, noted in the same pass by a collector beside the rules.
            staging.append(Path(tempfile.mkdtemp(prefix="mcfcheck-ledger-")))
            registry, settings = holdings_collected(registry, settings, staging[0])

        def wrapping(reports: ReportSink) -> ReportSink:
            sink.downstream = reports
            return sink

        return registry, settings, checked, wrapping, status

    sinks: list[LedgerSink] = []
    validation = _Validation.of(locals())
    try:
        validation.run(files, config, epcl, no_rules, jobs, max_decompressed, ledger=with_ledger, cluster=cluster)
    finally:
        if cluster is not None:
            cluster.shutdown(cancel_futures=True)
        for book in opened:
            book.close()
        for folder in staging:
            shutil.rmtree(folder, ignore_errors=True)
        for path in sinks[0].recorded_elsewhere if sinks and not quiet else []:
            err.print(
                f"{path}: recorded by another batch while this one checked it (the ledger keeps one record)",
                markup=False,
                highlight=False,
            )


@app.command(
    name="ledger",
    epilog="Exit status: 0 shown, 1 no installation with that reference (history), 2 usage error or a ledger "
    f"that cannot be used, {_EXIT_TAIL}",
)
def ledger_command(
    what: Annotated[
        str,
        typer.Argument(
            help="summary: rollups per supplier, SMSO and GroupID; runs: the runs; history REF: each time an "
            "installation with that reference was checked."
        ),
    ],
    reference: Annotated[str | None, typer.Argument(help="The installation reference (history).")] = None,
    ledger: Annotated[
        str | None,
        typer.Option("--ledger", help="The ledger: sqlite:///PATH, a file name or postgresql://USER@HOST/DATABASE."),
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", help="console or json; summary also html (one self-contained page, with charts).")
    ] = "console",
) -> None:
    """Read the ledger that mcfcheck batch writes: rollups of what it holds, its runs, an installation's history."""
    from mcfcheck.run.ledger import Ledger

    err, out = console(stderr=True), console()
    try:
        if what not in ("summary", "runs", "history"):
            raise McfcheckError(f"{what!r}: choose from summary, runs, history")
        if (what == "history") != (reference is not None):
            raise McfcheckError("give an installation reference after history, and only there")
        formats = ("console", "json", "html") if what == "summary" else ("console", "json")
        if output_format not in formats:
            raise McfcheckError(f"--format {output_format!r}: choose from {', '.join(formats)}")
        book = Ledger(ledger, create=False)
        path = book.name
    except McfcheckError as error:
        err.print(f"error: {error}", markup=False, highlight=False)
        raise typer.Exit(ExitStatus.UNUSABLE) from None
    try:
        if what == "history":
            assert reference is not None
            submissions = book.history(reference)
            rejected = sum(not submission.valid for submission in submissions)
            if output_format == "json":
                document = {
                    "ledger": str(path),
                    "reference": reference,
                    "submissions": len(submissions),
                    "rejected": rejected,
                    "history": [dataclasses.asdict(submission) for submission in submissions],
                }
                out.print(dumps(document), markup=False, highlight=False, soft_wrap=True)
                raise typer.Exit(ExitStatus.VALID)
            out.print(
                f"{reference}: checked {len(submissions):,} time{'' if len(submissions) == 1 else 's'}, "
                f"rejected {rejected:,}",
                markup=False,
                highlight=False,
            )
            for submission in submissions:
                out.print(
                    f"  run {submission.run}, {submission.checked}: {submission.path} "
                    f"({submission.file_identifier or 'no file identifier'}), installation {submission.position}: "
                    f"{'accepted' if submission.valid else 'rejected'}",
                    markup=False,
                    highlight=False,
                )
            raise typer.Exit(ExitStatus.VALID if submissions else ExitStatus.FINDINGS)
        if what == "runs":
            runs = [
                {"run": number, "started": started, "finished": finished, "files": files}
                for number, started, finished, files in book.runs()
            ]
            if output_format == "json":
                out.print(dumps({"ledger": str(path), "runs": runs}), markup=False, highlight=False, soft_wrap=True)
            for run in runs if output_format == "console" else []:
                ended = run["finished"] or "stopped before its end"
                files = run["files"]
                said = f"{files:,} file{'' if files == 1 else 's'}"
                out.print(f"run {run['run']}: {run['started']} to {ended}, {said}", markup=False, highlight=False)
            raise typer.Exit(ExitStatus.VALID)
        groups = {by: book.summary(by) for by in ("supplier", "smso", "group_id")}
        if output_format == "json":
            document = {
                "ledger": str(path),
                **{
                    by: [
                        {
                            "value": rollup.value,
                            "files": rollup.files,
                            "valid_files": rollup.valid_files,
                            "installations": rollup.installations,
                            "accepted": rollup.accepted,
                            "rejected": rollup.rejected,
                            "findings": dict(rollup.findings),
                        }
                        for rollup in rollups
                    ]
                    for by, rollups in groups.items()
                },
            }
            out.print(dumps(document), markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(ExitStatus.VALID)
        if output_format == "html":
            from mcfcheck.reports.ledger_html import write_ledger_html

            page = standard_text(sys.stdout, STANDARD_OUTPUT_NAME, "utf-8", REPLACE_UNDECODABLE)
            write_ledger_html(page, str(path), groups)
            page.flush()
            raise typer.Exit(ExitStatus.VALID)
        from rich.table import Table

        for by, rollups in groups.items():
            table = Table(title=f"by {by.replace('_', ' ')}", title_justify="left")
            numbers = ("files", "valid", "installations", "accepted", "rejected")
            for column in (by.replace("_", " "), *numbers, "findings by code"):
                table.add_column(column, justify="right" if column in numbers else "left")
            for rollup in rollups:
                table.add_row(
                    rollup.value or "(none)",
                    f"{rollup.files:,}",
                    f"{rollup.valid_files:,}",
                    f"{rollup.installations:,}",
                    f"{rollup.accepted:,}",
                    f"{rollup.rejected:,}",
                    ", ".join(f"{code} {count:,}" for code, count in rollup.findings.items()) or "-",
                )
            out.print(table)
    finally:
        book.close()
    raise typer.Exit(ExitStatus.VALID)


EXTRACT_EPILOG = (
    "Exit status: 0 no finding that fails (--fail-on) anywhere in the file, 1 installations rejected or "
    f"findings about the file's header or trailer, 2 usage error, unusable input, schema or output, {_EXIT_TAIL}"
)


@app.command(epilog=EXTRACT_EPILOG)
def extract(
    file: Annotated[Path, typer.Argument(help="The MCF file to validate and divide.", show_default=False)],
    accepted: Annotated[
        Path,
        typer.Option("--accepted", help="The MCF of the installations with no finding that fails.", show_default=False),
    ],
    rejected: Annotated[
        Path,
        typer.Option("--rejected", help="The MCF of the installations with a finding that fails.", show_default=False),
    ],
    response: Annotated[
        Path | None,
        typer.Option(
            "--response",
            help="A CSV listing every installation once: position, reference, line, accepted or rejected, "
            "its findings' codes, your reason codes for them ([reason-codes] in the configuration), messages; "
            "the findings about the file first.",
        ),
    ] = None,
    fail_on: Annotated[
        Severity, typer.Option("--fail-on", help="The least severity that rejects an installation.")
    ] = Severity.ERROR,
    duplicates: Annotated[
        str,
        typer.Option(
            "--duplicates",
            help="An identifier in several installations (a Device ID, a reference…): reject-all rejects every "
            "one, keep-first all but the first.",
        ),
    ] = "reject-all",
    force: Annotated[bool, typer.Option("--force", help="Replace outputs that exist.")] = False,
    select: _Select = None,
    ignore: _Ignore = None,
    extend_select: _ExtendSelect = None,
    config: _RuleConfig = None,
    epcl: _Epcl = None,
    schema: Annotated[Path | None, typer.Option("--schema", help="The XSD of the file's dialect.")] = None,
    binding: Annotated[Path | None, typer.Option("--binding", help="A binding (docs/bindings.md).")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=0, help="Worker processes (0: all cores).")] = 0,
    max_decompressed: _MaxDecompressed = DEFAULT_MAX_DECOMPRESSED_BYTES / (1 << 30),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar, no summary line.")] = False,
) -> None:
    """Validate an MCF and divide its installations: accepted (no finding that fails) and rejected.

    The file is validated as validate validates it; an installation with an error (with
    --fail-on warning, a warning too) goes to the rejected MCF, every other to the
    accepted one, each copied byte for byte. Both keep the input's header and get
    trailer totals of their own. An identifier found in several installations rejects
    each of them (--duplicates keep-first: all but the first).
    """
    from mcfcheck.run.extract import DUPLICATES, extract_file
    from mcfcheck.run.stats import Reading

    err, out = console(stderr=True), console()
    workers = jobs or default_jobs()
    registry = _registry(err)
    outputs = [accepted, rejected, *([response] if response is not None else [])]
    try:
        if duplicates not in DUPLICATES:
            raise McfcheckError(f"--duplicates {duplicates!r}: choose from {', '.join(DUPLICATES)}")
        configuration = _configuration(config)
        settings = rule_settings(
            configuration, registry, _split(select), _split(ignore), _split(extend_select), epcl, binding
        )
        check_bindings_fit(settings.bindings, schema)
        known = catalogue(registry)
        unknown = sorted(code for code in configuration.reason_codes if code not in known)
        if unknown:
            raise McfcheckError(
                f"{configuration.source}: reason-codes.{unknown[0]} is not a code of mcfcheck's (see 'mcfcheck rules')"
            )
        targets = [output_target(path, [file, schema, binding, config, epcl]) for path in outputs]
        named = [target.path.resolve() for target in targets if target.path is not None]
        if len(set(named)) != len(named) or len(targets) - len(named) > 1:
            raise OutputError(
                "--accepted, --rejected and --response must be three different files (standard output for one at most)"
            )
        for target in targets:
            if target.path is not None and target.path.exists() and not target.in_place and not force:
                raise OutputError(f"{target.name}: exists; give --force to replace it")
    except (McfcheckError, OutputError) as error:
        err.print(f"error: {error}", markup=False, highlight=False)
        raise typer.Exit(ExitStatus.UNUSABLE) from None
    pool = worker_pool(workers, registry) if needs_workers([file], workers) else None
    opened: list[Output] = []
    try:
        opened.extend(open_output(target) for target in targets)
        limit = int(max_decompressed * (1 << 30))
        # Beside an output that is a file replaced atomically (its folder is writable), else in the temporary folder.
        beside = next((t.path for t in targets if t.path is not None and not t.in_place), None)
        scratch = beside.parent if beside is not None else Path(tempfile.gettempdir())
        with _progress_bars(err, enabled=not quiet) as progress:
            reading = Reading(schema, workers, pool, progress, limit)
            done = extract_file(
                file,
                settings,
                registry,
                reading,
                opened[0].binary,
                opened[1].binary,
                scratch,
                opened[2].binary if response is not None else None,
                fail_on,
                keep_first=duplicates == "keep-first",
                reason_codes=configuration.reason_codes,
            )
        for output in opened:
            output.close()
        for output in opened:
            output.commit()
    except (McfcheckError, OutputError) as error:
        for output in opened:
            output.abort()
        err.print(f"error: {error}", markup=False, highlight=False)
        raise typer.Exit(ExitStatus.UNUSABLE) from None
    except BaseException:
        for output in opened:
            output.abort()
        raise
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if not quiet:
        said = f"{file}: {done.installations:,} installations: {done.accepted:,} accepted ({accepted}), "
        said += f"{done.rejected:,} rejected ({rejected})"
        out.print(said + (f"; response in {response}" if response is not None else ""), markup=False, highlight=False)
        if done.file_findings:
            codes = ", ".join(f"{code} ({count:,})" for code, count in sorted(done.file_findings.items()))
            out.print(
                f"{file}: findings about the file itself (its header or trailer): {codes}; the trailer's totals "
                "are each output's own",
                markup=False,
                highlight=False,
            )
        if done.accepted == 0:
            err.print(
                f"note: {accepted} holds no installation: not a valid MCF where the schema asks for one",
                markup=False,
                highlight=False,
            )
        if done.file_errors_kept:
            err.print(
                f"warning: {file}: {done.file_errors_kept:,} error(s) in the header or trailer are in both outputs "
                "as in the input: they are not the installations' to fix",
                markup=False,
                highlight=False,
            )
    failed = done.rejected or done.file_failing
    raise typer.Exit(ExitStatus.FINDINGS if failed else ExitStatus.VALID)


def _split(values: list[str] | None) -> list[str]:
    """Code prefixes given as repeated and comma-separated options."""
    return [part.strip() for value in values or () for part in value.split(",") if part.strip()]


def _registry(err: Console) -> RuleRegistry:
    """The installed rules; problems with plugins are warnings, and the run goes on."""
    registry = load_registry()
    for problem in registry.problems:
        err.print(f"warning: {problem}", highlight=False)
    return registry


def _configuration(path: Path | None) -> Configuration:
    found = path or find_configuration(Path.cwd())
    return load_configuration(found) if found is not None else Configuration()


def _builtin_checks() -> dict[str, tuple[str, str, str, str]]:
    """The checks that are not rules, by code: name, where they apply, summary, documentation.

    Schema findings and the cohort check, in every cohort; a notification schedule's row
    that cannot be read, in ``mcfcheck workdays --check``.
    """
    from mcfcheck.run.schedule import BAD_ROW, BAD_ROW_HELP, BAD_ROW_NAME, BAD_ROW_SUMMARY

    checks = {code: ("schema", "every cohort", summary, summary) for code, summary in SCHEMA_CODES.items()}
    checks[UNKNOWN_GROUP_ID] = ("unknown-group-id", "every cohort", UNKNOWN_GROUP_ID_SUMMARY, UNKNOWN_GROUP_ID_SUMMARY)
    checks[BAD_ROW] = (BAD_ROW_NAME, "workdays --check", BAD_ROW_SUMMARY, BAD_ROW_HELP)
    return checks


@app.command(name="rules", epilog=f"Exit status: 0 listed, 2 usage error (an unknown code), {_EXIT_TAIL}")
def list_rules(
    code: Annotated[str | None, typer.Argument(help="A code or rule name to document.", show_default=False)] = None,
) -> None:
    """List every check (code, cohorts, severity, summary), or print one rule's documentation."""
    out, err = console(), console(stderr=True)
    registry = _registry(err)
    builtin = _builtin_checks()
    if code is not None:
        rule = registry.rules.get(code.upper()) or next((r for r in registry.rules.values() if r.name == code), None)
        if rule is not None:
            cohorts = ", ".join(sorted(rule.cohorts)) or "every cohort"
            out.print(f"{rule.code} {rule.name} ({rule.severity.value}; {cohorts}; from {registry.plugins[rule.code]})")
            out.print()
            out.print(rule.documentation(), markup=False)
            out.print()
            reads = "every concept (it does not say)" if rule.reads is None else ", ".join(sorted(rule.reads)) or "none"
            out.print(f"Reads: {reads} (a file's binding must place them for it to run; see docs/bindings.md)")
            if rule.defaults:
                from mcfcheck.rules.options import option_specs

                out.print()
                out.print("Options:")
                for key, spec in option_specs(rule.defaults).items():
                    out.print(f"  {key} = {spec.shown()} ({spec.describe()})", markup=False)
            raise typer.Exit(ExitStatus.VALID)
        if code.upper() in builtin:
            name, scope, _summary, documentation = builtin[code.upper()]
            out.print(f"{code.upper()} {name} (error; {scope})")
            out.print()
            out.print(documentation, markup=False)
            raise typer.Exit(ExitStatus.VALID)
        err.print(f"error: no rule {code!r} (see 'mcfcheck rules')")
        raise typer.Exit(ExitStatus.UNUSABLE)
    from rich.table import Table

    table = Table(title="mcfcheck checks")
    for column in ("code", "name", "cohorts", "severity", "summary"):
        table.add_column(column, overflow="fold")
    for builtin_code, (name, scope, summary, _documentation) in sorted(builtin.items()):
        table.add_row(builtin_code, name, scope, "error", summary)
    for rule_code, rule in sorted(registry.rules.items()):
        table.add_row(
            rule_code, rule.name, ", ".join(sorted(rule.cohorts)) or "every cohort", rule.severity.value, rule.summary()
        )
    out.print(table)


GENERATE_EPILOG = f"Exit status: 0 written, 2 usage error or an output that cannot be written, {_EXIT_TAIL}"


@app.command(epilog=GENERATE_EPILOG)
def generate(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The file to write; - for standard output.", show_default=False)
    ],
    cohort: Annotated[
        str, typer.Option("--cohort", help=f"The cohort: {', '.join(builtin_cohorts())}.", case_sensitive=False)
    ] = "CB",
    installations: Annotated[int, typer.Option("--installations", "-n", min=1, help="How many installations.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", min=0, help="The seed; the same seed gives the same file.")] = 0,
    error_rate: Annotated[
        float,
        typer.Option(
            "--error-rate", min=0.0, max=1.0, help="The fraction of installations given one planted schema error."
        ),
    ] = 0.0,
    planted: Annotated[
        Path | None,
        typer.Option(
            "--planted",
            help="Where to list the planted errors (CSV: line, column, installation, kind, code); "
            "default: the output's name with .planted.csv when --error-rate is above 0.",
        ),
    ] = None,
    binding: Annotated[
        Path | None,
        typer.Option(
            "--binding",
            help="Write the file in the dialect of this binding (docs/bindings.md) instead of mcfcheck's own; "
            "errors are planted in mcfcheck's own dialect only.",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")] = False,
) -> None:
    """Write a realistic MCF of any size in constant memory, optionally with planted schema errors."""
    cohorts = builtin_cohorts()
    chosen = cohorts.get(cohort.upper())
    if chosen is None:
        raise typer.BadParameter(f"unknown cohort {cohort!r}; choose from {', '.join(cohorts)}", param_hint="--cohort")
    if binding is not None and (error_rate > 0 or planted is not None):
        raise typer.BadParameter(
            "errors are planted in mcfcheck's own dialect only: leave out --error-rate and --planted, or --binding",
            param_hint="--binding",
        )
    from mcfcheck.generate import MCFGenerator

    err = console(stderr=True)
    try:
        listing = _planted_listing(output, planted, wanted=error_rate > 0)
        if binding is not None:
            output_target(output, [binding])  # the binding is an input: never replaced by the output
        dialect = load_binding(binding) if binding is not None else None
    except (OutputError, McfcheckError) as error:
        err.print(f"error: {error}", markup=False)
        raise typer.Exit(ExitStatus.UNUSABLE) from None
    generator = MCFGenerator(chosen, seed=seed, error_rate=error_rate)
    try:
        if quiet or not err.is_terminal:
            summary = generator.write(output, installations, binding=dialect)
        else:
            from rich.progress import Progress

            with Progress(console=err, transient=True) as progress:
                task = progress.add_task(f"writing {output.name}", total=installations)
                summary = generator.write(
                    output,
                    installations,
                    on_progress=lambda done: progress.update(task, completed=done),
                    binding=dialect,
                )
        if listing is not None:
            _write_planted(listing, summary.planted)
    except ReaderGoneError:
        # The reader of standard output went away (``| head``): it has what it wanted.
        raise typer.Exit(ExitStatus.VALID) from None
    except (OutputError, McfcheckError) as error:
        err.print(f"error: {error}", markup=False)
        raise typer.Exit(ExitStatus.UNUSABLE) from None
    if not quiet:
        where = f"; {len(summary.planted):,} planted errors listed in {listing}" if listing is not None else ""
        err.print(
            f"wrote {output}: {summary.installations:,} installations, {summary.devices:,} devices, "
            f"{summary.bytes_written / 1e6:,.1f} MB{where}"
        )


def _planted_listing(output: Path, planted: Path | None, wanted: bool) -> Path | None:
    """Where the planted errors are listed: ``planted``, or if ``wanted`` beside the output, named after it.

    An output written in place (standard output, a device, a FIFO) has no name to give
    a listing; and a listing must not replace the output.
    """
    target = output_target(output)
    if planted is None:
        if not wanted:
            return None
        if target.in_place:
            raise OutputError(f"{output}: is written in place; give --planted PATH for the list of planted errors")
        planted = output.with_name(output.name + ".planted.csv")
    listing = output_target(planted)
    if listing.path is not None and listing.path == target.path:
        raise OutputError(f"--planted {planted}: is the file generated; give the list its own file")
    return planted


def _write_planted(path: Path, planted: tuple[PlantedError, ...]) -> None:
    rows = ["line,column,installation,kind,code\n"]
    rows.extend(f"{error.line},{error.column},{error.installation},{error.kind},{error.code}\n" for error in planted)
    with atomic_output(path) as listing:
        listing.write("".join(rows).encode("utf-8"))


@app.command(
    epilog=EXIT_CODES_HELP,
    help="Draft a binding for another dialect of the MCF from its XSD (see docs/bindings.md).\n\n"
    "The record, the header, the trailer, the Communications Hub and the devices are found by their names and "
    "what they hold; each concept is placed by the names of elements and attributes, of their types, and by "
    "their types' patterns. Each guess is written with a comment saying why; value maps are suggested, "
    "commented out, where a type lists values that are not mcfcheck's. The concepts that could not be placed "
    "are listed on standard error: finish them by hand, then validate with --binding FILE --schema XSD.",
)
def bind(
    schema: Annotated[
        Path, typer.Option("--schema", help="The dialect's XSD (its imports and includes are read too, offline).")
    ],
    output: Annotated[
        str,
        typer.Option("--output", "-o", help="The binding file to write; - (the default) for standard output."),
    ] = "-",
) -> None:
    """Draft a binding for another dialect of the MCF from its XSD."""
    from mcfcheck.schema.draft import draft_binding
    from mcfcheck.schema.loading import schema_model

    err = console(stderr=True)
    try:
        model = schema_model(schema)
        target = output_target(output, [path for path, _tree in model.documents])
        draft = draft_binding(model)
        with atomic_output(target.name) as written:
            written.write(draft.toml().encode("utf-8"))
    except ReaderGoneError:
        raise typer.Exit(ExitStatus.VALID) from None
    except (McfcheckError, OutputError) as error:
        err.print(f"error: {error}", markup=False)
        raise typer.Exit(ExitStatus.UNUSABLE) from None
    placed = len(CONCEPTS) - len(draft.unplaced)
    where = "standard output" if target.path is None else output
    err.print(f"drafted {where}: {placed} of {len(CONCEPTS)} concepts placed", markup=False, highlight=False)
    if draft.unplaced:
        names = ", ".join(f"{name} ({concept(name).label})" for name in draft.unplaced)
        err.print(f"not placed, to finish by hand: {names}", markup=False, highlight=False)
    if draft.values:
        names = ", ".join(value_map.concept for value_map in draft.values)
        err.print(f"value maps suggested, commented out, to check: {names}", markup=False, highlight=False)


_WORKDAYS_HELP = (
    "Plan and check the notice periods of Dormant installations (DRM001, DRM002) in Working Days.\n\n"
    "With --notice, print the earliest planned date that meets the period; with --planned, the latest notice "
    "date; with both, the Working Days between them and whether the period is met (exit status 1 where it is "
    "not). --kind chooses the period (TMAD 4.29-4.30): firmware (a firmware upgrade or configuration change, "
    "DRM001: 5 Working Days) or migration (DRM002: 15, unless a shorter period was agreed with the DCC); "
    "--working-days gives another.\n\n"
    "With --check SCHEDULE.csv, each row of a notification schedule is checked as DRM001 and DRM002 check an "
    "MCF, with the same messages, and reported as validate reports (--format, --output). Its header row names "
    "the columns installation, kind (firmware or migration), notice_date and planned_date (YYYY-MM-DD) and, "
    "optionally, shorter_notice_agreed (true, false, yes, no, 1, 0 or empty); a row that cannot be read is a "
    "DRM000 finding at its line (the header is line 1).\n\n"
    "The counting is mcfcheck's reading of the TMAD: Working Days are counted after the notice date, up to and "
    "including the planned date, and are Monday to Friday but the bank holidays of --calendar (from the "
    "maintained holidays calendar)."
)
_WORKDAYS_EXIT_HELP = (
    "Exit status: 0 the period is met (or a date was printed), 1 it is not met or a schedule's row has a finding, "
    f"2 usage error or unusable schedule or output, {_EXIT_TAIL}"
)
#: The formats of the planner's answers (--check reports in every format validate does).
_PLAN_FORMATS: Final = ("console", "text", "json")
#: How many bank holidays the console lists; it counts the rest.
_LISTED_HOLIDAYS: Final = 10
_WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclasses.dataclass(frozen=True, slots=True)
class _Fact:
    """One fact of the planner's answer: its key and value in JSON; its label and text on the console, if any."""

    key: str
    value: object
    label: str | None = None
    text: str = ""


@app.command(epilog=_WORKDAYS_EXIT_HELP, help=_WORKDAYS_HELP)
def workdays(
    notice: Annotated[
        str | None, typer.Option("--notice", metavar="DATE", help="The date the notice is given, as YYYY-MM-DD.")
    ] = None,
    planned: Annotated[
        str | None, typer.Option("--planned", metavar="DATE", help="The upgrade or migration date, as YYYY-MM-DD.")
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            metavar="firmware|migration",
            help="firmware (DRM001: 5 Working Days by default) or migration (DRM002: 15 by default).",
        ),
    ] = None,
    calendar: Annotated[
        str | None,
        typer.Option(
            "--calendar",
            metavar="|".join(CALENDARS),
            help="The bank holidays of this part of the United Kingdom "
            f"(default: the rule's calendar in the configuration, else {DEFAULT_CALENDAR}).",
            show_default=False,
        ),
    ] = None,
    working_days: Annotated[
        int | None,
        typer.Option(
            "--working-days",
            min=1,
            help="The notice period in Working Days (default: the rule's working_days in the configuration, "
            "else that of --kind).",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="A configuration file (mcfcheck.toml or pyproject.toml) whose DRM001 and DRM002 options "
            "(working_days, calendar) set the periods; by default the nearest one.",
        ),
    ] = None,
    check: Annotated[
        Path | None,
        typer.Option("--check", metavar="SCHEDULE.csv", help="Check each row of a notification schedule (CSV)."),
    ] = None,
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="console or json; with --check, any format validate takes "
            f"({', '.join(formats.builtin_names())}, or an installed one).",
        ),
    ] = formats.DEFAULT,
    outputs: Annotated[
        list[str] | None,
        typer.Option(
            "--output", "-o", help="With --check: also write a report to a file, as FORMAT=PATH, as validate does."
        ),
    ] = None,
) -> None:
    """Plan and check the notice periods of Dormant installations in Working Days."""
    from mcfcheck.run.schedule import KINDS, check_schedule, parse_date, periods, schedule_checks

    err = console(stderr=True)
    if calendar is not None and calendar not in CALENDARS:
        _unusable(err, f"--calendar {calendar}: unknown calendar; choose from {', '.join(CALENDARS)}")
    try:
        configured = rule_settings(_configuration(config), _registry(err)).options
    except McfcheckError as error:
        _unusable(err, error)
    if check is not None:
        planning = {"--notice": notice, "--planned": planned, "--kind": kind, "--working-days": working_days}
        given = [option for option, value in planning.items() if value is not None]
        if given:
            _unusable(err, f"--check takes no {', '.join(given)}: the schedule's rows give them")
        try:
            targets = _output_targets(outputs or [], [check])
        except (McfcheckError, OutputError) as error:
            _unusable(err, error)
        with _reports(err, output_format, targets, schedule_checks) as sink:
            status = check_schedule(check, sink, periods(configured, calendar))
        raise typer.Exit(status)
    if outputs:
        _unusable(err, "--output is for --check SCHEDULE.csv; the dates are printed (--format json for JSON)")
    if output_format not in _PLAN_FORMATS:
        _unusable(err, f"--format {output_format}: the dates are printed as console or json (the rest is for --check)")
    if notice is None and planned is None:
        _unusable(err, "give --notice DATE, --planned DATE or both, with --kind; or --check SCHEDULE.csv")
    if kind is None or kind.lower() not in KINDS:
        _unusable(err, f"{f'--kind {kind}: ' if kind else ''}give --kind firmware or --kind migration")
    dates: list[dt.date | None] = []
    for option, value in (("--notice", notice), ("--planned", planned)):
        try:
            dates.append(parse_date(value) if value is not None else None)
        except ValueError as error:
            _unusable(err, f"{option} {error}")
    kind = kind.lower()
    period = periods(configured, calendar, working_days)[kind]
    try:
        facts = _plan(KINDS[kind], kind, dates[0], dates[1], period.working_days, period.calendar)
    except ValueError as error:
        _unusable(err, error)
    out = console()
    if output_format == "json":
        out.print(dumps({fact.key: fact.value for fact in facts}), markup=False, emoji=False)
    else:
        for fact in facts:
            if fact.label is not None:
                out.print(f"{fact.label}: {fact.text}", markup=False, emoji=False)
    met = next((fact.value for fact in facts if fact.key == "met"), True)
    raise typer.Exit(ExitStatus.VALID if met else ExitStatus.FINDINGS)


def _day(day: dt.date) -> str:
    return f"{day} ({_WEEKDAYS[day.weekday()]})"


def _date_fact(key: str, day: dt.date) -> _Fact:
    return _Fact(key, day.isoformat(), key.replace("_", " "), _day(day))


def _plan(
    rule: NoticeRule,
    kind: str,
    notice: dt.date | None,
    planned: dt.date | None,
    days: int,
    calendar: str,
) -> list[_Fact]:
    """What ``mcfcheck workdays`` says of a notice date, a planned date, or both, in that order.

    :class:`ValueError` where the date asked for would be before 0001-01-01 or after
    9999-12-31, or where the planned date is before the notice date.
    """
    from mcfcheck.rules.workdays import (
        bank_holidays_between,
        earliest_planned,
        latest_notice,
        latest_working_day,
        working_days_of_notice,
    )

    period = f"{days:,} Working Day{'s' if days != 1 else ''} before a {rule.notice_of} ({rule.code})"
    facts = [
        _Fact("kind", kind, "notice period", f"{period},{rule.unless}" if rule.unless else period),
        _Fact("code", rule.code),
        _Fact("working_days_required", days),
        _Fact("calendar", calendar, "calendar", calendar),
    ]
    verdict: _Fact | None = None
    if planned is None:
        assert notice is not None
        planned = earliest_planned(notice, days, calendar)
        if planned is None:
            raise ValueError(f"no planned date up to 9999-12-31 has {days:,} Working Days' notice from {notice}")
        facts += [_date_fact("notice_date", notice), _date_fact("earliest_planned_date", planned)]
    elif notice is None:
        notice = latest_notice(planned, days, calendar)
        if notice is None:
            raise ValueError(f"no notice date from 0001-01-01 gives {days:,} Working Days' notice of {planned}")
        facts.append(_date_fact("latest_notice_date", notice))
        # The latest date can fall on a day off: the notice gives as much on the Working Day before.
        working = latest_working_day(notice, calendar)
        if working is not None and working != notice:
            facts.append(_Fact("latest_working_day", working.isoformat(), "latest Working Day for it", _day(working)))
        facts.append(_date_fact("planned_date", planned))
    else:
        if planned < notice:
            raise ValueError(f"the planned date {planned} is before the notice date {notice}")
        count = working_days_of_notice(notice, planned, calendar)
        message = rule.short_notice_message(notice, planned, calendar, days)
        verdict = _Fact("met", message is None, "period met", "yes" if message is None else f"no: {message}")
        facts += [
            _date_fact("notice_date", notice),
            _date_fact("planned_date", planned),
            _Fact("working_days", count, "Working Days of notice", f"{count:,}"),
        ]
    holidays = bank_holidays_between(notice, planned, calendar)
    listed = ", ".join(map(_day, holidays[:_LISTED_HOLIDAYS])) or "none"
    if len(holidays) > _LISTED_HOLIDAYS:
        listed += f" and {len(holidays) - _LISTED_HOLIDAYS:,} more"
    facts += [
        _Fact("bank_holidays", [day.isoformat() for day in holidays], "bank holidays not counted", listed),
    ]
    if verdict is not None:
        facts.append(verdict)
    facts.append(_Fact("convention", CONVENTION, "counting", CONVENTION))
    return facts


#: Set to 1, this environment variable has an internal error print its traceback too.
DEBUG_VARIABLE = "MCFCHECK_DEBUG"


def _debug_traceback(error: BaseException) -> None:
    """With MCFCHECK_DEBUG=1, the traceback of an internal error (with its cause's) on standard error."""
    if os.environ.get(DEBUG_VARIABLE) == "1":
        import traceback

        traceback.print_exception(error, file=sys.stderr)


def _say(line: str) -> None:
    """One line on standard error, which may be gone too (a hang-up, a full device)."""
    with suppress(OSError, ValueError):
        print(line, file=sys.stderr)


#: The options before the command that take a value (``--color never``).
_VALUED_OPTIONS: Final = frozenset({"--color"})


def _app_for(argv: list[str]) -> typer.Typer:
    """The application to run ``argv`` with: where it names a command, one that holds that command alone.

    typer builds every command's options (reading each one's type hints) before it runs
    one: for the thirteen commands, a fifth of a small file's run. The command named,
    with the options before it, parses and runs as in the whole application; anything
    else (no command, an unknown one, the help, shell completion) gets the whole.
    """
    if any(name.startswith("_MCFCHECK_COMPLETE") for name in os.environ):
        return app
    arguments = iter(argv)
    for argument in arguments:
        if argument in _VALUED_OPTIONS:
            next(arguments, None)
        elif argument == "--":
            return app
        elif not argument.startswith("-"):
            commands = [info for info in app.registered_commands if _command_name(info) == argument]
            if not commands:
                return app
            alone = _typer()
            alone.registered_callback = app.registered_callback
            alone.registered_commands = commands
            return alone
    return app


def _command_name(info: CommandInfo) -> str | None:
    """The name a registered command is called by (its function's, as typer names it, unless it is given one)."""
    if info.name is not None:
        return info.name
    return info.callback.__name__.lower().replace("_", "-") if info.callback is not None else None


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (by default the process's own) and return the exit status."""
    tune_process()
    sane_widths()
    handlers = stop_on_signals()
    try:
        _app_for(sys.argv[1:] if argv is None else argv)(args=argv, prog_name="mcfcheck")
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else ExitStatus.UNUSABLE if code else ExitStatus.VALID
    except StoppedError as stopped:
        # A signal, or a worker process lost: what was unfinished is removed by now. Run as
        # the command line, a second signal on the way out is ignored: it would end the
        # process by the signal, not with this status.
        if argv is None:
            handlers = dict.fromkeys(handlers, signal.SIG_IGN)
        _say(f"mcfcheck: {stopped}")
        return stopped.status
    except OutputError as error:
        # Standard output or error that cannot be written (a full device), outside a report.
        _say(f"mcfcheck: error: {error}")
        return ExitStatus.UNUSABLE
    except OSError as error:
        # What the machine refused (too many open files, a full or read-only temporary
        # folder): not the files' fault, nor mcfcheck's.
        where = f"{os.fsdecode(error.filename)}: " if error.filename else ""
        _say(f"mcfcheck: error: {where}{error.strerror or error}")
        return ExitStatus.UNUSABLE
    except InternalError as error:
        _debug_traceback(error)
        _say(f"mcfcheck: internal error: {error}")
        return ExitStatus.INTERNAL
    except McfcheckError as error:
        # What could not be used, met on the way (a ledger that cannot be written): one line.
        _say(f"mcfcheck: error: {error}")
        return ExitStatus.UNUSABLE
    except Exception as error:
        # The last line of defence: a fault of mcfcheck's own is one line, never a traceback.
        _debug_traceback(error)
        _say(f"mcfcheck: internal error: {type(error).__name__}: {error}")
        return ExitStatus.INTERNAL
    finally:
        restore_signals(handlers)
    return ExitStatus.VALID


if __name__ == "__main__":
    sys.exit(main())
