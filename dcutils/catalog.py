"""Every figure and table of the three papers: notebook, outputs and status.

This is the project's index (as pyprobml's figure index): each
:class:`Item` names its paper, its catalog id (``fig01``, ``tab05``,
``algo1``, ``headline``), a short slug, its kind (data / config / schematic),
what it shows, and its status here. Notebook and output names derive from it:

- notebook: ``notebooks/<paper>/<id>-<slug>.ipynb``
- outputs:  ``figures/<paper>/<id>-<slug>.{png,pdf}`` (figures) or
  ``.{csv,md}`` (tables)
- findings: ``figures/<paper>/<id>-<slug>.values.json`` (verdict, reason and
  the numbers of "What we see"; :mod:`dcutils.findings`)

``figures/README.md`` is rendered from this module and the findings files by
:func:`render_index` (``make index``), so the index cannot drift from the code
or the notebooks' verdicts.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dcutils import findings, paths

DONE = "done"
NOT_STARTED = "not started"
SCHEMATIC = "schematic, not regenerated"
#: Status of an item whose notebook and run list exist but whose quick runs are not computed (and committed) yet.
QUICK_PENDING = "partial: quick runs not computed yet"


def awaits_quick_runs(status: str) -> bool:
    """Whether an item with this status is allowed to miss quick records: not started, or :data:`QUICK_PENDING`."""
    return status == NOT_STARTED or status.startswith(QUICK_PENDING)


@dataclass(frozen=True)
class Item:
    paper: str
    id: str
    slug: str
    kind: str  # "data", "config" or "schematic"
    title: str
    status: str = NOT_STARTED  # DONE, NOT_STARTED, SCHEMATIC or "partial: <reason>"
    #: output suffixes when they are not the kind's default (a notebook with both a table and a figure)
    exts: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.paper}/{self.id}"

    @property
    def stem(self) -> str:
        return f"{self.id}-{self.slug}" if self.slug else self.id

    @property
    def is_table(self) -> bool:
        return self.id.startswith("tab") or self.id == "headline"

    @property
    def notebook(self) -> Path:
        return paths.NOTEBOOKS / self.paper / f"{self.stem}.ipynb"

    def outputs(self) -> list[Path]:
        """The files this item's notebook writes, under ``figures/<paper>/``."""
        exts = self.exts or ((".csv", ".md") if self.is_table else (".png", ".pdf"))
        return [paths.FIGURES / self.paper / f"{self.stem}{ext}" for ext in exts]

    @property
    def findings_file(self) -> Path:
        """Where the notebook's findings (verdict, reason, cited numbers) are, under ``figures/<paper>/``."""
        return paths.FIGURES / self.paper / f"{self.stem}{findings.SUFFIX}"


def _items(paper: str, rows: list[tuple]) -> list[Item]:
    return [Item(paper, *row) for row in rows]


PARTIAL_SUBSTITUTE = "partial: substitute data sets where the quick profile does not run the paper's"


#: The contrastive items at quick: Fashion-MNIST at ReSL's quick scale for the paper's CIFAR data sets.
BRB_CONTRASTIVE_SUB = ("partial: FMNIST (3,000 / 2,000 balanced train / test images, ResNet18 at width 1/8) "
                       "substitutes for CIFAR10 and CIFAR100-20 (paper profile), whose cells show the paper's values")

#: The BRB grid at quick: the data sets its profile pins (the others are the paper profile's).
BRB_OFFLINE = ("partial: quick runs 7 of the 36 (setting, method, data set) rows at the floors of issue 9 "
               "(OPTDIGITS whole: DEC, IDEC, DCN with and without pretraining, every variant; USPS: IDEC without "
               "pretraining); the others are the paper profile's, shown with the paper's value")

#: ReSL at quick: Fashion-MNIST (3,000 / 2,000 balanced train / test images, a ResNet18 of width 1/8) for the
#: paper's four natural-image data sets, which need a GPU and are not offline (paper profile).
RESL_SUB = "partial: FMNIST substitutes for STL10 and CIFAR10/20/100 (paper profile)"
RESL_GRID = "partial: FMNIST only (paper profile for the four paper data sets); a 2 x 2 grid of our values"
RESL_TABLE = ("partial: an FMNIST row is added; the STL10 and CIFAR cells show the paper's values (paper profile, "
              "not run offline)")

ITEMS: list[Item] = [
    *_items("brb", [
        ("algo1", "brb-pseudocode", "data", "BRB pseudocode (Appendix A) as the code that runs, on a toy problem", DONE),
        ("algo2", "disentangled", "data", "the Disentangled variant (Appendix F.1)", "done (OPTDIGITS DEC with pretraining, as fig10; 3 seeds)"),
        ("fig01", "reclustering-barrier", "data", "IDEC without pretraining on USPS: IDEC, +Recluster, +BRB accuracy per epoch", "done (T = 20, 180 epochs, 3 seeds; the notebook gives the verdict)"),
        ("fig02", "dcn-analysis-gtsrb", "data", "DCN +Recluster vs +BRB: ACC, intra-CD, inter-CD, CL change (GTSRB)", "partial: GTSRB is not run at quick (paper profile); OPTDIGITS (DCN with pretraining: plain, +Recluster, +BRB) is shown instead, named on the figure"),
        ("fig03", "embedding-schematic", "schematic", "embedded space before/after BRB, redrawn from a real 2-D embedding", "partial: the paper profile only; quick runs none of its cells (with them brb's quick runs would exceed the 5-hour budget of issue 20)"),
        ("fig04", "pretrained-dcn", "data", "scenario 1 (pretraining): DCN, +Recluster, +Reset, +BRB per data set", BRB_OFFLINE),
        ("fig05", "no-pretraining-gain", "data", "scenario 2 (no pretraining): relative ACC gain of BRB for DEC and IDEC", BRB_OFFLINE),
        ("fig06", "dcn-analysis", "data", "analysis as fig02 on OPTDIGITS and MNIST", "partial: OPTDIGITS only (DCN with pretraining: plain, +Recluster, +BRB); MNIST is the paper profile's"),
        ("fig07", "centroid-distance-ratio", "data", "histogram of d1/d2 before and after a BRB step (DCN)", "partial: MNIST is not run at quick; OPTDIGITS shown, named on the figure"),
        ("fig08", "sensitivity-mnist", "data", "sensitivity over lr x T x alpha on MNIST", "partial: the paper profile only; quick runs none of its cells (with them brb's quick runs would exceed the 5-hour budget of issue 20)"),
        ("fig09", "sensitivity-usps-optdigits", "data", "sensitivity grid on USPS and OPTDIGITS", "partial: the paper profile only; quick runs none of its cells (with them brb's quick runs would exceed the 5-hour budget of issue 20)"),
        ("fig10", "ablation-targets", "data", "BRB vs Disentangled vs embedding noise (OPTDIGITS)", "done (OPTDIGITS DEC with pretraining, 3 seeds)"),
        ("fig11", "embedding-reset", "data", "BRB with vs without embedding-layer reset", "partial: OPTDIGITS DEC with pretraining; GTSRB, USPS, MNIST are the paper profile's"),
        ("fig12", "momentum-reset", "data", "BRB with vs without centroid momentum reset", "partial: OPTDIGITS DEC with pretraining; IDEC and the other data sets are the paper profile's"),
        ("fig13", "voronoi", "data", "Voronoi cells of a 2-D DEC embedding of 4 USPS classes, before/after BRB", "partial: the paper profile only; quick runs none of its cells (with them brb's quick runs would exceed the 5-hour budget of issue 20)"),
        ("fig14", "pretrained-nmi-ari", "data", "NMI and ARI with pretraining, as fig04", BRB_OFFLINE),
        ("fig15", "no-pretraining-nmi-ari", "data", "NMI and ARI without pretraining, as fig05", BRB_OFFLINE),
        ("fig16", "silhouette-mnist", "data", "silhouette (ground truth) per epoch, DCN variants, MNIST", "partial: MNIST is not run at quick; OPTDIGITS DCN (plain, +Recluster, +BRB) shown, named on the figure"),
        ("fig17", "silhouette-gt-vs-pred", "data", "silhouette with ground-truth vs predicted labels", "partial: USPS and GTSRB run no DCN at quick (paper profile); OPTDIGITS shown, named on the figure"),
        ("fig18", "reconstruction-loss", "data", "reconstruction loss per epoch, DCN with vs without BRB", "done (OPTDIGITS: scikit-learn part)"),
        ("fig19", "soft-reset-components", "data", "BRB vs Perturbation only vs Scaled Gaussian noise", "partial: the paper profile only; quick runs none of its cells (with them brb's quick runs would exceed the 5-hour budget of issue 20)"),
        ("tab01", "contrastive", "data", "contrastive (SimCLR, ResNet18) + self-labeling, CIFAR10 / CIFAR100-20", BRB_CONTRASTIVE_SUB + "; SCAN, GCC and SeCu are the paper's values only", (".csv", ".md", ".png", ".pdf")),
        ("tab02", "appendix-contents", "config", "contents of the appendix", "index only: a list of appendix sections, nothing to compute"),
        ("tab03", "datasets", "config", "data set statistics from the loaders", DONE),
        ("tab04", "runtime", "data", "wall-clock time of one run per data set", "partial: the main grid's quick runs (OPTDIGITS, USPS) on a 2-core CPU; the other data sets are the paper profile's"),
        ("tab05", "hyperparameters-grayscale", "config", "hyperparameters, grayscale data sets", DONE),
        ("tab06", "hyperparameters-gtsrb", "config", "hyperparameters, GTSRB", DONE),
        ("tab07", "hyperparameters-contrastive", "config", "hyperparameters, contrastive experiments", DONE),
        ("tab08", "brb-component-times", "data", "time of each BRB component vs subsample size", "partial: OPTDIGITS DEC, 10 % and 100 %, from tab09's runs"),
        ("tab09", "subsample-accuracy", "data", "ACC vs reclustering subsample size", "partial: OPTDIGITS DEC with pretraining, 10 % and 100 %"),
        ("tab10", "reclustering-runtime", "data", "runtime of reclustering algorithms", "partial: the paper profile only; quick runs none of its cells (with them brb's quick runs would exceed the 5-hour budget of issue 20)"),
        ("tab11", "resnet-blocks", "data", "which ResNet blocks to reset (CIFAR10)", "partial: FMNIST substitutes for CIFAR10 (paper profile); DCN with the MLP reset, blocks none, 4 and all; blocks 1, 1+2, 4+3, the column without the MLP reset and block 4 with the projector reset (the text's deviation) are the paper profile's"),
        ("tab12", "reclustering-ari", "data", "ARI of reclustering algorithms (USPS)", "partial: the paper profile only; quick runs none of its cells (with them brb's quick runs would exceed the 5-hour budget of issue 20)"),
        ("tab13", "acc-all-variants", "data", "ACC of all 24 variants on 6 data sets", BRB_OFFLINE),
        ("tab14", "nmi-all-variants", "data", "NMI of all 24 variants", BRB_OFFLINE),
        ("tab15", "ari-all-variants", "data", "ARI of all 24 variants", BRB_OFFLINE),
        ("tab16", "contrastive-self-labeling", "data", "contrastive with self-labeling, ACC", BRB_CONTRASTIVE_SUB + " (tab01's runs)"),
        ("tab17", "contrastive-no-self-labeling", "data", "contrastive without self-labeling, ACC", BRB_CONTRASTIVE_SUB + " (tab01's runs, read before self-labeling)"),
        ("tab18", "own-assignments-no-pretraining", "data", "reclustering with own assignments vs k-means, no pretraining", "partial: OPTDIGITS DEC"),
        ("tab19", "own-assignments-pretraining", "data", "the same with pretraining", "partial: OPTDIGITS DEC"),
        ("headline", "brb-win-share", "data", "share of runs where BRB beats its baseline, and its overhead", "partial: counted over the rows the quick grid runs (see the notebook); the other data sets are the paper profile's"),
    ]),
    *_items("resl", [
        ("algo1", "resl-loop", "data", "the ReSL loop with a pluggable reset strategy", DONE),
        ("fig01", "confident-fraction", "data", "fraction of confident samples per self-labeling epoch", RESL_SUB),
        ("fig02", "plasticity-injection", "data", "plasticity injection vs none, ACC per epoch (CIFAR10)",
         "partial: FMNIST substitutes for CIFAR10 (paper profile); one injection seed at quick"),
        ("fig03", "nmi-match", "data", "NMI match of confident pseudo-labels, HT vs SCAN+SL (STL10)",
         "partial: FMNIST substitutes for STL10 (paper profile)"),
        ("fig04", "ht-vs-scan", "data", "HT vs SCAN+SL: ACC, NMI match, CL change", RESL_SUB),
        ("fig05", "sp-heatmaps", "data", "ACC heatmaps for SP: reset frequency x alpha", RESL_GRID),
        ("fig06", "ht-heatmaps", "data", "ACC heatmaps for HT: momentum x reset frequency", RESL_GRID),
        ("fig07", "plasticity-injection-others", "data", "plasticity injection on the other data sets",
         "partial: FMNIST substitutes for STL10, CIFAR20 and CIFAR100 (the runs of fig02); one injection seed"),
        ("tab01", "acc", "data", "ACC avg/max: SP, SP*, HT, SCAN+SL", RESL_TABLE),
        ("tab02", "nmi-match", "data", "NMI match at epochs 100 and 200", RESL_TABLE),
        ("tab03", "hyperparameters", "config", "SCAN self-labeling hyperparameters", DONE),
        ("tab04", "acc-appendix", "data", "= tab01 (appendix copy)", RESL_TABLE),
        ("tab05", "ari", "data", "ARI avg/max", RESL_TABLE),
        ("tab06", "nmi", "data", "NMI avg/max", RESL_TABLE),
    ]),
    *_items("rdc", [
        ("algo1", "rdc-algorithm", "data", "the R-DC two-phase algorithm", DONE),
        ("fig01", "id-lid-paradigms", "data", "ID and LID through pretraining and DEC clustering", "partial: MNIST is its 10,000-image test split (named on the figure)"),
        ("fig02", "feature-twist-dec", "data", "feature twist: curved clusters under DEC", "done (1 seed at quick)"),
        ("fig03", "clustering-gain", "data", "ACC gain of the clustering phase over pretraining", "partial: FMNIST only; the other four data sets are not run at quick (paper profile)"),
        *[(f"fig{n:02d}", "schematic", "schematic", "paradigm and pipeline diagram", SCHEMATIC) for n in range(4, 12)],
        ("fig12", "dynae-vs-rdc", "data", "ACC per iteration in phase 2, DynAE vs R-DC (FMNIST)", DONE),
        ("fig13", "rdc-accuracy", "data", "ACC per iteration of R-DC", "partial: FMNIST only; BloodMNIST (13b) is not run at quick (paper profile)"),
        ("fig14", "neighbour-purity", "data", "% true / false neighbours, initial vs after filtering", "partial: FMNIST only; BloodMNIST (14c, 14d) is not run at quick (paper profile)"),
        ("fig15", "id-lid-phases", "data", "ID and LID through both phases, DynAE vs R-DC", DONE),
        ("fig16", "feature-twist-rdc", "data", "as fig02 with R-DC phase 2", "done (1 seed at quick)"),
        ("fig17", "sensitivity", "data", "sensitivity to beta x gamma", "partial: FMNIST substitutes for PneumoniaMNIST (named on the figure); 3 x 3 grid at quick"),
        ("fig18", "pca-rdc", "data", "PCA 2-D of R-DC latent codes", "partial: FMNIST only of the six data sets"),
        ("fig19", "pca-cc", "data", "PCA 2-D of a contrastive-clustering baseline", "partial: CC is not implemented; DEC and DynAE substitute (named on the figure)"),
        ("fig20", "noise-robustness", "data", "ACC/F1 under input Gaussian noise", "partial: FMNIST substitutes for BloodMNIST and VesselMNIST3D (named on the figure)"),
        ("tab01", "datasets", "config", "data set statistics", DONE),
        ("tab02", "beta-gamma", "config", "beta / gamma per data set", DONE),
        ("tab03", "cifar10-fmnist", "data", "ACC / F1 macro / F1 micro, 10 methods, CIFAR10 and FMNIST", "partial: CIFAR10 is not run at quick (paper profile); FINCH, PSSC, CC and DDC-UCO are paper only"),
        ("tab04", "vessel-pneumonia", "data", "the same, VesselMNIST3D and PneumoniaMNIST", "partial: paper only here: VesselMNIST3D and PneumoniaMNIST are not run at quick (paper profile)"),
        ("tab05", "breast-blood", "data", "the same, BreastMNIST and BloodMNIST", "partial: paper only here: BreastMNIST and BloodMNIST are not run at quick (paper profile)"),
        ("tab06", "runtime", "data", "runtime at equal iterations", "partial: FMNIST only; CPU timings on a subsample, ratios only"),
        ("tab07", "complexity", "config", "complexity and hyperparameter counts", "done (the complexity column was lost in the text)"),
        ("tab08", "ablation", "data", "ablation: P1, P1+P2, P1+P3, P1+P2+P3", "partial: FMNIST only; the three MedMNIST columns are paper only"),
    ]),
]

#: Notebooks beyond the papers' figures and tables: in the figure index, not in the catalog.
EXTRAS: list[Item] = [
    Item("brb", "deviations", "", "data",
         "the authors' code vs the paper's text: each training choice run both ways (USPS, 3 seeds)",
         "done (a short sensitivity protocol, not the tables' floors; the notebook says so)",
         (".csv", ".md", ".png", ".pdf")),
    Item("rdc", "choices", "", "data",
         "the paper's text vs the authors' code: phase-2 targets and refresh interval, each run both ways (FMNIST, 3 seeds)",
         "done (the authors' targets and refresh 140 against the defaults, paired per seed)",
         (".csv", ".md", ".png", ".pdf")),
    Item("resl", "deviations", "", "data",
         "SCAN's code or not: the pseudo-label pass's BatchNorm mode, SCAN+SL run both ways (FMNIST, 3 seeds)",
         "done (the profile's value against the other, paired per seed, each against the SCAN network)",
         (".csv", ".md", ".png", ".pdf")),
]

_BY_KEY = {item.key: item for item in [*ITEMS, *EXTRAS]}


def settings_anchor(key: str) -> str:
    """The anchor of item ``key``'s section in ``figures/SETTINGS.md`` (:mod:`dcutils.run_settings`): GitHub's
    rule for the heading ``brb/fig01`` gives ``brbfig01``."""
    return key.replace("/", "").lower()


def get_item(key: str) -> Item:
    """The item ``"<paper>/<id>"`` (e.g. ``"brb/fig01"``); raises KeyError with the valid ids."""
    try:
        return _BY_KEY[key]
    except KeyError:
        paper = key.split("/")[0]
        near = [k for k in _BY_KEY if k.startswith(paper + "/")] or list(_BY_KEY)
        raise KeyError(f"unknown catalog item {key!r}; items are like {', '.join(near[:8])}, ...") from None


def items(paper: str | None = None) -> list[Item]:
    return [i for i in ITEMS if paper is None or i.paper == paper]


def _cell(text: str) -> str:
    """``text`` safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _verdict_cell(item: Item) -> str:
    found = findings.read(item.findings_file)
    if found is None:
        return "no verdict yet"
    cell = f"**{found.verdict}**" + (f": {found.reason}" if found.reason else "")
    return _cell(cell + (f" (profile {found.profile})" if found.profile != "quick" else ""))


def render_index(claims: Mapping[str, str] | None = None) -> str:
    """Markdown of ``figures/README.md``: a gallery of every catalog item (and extra) per paper.

    One row per item: id, a thumbnail of its PNG (or "—"), what it shows, its status (from the catalog: how
    much of it this companion regenerates), its verdict with the reason (from its ``.values.json``: what the
    runs say about the paper's claim; "no verdict yet" without one), its notebook and its outputs. Status and
    verdict are separate: an item can be done and not reproduce. ``claims`` (item key → one line, e.g.
    :func:`dcutils.statements.gallery_claims`, which ``make index`` passes) adds under each title what the item
    claims. Raises :class:`dcutils.findings.FindingsError` for a corrupt findings file.
    """
    titles = {"brb": "Breaking the Reclustering Barrier (BRB)", "resl": "ReSL", "rdc": "R-DC"}
    lines = [
        "# Figure index",
        "",
        "Every figure and table of the three papers (the catalog, `../shared/FIGURES.md`),",
        "with a thumbnail, its status, its verdict, the notebook that regenerates it and its outputs.",
        "Generated from `dcutils/catalog.py` and the notebooks' findings (`<item>.values.json`) by",
        "`make index`; do not edit by hand.",
        "",
        "Outputs here are from the `quick` profile unless their stamp says otherwise; what the quick runs",
        "of each item used is in [`SETTINGS.md`](SETTINGS.md) (linked per item as \"settings\"). Rows after a",
        "paper's catalog items (brb `deviations`, resl `deviations`, rdc `choices`) are notebooks beyond the",
        "papers' figures and tables.",
        "",
        "**Status** says how much of the item this companion regenerates; **verdict** says what its runs",
        "show about the paper's claim, computed in the notebook (an item can be done and not reproduce):",
        "",
        *[f"- **{v}**: {findings.VERDICT_MEANING[v]}." for v in findings.VERDICTS],
        "- **no verdict yet**: the notebook does not state one (yet).",
        "",
    ]
    settings_page = paths.FIGURES / "SETTINGS.md"
    with_settings = settings_page.read_text() if settings_page.exists() else ""
    for paper in paths.PAPERS:
        lines += [f"## {paper}: {titles[paper]}", "",
                  "| id | figure | what | status | verdict | notebook | outputs |", "|---|---|---|---|---|---|---|"]
        for item in [*items(paper), *(e for e in EXTRAS if e.paper == paper)]:
            nb = item.notebook
            nb_cell = f"[`{nb.name}`](../notebooks/{paper}/{nb.name})" if nb.exists() else "—"
            png = paths.FIGURES / paper / f"{item.stem}.png"
            thumb = f'<img src="{paper}/{png.name}" width="180">' if png.exists() else "—"
            outs = [p for p in [*item.outputs(), item.findings_file] if p.exists()]
            out_cell = ", ".join(f"[`{p.name}`]({paper}/{p.name})" for p in outs) or "—"
            if f"\n## {item.key}\n" in with_settings:
                out_cell += f", [settings](SETTINGS.md#{settings_anchor(item.key)})"
            what = _cell(item.title) + (f"<br>*{_cell(claims[item.key])}*" if claims and item.key in claims else "")
            lines.append(f"| {item.id} | {thumb} | {what} | {_cell(item.status)} | "
                         f"{_verdict_cell(item)} | {nb_cell} | {out_cell} |")
        lines.append("")
    return "\n".join(lines)
