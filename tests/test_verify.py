"""Recomputing committed records: drift against the seed spread, and the bf16 / fp32 precision check."""
from __future__ import annotations

import pytest

from dcutils import executors, runs, verify
from dcutils.experiments import configs_for, notebook_settings

CELL = ("usps", "dec", True)


def _cell_configs():
    s = notebook_settings("brb/tab13", "smoke", {})
    return [c for c in configs_for(s) if (c.dataset, c["method"], c["pretrain"]) == CELL
            and c["variant"] in ("none", "brb")]


def test_verify_recomputes_a_record_bitwise_on_the_same_machine(results):
    cfg = _cell_configs()[0]
    runs.get_run(cfg)
    assert verify.committed("smoke") == [cfg]
    (drift,) = verify.verify("smoke", 1, seed=0)
    assert drift.identical and drift.drift == 0.0
    assert verify.report([drift])["bitwise"].tolist() == ["yes"]


def test_precision_check_recomputes_in_a_throwaway_cache_and_compares_verdicts(results):
    configs = _cell_configs()
    runs.get_runs(configs)
    before = sorted(p.name for p in results.rglob("*.json.gz"))
    table = verify.precision_check("smoke", "brb/tab13", [CELL], precision="bf16", jobs=1)
    assert list(table["precision"]) == ["fp32", "bf16"]
    assert (table["pairs"] == 1).all() and table["same verdict"].dtype == bool
    # with one seed there is no SE: both verdicts are inconclusive, hence the same
    assert (table["verdict"] == "inconclusive").all() and table["same verdict"].all()
    assert sorted(p.name for p in results.rglob("*.json.gz")) == before  # nothing written to the real cache


def test_precision_check_asks_for_the_committed_runs_first(results):
    with pytest.raises(RuntimeError, match="compute the committed runs first"):
        verify.precision_check("smoke", "brb/tab13", [CELL], precision="bf16")


@pytest.mark.parametrize("threads", [1, 2])
def test_verify_recomputes_under_the_records_thread_count_bitwise(results, threads):
    """A record computed by a worker with 1 or 2 threads is recomputed with the same count (not this process's),
    so on the same machine and software it comes back bitwise, and the report says the conditions are the same."""
    cfg = _cell_configs()[0]
    (outcome,) = executors.ProcessPool(1, threads=threads).submit_all([cfg])
    assert outcome.ok and runs.load_cached(cfg).environment["threads"] == threads
    (drift,) = verify.verify("smoke", 1, seed=0)
    assert drift.environment_now["threads"] == threads and drift.conditions == []
    assert drift.identical and drift.drift == 0.0
    assert verify.report([drift])[["bitwise", "conditions"]].values.tolist() == [["yes", "same"]]


def test_a_thread_count_or_cpu_mismatch_is_reported_as_such():
    d = verify.Drift(_cell_configs()[0], 0.5, 0.48, 0.01, 3, False,
                     {"cpu": "AMD EPYC", "threads": 1, "torch": "2.14.1"},
                     {"cpu": "Intel Xeon", "threads": 2, "torch": "2.14.1"})
    assert d.conditions == ["cpu AMD EPYC vs Intel Xeon", "threads 1 vs 2"]
    assert verify.report([d])["conditions"].tolist() == ["cpu AMD EPYC vs Intel Xeon; threads 1 vs 2"]
