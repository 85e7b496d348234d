"""A tiny algorithm for the executor tests: no data, no training, importable by fresh worker processes.

Its runs return a 2-row history at once (or after ``sleep`` seconds), or raise
with ``fail=True``; with ``unhealthy=True`` the history's smallest cluster holds
no sample, so the record's health (``meta["health"]``) flags the run. When
``$TINY_CALLS`` names a file, each run appends ``<key> <pid>`` to it, so a test
can count computations across processes.
"""
from __future__ import annotations

import os
import time

import pandas as pd

from dcutils import health
from dcutils.core import RunConfig, RunContext, RunOutput, algorithm, stacks

STEPS = 100


def tiny_steps(cfg: RunConfig) -> int:
    return STEPS


@algorithm("test.tiny", version=1, steps=tiny_steps, fail=False, sleep=0.0, unhealthy=False)
def run_tiny(cfg: RunConfig, ctx: RunContext) -> RunOutput:
    calls = os.environ.get("TINY_CALLS")
    if calls:
        with open(calls, "a") as fh:
            fh.write(f"{cfg.key()} {os.getpid()}\n")
    if cfg["sleep"]:
        time.sleep(cfg["sleep"])
    if cfg["fail"]:
        raise RuntimeError(f"asked to fail (seed {cfg.seed})")
    history = pd.DataFrame({"epoch": [0, 1], "loss": [1.0, 0.5],
                            "min_cluster_share": [0.0, 0.0] if cfg["unhealthy"] else [0.5, 0.5]})
    return RunOutput(history, {"acc": 0.5}, meta={"health": health.assess(history)})


@stacks("test.tiny", key=lambda cfg: cfg["sleep"])
def run_tiny_group(cfgs: list[RunConfig], ctxs: list[RunContext]) -> list[RunOutput]:
    """The tiny runs of one ``sleep`` together: each line of ``$TINY_CALLS`` gets ``group<size>``; a group
    with a failing run raises (as a diverging member would), so its runs are computed alone afterwards."""
    calls = os.environ.get("TINY_CALLS")
    if calls:
        with open(calls, "a") as fh:
            fh.writelines(f"{cfg.key()} {os.getpid()} group{len(cfgs)}\n" for cfg in cfgs)
    failing = [cfg.seed for cfg in cfgs if cfg["fail"]]
    if failing:
        raise RuntimeError(f"a run of the group asked to fail (seeds {failing})")
    return [run_tiny(cfg, ctx) for cfg, ctx in zip(cfgs, ctxs)]
