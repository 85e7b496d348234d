"""BRB findings: each item's verdict follows from its paired comparisons, and its text cites only its values."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from dcutils import findings
from dcutils.brb import plots as bp
from dcutils.experiments import notebook_settings

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
