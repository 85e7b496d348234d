"""The rdc/choices notebook: R-DC's choices where the paper's text and the authors' code differ, each run both ways.

Tables, figure and findings from cached runs (the layer above training, beside :mod:`dcutils.rdc.plots`,
whose frames (:mod:`dcutils.rdc.frames`) and paired statistics (:mod:`dcutils.rdc.verdicts`) it reuses). Each
row of :data:`dcutils.rdc.settings.CHOICES` pairs, per seed, the
shared R-DC run of the profile (``rdc.method``'s defaults and the profile's ``refresh_every``: "the
default") with the run whose one choice is the authors' code's value ("the other"); both start from the
same ACAI-pretrained network, so the seeds pair. ACC is the final one (k-means on the final codes with
``kmeans_n_init`` = 20 starts); next to it each side's run health: its final clean reconstruction MSE
(phase 2's last logged ``recon_mse``), its largest phase-2 loss over the loss's start
(``meta["health"]["loss_growth"]["P2 loss"]``) and whether :mod:`dcutils.health` flags it.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from dcutils import claims, findings, health, outputs, plotting
from dcutils.core import get_algorithm
from dcutils.findings import Cite
from dcutils.profiles import Settings
from dcutils.rdc import frames, verdicts  # verdicts imports rdc.figures, which sets the plotting style
from dcutils.rdc.evaluation import PHASE_PROXIMITY
from dcutils.rdc.settings import CHOICES
from dcutils.runs import RunSet

#: The parameters some row of :data:`CHOICES` switches.
SWITCHED = tuple(dict.fromkeys(k for c in CHOICES for k in c["other"]))
#: The phase-2 loss whose growth over its start the health check records (:func:`dcutils.rdc.method.run_method`).
GROWTH_KEY = f"{PHASE_PROXIMITY} loss"


def default_values(settings: Settings) -> dict:
    """The value of every switched parameter in the profile's default runs: the settings' own (``refresh_every``),
    else ``rdc.method``'s default (the phase-2 targets). Returns {parameter: value}."""
    defaults = get_algorithm("rdc.method").defaults
    return {k: settings[k] if k in settings else defaults[k] for k in SWITCHED}


def value_text(params: Mapping) -> str:
    """``"border_target='own_code', core_image_targets='per_iteration'"``: parameters as a reader types them."""
    return ", ".join(f"{k}={v!r}" for k, v in params.items())


def per_run(runset: RunSet) -> pd.DataFrame:
    """One row per R-DC run: seed, the switched parameters, ``acc`` (fraction), ``flagged``
    (:func:`dcutils.health.is_flagged`), ``recon_mse`` (phase 2's last finite logged value; NaN without one) and
    ``loss_growth`` (the phase-2 loss's largest value over its start, from the record's health; NaN without)."""
    rows = []
    for r in runset:
        if r.config.algorithm != "rdc.method" or r.config["method"] != "rdc":
            continue
        h = r.history
        recon = (pd.to_numeric(h.loc[h["phase"] == PHASE_PROXIMITY, "recon_mse"], errors="coerce").dropna()
                 if {"phase", "recon_mse"} <= set(h.columns) else pd.Series(dtype=float))
        growth = ((r.meta or {}).get("health") or {}).get("loss_growth", {}).get(GROWTH_KEY, math.nan)
        rows.append({"seed": r.config.seed, **{k: r.config[k] for k in SWITCHED},
                     "acc": float(r.final.get("acc", math.nan)), "flagged": health.is_flagged(r.meta),
                     "recon_mse": float(recon.iloc[-1]) if len(recon) else math.nan, "loss_growth": float(growth)})
    return pd.DataFrame(rows, columns=["seed", *SWITCHED, "acc", "flagged", "recon_mse", "loss_growth"])


def _matches(runs: pd.DataFrame, values: Mapping) -> pd.DataFrame:
    """The rows of ``runs`` with every parameter of ``values`` at its value, one per seed, indexed by seed."""
    keep = np.ones(len(runs), dtype=bool)
    for k, v in values.items():
        keep &= (runs[k] == v).to_numpy()
    return runs[keep].drop_duplicates("seed").set_index("seed")


def sides(runs: pd.DataFrame, settings: Settings, choice: Mapping) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The :func:`per_run` rows (indexed by seed) of the default runs and of ``choice``'s other value (its
    parameters switched, every other switched parameter at the default)."""
    default = default_values(settings)
    return _matches(runs, default), _matches(runs, {**default, **choice["other"]})


def choices_table(runset: RunSet, settings: Settings) -> pd.DataFrame:
    """Per row of :data:`dcutils.rdc.settings.CHOICES`: the default vs the authors' code's value, paired over seeds.

    Returns
    -------
    DataFrame: choice, default and other (the parameter values of each side), text and code (what the paper
    says and what the authors' code does), default_acc / default_se and other_acc / other_se (final ACC, mean
    ± SE in percent, :func:`dcutils.rdc.frames.mean_se_pct`), paired / paired_se / pairs / verdict (other −
    default per seed, points of ACC, :func:`dcutils.claims.paired`: ahead / behind / inconclusive at 2 SE),
    default_recon / other_recon (mean final clean reconstruction MSE), default_growth / other_growth (largest
    phase-2 loss over its start, the worst seed), default_flagged / other_flagged (runs flagged unhealthy),
    flag (:func:`dcutils.health.flag_mark` when a pair holds a flagged run) and note
    (:func:`dcutils.health.rests_on`).
    """
    runs = per_run(runset)
    rows = []
    for c in CHOICES:
        base, other = sides(runs, settings, c)
        stat = claims.paired(other["acc"], base["acc"])
        dm, ds, _ = frames.mean_se_pct(base["acc"])
        om, os_, _ = frames.mean_se_pct(other["acc"])
        both = pd.concat([base["flagged"], other["flagged"]], axis=1, join="inner").fillna(False).astype(bool)
        flagged = int(both.any(axis=1).sum())
        rows.append({"choice": c["choice"], "default": value_text({k: default_values(settings)[k] for k in c["other"]}),
                     "other": value_text(c["other"]), "text": c["text"], "code": c["code"],
                     "default_acc": dm, "default_se": ds, "other_acc": om, "other_se": os_,
                     "paired": stat["mean"], "paired_se": stat["se"], "pairs": stat["n"], "verdict": stat["verdict"],
                     "default_recon": base["recon_mse"].mean(), "other_recon": other["recon_mse"].mean(),
                     "default_growth": base["loss_growth"].max(), "other_growth": other["loss_growth"].max(),
                     "default_flagged": int(base["flagged"].sum()), "other_flagged": int(other["flagged"].sum()),
                     "flag": health.flag_mark(flagged > 0), "note": health.rests_on(flagged, stat["n"])})
    return pd.DataFrame(rows)


def side_label(run: Mapping, settings: Settings) -> str:
    """Which side a :func:`per_run` row is on, for a legend: ``"default (refresh_every=40)"``, the choice whose
    other value it holds (``"phase-2 targets: own_code, per_iteration"``) or ``"other"``."""
    default = default_values(settings)
    if all(run[k] == v for k, v in default.items()):
        return f"default ({value_text({'refresh_every': default['refresh_every']})})"
    for c in CHOICES:
        if all(run[k] == v for k, v in {**default, **c["other"]}.items()):
            return f"{c['choice']}: {', '.join(map(str, c['other'].values()))}"
    return "other"


def plot_choices(runset: RunSet, settings: Settings):
    """Top: per choice, each seed's paired ACC difference (the code's value − default, points) and their mean ± 2 SE.
    Bottom: phase 2's clean reconstruction MSE per logged iteration, every run (log scale when it spans more than
    a decade), coloured by side.
    Returns the figure."""
    runs = per_run(runset)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.0, 6.0), gridspec_kw={"height_ratios": [1.0, 1.4]})
    rows = []
    for c in CHOICES:
        base, other = sides(runs, settings, c)
        label = f"{c['choice']}:\n{', '.join(map(str, c['other'].values()))}"
        rows.append((label, verdicts.paired_difference(other["acc"], base["acc"]) * 100))
    plotting.paired_differences(top, rows, xlabel="final ACC: authors' code − default (points)")
    hist = frames.history(runset)
    if len(hist) and "recon_mse" in hist:
        hist = hist[(hist["phase"] == PHASE_PROXIMITY) & (hist["method"] == "rdc")]
        colours: dict[str, str] = {}
        for keys, g in hist.groupby([*SWITCHED, "seed"], sort=False):
            label = side_label(dict(zip(SWITCHED, keys)), settings)
            new = label not in colours
            colour = colours.setdefault(label, f"C{len(colours)}")
            bottom.plot(g["phase_iteration"], g["recon_mse"], color=colour, lw=1.0, alpha=0.8,
                        label=label if new else None)
        recon = hist["recon_mse"][hist["recon_mse"] > 0]
        if len(recon) and recon.max() > 10 * recon.min():  # a divergence spans decades
            bottom.set_yscale("log")
    bottom.set_xlabel("phase-2 iteration")
    bottom.set_ylabel("clean reconstruction MSE")
    bottom.set_title("one line per run", fontsize=8)
    fig.tight_layout()
    for ax in (top, bottom):  # outside the axes, after the layout (saved with bbox_inches="tight")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    return fig


def choices_provenance(settings: Settings, runset: RunSet) -> outputs.Provenance:
    """Stamp of the choices outputs: the data the runs used, their seeds and the protocol."""
    note = (f"R-DC from the shared ACAI pretraining ({settings.pretrain_epochs} epochs), {settings.cluster_epochs} "
            f"phase-2 epochs, default refresh every {settings['refresh_every']} iterations, {settings['precision']}")
    prov = frames.findings_provenance(settings, runset)
    return dataclasses.replace(prov, notes=(*prov.notes, note))


def _pm(cite: Cite, name: str, mean: float, se: float, pairs: int, spec: str = ".1f") -> str:
    text = frames._num(cite, name, mean, spec)
    return text + (f" ± {frames._num(cite, name + '/se', se, spec)}" if pairs >= 2 and np.isfinite(se) else "")


def choices_summary(table: pd.DataFrame, settings: Settings, cite: Cite | None = None) -> str:
    """Markdown 'what we see' of :func:`choices_table`, every number from it (cited through ``cite``)."""
    cite = Cite() if cite is None else cite
    if table.empty or not table["pairs"].gt(0).any():
        return "No runs to compare."
    lines = [f"Over {frames._seeds_words(cite, 'pairs per choice', int(table['pairs'].max()), 'paired seed')} per "
             f"choice (FMNIST, "
             f"{cite('phase-2 epochs', settings.cluster_epochs)} phase-2 epochs from the shared ACAI pretraining), "
             f"each row switches one choice from this profile's default to the authors' code (ahead: the code's value "
             f"ends with the higher ACC; verdicts at {cite('verdict threshold (SE)', 2)} SE; ACC final, k-means with "
             f"{cite('k-means starts', int(get_algorithm('rdc.method').defaults['kmeans_n_init']))} starts):"]
    for r in table.itertuples():
        k = r.choice
        paired = (f"paired {frames._num(cite, k + '/other - default', r.paired, '+.1f')}"
                  + (f" ± {frames._num(cite, k + '/other - default/se', r.paired_se, '.1f')}" if r.pairs >= 2 else "")
                  + f" points, {r.verdict}")
        recon = (f"{frames._num(cite, k + '/other/recon_mse', r.other_recon, '.3g')} vs "
                 f"{frames._num(cite, k + '/default/recon_mse', r.default_recon, '.3g')}")
        growth = (f"{frames._num(cite, k + '/other/loss growth', r.other_growth, '.3g')}× vs "
                  f"{frames._num(cite, k + '/default/loss growth', r.default_growth, '.3g')}×")
        health_words = f"final clean reconstruction MSE {recon}, phase-2 loss up to {growth} its start"
        flagged = (f"; runs flagged unhealthy: {cite(k + '/other/flagged', r.other_flagged)} with the code's value, "
                   f"{cite(k + '/default/flagged', r.default_flagged)} with the default "
                   f"({health.flag_mark(True)} {r.note})" if r.note else "; no run flagged unhealthy")
        lines.append(f"- **{r.choice}**: `{cite(k + '/other', r.other)}` (the authors' code) against "
                     f"`{cite(k + '/default', r.default)}` (default): ACC "
                     f"{_pm(cite, k + '/other/acc', r.other_acc, r.other_se, r.pairs)} vs "
                     f"{_pm(cite, k + '/default/acc', r.default_acc, r.default_se, r.pairs)}, {paired}; "
                     f"{health_words}{flagged}.")
    if table["pairs"].max() < 2:
        lines.append("With one seed there is no standard error: every verdict is inconclusive.")
    return "\n".join(lines)


def choices_findings(table: pd.DataFrame, settings: Settings) -> dict:
    """The choices notebook tests no claim of the paper: not testable here, with each choice's effect.
    Returns {"verdict", "reason", "values", "text"} for :func:`dcutils.outputs.save_findings`."""
    cite = Cite()
    text = choices_summary(table, settings, cite)
    return {"verdict": findings.NOT_TESTABLE, "reason": "not a claim of the paper: its text against the authors' "
            "code, each choice run both ways", "values": dict(cite.values), "text": text}
