"""Where the compute step runs its runs: in this process, a local process pool, or submitit (SLURM or local).

Every executor takes run configs and hands back one :class:`Outcome` per
config (ok or failed, the error, the log file)::

    ex = executors.make("slurm")               # or "inprocess", "pool", "submitit-local"
    outcomes = ex.submit_all(configs)          # blocks until every run finished or failed
    [o for o in outcomes if not o.ok]          # the failures, with o.error and o.log

Whatever runs a config, it runs :func:`run_job` in some process. The job gets
the config as a plain dict (:meth:`RunConfig.to_dict`) and, in a fresh
process, first imports :mod:`dcutils.runs` (registering the project's
algorithms), then the module that registered the config's algorithm
(:attr:`Algorithm.module`, with the folder it was imported from, so an
algorithm defined in a test module or a user's script module works too) and
any ``extra_imports``; then it rebuilds the config with
:meth:`RunConfig.from_dict`.

No run is computed twice
------------------------
A job holds :func:`dcutils.cache.file_lock` on the run's record
(``<record>.lock``, beside it) around "cached? → compute → write", and looks
in the cache again once it holds the lock: two executors, two notebooks'
duplicates or two SLURM tasks asking for one config compute it once; the
others wait and load it. Records are written atomically
(:func:`dcutils.cache.write_record`), so results of many jobs meet in the
cache without a merge step.

Stacked groups
--------------
With ``stack`` > 1 (``make(..., stack=10)``; ``compute --stack``), runs that
share one :func:`dcutils.runs.stack_key` (``brb.dc``: the seeds and variants of
a cell) go to one job, up to ``stack`` at a time (:func:`run_unit`): it holds
all their records' locks (in key order), computes the missing ones together
(:func:`dcutils.runs.get_run_group`) and writes every run's own record and
markers. When the group raises, its runs are computed one by one in the same
job, so a diverging run fails alone. Every other run is a job of its own.

State markers
-------------
Beside the cache, ``results/<profile>/.state/`` says what is going on, for
``make status`` (:mod:`dcutils.status`)::

    <key>.running   JSON: config, label, host, pid, job_id, log, started (time), written when a job starts a run
    <key>.failed    JSON: config, label, error, traceback, host, pid, job_id, log, time

``<key>`` is :meth:`RunConfig.key`. A run that finishes removes both; one that
raises writes ``.failed`` and removes ``.running``. A job killed from outside
(pre-empted, out of time or memory) cannot write anything: the process that
submitted it marks it failed once submitit reports the job dead, with the
job's log. A ``.running`` marker whose process is gone (same host) is stale
and counts as missing.

SLURM settings
--------------
``Submitit("slurm")`` reads ``slurm.toml`` at the repository root (optional),
then environment variables, which win::

    # slurm.toml
    partition = "gpu"      # DCUTILS_SLURM_PARTITION  (default: the cluster's default partition)
    gpus = 1               # DCUTILS_SLURM_GPUS       GPUs per job (default 1)
    time_min = 180         # DCUTILS_SLURM_TIME_MIN   time limit per job in minutes (default 180)
    array = 32             # DCUTILS_SLURM_ARRAY      jobs of the array running at once (default 32)
    cpus = 4               # DCUTILS_SLURM_CPUS       CPUs per job (default 4)

    [submitit]             # optional: any other submitit parameter, passed as is
    slurm_mem = "32G"
    slurm_account = "my-project"

Every missing run becomes one task of a single job array. Logs go to
``results/<profile>/.jobs/<timestamp>/`` (git-ignored), one
``<jobid>_<task>_log.out`` / ``.err`` per task. ``Submitit("local")`` is
submitit's local executor (jobs are local processes, at most ``array`` at
once, by default one per core): the same code path without a cluster, used
by the tests.
"""
from __future__ import annotations

import contextlib
import importlib
import json
import os
import socket
import sys
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the heavy modules (torch) load lazily: spawned workers set their thread counts first
    from dcutils.core import RunConfig

__all__ = [
    "NAMES", "ExecutorError", "Outcome", "Executor", "InProcess", "ProcessPool", "Submitit", "make", "run_job",
    "job_spec", "SLURM_SETTINGS", "slurm_settings", "slurm_parameters", "state_dir", "marker_path", "read_marker",
    "marker_is_stale", "mark_running", "mark_failed", "clear_markers", "run_unit", "group_spec",
]

#: Executor names of :func:`make` (and of ``python -m dcutils.compute --executor``).
NAMES = ("inprocess", "pool", "slurm", "submitit-local")

class ExecutorError(ValueError):
    """An executor cannot be set up: bad SLURM settings, an algorithm a worker cannot import."""


#: Environment variables limiting the math libraries' threads in worker processes.
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


# ----------------------------------------------------------------------------
# outcomes


@dataclass(frozen=True)
class Outcome:
    """What became of one config.

    Attributes
    ----------
    config : the run
    ok : True when its record is in the cache now (computed here or found there)
    error : ``"Type: message"`` when it failed
    log : the job's log file (submitit), else None
    computed : True when this job computed it, False when it was found cached
    seconds : wall-clock seconds of the job's work on it
    job_id : the submitit / SLURM job id, else None
    """

    config: RunConfig
    ok: bool
    error: str | None = None
    log: Path | None = None
    computed: bool = False
    seconds: float = 0.0
    job_id: str | None = None

    @property
    def details(self) -> Path:
        """Where to read about a failure: the job's log, else the ``.failed`` marker (it holds the traceback)."""
        return self.log if self.log is not None else marker_path(self.config, "failed")


# ----------------------------------------------------------------------------
# state markers


def state_dir(profile: str) -> Path:
    """``results/<profile>/.state/``: the running / failed markers."""
    from dcutils import paths

    return paths.results_dir(profile) / ".state"


def marker_path(cfg: RunConfig, kind: str) -> Path:
    """``results/<profile>/.state/<key>.<kind>``, kind ``"running"`` or ``"failed"``."""
    if kind not in ("running", "failed"):
        raise ValueError(f"marker kind must be 'running' or 'failed', got {kind!r}")
    return state_dir(cfg.profile) / f"{cfg.key()}.{kind}"


def _write_marker(cfg: RunConfig, kind: str, info: Mapping[str, Any]) -> Path:
    from dcutils import cache

    path = marker_path(cfg, kind)
    body = {"config": cfg.to_dict(), "label": cfg.label(), "host": socket.gethostname(), "pid": os.getpid(),
            **info}
    cache.atomic_write_bytes(path, json.dumps(body, indent=1, default=str).encode())
    return path


def read_marker(cfg: RunConfig, kind: str) -> dict[str, Any] | None:
    """The marker's JSON, or None when there is none (or it cannot be read)."""
    try:
        data = json.loads(marker_path(cfg, kind).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def mark_running(cfg: RunConfig, *, log: Path | str | None = None, job_id: str | None = None) -> Path:
    """Write ``<key>.running`` for this process (host, pid, job id, log, start time)."""
    return _write_marker(cfg, "running", {"job_id": job_id, "log": str(log) if log else None,
                                          "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                          "started_unix": time.time()})


def mark_failed(cfg: RunConfig, error: str, *, log: Path | str | None = None, job_id: str | None = None,
                trace: str = "") -> Path:
    """Write ``<key>.failed`` (error, traceback, log, time) and remove ``<key>.running``."""
    path = _write_marker(cfg, "failed", {"error": error, "traceback": trace, "job_id": job_id,
                                         "log": str(log) if log else None,
                                         "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    marker_path(cfg, "running").unlink(missing_ok=True)
    return path


def clear_markers(cfg: RunConfig) -> None:
    """Remove ``<key>.running`` and ``<key>.failed`` (the run is in the cache)."""
    for kind in ("running", "failed"):
        marker_path(cfg, kind).unlink(missing_ok=True)


def marker_is_stale(info: Mapping[str, Any]) -> bool:
    """A ``.running`` marker written on this host by a process that no longer exists.

    Markers of other hosts (SLURM nodes) cannot be checked from here and are
    taken at their word.
    """
    if info.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(info["pid"]), 0)
    except ProcessLookupError:
        return True
    except (KeyError, TypeError, ValueError):
        return True  # a marker without a usable pid says nothing
    except PermissionError:
        return False  # alive, another user's
    return False


# ----------------------------------------------------------------------------
# the job: one config, in any process


def _module_root(name: str) -> str | None:
    """The ``sys.path`` entry module ``name`` was imported from, or None when that is unknowable."""
    module = sys.modules.get(name)
    file = getattr(module, "__file__", None)
    if module is None or file is None:
        return None
    root = Path(file).resolve().parent
    if Path(file).name == "__init__.py":
        root = root.parent
    for _ in name.split(".")[:-1]:
        root = root.parent
    return str(root)


def _imports_for(configs: Iterable[RunConfig], extra_imports: Iterable[str] = ()) -> list[tuple[str, str | None]]:
    """Modules a fresh worker imports after :mod:`dcutils.runs`: each config's algorithm module, then extras."""
    from dcutils.core import get_algorithm

    names: dict[str, None] = {}
    for cfg in configs:
        module = get_algorithm(cfg.algorithm).module
        if module == "__main__":
            raise ExecutorError(
                f"algorithm {cfg.algorithm!r} is registered in __main__, which a worker process cannot import; "
                "define it in a module (or use the in-process executor)"
            )
        names[module] = None
    names.update(dict.fromkeys(extra_imports))
    return [(name, _module_root(name)) for name in names]


def job_spec(cfg: RunConfig, *, extra_imports: Iterable[str] = (), threads: int | None = None,
             raise_errors: bool = False) -> dict[str, Any]:
    """The plain-data description of one job :func:`run_job` takes (picklable, no project objects)."""
    return _spec([cfg], [list(i) for i in _imports_for([cfg], extra_imports)], threads, raise_errors)


def group_spec(configs: Sequence[RunConfig], *, extra_imports: Iterable[str] = (), threads: int | None = None,
               raise_errors: bool = False) -> dict[str, Any]:
    """The job of a unit of runs (:func:`run_unit`): one run as :func:`job_spec`, more as a stacked group
    (:func:`dcutils.runs.stack_groups`; a group's job never raises)."""
    return _spec(configs, [list(i) for i in _imports_for(configs, extra_imports)], threads, raise_errors)


def _spec(configs: Sequence[RunConfig], imports: list, threads: int | None, raise_errors: bool = False
          ) -> dict[str, Any]:
    """A single run's job (``config``; it raises on failure when ``raise_errors``) or a group's (``configs``;
    it never raises)."""
    if len(configs) == 1:
        return {"config": configs[0].to_dict(), "imports": imports, "threads": threads, "raise_errors": raise_errors}
    return {"configs": [c.to_dict() for c in configs], "imports": imports, "threads": threads}


def _set_threads(threads: int | None) -> None:
    if not threads:
        return
    for var in _THREAD_VARS:
        os.environ.setdefault(var, str(threads))
    import torch

    torch.set_num_threads(max(1, int(threads)))


def _do_imports(imports: Iterable[Sequence[str | None]]) -> None:
    import dcutils.runs  # noqa: F401  (registers the project's algorithms)

    for name, root in imports:
        if root and root not in sys.path:
            sys.path.append(root)  # appended: never shadows what the worker would import anyway
        importlib.import_module(name)


def _job_identity() -> tuple[str | None, str | None]:
    """(log file, job id) of the submitit job this process is, or (None, None) outside submitit."""
    if not os.environ.get("SUBMITIT_EXECUTOR"):
        return None, None
    try:
        import submitit

        env = submitit.JobEnvironment()
        return str(env.paths.stderr), str(env.job_id)
    except Exception:  # noqa: BLE001 - the identity only decorates markers
        return None, None


def run_job(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Compute one run unless it is cached; the body of every job, in any process.

    ``spec`` is :func:`job_spec`'s dict: the config as a dict, the modules to
    import, torch threads, and whether to raise on failure (submitit jobs do,
    so the job is marked failed and its log holds the traceback; the others
    return the error). Holds the record's lock around "cached? → compute →
    write"; writes the state markers (module docstring).

    Returns a plain dict: ``key, ok, error, computed, seconds, log, job_id``.
    """
    started = time.perf_counter()
    _set_threads(spec.get("threads"))
    log, job_id = _job_identity()
    result: dict[str, Any] = {"key": None, "ok": False, "error": None, "computed": False, "seconds": 0.0,
                              "log": log, "job_id": job_id}
    cfg = None
    try:
        _do_imports(spec.get("imports", ()))
        from dcutils import cache, runs

        cfg = runs.RunConfig.from_dict(spec["config"])
        result["key"] = cfg.key()
        with cache.file_lock(runs.record_path(cfg)):
            if runs.load_cached(cfg) is None:
                mark_running(cfg, log=log, job_id=job_id)
                runs.get_run(cfg, recompute=True)  # just looked: not cached
                result["computed"] = True
            clear_markers(cfg)
    except Exception as err:
        error = f"{type(err).__name__}: {err}"
        if cfg is not None:
            mark_failed(cfg, error, log=log, job_id=job_id, trace=traceback.format_exc())
        if spec.get("raise_errors"):
            raise
        result["error"] = error
        result["seconds"] = time.perf_counter() - started
        return result
    result["ok"] = True
    result["seconds"] = time.perf_counter() - started
    return result


def run_unit(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One job of an executor: a single run (:func:`run_job`) or a stacked group; one result dict per config.

    A group (``spec["configs"]``, :func:`group_spec`) holds the locks of all its records (in key order,
    so two groups never wait on each other), computes the missing runs together
    (:func:`dcutils.runs.get_run_group`) and writes the state markers as :func:`run_job` does. When the
    group raises, each of its runs is computed alone (:func:`run_job`): one diverging run then fails alone
    and the others are kept. A group job never raises; its failures are in the results and markers.
    """
    if "configs" not in spec:
        return [run_job(spec)]
    started = time.perf_counter()
    _set_threads(spec.get("threads"))
    log, job_id = _job_identity()
    try:
        _do_imports(spec.get("imports", ()))
        from dcutils import cache, runs

        cfgs = [runs.RunConfig.from_dict(d) for d in spec["configs"]]
        computed: set[str] = set()
        with contextlib.ExitStack() as locks:
            for cfg in sorted(cfgs, key=lambda c: c.key()):
                locks.enter_context(cache.file_lock(runs.record_path(cfg)))
            todo = [c for c in cfgs if runs.load_cached(c) is None]
            for cfg in todo:
                mark_running(cfg, log=log, job_id=job_id)
            if todo:
                runs.get_run_group(todo)
                computed = {c.key() for c in todo}
            for cfg in cfgs:
                clear_markers(cfg)
    except Exception:  # noqa: BLE001 - every run alone below says what failed
        traceback.print_exc()  # the job's log keeps why the group did not finish
        alone = {k: v for k, v in spec.items() if k != "configs"}
        return [run_job({**alone, "config": d}) for d in spec["configs"]]
    seconds = (time.perf_counter() - started) / len(cfgs)
    return [{"key": c.key(), "ok": True, "error": None, "computed": c.key() in computed, "seconds": seconds,
             "log": log, "job_id": job_id} for c in cfgs]


def _outcome(cfg: RunConfig, res: Mapping[str, Any]) -> Outcome:
    return Outcome(cfg, bool(res["ok"]), res.get("error"), Path(res["log"]) if res.get("log") else None,
                   bool(res.get("computed")), float(res.get("seconds") or 0.0), res.get("job_id"))


# ----------------------------------------------------------------------------
# executors


OnDone = Callable[[Outcome], None]


class Executor(ABC):
    """Runs configs somewhere and reports each one's :class:`Outcome`.

    Configs are sent as given: a config given twice is computed once (the
    record lock; the second copy finds it cached, ``computed=False``).
    :func:`dcutils.compute.compute` drops duplicates and cached runs first.

    Parameters
    ----------
    extra_imports : modules a fresh worker imports besides :mod:`dcutils.runs`
        and the configs' algorithm modules (which it imports by itself)
    stack : the most runs one job trains together as a stacked group (runs of one
        :func:`dcutils.runs.stack_key`; issue 25); 1 = every run alone
    """

    name = "executor"

    def __init__(self, *, extra_imports: Iterable[str] = (), stack: int = 1) -> None:
        self.extra_imports = tuple(extra_imports)
        if int(stack) < 1:
            raise ExecutorError(f"a stacked group holds at least one run, got stack={stack}")
        self.stack = int(stack)

    def _units(self, configs: Sequence[RunConfig]) -> list[list[int]]:
        """Positions of ``configs`` grouped into jobs: stacked groups of up to :attr:`stack` runs
        (:func:`dcutils.runs.stack_groups`), every other run alone."""
        if self.stack == 1:
            return [[i] for i in range(len(configs))]
        from dcutils import runs

        return runs.stack_groups(configs, self.stack)

    @abstractmethod
    def submit_all(self, configs: Sequence[RunConfig], on_done: OnDone | None = None) -> list[Outcome]:
        """Run every config; block until all finished; one outcome per config, in their order.

        ``on_done(outcome)`` is called as each finishes (progress bars).
        """

    def describe(self) -> str:
        """One line for the log: what runs where."""
        return self.name


class InProcess(Executor):
    """Every run in this process, one after the other."""

    name = "inprocess"

    def submit_all(self, configs: Sequence[RunConfig], on_done: OnDone | None = None) -> list[Outcome]:
        configs = list(configs)
        outcomes: dict[int, Outcome] = {}
        imports = [[m, None] for m in self.extra_imports]  # the algorithms are registered here already
        for unit in self._units(configs):
            for i, res in zip(unit, run_unit(_spec([configs[i] for i in unit], imports, None))):
                outcomes[i] = _outcome(configs[i], res)
                if on_done:
                    on_done(outcomes[i])
        return [outcomes[i] for i in range(len(configs))]

    def describe(self) -> str:
        return "this process"


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    """Set environment variables for the ``with`` body (spawned children inherit them), then restore."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class ProcessPool(Executor):
    """A local pool of ``jobs`` fresh (spawned) worker processes, ``threads`` torch threads each.

    ``threads`` defaults to ``cores // jobs``; the workers start with
    ``OMP_NUM_THREADS`` (and MKL's, OpenBLAS's) set to it, so the math
    libraries do not oversubscribe the cores, and with ``DCUTILS_QUIET=1``
    (one progress bar: the parent's).
    """

    name = "pool"

    def __init__(self, jobs: int, threads: int | None = None, *, extra_imports: Iterable[str] = (),
                 stack: int = 1) -> None:
        super().__init__(extra_imports=extra_imports, stack=stack)
        self.jobs = max(1, int(jobs))
        self.threads = max(1, int(threads)) if threads else max(1, (os.cpu_count() or 1) // self.jobs)

    def describe(self) -> str:
        return f"{self.jobs} local worker process(es) × {self.threads} thread(s)"

    def submit_all(self, configs: Sequence[RunConfig], on_done: OnDone | None = None) -> list[Outcome]:
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from multiprocessing import get_context

        configs = list(configs)
        if not configs:
            return []
        units = self._units(configs)
        specs = [group_spec([configs[i] for i in unit], extra_imports=self.extra_imports, threads=self.threads)
                 for unit in units]
        results: dict[int, Outcome] = {}
        env = {var: str(self.threads) for var in _THREAD_VARS} | {"DCUTILS_QUIET": "1"}
        with _environment(**env), ProcessPoolExecutor(min(self.jobs, len(units)),
                                                      mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(run_unit, spec): u for u, spec in enumerate(specs)}
            for fut in as_completed(futures):
                unit = units[futures[fut]]
                try:
                    outs = [_outcome(configs[i], res) for i, res in zip(unit, fut.result())]
                except Exception as err:  # noqa: BLE001 - a worker that died (killed, out of memory)
                    error = f"worker process died: {type(err).__name__}: {err}"
                    outs = []
                    for i in unit:
                        mark_failed(configs[i], error)
                        outs.append(Outcome(configs[i], False, error))
                for i, out in zip(unit, outs):
                    results[i] = out
                    if on_done:
                        on_done(out)
        return [results[i] for i in range(len(configs))]


def _toml_settings(path: Path) -> dict[str, Any]:
    import tomllib

    if not path.is_file():
        return {}
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise ExecutorError(f"{path}: not valid TOML ({err})") from err


#: Settings of :func:`slurm_settings`: name → (environment variable, type, default).
SLURM_SETTINGS: dict[str, tuple[str, type, Any]] = {
    "partition": ("DCUTILS_SLURM_PARTITION", str, None),
    "gpus": ("DCUTILS_SLURM_GPUS", int, 1),
    "time_min": ("DCUTILS_SLURM_TIME_MIN", int, 180),
    "array": ("DCUTILS_SLURM_ARRAY", int, 32),
    "cpus": ("DCUTILS_SLURM_CPUS", int, 4),
}


def slurm_settings(config_file: Path | str | None = None) -> dict[str, Any]:
    """SLURM settings: defaults, then ``slurm.toml`` (repo root unless given), then ``DCUTILS_SLURM_*``.

    Returns ``{"partition", "gpus", "time_min", "array", "cpus", "submitit": {...}}``.

    Raises
    ------
    ExecutorError naming the file or variable with an unknown key or a value of the wrong type.
    """
    from dcutils import paths

    file = Path(config_file) if config_file is not None else paths.ROOT / "slurm.toml"
    given = _toml_settings(file)
    unknown = sorted(set(given) - set(SLURM_SETTINGS) - {"submitit"})
    if unknown:
        raise ExecutorError(f"{file}: unknown setting(s) {unknown}; known: {sorted(SLURM_SETTINGS)} and [submitit]")
    out: dict[str, Any] = {"submitit": dict(given.get("submitit", {}))}
    for name, (var, kind, default) in SLURM_SETTINGS.items():
        value, source = given.get(name, default), str(file)
        if os.environ.get(var, "") != "":
            value, source = os.environ[var], var
        if value is not None:
            try:
                value = kind(value)
            except (TypeError, ValueError) as err:
                raise ExecutorError(f"{source}: {name} must be {kind.__name__}, got {value!r}") from err
        out[name] = value
    return out


def slurm_parameters(settings: Mapping[str, Any]) -> dict[str, Any]:
    """submitit ``AutoExecutor.update_parameters`` arguments from :func:`slurm_settings`."""
    params = {"timeout_min": settings["time_min"], "gpus_per_node": settings["gpus"],
              "cpus_per_task": settings["cpus"], "slurm_array_parallelism": settings["array"],
              "tasks_per_node": 1, "nodes": 1, "name": "dcutils"}
    if settings.get("partition"):
        params["slurm_partition"] = settings["partition"]
    params.update(settings.get("submitit", {}))
    return params


def _jobs_folder(profile: str) -> Path:
    """A fresh ``results/<profile>/.jobs/<timestamp>/``."""
    from dcutils import paths

    base = paths.results_dir(profile) / ".jobs"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder, n = base / stamp, 0
    while True:
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            n += 1
            folder = base / f"{stamp}-{n}"


class Submitit(Executor):
    """Jobs through submitit: ``kind="slurm"`` (a SLURM job array) or ``"local"`` (local processes).

    Parameters
    ----------
    kind : ``"slurm"`` or ``"local"``
    folder : submitit's folder (pickles, logs); default a fresh
        ``results/<profile>/.jobs/<timestamp>/`` per :meth:`submit_all`
    params : settings on top of :func:`slurm_settings` (``partition``,
        ``gpus``, ``time_min``, ``array``, ``cpus``, ``submitit``); for
        ``"local"`` only ``time_min`` (default 60), ``array`` (jobs at once;
        default one per core, at most 8; one on a GPU), ``cpus`` (torch
        threads per job; default cores // jobs at once) and ``submitit``
        (LocalExecutor parameters; default ``gpus_per_node=1`` when runs use a
        GPU, else none: the jobs see no GPU) apply
    poll_s : seconds between looks at the jobs' states
    extra_imports : see :class:`Executor`
    """

    def __init__(self, kind: str = "slurm", folder: Path | str | None = None,
                 params: Mapping[str, Any] | None = None, *, poll_s: float | None = None,
                 extra_imports: Iterable[str] = (), stack: int = 1) -> None:
        super().__init__(extra_imports=extra_imports, stack=stack)
        if kind not in ("slurm", "local"):
            raise ExecutorError(f"submitit kind must be 'slurm' or 'local', got {kind!r}")
        self.kind = kind
        self.name = "slurm" if kind == "slurm" else "submitit-local"
        self.folder = Path(folder) if folder is not None else None
        if kind == "slurm":
            import shutil

            if not (shutil.which("sbatch") and shutil.which("srun")):
                raise ExecutorError("no SLURM here (sbatch / srun not on PATH); run on the cluster's login node, "
                                    "or use the pool or submitit-local executor")
            self.settings = {**slurm_settings(), **dict(params or {})}
        else:
            from dcutils.device import default_device

            gpu = default_device().type == "cuda"  # then jobs take turns on the GPU, as the pool's auto does
            self.settings = {"time_min": 60, "array": 1 if gpu else max(1, min(os.cpu_count() or 1, 8)),
                             "cpus": None, "submitit": {"gpus_per_node": 1} if gpu else {}, **dict(params or {})}
        self.poll_s = poll_s if poll_s is not None else (30.0 if kind == "slurm" else 0.5)
        self.last_folder: Path | None = None

    def describe(self) -> str:
        s = self.settings
        if self.kind == "slurm":
            return (f"a SLURM job array (partition {s.get('partition') or 'default'}, {s['gpus']} GPU(s), "
                    f"{s['cpus']} CPU(s), {s['time_min']} min, {s['array']} at once)")
        return f"submitit local jobs ({s['array']} at once)"

    def _executor(self, folder: Path):
        import submitit

        s = self.settings
        if self.kind == "slurm":
            ex = submitit.AutoExecutor(folder=folder, cluster="slurm")
            ex.update_parameters(**slurm_parameters(s))
            return ex
        ex = submitit.LocalExecutor(folder=folder)
        ex.update_parameters(timeout_min=s["time_min"], **dict(s.get("submitit", {})))
        return ex

    def _threads(self, n: int) -> int | None:
        s = self.settings
        if s.get("cpus"):
            return int(s["cpus"])
        if self.kind == "local":
            return max(1, (os.cpu_count() or 1) // max(1, min(n, int(s["array"]))))
        return None

    def submit_all(self, configs: Sequence[RunConfig], on_done: OnDone | None = None) -> list[Outcome]:
        configs = list(configs)
        if not configs:
            return []
        folder = self.folder or _jobs_folder(configs[0].profile)
        self.last_folder = folder
        units = self._units(configs)
        threads = self._threads(len(units))
        specs = [group_spec([configs[i] for i in unit], extra_imports=self.extra_imports, threads=threads,
                            raise_errors=True) for unit in units]
        outcomes: dict[int, Outcome] = {}
        # SLURM throttles the array itself (array parallelism); local jobs would all start at once: waves.
        wave = len(specs) if self.kind == "slurm" else max(1, int(self.settings["array"]))
        with _environment(DCUTILS_QUIET="1"):
            for start in range(0, len(specs), wave):
                ex = self._executor(folder)
                jobs = ex.map_array(run_unit, specs[start:start + wave])
                self._collect(jobs, configs, units[start:start + wave], outcomes, on_done)
        return [outcomes[i] for i in range(len(configs))]

    def _collect(self, jobs: list, configs: list[RunConfig], units: list[list[int]],
                 outcomes: dict[int, Outcome], on_done: OnDone | None) -> None:
        from submitit.helpers import as_completed

        index = {id(job): k for k, job in enumerate(jobs)}
        for job in as_completed(jobs, poll_frequency=self.poll_s):
            k = index[id(job)]
            for i, out in zip(units[k], self._job_outcomes(job, [configs[i] for i in units[k]])):
                outcomes[i] = out
                if on_done:
                    on_done(out)

    @staticmethod
    def _job_outcomes(job: Any, cfgs: list[RunConfig]) -> list[Outcome]:
        """One outcome per config of the job's unit (a single run's job raises when it fails, a group's does not)."""
        log = Path(job.paths.stderr)
        try:
            res = job.result()
        except Exception as err:  # noqa: BLE001 - the run raised, or the job died (pre-empted, timed out, killed)
            outs = []
            for cfg in cfgs:
                marker = read_marker(cfg, "failed")
                if marker and marker.get("error") and (marker.get("job_id") == str(job.job_id)
                                                       or marker.get("log") == str(log)):
                    outs.append(Outcome(cfg, False, marker["error"], log, job_id=str(job.job_id)))
                    continue
                # Killed from outside: the job could not say so itself.
                state = getattr(job, "state", "?")
                lines = [line for line in str(err).strip().splitlines() if line.strip()]
                error = f"job {job.job_id} ended ({state}): {lines[-1] if lines else type(err).__name__}"
                mark_failed(cfg, error, log=log, job_id=str(job.job_id), trace=str(err))
                outs.append(Outcome(cfg, False, error, log, job_id=str(job.job_id)))
            return outs
        return [_outcome(cfg, {**r, "log": r.get("log") or str(log), "job_id": r.get("job_id") or job.job_id})
                for cfg, r in zip(cfgs, res)]


def make(name: str, jobs: int = 1, *, threads: int | None = None, params: Mapping[str, Any] | None = None,
         extra_imports: Iterable[str] = (), stack: int = 1) -> Executor:
    """The executor called ``name`` (:data:`NAMES`).

    ``"pool"`` with ``jobs`` 1 runs in this process (as :class:`InProcess`);
    ``params`` go to :class:`Submitit` for ``"slurm"`` and ``"submitit-local"``;
    ``stack`` is the most runs a job trains together (:class:`Executor`).
    """
    if name == "inprocess" or (name == "pool" and int(jobs) <= 1):
        return InProcess(extra_imports=extra_imports, stack=stack)
    if name == "pool":
        return ProcessPool(jobs, threads, extra_imports=extra_imports, stack=stack)
    if name == "slurm":
        return Submitit("slurm", params=params, extra_imports=extra_imports, stack=stack)
    if name == "submitit-local":
        return Submitit("local", params=params, extra_imports=extra_imports, stack=stack)
    raise ExecutorError(f"unknown executor {name!r}; choose one of {', '.join(NAMES)}")
