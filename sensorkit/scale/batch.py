"""One job over many files on a Dask cluster: one task per file, failures reported, progress shown.

    report = run_batch("migrate", paths, out_dir="out", config={"velocity": 0.1}, n_workers=2)
    report.n_failed, [r.error for r in report.results if r.status == "failed"]

Without a scheduler address the work runs on a LocalCluster of ``n_workers`` processes on loopback
(127.0.0.1, one thread each, no dashboard), started and closed here; with one (tcp://HOST:PORT) it runs on
that cluster, which stays up. n_workers=0 runs the files one after another in this process (no Dask).

Each task gets the file's path and opens it inside the worker (h5py objects do not pickle). A file whose job
raises is reported with its error text (and traceback) and the others go on. Numba kernels compile (or load
from their on-disk cache, cache=True) once per worker process: a WorkerPlugin calls the job's ``warm_up``
on every worker when it joins, before any task runs there, and the compiled kernels stay in the process for
all its tasks. On the LocalCluster each task runs Numba on cpu_count // n_workers threads, so that the
processes do not oversubscribe the cores (an existing cluster keeps its own settings). What a job writes to
stderr (its own progress bars, warnings) is kept out of the batch's progress bar: the last lines are in
FileResult.stderr.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import math
import os
import socket
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from distributed import Client, LocalCluster, WorkerPlugin, as_completed

from sensorkit.scale.jobs import JOBS, resolve_job

__all__ = ["BatchReport", "FileResult", "REPORT_NAME", "WarmUpPlugin", "run_batch", "start_local_cluster"]

REPORT_NAME = "batch_report.json"
logger = logging.getLogger(__name__)


@dataclass
class FileResult:
    """The outcome of one file: status "ok" or "failed", the job's summary or the error (with its traceback),
    wall time (s), the worker (host:pid) and the last lines the job wrote to stderr."""

    path: str
    status: str
    summary: dict | None = None
    error: str | None = None
    traceback: str | None = None
    wall_s: float = 0.0
    worker: str | None = None
    stderr: list[str] = field(default_factory=list)


@dataclass
class BatchReport:
    """A batch run: the job, where it ran, one FileResult per input (in input order), total wall time (s)."""

    job: str
    out_dir: str
    scheduler: str
    n_workers: int
    config: dict
    results: list[FileResult] = field(default_factory=list)
    started_utc: str = ""
    wall_s: float = 0.0
    report_path: str | None = None

    @property
    def n_ok(self) -> int:
        return sum(r.status == "ok" for r in self.results)

    @property
    def n_failed(self) -> int:
        return sum(r.status != "ok" for r in self.results)

    @property
    def ok(self) -> bool:
        return self.n_failed == 0

    def to_json(self) -> dict:
        out = dataclasses.asdict(self)
        out.update(n_files=len(self.results), n_ok=self.n_ok, n_failed=self.n_failed)
        return out


def _jsonable(value):
    """value with numpy scalars/arrays, paths and tuples turned into plain JSON types (str() as a last resort)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return _jsonable(value.tolist())
    return str(value)


def _stderr_lines(text: str, keep: int = 20) -> list[str]:
    """The last ``keep`` complete lines written to stderr, without progress-bar redraws (text before a CR)."""
    lines = [line.rsplit("\r", 1)[-1].rstrip() for line in text.split("\n")[:-1]]
    return [line for line in lines if line][-keep:]


def _run_one(target: str, path: str, out_dir: str, config: dict, numba_threads: int | None = None) -> dict:
    """Run job ``target`` ("module:function") on one file (in a worker, or here); never raises.

    What the job writes to stderr is kept (last lines, without progress bars) instead of mixing with the
    batch's own progress bar. numba_threads: Numba's threads for this task (thread-local in Numba), or None.
    """
    t0 = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    if numba_threads is not None:
        import numba

        numba.set_num_threads(min(numba_threads, numba.config.NUMBA_NUM_THREADS))
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            summary = resolve_job(target)(path, out_dir, dict(config))
        return {"status": "ok", "summary": _jsonable(summary), "wall_s": time.perf_counter() - t0,
                "worker": worker, "stderr": _stderr_lines(stderr.getvalue())}
    except Exception as error:  # noqa: BLE001 - a failed file is reported, the batch goes on
        return {"status": "failed", "error": f"{type(error).__name__}: {error}",
                "traceback": traceback.format_exc(limit=-8), "wall_s": time.perf_counter() - t0, "worker": worker,
                "stderr": _stderr_lines(stderr.getvalue())}


class WarmUpPlugin(WorkerPlugin):
    """Calls ``warm_up()`` of job ``target`` ("module:function"), if it has one, once on each worker: on the
    workers there when registered and on each one that joins later. A failing warm-up is logged, not raised
    (the tasks then report the real error)."""

    idempotent = True  # registered again on the same cluster: not run again

    def __init__(self, target: str):
        self.target = target
        self.name = f"sensorkit-warm-up:{target}"

    def setup(self, worker) -> None:
        try:
            warm_up = getattr(resolve_job(self.target), "warm_up", None)
            if callable(warm_up):
                warm_up()
        except Exception as error:  # noqa: BLE001
            logger.warning("sensorkit warm-up of %s failed on %s: %s", self.target, worker.address, error)


def _numba_threads(n_workers: int) -> int:
    """Numba threads per worker process so that n_workers processes fill the cores without oversubscribing."""
    try:
        n_cpu = len(os.sched_getaffinity(0))
    except AttributeError:
        n_cpu = os.cpu_count() or 1
    return max(1, n_cpu // max(1, n_workers))


def start_local_cluster(n_workers: int = 2):
    """A LocalCluster of n_workers processes on 127.0.0.1, one thread each, no dashboard, quiet logs; Numba
    gets cpu_count // n_workers threads per worker (NUMBA_NUM_THREADS). Close it after use (a context
    manager)."""
    env = {"NUMBA_NUM_THREADS": str(_numba_threads(n_workers))}
    # no dashboard; the scheduler's small HTTP endpoint (health, metrics) on a free loopback port, not 8787
    return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                        dashboard_address=None,
                        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
                        silence_logs=logging.ERROR, env=env)


def _check_paths(paths) -> list[str]:
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out = [str(p) for p in paths]
    if not out:
        raise ValueError("paths: expected at least one input file, found none")
    seen: dict[str, str] = {}
    for p in out:
        stem = Path(p).stem
        if stem in seen:
            raise ValueError(f"paths: two inputs named {stem!r} ({seen[stem]} and {p}); the outputs in out_dir are "
                             f"named after the file, give files with distinct names")
        seen[stem] = p
    return out


def _progress_bar(total: int, job: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=f"batch {job}", unit="file", file=sys.stderr, dynamic_ncols=True,
                disable=not enabled)


def _connect(scheduler: str):
    try:
        return Client(scheduler, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError) as error:
        raise ValueError(f"scheduler: could not connect to {scheduler}: {error}") from None


def _run_on_cluster(client, target, paths, out_dir, config, bar, numba_threads) -> list[dict]:
    plugin = WarmUpPlugin(target)
    client.register_plugin(plugin, name=plugin.name)
    futures = {client.submit(_run_one, target, p, out_dir, config, numba_threads, pure=False): i
               for i, p in enumerate(paths)}
    outcomes: list[dict | None] = [None] * len(paths)
    try:
        for future in as_completed(futures, loop=client.loop):
            i = futures[future]
            try:
                outcomes[i] = future.result()
            except Exception as error:  # noqa: BLE001 - the task itself failed (worker died, ...)
                outcomes[i] = {"status": "failed", "error": f"{type(error).__name__}: {error}"}
            bar.update(1)
            if outcomes[i]["status"] != "ok":
                bar.set_postfix(failed=sum(o is not None and o["status"] != "ok" for o in outcomes))
    finally:
        client.cancel(list(futures))
    return outcomes


def run_batch(job: str, paths, *, out_dir, scheduler: str | None = None, n_workers: int = 2,
              config: dict | None = None, progress: bool = True) -> BatchReport:
    """Run ``job`` (a name of sensorkit.scale.jobs.JOBS, or "module:function") on every file of ``paths``.

    out_dir: where the jobs write their outputs (created if missing), and where the report goes as
    batch_report.json. scheduler: address of a running Dask scheduler (tcp://HOST:PORT); None starts a
    LocalCluster of n_workers processes (n_workers=0: no Dask, one file after another in this process).
    config: the job's options (JSON-able dict). Raises ValueError (JobUnavailable when the job's module is not
    installed) before any work on bad arguments; a file that fails is reported in the BatchReport.
    """
    paths = _check_paths(paths)
    config = {} if config is None else config
    if not isinstance(config, dict):
        raise ValueError(f"config: expected a dict of the job's options, found {type(config).__name__}")
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 0:
        raise ValueError(f"n_workers: expected an integer >= 0, found {n_workers!r}")
    if scheduler is not None and (not isinstance(scheduler, str) or "://" not in scheduler):
        raise ValueError(f"scheduler: expected an address like tcp://HOST:PORT, found {scheduler!r}")
    function = resolve_job(job)
    check = getattr(function, "check_config", None)
    if callable(check):
        check(config)
    target = JOBS.get(job, job)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    out_dir = str(out.resolve())
    paths = [str(Path(p).resolve()) for p in paths]

    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if scheduler is not None:
            client = stack.enter_context(_connect(scheduler))
            try:
                client.wait_for_workers(1, timeout=60)
            except TimeoutError:
                raise ValueError(f"scheduler: {scheduler} has had no worker for 60 s") from None
            where, n_workers = scheduler, len(client.scheduler_info().get("workers", {}))
            numba_threads = None  # the cluster's own settings
        elif n_workers > 0:
            cluster = stack.enter_context(start_local_cluster(n_workers))
            client = stack.enter_context(Client(cluster, set_as_default=False))
            where = f"LocalCluster({n_workers} workers, 127.0.0.1)"
            numba_threads = _numba_threads(n_workers)
        else:
            client, where = None, "this process (sequential)"
        bar = stack.enter_context(_progress_bar(len(paths), job, progress))
        if client is None:
            outcomes = []
            for p in paths:
                outcomes.append(_run_one(target, p, out_dir, config))
                bar.update(1)
        else:
            outcomes = _run_on_cluster(client, target, paths, out_dir, config, bar, numba_threads)

    report = BatchReport(job=job, out_dir=out_dir, scheduler=where, n_workers=n_workers, config=_jsonable(config),
                         started_utc=started, wall_s=time.perf_counter() - t0)
    for p, o in zip(paths, outcomes):
        report.results.append(FileResult(path=p, status=o["status"], summary=o.get("summary"), error=o.get("error"),
                                         traceback=o.get("traceback"), wall_s=float(o.get("wall_s", 0.0)),
                                         worker=o.get("worker"), stderr=o.get("stderr", [])))
    report_path = out / REPORT_NAME
    report.report_path = str(report_path.resolve())
    tmp = report_path.with_name(REPORT_NAME + ".partial")
    tmp.write_text(json.dumps(report.to_json(), indent=2))
    tmp.replace(report_path)
    return report
