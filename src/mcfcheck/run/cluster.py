"""A Dask distributed cluster's workers validating a batch's files (``mcfcheck batch --dask``).

The workers are handed what the processes of ``--jobs`` are handed: whole files, and
the parts of large files (see :mod:`mcfcheck.run.parts`), each with the rules to run.
This process reads their results in file order, as it reads its own workers', so the
findings, reports, ledger and exit status are a local run's. A worker reads the files
by the paths this process names, and writes the parts' findings and the ledger's
holdings in this process's temporary folder: the workers must see this machine's files
and its temporary folder (``TMPDIR``) by the same paths, which :func:`connect` checks.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, InvalidStateError
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Final, ParamSpec, TypeVar

from mcfcheck.check.spool import SpooledFindings
from mcfcheck.errors import McfcheckError
from mcfcheck.run.batch import ExitStatus, StoppedError
from mcfcheck.run.parts import WholeFileResult, default_jobs

if TYPE_CHECKING:
    from distributed import Client, LocalCluster
    from distributed import Future as DaskFuture

#: ``--dask local``: a cluster of worker processes on this machine, started for the batch.
LOCAL: Final = "local"
#: How long connecting to a scheduler, and waiting for its first worker, may take by default.
DEFAULT_TIMEOUT_SECONDS: Final = 10.0
#: What to do where Dask is not installed.
MISSING: Final = "--dask needs Dask's distributed package: pip install 'mcfcheck[dask]'"

_Parameters = ParamSpec("_Parameters")
_Result = TypeVar("_Result")


class DaskWorkers(Executor):
    """A Dask cluster's workers as an executor: each call a task of the cluster, its result a future here.

    ``threads`` is how many tasks the workers run at once (``--jobs`` for a local run): one a
    worker process (see :func:`on_worker`).
    Shutting it down closes the connection, and the cluster where it was started here.
    """

    def __init__(self, client: Client, cluster: LocalCluster | None = None) -> None:
        self._client = client
        self._cluster = cluster
        # A Dask future dropped is a task cancelled: each is kept until its result is here.
        self._running: dict[int, DaskFuture[object]] = {}
        self._lock = threading.Lock()
        self._closed = False
        self.threads = max(1, len(client.nthreads()))

    def submit(
        self, fn: Callable[_Parameters, _Result], /, *args: _Parameters.args, **kwargs: _Parameters.kwargs
    ) -> Future[_Result]:
        if self._closed:
            raise RuntimeError("the Dask workers are shut down")
        try:
            remote = self._client.submit(on_worker, fn, *args, pure=False, **kwargs)
        except Exception as error:
            # The connection to the scheduler is gone (Dask closes it when it cannot reconnect).
            raise StoppedError(
                f"internal error: the Dask cluster cannot be used ({type(error).__name__}: {error})",
                ExitStatus.INTERNAL,
            ) from None
        local: Future[_Result] = Future()
        with self._lock:
            self._running[id(local)] = remote

        def cancelled(settled: Future[_Result]) -> None:
            if settled.cancelled():
                remote.cancel()

        def lost(why: str) -> StoppedError:
            path = getattr(args[0], "path", None) if args else None
            return StoppedError(
                f"internal error: the Dask cluster did not finish validating {path} ({why})", ExitStatus.INTERNAL
            )

        def settle(done: DaskFuture[_Result]) -> None:
            with self._lock:
                self._running.pop(id(local), None)
            try:
                if done.status == "finished":
                    local.set_result(done.result())
                elif done.status == "error":
                    local.set_exception(done.exception())
                else:
                    # Cancelled by Dask itself: the scheduler was lost, or the connection to it.
                    local.set_exception(lost(f"its task was {done.status}"))
            except InvalidStateError:
                # Cancelled here meanwhile: nobody waits for it.
                pass
            except OSError as error:
                # Its result could not be fetched: the connection to the scheduler closed (Dask's
                # CommClosedError is an OSError), as when the scheduler is lost.
                with suppress(InvalidStateError):
                    local.set_exception(lost(f"its result could not be fetched: {error}"))
            except Exception as error:
                # A result that cannot be read here (unpickled): the call's fault, as in a local worker.
                with suppress(InvalidStateError):
                    local.set_exception(error)

        local.add_done_callback(cancelled)
        remote.add_done_callback(settle)
        return local

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self._closed:
            return
        self._closed = True
        with self._lock:
            running = list(self._running.values())
            self._running.clear()
        try:
            if cancel_futures and running:
                self._client.cancel(running)
            self._client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()


#: A worker process runs one of mcfcheck's tasks at a time, whatever its threads.
_ONE_AT_A_TIME: Final = threading.Lock()


def on_worker(fn: Callable[_Parameters, _Result], *args: _Parameters.args, **kwargs: _Parameters.kwargs) -> _Result:
    """What each task runs on a worker: the call, one at a time in the worker's process, its findings
    brought back whole where the worker spooled them in its own folder.

    mcfcheck's checks are made for processes of their own: the checks of a process share each
    compiled schema, and lxml keeps the errors of a schema's last validation on it
    (``error_log``), so two files checked at once in two threads of a process gave their
    findings in another order (tests/test_dask.py). A whole
    file's spool is in the worker's temporary folder, which this process may not see: its
    findings travel with the result, and the spool is removed.
    """
    with _ONE_AT_A_TIME:
        result = fn(*args, **kwargs)
    if isinstance(result, WholeFileResult) and result.findings.path is not None:
        spooled = result.findings.path
        try:
            whole = WholeFileResult(result.report, SpooledFindings(None, list(result.findings)))
        finally:
            spooled.unlink(missing_ok=True)
        return whole  # type: ignore[return-value]
    return result


def _reads(path: str) -> str | None:
    """Run on each worker: what the file at ``path`` holds, or None where it cannot be read."""
    try:
        return Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return None


def connect(address: str, timeout: float = DEFAULT_TIMEOUT_SECONDS, jobs: int = 0) -> DaskWorkers:
    """The workers of the Dask scheduler at ``address`` (``tcp://HOST:PORT``), or of a cluster of
    ``jobs`` worker processes started on this machine (:data:`LOCAL`; 0: one a core).

    Whatever stops them being used is a :class:`McfcheckError` in one line: Dask not installed,
    no scheduler answering within ``timeout`` seconds, no worker within as long, or a worker
    that cannot read this process's temporary folder.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise McfcheckError(MISSING) from None
    # What stops a batch is said in one line: Dask's own log (the tracebacks of its attempts to
    # reconnect to a scheduler that is gone, among others) is not shown. Dask gives some of its
    # loggers levels of their own.
    for name in ["distributed", *logging.root.manager.loggerDict]:
        if name.split(".")[0] == "distributed":
            logging.getLogger(name).setLevel(logging.CRITICAL)
    cluster: LocalCluster | None = None
    client: Client | None = None
    try:
        if address == LOCAL:
            # One thread a worker: the rules are Python, and a worker's threads share its interpreter.
            cluster = LocalCluster(
                n_workers=jobs or default_jobs(),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.CRITICAL,
            )
            client = Client(cluster, timeout=timeout)
        else:
            client = Client(address, timeout=timeout)
        client.wait_for_workers(1, timeout=timeout)
        return _checked(client, cluster, address)
    except (OSError, ValueError, TimeoutError) as error:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        if client is not None and isinstance(error, TimeoutError):
            reason = f"the scheduler had no worker after {timeout:g} s"
        raise McfcheckError(f"--dask {address}: cannot use this Dask cluster ({reason})") from None
    except BaseException:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        raise


def _checked(client: Client, cluster: LocalCluster | None, address: str) -> DaskWorkers:
    """The workers, once each has read a file this process wrote in its temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix="mcfcheck-dask-"))
    try:
        import secrets

        token = secrets.token_hex(16)
        marker = folder / "marker"
        marker.write_text(token, encoding="ascii")
        read: dict[str, str | None] = client.run(_reads, str(marker))
        blind = sorted(worker for worker, text in read.items() if text != token)
        if blind:
            raise McfcheckError(
                f"--dask {address}: worker {blind[0]} cannot read {folder}: the workers must see this machine's "
                "files and its temporary folder (TMPDIR) by the same paths"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return DaskWorkers(client, cluster)
