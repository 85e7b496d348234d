"""The verdict engine (dcutils.claims): one rule for every paired comparison and every claim."""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from dcutils import claims, findings, paths
from dcutils.findings import Cite


def test_the_direction_is_ahead_or_behind_only_beyond_two_standard_errors():
    assert claims.direction(2.01, 1.0, 3) == claims.AHEAD
    assert claims.direction(2.0, 1.0, 3) == claims.INCONCLUSIVE  # on the line: not beyond
    assert claims.direction(-2.01, 1.0, 3) == claims.BEHIND
    assert claims.direction(50.0, 0.0, 1) == claims.INCONCLUSIVE  # one pair has no SE
    assert claims.direction(math.nan, 1.0, 3) == claims.INCONCLUSIVE


def test_a_direction_reproduces_only_with_the_papers_sign():
    assert claims.judge(claims.AHEAD, +1) == findings.REPRODUCES
    assert claims.judge(claims.BEHIND, -1) == findings.REPRODUCES
    assert claims.judge(claims.AHEAD, -1) == findings.DOES_NOT_REPRODUCE
    assert claims.judge(claims.BEHIND, +1) == findings.DOES_NOT_REPRODUCE
    assert claims.judge(claims.INCONCLUSIVE, +1) == findings.INCONCLUSIVE
    for no_sign in (0, None, math.nan):
        assert claims.judge(claims.AHEAD, no_sign) == findings.INCONCLUSIVE


def test_one_seed_contradicts_a_claim_only_beyond_its_stated_margin():
    assert claims.check([-3.0], +1, margin=2.0)[0] == findings.DOES_NOT_REPRODUCE
    assert claims.check([-1.0], +1, margin=2.0)[0] == findings.INCONCLUSIVE
    assert claims.check([+30.0], +1, margin=2.0)[0] == findings.INCONCLUSIVE  # one seed never reproduces
    assert claims.check([-30.0], +1)[0] == findings.INCONCLUSIVE  # no margin: one seed never contradicts
    verdict, mean, se, n = claims.check([1.0, 2.0, 3.0], +1)
    assert (verdict, mean, n) == (findings.REPRODUCES, 2.0, 3) and se == pytest.approx(1 / math.sqrt(3))


def test_a_paired_difference_uses_the_seeds_both_sides_have_and_counts_flagged_pairs():
    a = pd.Series({0: 0.50, 1: 0.60, 2: 0.70, 3: 0.90})
    b = pd.Series({0: 0.40, 1: 0.50, 2: np.nan, 5: 0.10})
    out = claims.paired(a, b, flagged_a=pd.Series({0: False, 1: True, 2: True, 3: False}))
    assert out["n"] == 2  # seed 2 has a NaN, seeds 3 and 5 one side only
    assert out["mean"] == pytest.approx(10.0) and out["se"] == pytest.approx(0.0)
    assert out["flagged"] == 1 and out["note"] == "rests on 1 of 2 pairs with a flagged run"
    assert "flagged" not in claims.paired(a, b)  # without flags, the four keys only


def test_an_unpaired_difference_adds_the_two_standard_errors():
    out = claims.unpaired([1.0, 3.0], [0.0, 0.0, 0.0])
    assert out["mean"] == pytest.approx(2.0) and out["se"] == pytest.approx(1.0)
    assert out["direction"] == claims.INCONCLUSIVE  # 2.0 is not beyond 2 SE: the two agree
    assert math.isnan(claims.unpaired([1.0], [0.0, 1.0])["se"])


def _runs() -> pd.DataFrame:
    rows = []
    for d, gain in (("usps", 0.10), ("mnist", -0.10)):
        for seed in range(3):
            jitter = 0.01 * seed
            rows += [{"dataset": d, "variant": "plain", "seed": seed, "acc": 0.5 + jitter, "acc_before": 0.45,
                      "flagged": False},
                     {"dataset": d, "variant": "brb", "seed": seed, "acc": 0.5 + gain + 2 * jitter,
                      "acc_before": 0.45, "flagged": d == "mnist" and seed == 0}]
    return pd.DataFrame(rows)


def test_compare_pairs_each_group_and_judges_each_claim_against_the_paper():
    up = claims.Claim({"variant": "brb"}, {"variant": "plain"}, "acc", +1)
    shown = claims.Claim({"variant": "brb"}, {"variant": "plain"}, "acc", 0)
    usps_only = claims.Claim({"variant": "brb"}, {"variant": "plain"}, "acc", -1, where={"dataset": ("usps",)})
    later = claims.Claim({"variant": "plain"}, {"variant": "plain"}, "acc", +1, metric_b="acc_before")
    comp = claims.compare(_runs(), [up, shown, usps_only, later], by=["dataset"])
    got = {(r.dataset, r.claim): r for r in comp.itertuples()}
    assert set(got) == {(d, i) for d in ("mnist", "usps") for i in (0, 1, 3)} | {("usps", 2)}
    assert got["usps", 0].reproduces == findings.REPRODUCES and got["usps", 0].mean == pytest.approx(11.0)
    assert got["mnist", 0].reproduces == findings.DOES_NOT_REPRODUCE
    assert got["mnist", 0].flagged == 1 and "1 of 3 pairs" in got["mnist", 0].note
    assert got["usps", 1].reproduces == claims.SHOWN
    assert got["usps", 2].reproduces == findings.DOES_NOT_REPRODUCE
    assert got["usps", 3].mean == pytest.approx(6.0)  # plain's acc minus its own acc_before


def test_a_claim_without_a_sign_takes_the_papers_difference_cell_by_cell():
    claim = claims.Claim({"variant": "brb"}, {"variant": "plain"}, "acc", None)
    paper = {"usps": +19.5, "mnist": math.nan}
    comp = claims.compare(_runs(), [claim], by=["dataset"], paper_diff=lambda c, g: paper[g["dataset"]])
    got = comp.set_index("dataset")
    assert got.loc["usps", "sign"] == 1 and got.loc["usps", "reproduces"] == findings.REPRODUCES
    assert got.loc["mnist", "sign"] == 0 and got.loc["mnist", "reproduces"] == findings.INCONCLUSIVE


def test_the_summary_counts_judged_comparisons_and_says_when_none_was_judged():
    up = claims.Claim({"variant": "brb"}, {"variant": "plain"}, "acc", +1)
    comp = claims.compare(_runs(), [up], by=["dataset"])
    cite = Cite()
    verdict, reason = claims.summary(comp, cite)
    assert verdict == findings.INCONCLUSIVE  # one reproduces, one contradicts
    assert cite.values["claims/reproduce"] == 1 and cite.values["claims/contradict"] == 1
    assert "rest on a run flagged unhealthy" in reason
    shown = claims.compare(_runs(), [claims.Claim({"variant": "brb"}, {"variant": "plain"}, "acc", 0)], by=["dataset"])
    assert claims.summary(shown, Cite()) is None


def test_a_failed_precondition_makes_a_verdict_inconclusive_with_its_reason():
    assert claims.gate(findings.REPRODUCES, None, True, "why") == (findings.REPRODUCES, None)
    assert claims.gate(findings.REPRODUCES, None, False, "the baseline degrades") == (
        findings.INCONCLUSIVE, "the baseline degrades")
    assert claims.gate(findings.NOT_TESTABLE, "left out", False, "why") == (findings.NOT_TESTABLE, "left out")


def test_no_module_outside_the_engine_writes_its_own_two_se_rule():
    """The 2-SE rule, the standard error and the reproduces-or-not decision live in dcutils.claims only."""
    rule = re.compile(r"[<>]=?\s*-?2\s*\*\s*se\b|2\s*\*\s*se\s*[<>]|std\(ddof=1\)\s*/")
    offenders = []
    for p in sorted((paths.ROOT / "dcutils").rglob("*.py")):
        if p.name == "claims.py":
            continue
        for i, line in enumerate(p.read_text().splitlines(), 1):
            if rule.search(line):
                offenders.append(f"{p.relative_to(paths.ROOT)}:{i}: {line.strip()}")
    assert not offenders, "use dcutils.claims:\n" + "\n".join(offenders)


def test_the_stable_similar_and_share_rules_at_their_edges():
    """Rules 8-10: "stable" within the bound beyond 2 SE, one seed contradicting only beyond the wide factor;
    "similar" within 2 SD of the reference's seeds; a share inside an interval above chance."""
    R, N, U = findings.REPRODUCES, findings.DOES_NOT_REPRODUCE, findings.INCONCLUSIVE
    assert claims.stable(2.0, 0.5, 3, bound=3.0, wide_factor=3) == R  # 2 + 2 * 0.5 = 3 <= 3
    assert claims.stable(2.1, 0.5, 3, bound=3.0, wide_factor=3) == U
    assert claims.stable(4.1, 0.5, 3, bound=3.0, wide_factor=3) == N  # 4.1 - 1 > 3
    assert claims.stable(8.9, math.nan, 1, bound=3.0, wide_factor=3) == U
    assert claims.stable(9.1, math.nan, 1, bound=3.0, wide_factor=3) == N
    assert claims.similar(-2.0, 1.0) == R and claims.similar(2.01, 1.0) == N
    assert claims.similar(1.0, math.nan) == U
    low, high = claims.wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)  # textbook values
    assert all(math.isnan(v) for v in claims.wilson_interval(0, 0))
    assert claims.share_verdict(0.88, 0.45, high, chance=0.5) == U  # inside, but so is a coin flip
    assert claims.share_verdict(0.88, 0.6, 0.95, chance=0.5) == R
    assert claims.share_verdict(0.99, 0.6, 0.95, chance=0.5) == N
    assert claims.share_verdict(0.88, math.nan, math.nan, chance=0.5) == findings.NOT_TESTABLE


def test_every_member_below_a_bound_rule():
    """Rule 11: one member above the bound beyond 2 SE contradicts; all below reproduce; else inconclusive."""
    below, above, open_ = (1.0, 0.5, 3), (9.0, 0.5, 3), (4.5, 0.5, 3)
    assert claims.all_below([below, below], bound=5.0) == (findings.REPRODUCES, [0, 1], [])
    assert claims.all_below([below, above], bound=5.0) == (findings.DOES_NOT_REPRODUCE, [0], [1])
    assert claims.all_below([below, open_], bound=5.0) == (findings.INCONCLUSIVE, [0], [])
    assert claims.all_below([], bound=5.0)[0] == findings.NOT_TESTABLE
