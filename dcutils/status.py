"""Where the compute step stands: per notebook, its runs done / running / failed / missing, and the compute left.

``make status`` (``python -m dcutils.status --profile quick``) prints one row
per catalog item with runs, then a total over the distinct runs (items share
runs), then every failed run with its error and log::

    item        runs  done  running  failed  missing  flagged  steps to do  est. time
    brb/fig01     12     8        1       1        2        1       48,000     24 min
    ...
    total: 140 distinct runs: 100 done, 4 running, 2 failed, 34 missing; 1.2e6 optimizer steps to do ≈ 10.0 h
    (0.03 s per step on cpu: ...)
    health: 3 of 100 done run(s) flagged unhealthy (...); 20 of them carry no assessment (...)

A run is

done
    its record is in the cache (the file exists; it is checked when loaded);
running
    a job holds it: ``results/<profile>/.state/<key>.running`` exists and its
    process is alive (markers of other hosts, SLURM nodes, are believed);
failed
    its last attempt failed: ``<key>.failed`` (error, traceback, log);
missing
    none of these (a stale ``.running`` marker, whose process is gone, counts
    as missing).

The markers are written by the jobs (:mod:`dcutils.executors`).

After the runs, each item's **claim and verdict** (:func:`claim_lines`): what the paper claims, read from the
same statements the gallery and the notebooks use (:mod:`dcutils.statements`), and the verdict its notebook
last wrote at this profile (``figures/<paper>/<stem>.values.json``), or that there is none yet::

    brb/fig01  reproduces (3 of 4 ...)  Claim: BRB ends above ...

``flagged`` counts the done runs whose record flags them unhealthy
(``meta["health"]``, :func:`dcutils.health.is_flagged`: collapsed clusters or a
growing loss); a record without an assessment, or one that cannot be read, is
not flagged. The health line gives the total over distinct runs (and how many
done runs carry no assessment) and names the first :data:`MAX_FLAGGED_LISTED`
flagged runs with their first reason.

Compute left = the optimizer steps of the failed and missing runs (what a
rerun computes; :attr:`dcutils.core.Algorithm.steps`, runs of algorithms
without an estimate are counted apart) × seconds per optimizer step. For an
algorithm with at least :data:`MIN_CALIBRATION_RUNS` done runs of the profile
computed on this kind of device (their records' ``meta["device"]``, cpu or
cuda), that is **their own time**: the sum of their records' run times
(evaluation, k-means and any pretraining the run did included; on the CPU
``meta["cpu_seconds"]``, the core-seconds the run used, which a loaded
machine does not inflate, where the record has it, else the wall-clock
``meta["seconds"]`` with whatever load the machine had) over the sum of their estimated
steps (:func:`calibration`); the report says which algorithms use it and from
how many runs. Otherwise it is the step time ``make bench`` measured on this
kind of device (:func:`dcutils.environment.device_label`), read from its entry in
``results/bench.json`` (``{"devices": {"cuda (NVIDIA H200)": {"seconds_per_step":
0.004, "stacked_speedup": {"1": 0.9, "3": 2.6, "10": 7.1}}}}``; an entry of
another device is never used), or without one the default
:data:`DEFAULT_STEP_SECONDS`, and the output says so. Runs that train in
stacked groups here (:func:`dcutils.runs.stack_size` > 1, a GPU by default; ``brb.dc``) are
priced at that step time divided by the measured per-run speed-up of their
group size.

Nothing here loads a data set or trains: configs come from the settings,
states from file names, and health from the records of the done runs.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dcutils import cache, catalog, executors, experiments, findings, health, paths, runs, statements
from dcutils.core import RunConfig, get_algorithm
from dcutils.device import default_device
from dcutils.environment import device_label
from dcutils.profiles import PROFILES, SettingsError, check_profile

__all__ = ["STATES", "DEFAULT_STEP_SECONDS", "DEFAULT_STEP_NOTE", "StepTime", "step_time", "bench_file",
           "run_state", "run_health", "record_facts", "calibration", "estimated_steps", "status_table", "report",
           "main", "MAX_FLAGGED_LISTED", "MIN_CALIBRATION_RUNS", "claim_lines", "CLAIM_WIDTH"]

#: The states of a run, in the table's column order.
STATES = ("done", "running", "failed", "missing")

#: The report names at most this many flagged runs.
MAX_FLAGGED_LISTED = 10

#: Characters of an item's claim and verdict reason shown per line of :func:`claim_lines`.
CLAIM_WIDTH = 90

#: Done runs of an algorithm (on this kind of device) from which their own time per step is used.
MIN_CALIBRATION_RUNS = 3

#: Seconds per optimizer step when ``make bench`` has not measured this machine.
DEFAULT_STEP_SECONDS = 0.03
DEFAULT_STEP_NOTE = "measured on a 2-core CPU, batch 256, fp32; run make bench for this machine"


@dataclass(frozen=True)
class StepTime:
    """Seconds per optimizer step, and where the number comes from.

    ``stacked_speedup``: per-run speed-up of a stacked group over a single run, by group size (``make bench``
    section 5, fp32); empty when not measured.
    """

    seconds: float
    device: str
    measured: bool  # False: :data:`DEFAULT_STEP_SECONDS`
    source: str  # the bench file, or why it was not used
    stacked_speedup: tuple[tuple[int, float], ...] = ()

    def speedup(self, size: int) -> float:
        """The measured speed-up per run of the largest measured group not above ``size`` (1.0 when none)."""
        fits = [(k, v) for k, v in self.stacked_speedup if k <= size]
        return max(fits)[1] if fits else 1.0

    def describe(self) -> str:
        if self.measured:
            return f"{self.seconds:g} s per optimizer step, measured on {self.device} by make bench ({self.source})"
        return f"{self.seconds:g} s per optimizer step: the default, {DEFAULT_STEP_NOTE} ({self.source})"


def bench_file() -> Path:
    """``results/bench.json``, where ``make bench`` leaves the step time of each device it ran on."""
    return paths.results_root() / "bench.json"


def step_time(path: Path | str | None = None, device: str | None = None) -> StepTime:
    """The step time of ``device`` (default: this machine's, :func:`dcutils.environment.device_label`) from
    ``path`` (default :func:`bench_file`), or the default when absent or unusable.

    The file holds one entry per device (``{"devices": {"cuda (NVIDIA H200)": {"seconds_per_step": ...,
    "stacked_speedup": {"1": ..., "3": ..., "10": ...}}}}``); an entry of another device is never used. A
    file of the older one-entry form (``{"seconds_per_step": ..., "device": ...}``) is used as it is.
    """
    path = Path(path) if path is not None else bench_file()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return StepTime(DEFAULT_STEP_SECONDS, "a 2-core CPU", False, f"no {path}")
    except (OSError, ValueError) as err:
        return StepTime(DEFAULT_STEP_SECONDS, "a 2-core CPU", False, f"{path} unreadable: {err}")
    if isinstance(data, dict) and isinstance(data.get("devices"), dict):
        device = device or device_label(default_device())
        if device not in data["devices"]:
            have = ", ".join(sorted(data["devices"])) or "none"
            return StepTime(DEFAULT_STEP_SECONDS, "a 2-core CPU", False,
                            f"{path} has no bench of {device} (it has: {have}); run make bench here")
        data = data["devices"][device]
    value = data.get("seconds_per_step") if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        return StepTime(DEFAULT_STEP_SECONDS, "a 2-core CPU", False,
                        f"{path} has no positive seconds_per_step")
    speedups = data.get("stacked_speedup") if isinstance(data.get("stacked_speedup"), dict) else {}
    stacked = tuple(sorted((int(k), float(v)) for k, v in speedups.items()
                           if str(k).isdigit() and isinstance(v, (int, float)) and math.isfinite(v) and v > 0))
    return StepTime(float(value), str(data.get("device") or "an unnamed device"), True, str(path), stacked)


def run_state(cfg: RunConfig) -> str:
    """``"done"``, ``"running"``, ``"failed"`` or ``"missing"`` (module docstring)."""
    if runs.record_path(cfg).exists():
        return "done"
    running = executors.read_marker(cfg, "running")
    if running is not None and not executors.marker_is_stale(running):
        return "running"
    if executors.marker_path(cfg, "failed").exists():
        return "failed"
    return "missing"


def record_facts(cfg: RunConfig) -> dict:
    """What the record of ``cfg`` says about itself: ``health`` (``meta["health"]``, :func:`dcutils.health.assess`;
    None when absent), ``seconds`` (its run time: ``meta["cpu_seconds"]`` for a CPU record that has it, else
    ``meta["seconds"]``; None when absent) and ``device`` (the
    device type it ran on, ``"cpu"`` / ``"cuda"``; None when absent). All None when the record cannot be read (it
    is not moved aside here: loading it does that)."""
    out: dict = {"health": None, "seconds": None, "device": None}
    try:
        record = cache.read_record(runs.record_path(cfg), runs.expected_header(cfg))
    except (OSError, cache.CorruptCacheError):
        return out
    meta = record["payload"].get("meta")
    if not isinstance(meta, dict):
        return out
    found = meta.get("health")
    out["health"] = found if isinstance(found, dict) else None
    if isinstance(meta.get("device"), str):
        out["device"] = meta["device"].split(":")[0]
    for name in (("cpu_seconds", "seconds") if out["device"] == "cpu" else ("seconds",)):
        sec = meta.get(name)
        if isinstance(sec, (int, float)) and not isinstance(sec, bool) and math.isfinite(sec) and sec > 0:
            out["seconds"] = float(sec)
            break
    return out


def run_health(cfg: RunConfig) -> dict | None:
    """The health assessment in the record of ``cfg`` (:func:`record_facts`' ``health``)."""
    return record_facts(cfg)["health"]


def _device_type() -> str:
    return default_device().type


def calibration(facts: dict[RunConfig, dict], device: str | None = None) -> dict[str, tuple[float, int]]:
    """Per algorithm: (seconds per estimated optimizer step, runs) from the done runs' own times (module
    docstring), over those of ``facts`` (config -> :func:`record_facts`) that ran on ``device`` (default: this
    machine's device type) with a time and a step estimate; only algorithms with at least
    :data:`MIN_CALIBRATION_RUNS` such runs."""
    device = device or _device_type()
    sums: dict[str, list[float]] = {}
    for cfg, fact in facts.items():
        if fact.get("seconds") is None or fact.get("device") != device:
            continue
        steps, unknown = estimated_steps([cfg])
        if unknown or steps <= 0:
            continue
        acc = sums.setdefault(cfg.algorithm, [0.0, 0.0, 0])
        acc[0] += fact["seconds"]
        acc[1] += steps
        acc[2] += 1
    return {a: (sec / steps, int(n)) for a, (sec, steps, n) in sums.items() if n >= MIN_CALIBRATION_RUNS}


def estimated_steps(configs: Iterable[RunConfig]) -> tuple[int, int]:
    """(optimizer steps of ``configs`` summed, how many configs have no estimate)."""
    total, unknown = 0, 0
    for cfg in configs:
        fn = get_algorithm(cfg.algorithm).steps
        steps = None
        if fn is not None:
            try:
                steps = fn(cfg)
            except Exception:  # noqa: BLE001 - an estimate that cannot be made is counted as unknown
                steps = None
        if steps is None:
            unknown += 1
        else:
            total += int(steps)
    return total, unknown


def _configs_per_item(profile: str, items: Iterable[str] | None) -> dict[str, list[RunConfig]]:
    check_profile(profile)
    return {item: list(dict.fromkeys(experiments.configs_for(experiments.notebook_settings(item, profile, {}))))
            for item in experiments.items_with_runs(items)}


def _bench_seconds(cfg: RunConfig, step: StepTime, stack: int) -> float:
    """Seconds per step of ``cfg`` from the bench: the single step time, divided by the stacked speed-up when
    its runs train in groups here (``stack`` > 1 and the algorithm stacks ``cfg``)."""
    if stack > 1 and step.stacked_speedup and runs.stack_key(cfg) is not None:
        return step.seconds / step.speedup(stack)
    return step.seconds


def _row(name: str, configs: list[RunConfig], state: dict[RunConfig, str], step: StepTime,
         checks: dict[RunConfig, dict | None], rates: dict[str, tuple[float, int]] | None = None,
         stack: int = 1) -> dict:
    counts = {s: sum(state[c] == s for c in configs) for s in STATES}
    todo = [c for c in configs if state[c] in ("failed", "missing")]
    steps, unknown = estimated_steps(todo)
    rates = rates or {}
    secs = sum(estimated_steps([c])[0] * (rates[c.algorithm][0] if c.algorithm in rates
                                          else _bench_seconds(c, step, stack)) for c in todo)
    flagged = sum(health.is_flagged({"health": checks.get(c)}) for c in configs)
    return {"item": name, "runs": len(configs), **counts, "flagged": flagged, "steps to do": steps,
            "no estimate": unknown, "seconds to do": secs}


def status_table(profile: str, items: Iterable[str] | None = None,
                 step: StepTime | None = None) -> tuple[pd.DataFrame, dict]:
    """One row per item (runs and their states, the done runs flagged unhealthy, steps and seconds to do), and
    the total over distinct runs.

    Returns ``(table, total)``; ``total`` has the same keys as a row
    (``item`` = ``"total"``) plus ``rates``, the per-algorithm step times from the done runs' own times used
    for runs still to do (:func:`calibration`), ``failed_runs``, the failed configs, and
    ``flagged_runs``, (config, health) of each flagged run, and ``unassessed``, the done runs whose record
    holds no health assessment (:func:`run_health` None).
    """
    step = step or step_time()
    per_item = _configs_per_item(profile, items)
    distinct = list(dict.fromkeys(c for configs in per_item.values() for c in configs))
    state = {c: run_state(c) for c in distinct}
    facts = {c: record_facts(c) for c in distinct if state[c] == "done"}
    checks = {c: f["health"] for c, f in facts.items()}
    todo_algorithms = {c.algorithm for c in distinct if state[c] in ("failed", "missing")}
    rates = calibration(facts) if todo_algorithms else {}
    stack = runs.stack_size()  # what `make runs` will use here
    table = pd.DataFrame([_row(item, configs, state, step, checks, rates, stack)
                          for item, configs in per_item.items()],
                         columns=["item", "runs", *STATES, "flagged", "steps to do", "no estimate",
                                  "seconds to do"])
    total = _row("total", distinct, state, step, checks, rates, stack)
    total["rates"] = {a: r for a, r in rates.items() if a in todo_algorithms}
    total["stack"] = stack
    total["failed_runs"] = [c for c in distinct if state[c] == "failed"]
    total["flagged_runs"] = [(c, h) for c, h in checks.items() if health.is_flagged({"health": h})]
    total["unassessed"] = sum(h is None for h in checks.values())
    return table, total


def _duration(seconds: float) -> str:
    if seconds <= 0:
        return "—"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def _health_line(total: dict) -> str:
    """The report's health line: flagged runs over done runs, and the first few flagged with their first reason."""
    flagged = total["flagged_runs"]
    line = (f"health: {len(flagged)} of {total['done']} done run(s) flagged unhealthy (collapsed clusters or a "
            f"growing loss, dcutils.health)")
    if total["unassessed"]:
        line += f"; {total['unassessed']} of them carry no assessment (their records hold none)"
    for cfg, found in flagged[:MAX_FLAGGED_LISTED]:
        reasons = found.get("reasons") or ["no reason recorded"]
        line += f"\nFLAGGED {cfg.label()}: {reasons[0]}"
    if len(flagged) > MAX_FLAGGED_LISTED:
        line += f"\n... and {len(flagged) - MAX_FLAGGED_LISTED} more flagged run(s)"
    return line


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def claim_lines(profile: str, items: Iterable[str]) -> list[str]:
    """Per item: its verdict at ``profile`` (the notebook's findings, ``findings.read``; "no <profile> verdict
    yet" when it has none or one of another profile) and what it claims (:func:`dcutils.statements.statement`:
    the claim, or why it makes none testable here), each cut to :data:`CLAIM_WIDTH` characters."""
    lines = []
    for item in items:
        try:
            found = findings.read(catalog.get_item(item).findings_file)
        except findings.FindingsError as err:
            verdict = f"unreadable verdict ({err})"
        else:
            if found is None or found.profile != profile:
                verdict = f"no {profile} verdict yet"
            else:
                verdict = found.verdict + (f" ({_short(found.reason, CLAIM_WIDTH)})" if found.reason else "")
        try:
            st = statements.statement(item)
            said = f"Claim: {st.claim}" if st.claim else f"Not testable here: {st.untestable}"
        except KeyError:
            said = "no statement listed (dcutils/<paper>/claims.py)"
        lines.append(f"{item}  {verdict}\n    {_short(said, CLAIM_WIDTH)}")
    return lines


def report(profile: str, items: Iterable[str] | None = None, step: StepTime | None = None) -> str:
    """The text ``make status`` prints."""
    step = step or step_time()
    table, total = status_table(profile, items, step)
    shown = table.drop(columns=["seconds to do"]).assign(**{
        "steps to do": table["steps to do"].map(lambda n: f"{n:,}"),
        "est. time": table["seconds to do"].map(_duration),
    })
    if not shown["no estimate"].any():
        shown = shown.drop(columns=["no estimate"])
    lines = [f"profile {profile!r}: runs per notebook (results in {paths.results_dir(profile)})", "",
             shown.to_string(index=False) if len(shown) else "(no item has runs)", ""]
    todo = total["failed"] + total["missing"]
    line = (f"total: {total['runs']} distinct run(s): {total['done']} done, {total['running']} running, "
            f"{total['failed']} failed, {total['missing']} missing")
    if todo:
        line += f"; {total['steps to do']:,} optimizer steps to do ≈ {_duration(total['seconds to do'])}"
        if total["no estimate"]:
            line += f" (+ {total['no estimate']} run(s) without an estimate)"
    rates = total["rates"]
    if rates:
        own = "; ".join(f"{a} {r:.3g} s per step from {n} done runs" for a, (r, n) in sorted(rates.items()))
        lines += [line, f"step time: {own} (their records' own times on this kind of device: evaluation and "
                        f"pretraining included, and any load the machine had); other algorithms: {step.describe()}"]
    else:
        lines += [line, f"step time: {step.describe()}"]
    if total["stack"] > 1:
        sp = step.speedup(total["stack"])
        lines.append(f"stacked: runs of one shape train up to {total['stack']} at a time (compute --stack); "
                     + (f"measured {sp:.2f}x per run at that size (make bench, section 5)" if step.stacked_speedup
                        else "their speed-up is not measured on this device (make bench), so none is counted"))
    lines.append(_health_line(total))
    for cfg in total["failed_runs"]:
        marker = executors.read_marker(cfg, "failed") or {}
        where = f"log: {marker['log']}" if marker.get("log") else f"details: {executors.marker_path(cfg, 'failed')}"
        lines.append(f"FAILED {cfg.label()}: {marker.get('error', '?')}\n    {where}")
    if todo:
        lines.append("`make runs` computes what is failed or missing (EXECUTOR=slurm for a SLURM job array)")
    if len(table):
        lines += ["", f"claims and verdicts at {profile!r} (dcutils.statements; figures/<paper>/<stem>.values.json):",
                  *claim_lines(profile, table["item"])]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default=os.environ.get("DCUTILS_PROFILE") or "quick", choices=sorted(PROFILES))
    parser.add_argument("--item", action="append", help="catalog id like brb/tab13 (repeatable; default: all)")
    args = parser.parse_args(argv)
    try:
        print(report(args.profile, args.item))
    except SettingsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
