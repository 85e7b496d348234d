"""Executors: a smoke sweep through submitit's local executor, the process pool, state markers, make status."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import _tiny_algorithms as tiny
import pytest
from submitit.local.local import LocalJob

from dcutils import compute, executors, items, status
from dcutils.runs import RunConfig, load_cached, record_path


def _cfg(seed: int, **params) -> RunConfig:
    return RunConfig.make("test.tiny", "usps", seed=seed, profile="smoke", **params)


@pytest.fixture
def calls(tmp_path, monkeypatch) -> Path:
    """The file every computation of a tiny run appends to (seen by worker processes too)."""
    path = tmp_path / "calls.txt"
    monkeypatch.setenv("TINY_CALLS", str(path))
    return path


def _computed(calls: Path) -> list[str]:
    return [line.split()[0] for line in calls.read_text().splitlines()] if calls.exists() else []


@pytest.fixture
def sweep(results, monkeypatch):
    """Three good runs and one that fails, behind one notebook item."""
    good = [_cfg(s) for s in range(3)]
    bad = _cfg(3, fail=True)
    monkeypatch.setattr(items, "_RUN_LISTS", {"brb/fig01": lambda s: [*good, bad]})
    return good, bad


def test_smoke_sweep_through_submitit_local(sweep, calls, capsys):
    good, bad = sweep
    ex = executors.Submitit("local", params={"array": 4, "time_min": 5})
    outcomes = ex.submit_all([*good, bad])  # one job array; the workers import _tiny_algorithms themselves
    assert [o.config for o in outcomes] == [*good, bad]
    assert [o.ok for o in outcomes] == [True, True, True, False]
    assert all(o.computed for o in outcomes[:3])
    for cfg in good:
        assert load_cached(cfg) is not None
    failed = outcomes[3]
    assert failed.error == "RuntimeError: asked to fail (seed 3)"
    assert failed.log is not None and failed.log.is_file() and failed.log.parent.parent.name == ".jobs"
    assert "asked to fail" in failed.log.read_text()  # the job's log holds the traceback
    marker = executors.read_marker(bad, "failed")
    assert marker["error"] == failed.error and marker["log"] == str(failed.log)
    assert not list(executors.state_dir("smoke").glob("*.running"))

    # A rerun submits only the missing run; the three records stay as they are.
    mtimes = [record_path(c).stat().st_mtime_ns for c in good]
    before = _computed(calls)
    assert compute.main(["--profile", "smoke", "--executor", "submitit-local"]) == 1
    err = capsys.readouterr().err
    assert "computing 1 run(s)" in err and "FAILED test.tiny on usps (seed 3" in err
    log = Path(err.split("log: ")[1].split()[0])
    assert log.is_file() and log != failed.log
    assert _computed(calls)[len(before):] == [bad.key()]
    assert [record_path(c).stat().st_mtime_ns for c in good] == mtimes

    table, total = status.status_table("smoke")
    row = table.set_index("item").loc["brb/fig01"]
    assert (row["done"], row["running"], row["failed"], row["missing"]) == (3, 0, 1, 0)
    assert total["failed_runs"] == [bad]


def test_pool_computes_a_config_given_twice_once(results, calls):
    cfg = _cfg(0, sleep=0.5)  # long enough for both workers to ask for it at once
    outcomes = executors.ProcessPool(2, threads=1).submit_all([cfg, cfg])
    assert all(o.ok for o in outcomes)
    assert sorted(o.computed for o in outcomes) == [False, True]  # the second found it cached, after the lock
    assert _computed(calls) == [cfg.key()]
    assert load_cached(cfg) is not None


def test_markers_follow_a_run(results, calls):
    bad, good = _cfg(3, fail=True), _cfg(0)
    ex = executors.InProcess()
    [out] = ex.submit_all([bad])
    assert not out.ok and out.log is None and out.details == executors.marker_path(bad, "failed")
    marker = executors.read_marker(bad, "failed")
    assert marker["label"] == bad.label() and "asked to fail" in marker["traceback"]
    assert not executors.marker_path(bad, "running").exists()
    # A later success clears an old failure.
    executors.mark_failed(good, "RuntimeError: earlier")
    [out] = ex.submit_all([good])
    assert out.ok and out.computed
    assert not executors.marker_path(good, "failed").exists()
    [out] = ex.submit_all([good])
    assert out.ok and not out.computed and _computed(calls).count(good.key()) == 1


def test_a_job_killed_from_outside_is_marked_failed_by_the_submitter(results, calls, monkeypatch):
    """The job's worker is killed with SIGKILL (as the OOM killer or a node failure would) once it has marked
    its run as running. SIGKILL cannot be caught or deferred, so the outcome does not depend on how busy the
    machine is (a SIGINT through ``job.cancel()`` could arrive before the job's controller handled it, and a
    loaded machine once let the job sleep its 30 s and finish)."""
    import signal

    cfg = _cfg(5, sleep=120.0)  # far longer than any wait below: the run cannot finish on its own
    ex = executors.Submitit("local", params={"array": 1, "time_min": 5})
    real = executors.Submitit._collect

    def kill_then_collect(self, jobs, *args):
        for job in jobs:
            deadline = time.time() + 300
            while executors.read_marker(cfg, "running") is None and time.time() < deadline:
                time.sleep(0.2)
            marker = executors.read_marker(cfg, "running")
            assert marker is not None and marker["job_id"] == str(job.job_id)
            os.kill(int(marker["pid"]), signal.SIGKILL)
        return real(self, jobs, *args)

    monkeypatch.setattr(executors.Submitit, "_collect", kill_then_collect)
    # submitit waits 15 s for a dead job's result file (slow network file systems); locally there is none
    monkeypatch.setattr(LocalJob, "_results_timeout_s", 1)
    started = time.time()
    [out] = ex.submit_all([cfg])
    assert not out.ok and out.error.startswith(f"job {out.job_id} ended") and out.log is not None
    assert executors.read_marker(cfg, "failed")["log"] == str(out.log)
    assert not executors.marker_path(cfg, "running").exists()
    assert time.time() - started < 120  # it ended by the kill, not by finishing its sleep


def _item_with(monkeypatch, configs):
    monkeypatch.setattr(items, "_RUN_LISTS", {"brb/fig01": lambda s: list(configs)})


def test_status_counts_states_and_estimates_with_the_bench_step_time(results, calls, monkeypatch):
    import dcutils.data

    monkeypatch.setattr(dcutils.data, "load_dataset", lambda *a, **k: pytest.fail("status loaded a data set"))
    done, running, stale, failed, missing = (_cfg(s) for s in range(5))
    _item_with(monkeypatch, [done, running, stale, failed, missing])
    executors.InProcess().submit_all([done])
    executors.mark_running(running)  # this process: alive
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    executors.mark_running(stale)
    path = executors.marker_path(stale, "running")
    path.write_text(json.dumps({**json.loads(path.read_text()), "pid": dead.pid}))
    executors.mark_failed(failed, "RuntimeError: boom", log="/somewhere/123_0_log.err")

    results.mkdir(parents=True, exist_ok=True)
    (results / "bench.json").write_text(json.dumps({"seconds_per_step": 0.5, "device": "a fake GPU"}))
    table, total = status.status_table("smoke")
    row = table.set_index("item").loc["brb/fig01"]
    assert (row["done"], row["running"], row["failed"], row["missing"]) == (1, 1, 1, 2)
    # failed + missing (stale marker = missing): 3 runs × 100 steps × 0.5 s
    assert row["steps to do"] == 3 * tiny.STEPS and row["seconds to do"] == pytest.approx(150.0)
    text = status.report("smoke")
    assert "measured on a fake GPU by make bench" in text and "≈ 2.5 min" in text
    assert "FAILED test.tiny on usps (seed 3" in text and "/somewhere/123_0_log.err" in text
    assert status.main(["--profile", "smoke"]) == 0

    (results / "bench.json").unlink()
    step = status.step_time()
    assert not step.measured and step.seconds == status.DEFAULT_STEP_SECONDS
    assert "run make bench for this machine" in status.report("smoke")


def test_status_counts_the_done_runs_flagged_unhealthy(results, calls, monkeypatch):
    healthy, sick, missing = _cfg(0), _cfg(1, unhealthy=True), _cfg(2, unhealthy=True)
    _item_with(monkeypatch, [healthy, sick, missing])
    executors.InProcess().submit_all([healthy, sick])  # the missing one has no record: nothing to flag
    table, total = status.status_table("smoke")
    row = table.set_index("item").loc["brb/fig01"]
    assert (row["done"], row["missing"], row["flagged"]) == (2, 1, 1)
    assert total["flagged"] == 1 and [c for c, _ in total["flagged_runs"]] == [sick]
    text = status.report("smoke")
    assert "flagged" in text.splitlines()[2].split()  # the table's column
    assert "health: 1 of 2 done run(s) flagged unhealthy" in text and "carry no assessment" not in text
    assert f"FLAGGED {sick.label()}: smallest cluster below 1% of the samples in 100% of the epochs" in text


def test_status_of_the_real_items_needs_no_data(monkeypatch, results):
    import dcutils.data

    monkeypatch.setattr(dcutils.data, "load_dataset", lambda *a, **k: pytest.fail("status loaded a data set"))
    table, total = status.status_table("smoke")
    assert len(table) > 0 and total["missing"] == total["runs"] > 0


def test_slurm_settings_from_file_then_environment(tmp_path, monkeypatch):
    for var, *_ in executors.SLURM_SETTINGS.values():
        monkeypatch.delenv(var, raising=False)
    file = tmp_path / "slurm.toml"
    file.write_text('partition = "gpu"\ntime_min = 60\n[submitit]\nslurm_mem = "32G"\n')
    monkeypatch.setenv("DCUTILS_SLURM_GPUS", "2")
    settings = executors.slurm_settings(file)
    assert settings == {"partition": "gpu", "gpus": 2, "time_min": 60, "array": 32, "cpus": 4,
                        "submitit": {"slurm_mem": "32G"}}
    params = executors.slurm_parameters(settings)
    assert params["slurm_partition"] == "gpu" and params["gpus_per_node"] == 2 and params["timeout_min"] == 60
    assert params["slurm_array_parallelism"] == 32 and params["slurm_mem"] == "32G"
    assert executors.slurm_settings(tmp_path / "absent.toml")["partition"] is None
    monkeypatch.setenv("DCUTILS_SLURM_TIME_MIN", "soon")
    with pytest.raises(executors.ExecutorError, match="DCUTILS_SLURM_TIME_MIN: time_min must be int"):
        executors.slurm_settings(file)
    file.write_text("gpu = 1\n")
    with pytest.raises(executors.ExecutorError, match="unknown setting"):
        executors.slurm_settings(file)


def test_a_job_imports_the_module_that_registered_the_algorithm():
    spec = executors.job_spec(_cfg(0))
    assert spec["imports"] == [["_tiny_algorithms", str(Path(tiny.__file__).resolve().parent)]]
    assert json.loads(json.dumps(spec)) == spec  # plain data: any process can take it
    assert executors.make("pool", jobs=1).name == "inprocess" and executors.make("pool", jobs=2).name == "pool"
    with pytest.raises(executors.ExecutorError, match="unknown executor"):
        executors.make("cloud")
    assert os.environ.get("SUBMITIT_EXECUTOR") is None


def test_slurm_job_script_carries_the_settings(tmp_path, monkeypatch):
    for var, *_ in executors.SLURM_SETTINGS.values():
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(executors.ExecutorError, match="no SLURM here"):
        executors.make("slurm")
    for tool in ("sbatch", "srun"):  # stand-ins: nothing is submitted
        (tmp_path / tool).write_text("#!/bin/sh\nexit 1\n")
        (tmp_path / tool).chmod(0o755)
    ex = executors.Submitit("slurm", params={"partition": "gpu", "gpus": 2, "time_min": 90, "cpus": 8})
    script = ex._executor(tmp_path / "jobs")._executor._make_submission_file_text("CMD", "uid")
    for line in ("--partition=gpu", "--gpus-per-node=2", "--time=90", "--cpus-per-task=8"):
        assert f"#SBATCH {line}" in script


def test_status_estimates_from_the_done_runs_own_times_once_there_are_enough(results, calls, monkeypatch):
    """With MIN_CALIBRATION_RUNS done runs of an algorithm on this kind of device, the runs still to do are
    estimated at their records' own seconds per step, not the bench or default step time; fewer, or runs from
    another device type, leave the default."""
    done, todo = [_cfg(s) for s in range(status.MIN_CALIBRATION_RUNS)], [_cfg(10), _cfg(11)]
    _item_with(monkeypatch, [*done, *todo])
    executors.InProcess().submit_all(done[:-1])
    table, total = status.status_table("smoke")
    default = status.DEFAULT_STEP_SECONDS
    assert total["rates"] == {} and total["seconds to do"] == pytest.approx(3 * tiny.STEPS * default)
    executors.InProcess().submit_all(done[-1:])
    facts = {c: status.record_facts(c) for c in done}
    assert all(f["seconds"] > 0 and f["device"] == "cpu" for f in facts.values())
    rate = sum(f["seconds"] for f in facts.values()) / (len(done) * tiny.STEPS)
    table, total = status.status_table("smoke")
    assert total["rates"] == {"test.tiny": (pytest.approx(rate), len(done))}
    assert total["seconds to do"] == pytest.approx(len(todo) * tiny.STEPS * rate)
    assert f"test.tiny {rate:.3g} s per step from {len(done)} done runs" in status.report("smoke")
    assert status.calibration(facts, device="cuda") == {}  # a GPU estimate never rests on CPU times


def test_status_shows_each_items_claim_and_its_verdict_at_that_profile(results, calls, monkeypatch, tmp_path):
    """`make status` reads the same statements as the gallery and the item's findings: the verdict written at
    the profile asked for, and "no <profile> verdict yet" for a findings file of another profile or none."""
    from dcutils import catalog, findings, paths, statements

    _item_with(monkeypatch, [_cfg(0)])
    monkeypatch.setattr(paths, "FIGURES", tmp_path)
    claim = statements.statement("brb/fig01").claim
    assert "brb/fig01  no quick verdict yet" in status.report("quick")
    findings.write(catalog.get_item("brb/fig01").findings_file,
                   findings.make("brb/fig01", "quick", "abc", "reproduces", "BRB is ahead in every pair", {}, ""))
    text = status.report("quick")
    assert "brb/fig01  reproduces (BRB is ahead in every pair)" in text
    assert f"Claim: {claim[:40]}" in " ".join(text.split())
    assert "brb/fig01  no smoke verdict yet" in status.report("smoke")
