"""The run cache: configs, registry, run identity, caching, environment, corruption, data and NaN handling."""
import gzip
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from dcutils import runs
from dcutils.runs import NonFiniteLossError, RunConfig, RunOutput, algorithm, get_run, get_runs, record_path

CALLS: list[RunConfig] = []


@algorithm("test.counter", version=1, epochs=3, lr=0.1)
def _counter(cfg, ctx):
    CALLS.append(cfg)
    epochs = cfg["epochs"]
    history = pd.DataFrame({"epoch": range(epochs), "acc": np.linspace(0.1, 0.1 * epochs, epochs) + cfg.seed})
    return RunOutput(history, {"acc": float(history["acc"].iloc[-1])}, arrays={"d": np.arange(4.0).reshape(2, 2)},
                     meta={"data_fingerprint": "f" * 16})


@algorithm("test.nan", version=1, lr=0.1)
def _nan(cfg, ctx):
    for epoch in range(3):
        loss = 1.0 if epoch < 2 else math.nan
        ctx.check_finite(loss, "reconstruction loss", epoch)
    raise AssertionError("unreachable")


@algorithm("test.busy", version=1, work="sleep")
def _busy(cfg, ctx):
    import time
    if cfg["work"] == "sleep":  # waits, as a run does while other jobs hold the cores
        time.sleep(0.3)
    else:  # computes for 0.3 s of its own CPU time, however long that takes on a loaded machine
        until = time.process_time() + 0.3
        while time.process_time() < until:
            pass
    return RunOutput(pd.DataFrame({"epoch": [0]}), {"acc": 0.0}, meta={"data_fingerprint": "f" * 16})


@pytest.fixture(autouse=True)
def _reset_calls():
    CALLS.clear()


def test_make_fills_defaults_so_equal_runs_are_equal():
    a = RunConfig.make("test.counter", "USPS", seed=1, profile="smoke")
    b = RunConfig.make("test.counter", "usps", seed=1, profile="smoke", epochs=3)
    assert a == b and hash(a) == hash(b) and a.key() == b.key()
    assert a["epochs"] == 3 and a.dataset == "usps"


def test_config_differences_change_the_run_id():
    base = RunConfig.make("test.counter", "usps", profile="smoke")
    others = [base.replace(seed=1), base.replace(epochs=4), base.replace(dataset="mnist"),
              base.replace(profile="quick"), base.replace(data_fingerprint="0" * 16)]
    assert len({c.key() for c in [base, *others]}) == 6


def test_unknown_parameter_and_algorithm_are_errors():
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['epoch'\].*Valid: \['epochs', 'lr'\]"):
        RunConfig.make("test.counter", "usps", epoch=3)
    with pytest.raises(runs.UnknownAlgorithmError, match="unknown algorithm 'nope'"):
        RunConfig.make("nope", "usps")


def test_parameters_must_be_plain_literals():
    with pytest.raises(TypeError, match="plain literals"):
        RunConfig.make("test.counter", "usps", lr=object())


def test_second_request_comes_from_the_cache(results):
    cfg = RunConfig.make("test.counter", "usps", profile="smoke")
    first = get_run(cfg)
    second = get_run(cfg)
    assert len(CALLS) == 1 and not first.from_cache and second.from_cache
    pd.testing.assert_frame_equal(first.history, second.history)
    assert first.final == second.final
    np.testing.assert_array_equal(second.arrays["d"], np.arange(4.0).reshape(2, 2))
    assert record_path(cfg).is_relative_to(results / "smoke" / "test.counter" / "usps")


def test_a_record_keeps_its_cpu_time_apart_from_its_wall_clock_time(results):
    """``meta["cpu_seconds"]`` counts the core-seconds the run computed, not the time it waited (a loaded
    machine), so cost estimates can rest on it; ``meta["seconds"]`` stays the wall-clock time."""
    waited = get_run(RunConfig.make("test.busy", "usps", profile="smoke", work="sleep")).meta
    computed = get_run(RunConfig.make("test.busy", "usps", profile="smoke", work="spin")).meta
    assert waited["seconds"] >= 0.3 and computed["cpu_seconds"] >= 0.3
    # one thread computed: its CPU time is its wall time at most (10 ms of slack: the two clocks are read one
    # after the other and tick at different resolutions; a 4-microsecond excess once failed a strict check)
    assert computed["cpu_seconds"] <= computed["seconds"] + 0.01
    assert waited["cpu_seconds"] < 0.1


def test_get_runs_computes_duplicates_once_and_keeps_order(results):
    cfgs = [RunConfig.make("test.counter", "usps", seed=s, profile="smoke") for s in (1, 0, 1)]
    rs = get_runs(cfgs)
    assert len(CALLS) == 2 and len(rs) == 3
    finals = rs.finals()
    assert list(finals["seed"]) == [1, 0, 1] and {"algorithm", "dataset", "epochs", "acc"} <= set(finals)
    hist = rs.history()
    assert len(hist) == 9 and set(hist["seed"]) == {0, 1}
    assert rs.seeds() == [0, 1] and rs.datasets() == ["usps"]


def test_corrupt_cache_file_is_moved_aside_and_recomputed(results):
    cfg = RunConfig.make("test.counter", "usps", profile="smoke")
    get_run(cfg)
    path = record_path(cfg)
    path.write_bytes(gzip.compress(b'{"format": 2, "payload": "{}", "sha256": "0"}'))
    with pytest.warns(UserWarning, match="could not be trusted.*recomputed"):
        again = get_run(cfg)
    assert not again.from_cache and len(CALLS) == 2
    kept = list(path.parent.glob("*.corrupt-*"))
    assert any(not p.name.endswith(".why") for p in kept)  # nothing lost: the bad file is kept
    assert get_run(cfg).from_cache  # and the new file is sound


def test_a_version_bump_is_not_reused_and_the_same_version_is(results, monkeypatch):
    cfg = RunConfig.make("test.counter", "usps", profile="smoke")
    get_run(cfg)
    algo = runs.ALGORITHMS["test.counter"]
    same = runs.Algorithm(algo.name, algo.fn, algo.defaults, 1, "elsewhere")  # moved to another module
    monkeypatch.setitem(runs.ALGORITHMS, "test.counter", same)
    assert get_run(cfg).from_cache and len(CALLS) == 1
    bumped = runs.Algorithm(algo.name, algo.fn, algo.defaults, 2, algo.module)
    monkeypatch.setitem(runs.ALGORITHMS, "test.counter", bumped)
    assert not get_run(cfg).from_cache and len(CALLS) == 2


def test_records_carry_the_environment(results):
    import torch

    fresh = get_run(RunConfig.make("test.counter", "usps", profile="smoke"))
    again = get_run(fresh.config)
    for result in (fresh, again):
        env = result.environment
        assert env["torch"] == torch.__version__ and env["threads"] == torch.get_num_threads()
        assert env["precision"] == runs.PRECISION and env["device"]


def test_data_other_than_the_pinned_ones_are_refused(results):
    cfg = RunConfig.make("test.counter", "usps", profile="smoke", data_fingerprint="0" * 16)
    with pytest.raises(runs.DataMismatchError, match="fingerprint 'ffffffffffffffff'.*pins '0000000000000000'"):
        get_run(cfg)
    assert not record_path(cfg).exists()
    assert get_run(cfg.replace(data_fingerprint="f" * 16)).final  # the pinned data: fine


def test_nan_loss_stops_the_run_and_caches_nothing(results):
    cfg = RunConfig.make("test.nan", "usps", profile="smoke")
    expected = r"reconstruction loss became nan at epoch 2 in test.nan on usps.*Nothing was cached"
    with pytest.raises(NonFiniteLossError, match=expected):
        get_run(cfg)
    assert not record_path(cfg).exists()


def test_recompute_overwrites(results):
    cfg = RunConfig.make("test.counter", "usps", profile="smoke")
    get_run(cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not get_run(cfg, recompute=True).from_cache
    assert len(CALLS) == 2
