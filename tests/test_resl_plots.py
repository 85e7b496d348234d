"""resl plots: labels in the paper's units, best cells, paired verdicts, findings whose numbers are all cited."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dcutils import findings
from dcutils.experiments import notebook_settings
from dcutils.resl import plots as rp
from dcutils.resl import settings as rs


def _settings(item: str = "resl/tab01"):
    return notebook_settings(item, "quick", {})


def _runs(settings, effect: dict[str, float], epochs: int = 20) -> pd.DataFrame:
    """A history frame like RunSet.history() for every config of the settings: ACC = base + effect + seed noise."""
    from dcutils import experiments

    rows = []
    rng = np.random.default_rng(0)
    for cfg in experiments.configs_for(settings):
        p = dict(cfg.params)
        variant = rp._LABEL[p["strategy"]]
        shift = effect.get(variant, 0.0) + (0.01 if p["strategy"] == "sp" and p["alpha"] == 0.95 else 0.0)
        noise = rng.normal(0, 0.001)
        for e in range(epochs + 1):
            rows.append({**p, "dataset": cfg.dataset, "seed": cfg.seed, "epoch": e,
                         "acc": 0.5 + 0.1 * e / epochs + cfg.seed * 0.01 + shift * e / epochs + noise,
                         "nmi": 0.4 + shift, "ari": 0.3 + shift, "confident_fraction": 0.1 + 0.5 * e / epochs,
                         "nmi_match": math.nan if e == 0 else 0.8 - 0.2 * e / epochs + shift,
                         "cl_change": math.nan if e == 0 else 5.0 - 100 * shift,
                         "reset": p["strategy"] in ("sp", "ht", "sp*") and 0 < e < epochs and e % p["every"] == 0})
    return pd.DataFrame(rows)


def _finals(hist: pd.DataFrame) -> pd.DataFrame:
    return hist[hist["epoch"] == hist["epoch"].max()].reset_index(drop=True)


def test_labels_are_in_the_papers_units():
    s = _settings()
    fin = rp.label_runs(_finals(_runs(s, {})), s)
    ht = fin[fin["variant"] == "HT"]
    assert set(ht["cell"]) == {"mu=0.99, R=10", "mu=0.99, R=20", "mu=0.995, R=10", "mu=0.995, R=20"}
    assert set(fin.loc[fin["variant"] == "SP", "cell"]) == {f"alpha={a}, R={r}" for a in (0.8, 0.95) for r in (10, 20)}
    assert set(fin.loc[fin["variant"] == "SP*", "cell"]) == {"alpha=0.8, R=20"}
    assert rp.ht_best_cell(s) == "mu=0.995, R=20"


def test_best_cell_and_paired_difference_to_scan():
    s = _settings()
    fin = rp.label_runs(_finals(_runs(s, {"HT": 0.05})), s)
    assert rp.best_cell(fin, "SP").startswith("alpha=0.95")
    pr = rp.paired_vs_scan(fin, "HT", "mu=0.995, R=20", "acc", "fmnist")
    assert pr["n"] == 3 and pr["mean"] == pytest.approx(5.0, abs=0.5) and pr["verdict"] == "ahead"
    table = rp.results_table(fin, s, "acc")
    row = table[(table["dataset"] == "fmnist") & (table["variant"] == "HT")].iloc[0]
    assert row["verdict"] == "ahead" and row["seeds"] == 3
    cifar = table[(table["dataset"] == "cifar10") & (table["variant"] == "HT")].iloc[0]
    assert cifar["paper_avg"] == 88.21 and math.isnan(cifar["ours_avg"]) and "paper profile" in cifar["note"]
    assert list(rp.wide_table(table).index) == rp.VARIANTS


@pytest.mark.parametrize(("pr", "sign", "expected"), [
    ({"mean": 1.0, "se": 0.1, "n": 3, "verdict": "ahead"}, +1, findings.REPRODUCES),
    ({"mean": 1.0, "se": 0.1, "n": 3, "verdict": "ahead"}, -1, findings.DOES_NOT_REPRODUCE),
    ({"mean": 0.1, "se": 0.1, "n": 3, "verdict": "inconclusive"}, +1, findings.INCONCLUSIVE),
    ({"mean": 1.0, "se": 0.0, "n": 1, "verdict": "inconclusive"}, +1, findings.INCONCLUSIVE),
])
def test_verdict_of(pr, sign, expected):
    assert rp.verdict_of(pr, sign) == expected


def test_precondition_reads_rise_and_fall():
    s = _settings("resl/fig03")
    hist = rp.label_runs(_runs(s, {"HT": 0.02}), s)
    pre = rp.precondition(hist, "fmnist")
    assert pre["confident"]["verdict"] == "ahead" and pre["nmi_match"]["verdict"] == "behind"


@pytest.mark.parametrize("item", ["resl/fig01", "resl/fig03", "resl/fig04", "resl/algo1", "resl/tab02"])
def test_history_findings_cite_every_number(item):
    s = _settings(item)
    hist = rp.label_runs(_runs(s, {"HT": 0.02}), s)
    fn = {"resl/fig01": rp.fig01_findings, "resl/fig03": rp.fig03_findings, "resl/fig04": rp.fig04_findings,
          "resl/algo1": rp.algo1_findings}.get(item)
    if item == "resl/tab02":
        verdict, reason, values, text = rp.nmi_match_findings(rp.nmi_match_table(hist, s), hist, s)
    else:
        verdict, reason, values, text = fn(hist, s)
    assert verdict in findings.VERDICTS
    assert findings.unchecked_numbers(text + " " + (reason or ""), values) == []
    if item in ("resl/fig01", "resl/fig03", "resl/tab02"):
        assert verdict == findings.REPRODUCES, text
    if item == "resl/algo1":  # a procedure: not a claim, but the text says the runs followed it
        assert verdict == findings.NOT_TESTABLE and "as Algorithm 1 describes" in text, text


def test_fig03_is_not_testable_when_nmi_match_does_not_fall():
    s = _settings("resl/fig03")
    hist = rp.label_runs(_runs(s, {"HT": 0.02}), s)
    hist.loc[hist["variant"] == "SCAN+SL", "nmi_match"] = 0.7
    verdict, reason, values, text = rp.fig03_findings(hist, s)
    assert verdict == findings.NOT_TESTABLE and "premise" in reason


@pytest.mark.parametrize("metric", ["acc", "nmi", "ari"])
def test_table_findings_cite_every_number(metric):
    s = _settings()
    fin = rp.label_runs(_finals(_runs(s, {"HT": 0.05, "SP": 0.01})), s)
    fin = fin.assign(**{f"{metric}_scan": fin[metric] - 0.01, "steps": 240.0, "skipped_batches": 0.0})
    verdict, reason, values, text = rp.results_findings(rp.results_table(fin, s, metric), metric, s, fin)
    assert findings.unchecked_numbers(text + " " + (reason or ""), values) == []
    assert "Self-labeling itself" in text and "ahead" in text
    assert verdict in findings.VERDICTS


def test_grid_and_injection_findings():
    for item, fn in (("resl/fig05", rp.sp_grid_findings), ("resl/fig06", rp.ht_grid_findings)):
        s = _settings(item)
        fin = rp.label_runs(_finals(_runs(s, {"HT": 0.05})), s)
        verdict, reason, values, text = fn(fin, s)
        assert findings.unchecked_numbers(text + " " + (reason or ""), values) == [], item
    assert rp.sp_grid_findings(rp.label_runs(_finals(_runs(_settings("resl/fig05"), {})), _settings("resl/fig05")),
                               _settings("resl/fig05"))[0] == findings.REPRODUCES
    s = _settings("resl/fig02")
    hist = rp.label_runs(_runs(s, {}), s)
    verdict, reason, values, text = rp.injection_findings(hist, _finals(hist), s)
    assert verdict == findings.REPRODUCES and findings.unchecked_numbers(text, values) == []


def test_scaled_settings_round_trip():
    s = _settings()
    run = s["run"]
    for c in rs.grid_cells(s, "ht"):
        assert rp._paper_momentum(c["params"]["momentum"], rs.steps_per_run(run)) == pytest.approx(c["momentum_paper"])


def test_identical_ht_and_scan_curves_are_allowed_at_smoke_only():
    assert rp.smoke_coincidence(notebook_settings("resl/fig04", "quick", {})) is None
    assert "smoke" in rp.smoke_coincidence(notebook_settings("resl/fig04", "smoke", {}))


@pytest.mark.parametrize("degrades", [False, True])
def test_reset_verdicts_wait_for_a_baseline_that_does_not_degrade(degrades):
    """HT is 5 points ahead of SCAN+SL; that reproduces the paper only when SCAN+SL itself does not fall below the
    SCAN network (else a reset that merely slows self-labeling would win for the wrong reason)."""
    s = _settings()
    fin = rp.label_runs(_finals(_runs(s, {"HT": 0.05})), s)
    fin = fin.assign(acc_scan=fin["acc"] + (0.05 if degrades else -0.01), steps=240.0, skipped_batches=0.0)
    base = rp.baseline_change(fin)
    assert base["n"] == 3 and base["degrades"] is degrades
    assert base["mean"] == pytest.approx(-5.0 if degrades else 1.0, abs=0.2)
    verdict, reason, values, text = rp.results_findings(rp.results_table(fin, s, "acc"), "acc", s, fin)
    assert text.startswith("Self-labeling itself") and findings.unchecked_numbers(text + " " + (reason or ""),
                                                                                  values) == []
    if degrades:
        assert verdict == findings.INCONCLUSIVE and reason.startswith("the baseline degrades"), reason
    else:
        assert verdict == findings.REPRODUCES and reason is None
    # the history gives the same baseline: the last epoch minus epoch 0 (the network before self-labeling)
    hist = rp.label_runs(_runs(_settings("resl/fig04"), {"HT": 0.05}), _settings("resl/fig04"))
    if degrades:
        hist.loc[(hist["variant"] == "SCAN+SL") & (hist["epoch"] == 0), "acc"] = 0.9
    assert rp.baseline_change(hist)["degrades"] is degrades
    verdict, reason, _, _ = rp.fig04_findings(hist, _settings("resl/fig04"))
    assert (verdict == findings.INCONCLUSIVE and reason.startswith("the baseline degrades")) is degrades


def test_results_table_counts_and_marks_flagged_runs():
    s = _settings()
    fin = rp.label_runs(_finals(_runs(s, {"HT": 0.05})), s).assign(flagged=False)
    ht_best = rp.best_cell(fin, "HT")
    fin.loc[(fin["variant"] == "HT") & (fin["cell"] == ht_best) & (fin["seed"] == 1), "flagged"] = True
    table = rp.results_table(fin, s, "acc")
    ht = table[(table["dataset"] == "fmnist") & (table["variant"] == "HT")].iloc[0]
    scan = table[(table["dataset"] == "fmnist") & (table["variant"] == "SCAN+SL")].iloc[0]
    assert ht["flagged"] == 1 and "1 of 3 runs flagged unhealthy" in ht["note"] and scan["flagged"] == 0
    wide = rp.wide_table(table)
    assert "\u26a0" in wide.loc["HT", "FMNIST"] and "\u26a0" not in wide.loc["SCAN+SL", "FMNIST"]


# ---------------------------------------------------------------- resl/deviations
def _deviation_settings(profile_value: str | None = None, item: str = "resl/deviations"):
    """quick's settings, with the pseudo-label pass's BatchNorm mode of the profile set to ``profile_value``."""
    s = notebook_settings(item, "quick", {})
    if profile_value is None:
        return s
    return notebook_settings(item, "quick", {"run": {**s["run"], "pseudo_label_bn": profile_value}})


def test_deviation_run_list_holds_each_other_value_once_per_seed_and_shares_scan_sl_with_tab01():
    from dcutils import experiments

    for value in (None, "train", "eval"):
        s = _deviation_settings(value)
        configs = experiments.configs_for(s)
        assert len(configs) == len(set(configs))
        tab01 = experiments.configs_for(_deviation_settings(value, "resl/tab01"))
        scan_sl = [c for c in tab01 if c["strategy"] == "none"]
        assert scan_sl and set(scan_sl) <= set(configs)  # the very runs of tab01: computed once
        assert len(configs) == len(scan_sl) + sum(len(rs.deviation_datasets(s, row)) for row in rs.DEVIATIONS) * len(
            s.seeds)
        for row in rs.DEVIATIONS:
            mine, other = rs.deviation_values(s, row)
            assert mine == s["run"][row["param"]] and {mine, other} == set(row["values"])  # read from the profile
            switched = [c for c in configs if c[row["param"]] == other]
            assert sorted(c.seed for c in switched) == list(s.seeds) * len(rs.deviation_datasets(s, row))
            assert all(c["strategy"] == "none" and c.replace(**{row["param"]: mine}) in scan_sl for c in switched)


def test_adding_the_bn_mode_to_the_run_parameters_keeps_every_config_key():
    """Every profile states its pseudo_label_bn; at resl.selflabel's default the configs (and keys) are those made
    without it, so no record of the other resl items changes."""
    from dcutils import items
    from dcutils.core import get_algorithm

    default = get_algorithm("resl.selflabel").defaults["pseudo_label_bn"]
    for profile, spec in rs.RUNS.items():
        assert spec["run"]["pseudo_label_bn"] in rs.DEVIATIONS[0]["values"]
        run = {k: v for k, v in spec["run"].items() if k != "pseudo_label_bn"}
        plain = items.config("resl.selflabel", "fmnist", 0, "smoke", **run)
        stated = items.config("resl.selflabel", "fmnist", 0, "smoke", **run, pseudo_label_bn=default)
        assert plain == stated and plain.key() == stated.key(), profile


def _deviation_frames(s, *, flagged_seed: int | None = None):
    """finals and history of the deviation runs: SCAN at 60 % ACC; the profile's value ends 4-6 points below it
    (it degrades the network), the other value near it and about 4 points above the profile's, paired by seed."""
    from dcutils.resl import deviations_plots as dp

    hist = rp.label_runs(_runs(s, {}), s)
    row = rs.DEVIATIONS[0]
    other = rs.deviation_values(s, row)[1]
    is_other = (hist[row["param"]] == other).to_numpy()
    last = hist["epoch"] == hist["epoch"].max()
    noise = 0.001 * np.sin(hist["seed"] * 7.0 + is_other)
    hist.loc[last, "acc"] = (0.55 + 0.01 * hist["seed"] + 0.04 * is_other + noise)[last]
    hist.loc[hist["epoch"] == 0, "acc"] = 0.60
    start = hist["epoch"] == 0
    spread = np.where(start, 0, 0.01 * hist["seed"] ** 2)  # seeds apart, none on their mean
    hist = hist.assign(confident_fraction=hist["confident_fraction"] + spread + 0.1 * is_other * ~start,
                       pseudo_confident_fraction=np.where(is_other, 0.3, 0.1) + spread,
                       unconfident_clusters=np.where(start, 3, np.where(is_other, 1, 4)))
    fin = _finals(hist).assign(acc_scan=0.60, flagged=False)
    if flagged_seed is not None:
        fin.loc[(fin[row["param"]] == other) & (fin["seed"] == flagged_seed), "flagged"] = True
    assert set(dp.SIDES) == {"profile", "other"}
    return fin, hist


@pytest.mark.parametrize("profile_value", ["train", "eval"])
def test_deviations_table_pairs_the_sides_and_says_which_value_keeps_the_baseline(profile_value):
    from dcutils.resl import deviations_plots as dp

    s = _deviation_settings(profile_value)
    other = rs.deviation_values(s, rs.DEVIATIONS[0])[1]
    fin, hist = _deviation_frames(s)
    table = dp.deviations_table(fin, hist, s)
    assert len(table) == 1
    r = table.iloc[0]
    assert (r["profile_value"], r["other_value"], r["dataset"]) == (profile_value, other, "fmnist")
    assert r["pairs"] == 3 and r["paired"] == pytest.approx(4.0, abs=0.3) and r["verdict"] == "ahead"
    assert r["profile_acc"] == pytest.approx(56.0, abs=0.3) and r["other_acc"] == pytest.approx(60.0, abs=0.3)
    assert r["profile_sl_minus_scan"] == pytest.approx(-4.0, abs=0.3) and r["profile_degrades"]
    assert r["other_sl_minus_scan_verdict"] == "inconclusive" and not r["other_degrades"]
    assert r["keeps"] == other and r["profile_scan_acc"] == pytest.approx(60.0)
    assert r["profile_targets_start"] == pytest.approx(10.0) and r["other_targets_start"] == pytest.approx(30.0)
    assert r["profile_unconfident_start"] == 3 and r["profile_unconfident_end"] == 4 and r["other_unconfident_end"] == 1
    assert r["flag"] == "" and r["note"] == "" and r["profile_flagged"] == r["other_flagged"] == 0
    out = dp.deviations_findings(table, s)
    assert out["verdict"] == findings.NOT_TESTABLE and out["reason"]
    assert findings.unchecked_numbers(out["text"] + " " + out["reason"], out["values"]) == []
    assert f"Only `{other}` keeps SCAN+SL from degrading" in out["text"], out["text"]
    assert f"the profile runs `{profile_value}`, which degrades it" in out["text"]


def test_deviations_table_marks_a_flagged_run_and_the_text_cites_it():
    from dcutils import health
    from dcutils.resl import deviations_plots as dp

    s = _deviation_settings()
    fin, hist = _deviation_frames(s, flagged_seed=1)
    r = dp.deviations_table(fin, hist, s).iloc[0]
    assert r["flag"] == health.flag_mark(True) and r["other_flagged"] == 1 and r["profile_flagged"] == 0
    assert r["flagged_pairs"] == 1 and r["note"] == health.rests_on(1, 3)
    out = dp.deviations_findings(dp.deviations_table(fin, hist, s), s)
    assert health.flag_mark(True) in out["text"] and "1 of 3 pairs hold a flagged run" in out["text"]
    assert findings.unchecked_numbers(out["text"] + " " + out["reason"], out["values"]) == []


def test_deviations_with_one_seed_or_no_runs_decide_nothing():
    from dcutils.resl import deviations_plots as dp

    s = _deviation_settings()
    fin, hist = _deviation_frames(s)
    one = dp.deviations_table(fin[fin["seed"] == 0], hist[hist["seed"] == 0], s)
    assert one.iloc[0]["keeps"] == "" and one.iloc[0]["verdict"] == "inconclusive"
    out = dp.deviations_findings(one, s)
    assert "no standard error" in out["text"] and findings.unchecked_numbers(out["text"], out["values"]) == []
    empty = dp.deviations_table(pd.DataFrame(), pd.DataFrame(), s)
    assert dp.deviations_findings(empty, s)["text"].startswith("No runs to compare.\n- **Input normalisation**")


def test_deviations_figure_draws_both_values_and_hides_no_series():
    import matplotlib.pyplot as plt

    from dcutils import plotting
    from dcutils.resl import deviations_plots as dp

    s = _deviation_settings()
    fin, hist = _deviation_frames(s)
    fig = dp.plot_deviations(fin, hist, s)
    try:
        labels = {t.get_text() for legend in fig.legends for t in legend.get_texts()}
        assert {f"pseudo_label_bn={v!r}" for v in rs.DEVIATIONS[0]["values"]} <= {x.split(" (")[0] for x in labels}
        assert "SCAN network (before self-labeling)" in labels
        assert plotting.identical_series(fig) == []
    finally:
        plt.close(fig)


def test_grid_findings_name_the_flagged_runs_they_rest_on():
    s = _settings("resl/fig05")
    fin = rp.label_runs(_finals(_runs(s, {})), s).assign(flagged=False)
    fin.loc[(fin["variant"] == "SP") & (fin["alpha"] == 0.8), "flagged"] = True
    verdict, reason, values, text = rp.sp_grid_findings(fin, s)
    assert "runs are flagged unhealthy" in text and findings.unchecked_numbers(text, values) == []
    assert "flagged unhealthy" not in rp.sp_grid_findings(fin.assign(flagged=False), s)[3]


def test_table3_shows_what_the_runs_use_beside_the_paper():
    table = rp.selflabel_hyperparameters("quick").set_index("parameter")
    # the run's self-labeling defaults come from the table's own object, so the paper profile follows those rows
    for row in ("Confidence threshold", "Epochs", "Batch size", "Learning rate", "Weight decay",
                "Apply class balancing"):
        assert table.loc[row, "as the paper"], row
    quick, run = "ours, quick profile (FMNIST)", rs.RUNS["quick"]["run"]
    assert table.loc["Confidence threshold", quick] == f"{run['threshold']:g}"
    assert table.loc["Epochs", quick] == str(run["sl_epochs"])
    # per data set: STL10's 96-px crop and 32-px cutout, CIFAR's 32 and 16; FMNIST's 28 px and 14
    assert table.loc["Length", "ours, paper profile"] == "16 (CIFAR10), 16 (CIFAR-20 / 100), 32 (STL10)"
    assert table.loc["Length", quick] == "14"
    # the paper profile normalises with SCAN's constants; quick's FMNIST has none, so its column says what it uses
    assert table["as the paper"].all()
    assert table.loc["Normalize std", quick] == "the training subset's, per channel"
    assert "ours, paper profile" in rp.selflabel_hyperparameters("paper").columns
    assert not any(c.startswith("ours, quick") for c in rp.selflabel_hyperparameters("paper").columns)
    with pytest.raises(ValueError, match="unknown profile"):
        rp.selflabel_hyperparameters("fast")


def test_table3_marks_a_default_that_leaves_the_paper(monkeypatch):
    import dataclasses

    from dcutils import core

    algo = core.get_algorithm("resl.selflabel")
    monkeypatch.setitem(core.ALGORITHMS, "resl.selflabel",
                        dataclasses.replace(algo, defaults={**algo.defaults, "sl_lr": 1e-3}))
    table = rp.selflabel_hyperparameters("paper").set_index("parameter")
    assert not table.loc["Learning rate", "as the paper"] and table.loc["Epochs", "as the paper"]
    verdict, _, values, text = rp.hyperparameter_findings(table.reset_index())
    assert verdict == findings.NOT_TESTABLE and "Learning rate (Optimizer)" in text
    assert findings.unchecked_numbers(text, values) == []


def test_table3_findings_cite_every_number_and_name_the_profile_changes():
    _, _, values, text = rp.hyperparameter_findings(rp.selflabel_hyperparameters("quick"))
    assert findings.unchecked_numbers(text, values) == []
    assert "Confidence threshold (General training) 0.99 → 0.9" in text and values["changed"] >= 4


def test_the_normalisation_row_runs_both_ways_at_the_paper_profile_and_quick_says_it_does_not():
    from dcutils import experiments
    from dcutils.resl import deviations_plots as dp

    row = next(r for r in rs.DEVIATIONS if r["param"] == "normalization")
    paper = notebook_settings("resl/deviations", "paper", {})
    assert rs.deviation_values(paper, row) == ("scan", "subset")
    assert rs.deviation_datasets(paper, row) == ["stl10", "cifar10", "cifar100-20", "cifar100"]
    configs = experiments.configs_for(paper)
    switched = [c for c in configs if c["normalization"] == "subset"]
    assert len(switched) == len(paper.seeds) * 4 and {c.dataset for c in switched} == set(row["datasets"])
    quick = notebook_settings("resl/deviations", "quick", {})
    assert rs.deviation_datasets(quick, row) == [] and rs.deviation_values(quick, row) == ("subset", "scan")
    assert all(c["normalization"] == "subset" for c in experiments.configs_for(quick))
    (line,) = dp.not_run_text(quick)
    assert "not run at quick" in line and "CIFAR10" in line and "STL10" in line and "`subset`" in line
    assert dp.not_run_text(paper) == []
