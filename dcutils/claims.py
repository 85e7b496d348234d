"""One verdict engine: every paired comparison and every verdict on a paper's claim goes through here.

A **claim** is the paper saying that one set of runs ends above (or below) another in a metric: "+BRB ends
above plain DEC in ACC", "Disentangled ends below BRB", "block 4 beats every other block reset". Each paper
lists its claims as data (``dcutils/<paper>/claims.py`` and the per-item lists they hold); this module
evaluates them on the runs, under one rule for the whole project:

1. **Paired over seeds.** A comparison is the difference ``a − b`` over the seeds both sides have (the same
   seed shares data order, initialisation and pretrained network), in the claim's unit (points for metrics
   in [0, 1]): mean, SE = sample std / √n, n pairs (:func:`paired`).
2. **Its direction at 2 SE** (:func:`direction`): *ahead* when the mean exceeds :data:`THRESHOLD_SE` standard
   errors, *behind* below minus that, otherwise *inconclusive*; fewer than two pairs give no SE and are
   inconclusive.
3. **Against the paper's sign** (:func:`judge`): *reproduces* when the direction is the paper's (+1: a above
   b; −1: below), *does not reproduce* when it is the other one, *inconclusive* otherwise. A claim with sign
   0 states no direction: it is shown, never judged.
4. **One pair** (:func:`one_pair`): inconclusive, unless the claim states a wide margin and the single
   difference lies beyond it against the paper; only then does one seed contradict a claim. The margin is
   part of the claim's data, stated in the notebook that uses it, never chosen per result.
5. **A precondition** (e.g. ReSL's "self-labeling does not degrade its own baseline") that fails makes the
   claims resting on it inconclusive, with the precondition's reason (:func:`gate`).
6. **Health.** A pair holding a run flagged unhealthy (:mod:`dcutils.health`) on either side is counted; the
   verdict stands and says how many pairs it rests on (``flagged`` / ``note``).
7. **An item's verdict** from its judged comparisons (:func:`dcutils.findings.overall_verdict`): more
   contradictions than reproductions → does not reproduce; more than half reproduce and none contradicts →
   reproduces; otherwise inconclusive; none judged → not testable here.

Three claims are not "a above b", and have their rule here too:

8. **Stable / robust** (:func:`stable`): the spread (max − min) of cell means over a grid or over levels, with
   the SE of the two extreme cells combined, against the bound the paper's word is read as: reproduces when
   spread + 2 SE is within the bound, does not when spread − 2 SE exceeds it, otherwise inconclusive; with one
   seed per cell (no SE) only a spread beyond a stated wide factor times the bound counts, against the claim.
9. **Similar, with one seed of one side** (:func:`similar`): no paired SE exists, so the yardstick is the other
   side's own spread over seeds: the difference within 2 of its standard deviations reproduces "similar",
   beyond them it does not; without a spread (one seed each), inconclusive.
10. **A share the paper reports** (:func:`share_verdict`, e.g. BRB's win share over all runs): the paper's
    share inside our 95 % Wilson interval (:func:`wilson_interval`) of k wins in n runs, with the interval
    above chance, reproduces; inside an interval reaching chance, inconclusive; outside it, does not.
11. **Every member below a bound** (:func:`all_below`, R-DC Figure 3's "the clustering phase adds little" for
    every method): each member's mean against the bound at 2 SE (rule 2 on mean − bound); one above it
    contradicts the claim, all below reproduce it, otherwise inconclusive.

:func:`compare` applies a list of claims to a tidy frame of per-run results (one row per run: the columns the
claims select on, ``seed``, the metrics, and ``flagged``) group by group, and :func:`summary` gives the item's
verdict and the reason a findings record carries.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dcutils import findings, health

#: Directions of a paired difference (:func:`direction`).
AHEAD, BEHIND, INCONCLUSIVE = "ahead", "behind", "inconclusive"
#: A difference counts as ahead or behind beyond this many standard errors.
THRESHOLD_SE = 2
#: The ``reproduces`` of a comparison whose claim states no direction (sign 0).
SHOWN = "shown, not judged"
#: Metrics in [0, 1] that comparisons report in percentage points.
PERCENT_METRICS = ("acc", "nmi", "ari", "purity")


# ----------------------------------------------------------------------------
# the rule


def mean_se(values: Iterable[float]) -> tuple[float, float, int]:
    """Mean, standard error (sample std / √n, 0 for one value) and n of the finite values; (nan, nan, 0) for none."""
    arr = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if arr.size == 0:
        return math.nan, math.nan, 0
    se = float(arr.std(ddof=1) / math.sqrt(arr.size)) if arr.size > 1 else 0.0
    return float(arr.mean()), se, int(arr.size)


def direction(mean: float, se: float, n: int) -> str:
    """``"ahead"`` when ``mean > 2 SE``, ``"behind"`` when ``mean < −2 SE``, else ``"inconclusive"`` (rule 2).

    With fewer than 2 pairs there is no standard error: inconclusive.
    """
    if n < 2 or not np.isfinite(mean) or not np.isfinite(se):
        return INCONCLUSIVE
    if mean > THRESHOLD_SE * se:
        return AHEAD
    if mean < -THRESHOLD_SE * se:
        return BEHIND
    return INCONCLUSIVE


def judge(dir_: str, sign: float | None) -> str:
    """A findings verdict from a direction (:func:`direction`) and the paper's sign (rule 3).

    ``sign`` +1: the paper has ``a`` above ``b``; −1: below; 0, None or NaN: no direction, inconclusive.
    """
    if sign is None or not np.isfinite(sign) or sign == 0 or dir_ == INCONCLUSIVE:
        return findings.INCONCLUSIVE
    return findings.REPRODUCES if (dir_ == AHEAD) == (sign > 0) else findings.DOES_NOT_REPRODUCE


def one_pair(mean: float, sign: float, margin: float | None) -> str:
    """The verdict of a single paired difference (rule 4): does not reproduce only when ``sign * mean`` is below
    ``−margin`` (against the paper by more than the claim's stated margin); inconclusive otherwise and
    whenever the claim states no margin (``None``)."""
    if margin is None or not sign or not np.isfinite(mean):
        return findings.INCONCLUSIVE
    return findings.DOES_NOT_REPRODUCE if sign * mean < -margin else findings.INCONCLUSIVE


def check(diffs: Iterable[float], sign: int, margin: float | None = None) -> tuple[str, float, float, int]:
    """(verdict, mean, SE, pairs) of per-seed differences whose sign the paper claims is ``sign``: rules 2-3 with
    two pairs or more, rule 4 with one (``margin``: the claim's wide margin, None for none)."""
    mean, se, n = mean_se(list(diffs))
    if n == 0:
        return findings.INCONCLUSIVE, mean, se, 0
    if n == 1:
        return one_pair(mean, sign, margin), mean, se, 1
    return judge(direction(mean, se, n), sign), mean, se, n


def stable(spread: float, se: float, n: int, bound: float, wide_factor: float) -> str:
    """The verdict of a "stable / robust" claim (rule 8): ``spread`` of the cell means (max − min), ``se`` the
    combined SE of the two extreme cells, ``n`` the fewest seeds of a cell, ``bound`` the spread read as stable,
    ``wide_factor``: with one seed, only a spread beyond ``wide_factor * bound`` contradicts the claim."""
    if not np.isfinite(spread):
        return findings.INCONCLUSIVE
    if n < 2:
        return findings.DOES_NOT_REPRODUCE if spread > wide_factor * bound else findings.INCONCLUSIVE
    if spread + THRESHOLD_SE * se <= bound:
        return findings.REPRODUCES
    if spread - THRESHOLD_SE * se > bound:
        return findings.DOES_NOT_REPRODUCE
    return findings.INCONCLUSIVE


#: Rule 9's yardstick: a difference within this many standard deviations of the reference's seeds is "similar".
SIMILAR_SD = 2


def similar(diff: float, sd: float) -> str:
    """The verdict of "similar" with one seed of a side (rule 9): ``|diff|`` within :data:`SIMILAR_SD` standard
    deviations ``sd`` of the other side's seeds reproduces, beyond does not; no finite spread: inconclusive."""
    if not (np.isfinite(diff) and np.isfinite(sd)):
        return findings.INCONCLUSIVE
    return findings.REPRODUCES if abs(diff) <= SIMILAR_SD * sd else findings.DOES_NOT_REPRODUCE


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval (95 % by default) of a share k / n, as fractions; (nan, nan) for n = 0."""
    if n == 0:
        return math.nan, math.nan
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def share_position(paper: float, low: float, high: float) -> str:
    """Where the paper's share lies against our interval: ``"inside"``, ``"above"`` or ``"below"``; ``""``
    without an interval."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return ""
    return "above" if paper > high else "below" if paper < low else "inside"


def share_verdict(paper: float, low: float, high: float, chance: float) -> str:
    """The verdict on a share the paper reports (rule 10), all in one unit: the paper's share inside our interval
    [``low``, ``high``] whose low end is above ``chance`` reproduces; inside an interval reaching ``chance``,
    inconclusive; outside, does not reproduce; no interval: not testable here."""
    position = share_position(paper, low, high)
    if not position:
        return findings.NOT_TESTABLE
    if position != "inside":
        return findings.DOES_NOT_REPRODUCE
    return findings.INCONCLUSIVE if low <= chance else findings.REPRODUCES


def all_below(members: Iterable[tuple[float, float, int]], bound: float) -> tuple[str, list[int], list[int]]:
    """The verdict that every member's mean lies below ``bound`` (rule 11); ``members``: (mean, SE, n) each.

    Returns (verdict, indices of the members below the bound beyond 2 SE, indices of those above it beyond
    2 SE); no member: not testable here."""
    below, above, count = [], [], 0
    for i, (mean, se, n) in enumerate(members):
        count += 1
        side = direction(mean - bound, se, n)
        if side == BEHIND:
            below.append(i)
        elif side == AHEAD:
            above.append(i)
    if not count:
        return findings.NOT_TESTABLE, below, above
    if above:
        return findings.DOES_NOT_REPRODUCE, below, above
    return (findings.REPRODUCES if len(below) == count else findings.INCONCLUSIVE), below, above


def differences(a: pd.Series, b: pd.Series) -> pd.Series:
    """``a − b`` over the index both have (the seeds): the per-seed differences a paired comparison averages."""
    both = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner")
    return both["a"] - both["b"]


def paired(a: pd.Series, b: pd.Series, *, scale: float = 100.0, flagged_a: pd.Series | None = None,
           flagged_b: pd.Series | None = None) -> dict[str, Any]:
    """The paired difference ``a − b`` over the index both share (the seeds), times ``scale`` (rule 1).

    Parameters
    ----------
    a, b : one value per seed (index: seed); pairs with a NaN on either side are dropped.
    scale : the unit: 100 turns fractions into points.
    flagged_a, flagged_b : optional, per seed, whether that run is flagged unhealthy (rule 6).

    Returns
    -------
    dict with ``mean``, ``se``, ``n`` (pairs) and ``verdict`` (the direction, :func:`direction`); with flags
    given, also ``flagged`` (pairs holding a flagged run on either side) and ``note``
    (:func:`dcutils.health.rests_on`, ``""`` when none).
    """
    both = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner").astype(float).dropna()
    mean, se, n = mean_se((both["a"] - both["b"]) * scale)
    out = {"mean": mean, "se": se, "n": n, "verdict": direction(mean, se, n)}
    if flagged_a is not None or flagged_b is not None:
        def flags(s: pd.Series | None) -> np.ndarray:
            if s is None:
                return np.zeros(len(both), dtype=bool)
            return s.reindex(both.index).fillna(False).astype(bool).to_numpy()

        k = int((flags(flagged_a) | flags(flagged_b)).sum())
        out.update(flagged=k, note=health.rests_on(k, n))
    return out


def unpaired(a: Iterable[float], b: Iterable[float]) -> dict[str, Any]:
    """The difference of two independent samples (different seeds on each side, e.g. ours against the authors'
    runs): ``mean(a) − mean(b)`` with SE = √(SE_a² + SE_b²), NaN when a side has fewer than two values, and its
    ``direction`` at 2 SE (:func:`direction`; "inconclusive" means the two agree within 2 SE).

    Returns
    -------
    dict with ``a`` and ``b`` (each :func:`mean_se`'s triple, SE NaN for one value), ``mean``, ``se``, ``direction``.
    """
    sides = []
    for values in (a, b):
        m, se, n = mean_se(values)
        sides.append((m, se if n > 1 else math.nan, n))
    (ma, sa, _), (mb, sb, _) = sides
    mean, se = ma - mb, math.hypot(sa, sb)
    return {"a": sides[0], "b": sides[1], "mean": mean, "se": se,
            "direction": direction(mean, se, 2) if np.isfinite(se) else INCONCLUSIVE}


def gate(verdict: str, reason: str | None, holds: bool, why: str) -> tuple[str, str | None]:
    """Rule 5: ``(verdict, reason)`` unchanged when the precondition ``holds`` (or the verdict is already "not
    testable here"); otherwise inconclusive with the precondition's reason ``why``."""
    if holds or verdict == findings.NOT_TESTABLE:
        return verdict, reason
    return findings.INCONCLUSIVE, why


# ----------------------------------------------------------------------------
# claims as data


@dataclass(frozen=True)
class Claim:
    """The paper's claim that the runs selected by ``a`` end above (``sign`` +1) or below (−1) those selected by
    ``b`` in ``metric``; sign 0: the paper states no direction (shown, not judged); None: the sign of the
    paper's own difference, cell by cell (``paper_diff`` of :func:`compare`).

    ``a`` / ``b`` select rows by column values (``{"variant": "brb"}``); ``metric_b`` reads another column on
    the ``b`` side (e.g. the same metric before self-labeling); ``where`` limits the groups the claim is about
    (``{"dataset": ("usps", "optdigits")}``); ``paper`` gives the paper's words; ``margin`` the wide margin of
    rule 4 (None: one seed never contradicts); ``scale`` the unit (None: points for :data:`PERCENT_METRICS`,
    else the metric's own).
    """

    a: Mapping[str, Any] = field(hash=False)
    b: Mapping[str, Any] = field(hash=False)
    metric: str
    sign: int | None = 1
    paper: str = ""
    label: str = ""
    metric_b: str | None = None
    where: Mapping[str, Collection] = field(default_factory=dict, hash=False)
    margin: float | None = None
    scale: float | None = None

    def unit_scale(self) -> float:
        if self.scale is not None:
            return self.scale
        return 100.0 if self.metric in PERCENT_METRICS else 1.0

    def applies(self, group: Mapping[str, Any]) -> bool:
        return all(k not in group or group[k] in v for k, v in self.where.items())


def select(frame: pd.DataFrame, selector: Mapping[str, Any]) -> pd.DataFrame:
    """The rows of ``frame`` whose columns equal every value of ``selector`` (none when a column is missing)."""
    keep = np.ones(len(frame), dtype=bool)
    for k, v in selector.items():
        if k not in frame:
            return frame.iloc[0:0]
        keep &= (frame[k] == v).to_numpy()
    return frame[keep]


#: The columns :func:`compare` adds after the group's.
COLUMNS = ("claim", "mean", "se", "pairs", "verdict", "sign", "paper_diff", "reproduces", "flagged", "note")


def _side(rows: pd.DataFrame, column: str, pair: str) -> tuple[pd.Series, pd.Series | None]:
    values = rows.set_index(pair)[column]
    flags = rows.set_index(pair)["flagged"] if "flagged" in rows else None
    return values, flags


def compare(frame: pd.DataFrame, claims: Sequence[Claim], *, by: Sequence[str] = (), pair: str = "seed",
            paper_diff: Callable[[Claim, dict], float] | None = None) -> pd.DataFrame:
    """Every claim in every group of ``by`` that has runs on both sides, paired over ``pair`` (rules 1-4, 6).

    Parameters
    ----------
    frame : one row per run: the ``by`` columns, ``pair`` (the seed), the columns the claims select on and
        read, and optionally ``flagged`` (bool, the run's health flag).
    claims : the item's claims, in the order its text lists them.
    by : the columns that make a group (e.g. data set, method, pretraining); () for one group.
    paper_diff : optional ``(claim, group) -> float``, the paper's own difference of the two sides in that
        group (NaN where it gives none); a claim with sign None takes its sign from it.

    Returns
    -------
    DataFrame, one row per compared (group, claim): the ``by`` columns, then :data:`COLUMNS`: claim (its index
    in ``claims``), mean, se, pairs, verdict (the direction), sign (+1 / −1 / 0), paper_diff, reproduces
    (:func:`judge`, or :func:`one_pair` on one pair; :data:`SHOWN` for sign 0), flagged and note.
    """
    by = list(by)
    rows = []
    groups = frame.groupby(by, sort=True) if by and len(frame) else ([((), frame)] if len(frame) else [])
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        group = dict(zip(by, key))
        for i, c in enumerate(claims):
            col_b = c.metric_b or c.metric
            if not c.applies(group) or c.metric not in g or col_b not in g:
                continue
            ra, rb = select(g, c.a), select(g, c.b)
            if ra.empty or rb.empty:
                continue
            (va, fa), (vb, fb) = _side(ra, c.metric, pair), _side(rb, col_b, pair)
            stat = paired(va, vb, scale=c.unit_scale(), flagged_a=fa if fa is not None else pd.Series(dtype=bool),
                          flagged_b=fb)
            if not stat["n"]:
                continue
            pdiff = paper_diff(c, group) if paper_diff else math.nan
            sign = c.sign if c.sign is not None else (int(np.sign(pdiff)) if np.isfinite(pdiff) else 0)
            if c.sign == 0:
                rep = SHOWN
            elif stat["n"] == 1:
                rep = one_pair(stat["mean"], sign, c.margin)
            else:
                rep = judge(stat["verdict"], sign)
            rows.append({**group, "claim": i, "mean": stat["mean"], "se": stat["se"], "pairs": stat["n"],
                         "verdict": stat["verdict"], "sign": int(sign), "paper_diff": pdiff, "reproduces": rep,
                         "flagged": stat["flagged"], "note": stat["note"]})
    return pd.DataFrame(rows, columns=[*by, *COLUMNS])


def summary(comp: pd.DataFrame, cite: findings.Cite) -> tuple[str, str | None] | None:
    """The item's verdict (rule 7) and its reason from :func:`compare`'s rows, every count cited; None when no
    row is judged (sign 0 rows are shown only), for the caller to say why nothing could be tested."""
    judged = comp[comp["sign"] != 0] if len(comp) else comp
    if judged.empty:
        return None
    rep = int((judged["reproduces"] == findings.REPRODUCES).sum())
    contra = int((judged["reproduces"] == findings.DOES_NOT_REPRODUCE).sum())
    reason = (f"{cite('claims/reproduce', rep)} of {cite('claims/compared', len(judged))} paired comparisons have "
              f"the paper's direction beyond {cite('verdict threshold (SE)', THRESHOLD_SE)} SE, "
              f"{cite('claims/contradict', contra)} the opposite one")
    sick = int((judged["flagged"] > 0).sum()) if "flagged" in judged else 0
    if sick:
        reason += (f"; {health.flag_mark(True)} {cite('claims/resting on flagged runs', sick)} of them rest on a run "
                   "flagged unhealthy")
    return findings.overall_verdict(list(judged["reproduces"])), reason


# ----------------------------------------------------------------------------
# what each item claims


@dataclass(frozen=True)
class Statement:
    """What catalog item ``item`` (``"brb/fig01"``) claims, as its notebook says it.

    ``claim`` is the paper's claim the item's notebook tests, in the notebook's own words (its first markdown
    cell, after "**Claim tested:**" or "**Claim(s):**"); ``untestable`` is a one-sentence reason when the item
    makes no claim this companion can test (a settings table, a data-set table, a pseudocode, a schematic), and
    ``claim`` is then empty. Each paper lists its statements in ``dcutils/<paper>/claims.py``
    (``STATEMENTS``); :mod:`dcutils.statements` merges them.
    """

    item: str
    claim: str
    untestable: str | None = None
