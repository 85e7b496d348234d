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
from dcutils.core import RunConfig, RunContext, RunOutput, algorithm

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
