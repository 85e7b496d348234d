"""BRB findings: each item's verdict follows from its paired comparisons, and its text cites only its values."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from dcutils import findings
from dcutils.brb import plots as bp
from dcutils.experiments import notebook_settings
from dcutils.runs import RunConfig, RunResult, RunSet

REP, NOT, INC, NT = findings.REPRODUCES, findings.DOES_NOT_REPRODUCE, findings.INCONCLUSIVE, findings.NOT_TESTABLE


class FakeRuns(list):
    """What the findings read of a RunSet: its finals, its history, and its runs (for the d1/d2 arrays)."""

    def __init__(self, finals: pd.DataFrame, history: pd.DataFrame | None = None, runs=()):
        super().__init__(runs)
        self._finals, self._history = finals, history if history is not None else pd.DataFrame()

    def finals(self):
        return self._finals.copy()

    def history(self):
        return self._history.copy()


def grid(cells: dict, seeds=(0, 1, 2), noise=0.01) -> pd.DataFrame:
    """Finals of (dataset, method, pretrain) -> {variant: mean of every metric}, plus a little seed noise."""
    rng = np.random.default_rng(0)
    rows = []
    for (d, m, p), variants in cells.items():
        for seed in seeds:
            shift = rng.normal(0, noise)
            for v, value in variants.items():
                rows.append({"dataset": d, "method": m, "pretrain": p, "variant": v, "seed": seed,
                             **{k: value + shift for k in ("acc", "nmi", "ari", "inter_cd", "silhouette")},
                             "silhouette_pred": value + shift + 0.05, "brb_overhead": 0.01})
    return pd.DataFrame(rows)


def check(found: dict, item: str) -> findings.Findings:
    """The findings are what save_findings accepts: a known verdict, a reason where needed, every number cited."""
    return findings.make(item, "quick", "test", found["verdict"], found["reason"], found["values"], found["text"])


@pytest.mark.parametrize("reproduces, verdict", [
    ([], NT),
    ([REP], REP), ([NOT], NOT), ([INC], INC),
    ([REP, REP, INC], REP),  # most reproduce, none contradicts
    ([REP, INC], INC),  # half is not most
    ([REP, REP, NOT], INC),  # a contradiction among reproductions
    ([NOT, INC, INC], NOT), ([REP, NOT, NOT], NOT),
])
def test_overall_verdict(reproduces, verdict):
    assert bp.overall_verdict(reproduces) == verdict


def test_a_clear_gain_with_the_papers_sign_reproduces_and_a_clear_loss_does_not():
    # the paper's Table 13 has IDEC+BRB above IDEC on USPS without pretraining
    claims = [bp.Claim("brb", "none", "acc")]
    up = bp.claim_comparisons(bp.finals(FakeRuns(grid({("usps", "idec", False): {"none": 0.6, "brb": 0.8}}))), claims)
    assert up.loc[0, ["verdict", "reproduces", "pairs"]].tolist() == ["ahead", REP, 3]
    assert up.loc[0, "mean"] == pytest.approx(20.0) and up.loc[0, "paper_diff"] > 0
    down = bp.claim_comparisons(bp.finals(FakeRuns(grid({("usps", "idec", False): {"none": 0.8, "brb": 0.6}}))),
                                claims)
    assert down.loc[0, "reproduces"] == NOT
    noisy = bp.claim_comparisons(bp.finals(FakeRuns(grid({("usps", "idec", False): {"none": 0.6, "brb": 0.6}}))),
                                 claims)
    assert noisy.loc[0, "verdict"] == "inconclusive" and noisy.loc[0, "reproduces"] == INC


def test_a_claim_with_a_stated_sign_needs_no_paper_number():
    frame = bp.finals(FakeRuns(grid({("optdigits", "dcn", True): {"none": 0.47, "brb": 0.44}})))
    comp = bp.claim_comparisons(frame, [bp.Claim("brb", "none", "silhouette", +1)])
    assert comp.loc[0, "reproduces"] == NOT and np.isnan(comp.loc[0, "paper_diff"]) and comp.loc[0, "sign"] == 1
    gap = bp.claim_comparisons(frame, [bp.Claim("brb", "none", "silhouette_gap", -1)])  # the same gap on both
    assert gap.loc[0, "mean"] == pytest.approx(0.0, abs=1e-9)


def test_fig01_findings_reproduce_on_a_clear_gain_and_cite_every_number():
    runs = FakeRuns(grid({("usps", "idec", False): {"none": 0.67, "recluster": 0.75, "brb": 0.85}}))
    found = bp.grid_findings(runs, notebook_settings("brb/fig01", "quick"))
    shown = check(found, "brb/fig01")
    assert shown.verdict == REP and "BRB − plain, ACC, IDEC without pretraining on USPS: +18.0" in shown.reason
    assert "**Protocol at profile `quick`**" in shown.text
    assert shown.values["claim/usps/idec/no-pretrain/brb - none/acc"] == pytest.approx(18.0)


def test_a_comparison_the_profile_does_not_run_is_not_testable_here():
    runs = FakeRuns(grid({("optdigits", "dcn", True): {"none": 0.80, "brb": 0.82}}))  # no +Recluster run
    found = check(bp.grid_findings(runs, notebook_settings("brb/fig02", "quick")), "brb/fig02")
    assert found.verdict == NT and "BRB − Recluster" in found.reason and "paper profile" in found.reason
    assert "Not compared here: BRB − Recluster, ACC; BRB − Recluster, inter-CD" in found.text


def test_table_findings_count_their_cells():
    cells = {("optdigits", "dec", False): {"none": 0.25, "brb": 0.64},  # clear gain, as the paper
             ("optdigits", "dec", True): {"none": 0.82, "brb": 0.82},  # within 2 SE
             ("optdigits", "dcn", True): {"none": 0.80, "brb": 0.90},
             ("usps", "idec", False): {"none": 0.67, "brb": 0.85}}
    found = check(bp.grid_findings(FakeRuns(grid(cells)), notebook_settings("brb/tab13", "quick")), "brb/tab13")
    assert found.verdict == REP
    assert found.reason == "3 of 4 paired comparisons have the paper's sign, 0 the opposite one and 1 stay within 2 SE"


def test_one_seed_is_inconclusive_and_says_so():
    runs = FakeRuns(grid({("usps", "idec", False): {"none": 0.67, "brb": 0.85}}, seeds=(0,)))
    found = check(bp.grid_findings(runs, notebook_settings("brb/fig01", "smoke")), "brb/fig01")
    assert found.verdict == INC and "over 1 pairs (inconclusive)" in found.reason


def _history(loss_after_step: float) -> pd.DataFrame:
    rows = []
    for v in ("none", "brb"):
        for seed in (0, 1, 2):
            for epoch in range(12):
                step = v == "brb" and epoch in (4, 8)
                loss = 0.05 + 0.001 * seed + (loss_after_step if step else 0.0)
                rows.append({"dataset": "optdigits", "method": "dcn", "pretrain": True, "variant": v, "seed": seed,
                             "epoch": epoch, "brb": step, "recon_loss": loss})
    return pd.DataFrame(rows)


def test_reconstruction_spike_and_recovery():
    found = check(bp.reconstruction_findings(FakeRuns(pd.DataFrame(), _history(0.1)),
                                             notebook_settings("brb/fig18", "quick")), "brb/fig18")
    assert found.verdict == REP and found.values["recon/optdigits/spike"] > 2
    assert found.values["recon/optdigits/recovery"] < 1
    flat = check(bp.reconstruction_findings(FakeRuns(pd.DataFrame(), _history(0.0)),
                                            notebook_settings("brb/fig18", "quick")), "brb/fig18")
    assert flat.verdict != REP  # no spike: the claim is not shown


class _Config:
    """The parts of a RunConfig that ratio_shift reads."""

    def __init__(self, dataset, seed):
        self.dataset, self.seed = dataset, seed

    def __getitem__(self, key):
        return {"method": "dcn", "variant": "brb"}[key]


def test_ratio_findings_pair_before_and_after_per_seed():
    # seed s: 10 % of the samples near the border before the step, 20 + s % after it
    runs = [SimpleNamespace(config=_Config("optdigits", s), meta={"ratio_epoch": 4},
                            arrays={"ratio_before": np.r_[np.full(90, 0.5), np.full(10, 0.95)],
                                    "ratio_after": np.r_[np.full(80 - s, 0.5), np.full(20 + s, 0.95)]})
            for s in range(3)]
    found = check(bp.ratio_findings(FakeRuns(pd.DataFrame(), runs=runs), notebook_settings("brb/fig07", "quick"),
                                    "optdigits"), "brb/fig07")
    assert found.verdict == REP and found.values["after - before (points)"] == pytest.approx(11.0)
    assert "**10.0 % before and 21.0 % after** the step" in found.text


def _wins(won: int, lost: int) -> FakeRuns:
    """Paired runs of IDEC on USPS: +BRB ends above plain in ``won`` seeds and below in ``lost``."""
    rows = [{"dataset": "usps", "method": "idec", "pretrain": False, "variant": v, "seed": seed,
             "acc": 0.7 + (0.1 if (v == "brb") == (seed < won) else 0.0), "brb_overhead": 0.01}
            for seed in range(won + lost) for v in ("none", "brb")]
    return FakeRuns(pd.DataFrame(rows))


@pytest.mark.parametrize("won, lost, verdict, says", [
    (5, 1, INC, "lies inside the 95 % interval of 6 paired runs here (43.6-97.0 %), but so does a coin flip's 50 %"),
    (14, 1, REP, "which lies above a coin flip's 50 %"),
    (40, 0, NOT, "lies below the 95 % interval of 40 paired runs here"),
    (9, 11, NOT, "lies above the 95 % interval"),
])
def test_headline_findings_from_the_interval(won, lost, verdict, says):
    table = bp.headline_table(_wins(won, lost))
    found = check(bp.headline_findings(table, notebook_settings("brb/headline", "quick")), "brb/headline")
    assert found.verdict == verdict and says in found.reason


def test_tables_of_settings_and_data_are_not_testable_here():
    table = pd.DataFrame({"section": ["a", "b"], "parameter": ["x", "y"], "value": ["1", "2"]})
    found = check(bp.settings_findings(table, ["BRB_GRAYSCALE"]), "brb/tab05")
    assert found.verdict == NT and found.reason == "a table of settings, not a claim" and found.values["settings"] == 2
    data = pd.DataFrame({"Dataset": ["USPS", "MNIST", "GTSRB"], "Status": ["loaded", "substitute: test split only "
                         "(10,000 of 70,000)", "missing"], "# Samples (loaded)": [9298, 10000, pd.NA],
                         "# Samples (paper)": [9298, 70000, 7860], "# Features (as trained)": [784, 784, 3072]})
    found = check(bp.dataset_findings(data), "brb/tab03")
    assert found.verdict == NT
    assert "Of the 1 data sets loaded in full here, 1 have the paper's sample count" in found.text
    assert "**MNIST** (substitute: test split only (10,000 of 70,000)): 10,000 samples" in found.text


# ----------------------------------------------------------------------------
# run health in the tables (issue 20): a verdict resting on a flagged run is never silent

#: IDEC without pretraining on USPS, final ACC per seed 0, 1, 2 of each variant.
ACC = {"none": [0.60, 0.62, 0.64], "brb": [0.80, 0.85, 0.83], "recluster": [0.70, 0.71, 0.75],
       "reset": [0.82, 0.86, 0.80]}
REASON = "smallest cluster below 1% of the samples in 40% of the epochs (limit 10%)"


def _runset(flagged=(("brb", 1),)) -> RunSet:
    """A RunSet of real brb.dc configs (no training) whose runs in ``flagged`` (variant, seed) carry a health
    assessment that flags them; the others a healthy one."""
    results = []
    for v, accs in ACC.items():
        for seed, acc in enumerate(accs):
            cfg = RunConfig.make("brb.dc", "usps", seed=seed, profile="quick", method="idec", variant=v,
                                 pretrain=False)
            sick = (v, seed) in flagged
            meta = {"health": {"flagged": sick, "reasons": [REASON] if sick else []}, "brb_overhead": 0.01}
            results.append(RunResult(cfg, pd.DataFrame(), {"acc": acc, "nmi": acc, "ari": acc,
                                                           "brb_overhead": 0.01}, {}, meta, True, {}))
    return RunSet(results)


def _by_hand(a, b) -> tuple[float, float]:
    """Mean and standard error (sample std / sqrt(n)) of the per-seed differences a − b, in points."""
    d = 100 * (np.array(a) - np.array(b))
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))


def test_finals_read_the_flag_from_each_records_health():
    runs = bp.finals(_runset())
    assert runs["flagged"].dtype == bool
    assert runs[runs["flagged"]][["variant", "seed"]].values.tolist() == [["brb", 1]]
    # a record without an assessment is not flagged
    bare = RunSet([RunResult(r.config, r.history, r.final, {}, {}, True, {}) for r in _runset()])
    assert not bp.finals(bare)["flagged"].any()


def test_variant_table_counts_flagged_runs_and_notes_the_paired_comparison():
    table = bp.variant_table(_runset(), "acc", notebook_settings("brb/tab13", "quick"))
    rows = table[(table["dataset"] == "USPS") & (table["setting"] == "without pretraining")].set_index("algorithm")
    assert rows.loc["IDEC+BRB", "flagged"] == 1 and rows.loc["IDEC+BRB", "seeds"] == 3
    assert rows.loc["IDEC+BRB", "paired_flagged"] == 1
    assert rows.loc["IDEC+BRB", "note"] == "rests on 1 of 3 pairs with a flagged run"
    assert rows.loc["IDEC+BRB", "verdict"] == "ahead"  # the verdict stays what the numbers give
    assert rows.loc["IDEC", "flagged"] == 0 and rows.loc["IDEC+Recluster", "note"] == ""
    assert (table.drop(index=table.index[(table["dataset"] == "USPS") & (table["algorithm"] == "IDEC+BRB")
                                         & (table["setting"] == "without pretraining")])["flagged"] == 0).all()
    cell = bp.wide_view(table).loc[("without pretraining", "IDEC+BRB"), "USPS"]
    assert cell.endswith("ahead (rests on 1 of 3 pairs with a flagged run); ⚠ 1 of 3 runs flagged")
    assert "flagged" not in bp.wide_view(table).loc[("without pretraining", "IDEC+Reset"), "USPS"]


def test_paired_table_counts_pairs_with_a_flagged_run_on_either_side():
    pairs = bp.paired_table(_runset(flagged=(("none", 0), ("brb", 0), ("reset", 2))), "acc",
                            variants=("brb", "recluster", "reset")).set_index("variant")
    assert pairs.loc["brb", "flagged"] == 1  # seed 0: both sides flagged, one pair
    assert pairs.loc["recluster", "flagged"] == 1 and pairs.loc["reset", "flagged"] == 2
    assert pairs.loc["reset", "note"] == "rests on 2 of 3 pairs with a flagged run"


def test_brb_against_each_baseline_by_hand():
    comp = bp.brb_comparisons(_runset(), "acc")
    assert comp["baseline"].tolist() == ["none", "recluster", "reset"]
    assert comp[["pretrain", "method", "dataset"]].values.tolist() == [[False, "idec", "usps"]] * 3
    paper = bp.paper_cells("acc").set_index(["pretrain", "method", "dataset", "variant"])["paper"]
    for r in comp.itertuples():
        mean, se = _by_hand(ACC["brb"], ACC[r.baseline])
        assert r.paired == pytest.approx(mean) and r.paired_se == pytest.approx(se) and r.pairs == 3
        assert r.paper_diff == pytest.approx(paper[(False, "idec", "usps", "brb")]
                                             - paper[(False, "idec", "usps", r.baseline)])
        assert r.verdict == {"none": "ahead", "recluster": "ahead", "reset": "inconclusive"}[r.baseline]
        assert r.reproduces == bp._reproduces(r.verdict, r.paper_diff)
        assert r.flagged == 1 and r.note == "rests on 1 of 3 pairs with a flagged run"
    view = bp.comparisons_view(comp)
    assert view["comparison"].tolist() == ["BRB − plain", "BRB − Recluster", "BRB − Reset"]
    assert view.loc[0, "ours"] == f"{_by_hand(ACC['brb'], ACC['none'])[0]:+.1f} ± " \
                                  f"{_by_hand(ACC['brb'], ACC['none'])[1]:.1f}"
    assert view["note"].str.startswith("⚠ rests on 1 of 3 pairs").all()


def test_table_findings_say_which_verdicts_rest_on_a_flagged_run():
    settings = notebook_settings("brb/tab13", "quick")
    found = check(bp.grid_findings(_runset(), settings), "brb/tab13")
    assert "⚠ 3 of them rest on a run flagged unhealthy" in found.reason
    assert "⚠ **1 of 1 compared cells rest on a run flagged unhealthy**" in found.text
    assert "IDEC without pretraining on USPS (ahead, 1 of 3 pairs)" in found.text  # the verdict it rests on
    assert ("IDEC without pretraining on USPS (BRB − plain: ahead, 1 of 3 pairs; BRB − Recluster: ahead, 1 of 3 "
            "pairs; BRB − Reset: inconclusive, 1 of 3 pairs)") in found.text
    assert "- **BRB − Recluster**: ahead in 1 of 1 cells" in found.text
    assert "BRB − Reset, ACC, IDEC without pretraining on USPS: +0.0" in found.text
    assert "(inconclusive) (⚠ rests on 1 of 3 pairs with a flagged run)" in found.text
    healthy = check(bp.grid_findings(_runset(flagged=()), settings), "brb/tab13")
    assert "flagged" not in healthy.reason
    assert "None of the 1 compared cells rests on a run flagged unhealthy" in healthy.text


def test_headline_counts_ahead_verdicts_over_plain_and_all_three_baselines():
    table = bp.headline_table(_runset(), "acc").set_index("quantity")
    assert table.loc[bp.AHEAD_PLAIN, ["reproduced", "runs", "flagged"]].tolist() == [100.0, 1, 1]
    assert table.loc[bp.AHEAD_ALL, "reproduced"] == pytest.approx(200 / 3) and table.loc[bp.AHEAD_ALL, "runs"] == 3
    assert table.loc[bp.WIN_SHARE, ["runs", "flagged"]].tolist() == [3, 1]
    found = check(bp.headline_findings(table.reset_index(), notebook_settings("brb/headline", "quick")),
                  "brb/headline")
    assert "1 of them include a run flagged unhealthy" in found.reason
    assert "⚠ **1 of 3 paired runs include a run flagged unhealthy**" in found.text
    assert "**100 %** of 1 cells" in found.text and "**67 %** of 3 comparisons with plain, Recluster and Reset" \
        in found.text


def test_deviations_table_counts_pairs_resting_on_a_flagged_run():
    """The BatchNorm row (DCN, the code's configuration vs batch_norm=False): seed 1's BatchNorm-off run is
    flagged, so the row rests on 1 of 3 pairs and its line in the summary says so."""
    from dcutils.brb.settings import DEVIATIONS

    results = []
    for seed, (code, off) in enumerate([(0.70, 0.30), (0.72, 0.25), (0.71, 0.28)]):
        for value, acc in ((True, code), (False, off)):
            cfg = RunConfig.make("brb.dc", "usps", seed=seed, profile="quick", method="dcn", variant="brb",
                                 pretrain=False, batch_norm=value)
            sick = seed == 1 and not value
            meta = {"health": {"flagged": sick, "reasons": [REASON] if sick else []}}
            results.append(RunResult(cfg, pd.DataFrame(), {"acc": acc}, {}, meta, True, {}))
    table = bp.deviations_table(RunSet(results)).set_index("choice")
    row = table.loc["BatchNorm"]
    assert row["pairs"] == 3 and row["flagged"] == 1 and row["note"] == "rests on 1 of 3 pairs with a flagged run"
    assert row["paired"] == pytest.approx(_by_hand([0.30, 0.25, 0.28], [0.70, 0.72, 0.71])[0])
    assert (table.drop(index="BatchNorm")["flagged"] == 0).all()
    assert [d["choice"] for d in DEVIATIONS] == list(table.index)
    settings = notebook_settings("brb/deviations", "quick", {})
    text = bp.deviations_summary(table.reset_index(), settings)
    assert "(⚠ rests on 1 of 3 pairs with a run flagged unhealthy)" in text
