"""Figures and tables written to ``figures/<paper>/``, stamped with their provenance.

Every output states the profile, seeds, data sets (naming any substitute) and
git commit behind it:

- PNG / PDF: a footer line on the figure and the file's metadata;
- CSV: ``#`` comment lines first (read back with ``pd.read_csv(path, comment="#")``);
- Markdown: a provenance paragraph under the table;
- ``.values.json``: the item's findings (:func:`save_findings`: verdict, reason, the numbers its "What we
  see" cites, and that text; see :mod:`dcutils.findings`).

A figure whose axes hold two identical series (one hiding the other) is refused unless the caller says why
(:func:`save_figure`'s ``identical_ok``).

Tables comparing with a paper put the paper's value, the reproduced value and
their difference side by side (:func:`comparison`).
"""
from __future__ import annotations

import math
import subprocess
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dcutils import catalog, claims, findings, paths, plotting
from dcutils.findings import DOES_NOT_REPRODUCE, NOT_TESTABLE, REPRODUCES, VERDICTS, Findings  # noqa: F401
from dcutils.profiles import Settings


def git_commit() -> str:
    """Short commit of the repository, ``-dirty`` when tracked files changed; ``unknown`` outside git."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=10", "HEAD"], cwd=paths.ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "dcutils", "notebooks"],
            cwd=paths.ROOT, capture_output=True, text=True, check=True,
        ).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


@dataclass(frozen=True)
class Provenance:
    """What an output was made from."""

    item: str
    profile: str
    seeds: tuple[int, ...]
    datasets: tuple[str, ...]
    commit: str
    notes: tuple[str, ...] = ()

    def line(self) -> str:
        seeds = compact_seeds(self.seeds) if self.seeds else "none"
        data = ", ".join(self.datasets) if self.datasets else "none"
        text = f"{self.item} · profile {self.profile} · seeds {seeds} · data {data} · commit {self.commit}"
        return text + "".join(f" · {n}" for n in self.notes)

    def as_dict(self) -> dict[str, str]:
        return {
            "item": self.item,
            "profile": self.profile,
            "seeds": compact_seeds(self.seeds) if self.seeds else "none",
            "datasets": ", ".join(self.datasets) or "none",
            "commit": self.commit,
            **({"notes": "; ".join(self.notes)} if self.notes else {}),
        }


def settings_page(item: str, profile: str, base: str = "..") -> str | None:
    """Path of ``item``'s section of ``figures/SETTINGS.md`` relative to ``base``; None for a profile other than
    quick (the page holds the quick profile's settings; :func:`settings_command` prints the others)."""
    return f"{base}/SETTINGS.md#{catalog.settings_anchor(item)}" if profile == "quick" else None


def settings_command(profile: str) -> str:
    """The command that prints the settings of ``profile``'s runs."""
    return f"python -m dcutils.run_settings --profile {profile}"


def settings_link(item: str, profile: str, base: str = "..") -> str:
    """Markdown link to the settings ``item``'s runs used at ``profile`` (the page holds the quick profile's)."""
    page = settings_page(item, profile, base)
    if page is None:
        return f"settings: profile `{profile}` (`{settings_command(profile)}`)"
    return f"[settings the runs used]({page})"


def settings_reference(item: str, profile: str) -> str:
    """Plain-text pointer (a figure's footer) to the settings ``item``'s runs used at ``profile``."""
    return settings_page(item, profile, "figures") or settings_command(profile)


def compact_seeds(seeds: Iterable[int]) -> str:
    """Seeds as short text: ``0-4`` for a run of three or more, else ``0,2``."""
    seeds = sorted(int(s) for s in seeds)
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(map(str, seeds))


def provenance(settings: Settings, datasets: Iterable[str] = (), seeds: Iterable[int] | None = None,
               notes: Iterable[str] = ()) -> Provenance:
    """Provenance of an output made under ``settings`` from ``datasets`` and ``seeds``.

    ``datasets`` should name substitutes as such, e.g. ``"MNIST (test split only)"``.
    """
    seeds = settings.seeds if seeds is None else seeds
    return Provenance(settings.item, settings.profile, tuple(seeds), tuple(datasets), git_commit(), tuple(notes))


def _stem(prov: Provenance) -> Path:
    it = catalog.get_item(prov.item)
    return paths.figure_dir(it.paper, prov.profile) / it.stem


class HiddenSeriesError(ValueError):
    """A figure draws two identical series in one axes: a reader sees one line where there are two."""


def save_figure(fig, prov: Provenance, *, identical_ok: str | None = None) -> list[Path]:
    """Write ``fig`` as PNG and PDF for ``prov.item`` with a provenance footer.

    Refuses (:class:`HiddenSeriesError`, nothing written) a figure with two identical series in one axes
    (:func:`dcutils.plotting.identical_series`: one would hide the other), unless ``identical_ok`` gives the
    reason they are identical on purpose; that reason is then stated in the footer.
    """
    hidden = plotting.describe_identical(fig)
    if hidden and not (identical_ok and identical_ok.strip()):
        raise HiddenSeriesError(f"{prov.item}: the figure hides a series under another: " + "; ".join(hidden)
                                + ". Fix the plot, or pass save_figure(..., identical_ok='<why they are the same>')")
    footer = (prov.line() + (f" · identical series on purpose: {identical_ok.strip()}" if hidden else "")
              + f" · settings: {settings_reference(prov.item, prov.profile)}")
    width_chars = max(60, int(fig.get_figwidth() * 20))  # about 20 characters of 6-pt text per inch
    link = settings_page(prov.item, prov.profile)  # relative to figures/<paper>/, where the PDF lies
    fig.text(0.005, 0.003, textwrap.fill(footer, width_chars), fontsize=6, color="0.4", ha="left", va="top",
             url=link)  # the PDF's footer links to the settings page
    stem = _stem(prov)
    out = []
    for ext, meta in ((".png", {"Description": prov.line()}), (".pdf", {"Subject": prov.line()})):
        path = stem.with_suffix(ext)
        fig.savefig(path, dpi=150, bbox_inches="tight", metadata=meta)
        out.append(path)
    return out


def save_table(table: pd.DataFrame, prov: Provenance, *, floatfmt: str = ".2f",
               wide: pd.DataFrame | None = None, legend: str = "",
               sections: Sequence[tuple[str, str, pd.DataFrame]] = ()) -> list[Path]:
    """Write ``table`` as CSV (with ``#`` provenance lines) and Markdown for ``prov.item``.

    ``wide``: the same results in the paper's printed layout (e.g. algorithms x data sets with one
    "ours / paper" string per cell; a named index is written as leading columns). When given, the
    Markdown shows it and says that the tidy table, one row per cell, is the CSV beside it; the CSV
    always holds ``table``, the frame to reuse. ``legend``: one sentence on how to read a cell.
    ``sections``: (heading, legend, frame) of further tables derived from the same runs, each written
    to the Markdown under its own ``##`` heading after the main table (not to the CSV).
    """
    stem = _stem(prov)
    header = "".join(f"# {k}: {v}\n" for k, v in prov.as_dict().items())
    csv_path, md_path = stem.with_suffix(".csv"), stem.with_suffix(".md")
    csv_path.write_text(header + table.to_csv(index=False))
    title = catalog.get_item(prov.item).title
    if wide is None:
        body = to_markdown(table, floatfmt)
    else:
        shown = wide.reset_index() if any(n is not None for n in wide.index.names) else wide
        shown.columns = [str(c) for c in shown.columns]
        lead = f"{legend} " if legend else ""
        body = (f"{to_markdown(shown, floatfmt)}\n\n{lead}The paper's layout; the tidy table (one row per cell, "
                f"{len(table)} rows, with every column) is [`{csv_path.name}`]({csv_path.name}).")
    for heading, text, frame in sections:
        body += f"\n\n## {heading}\n\n{to_markdown(frame, floatfmt)}" + (f"\n\n{text}" if text else "")
    md = f"# {prov.item}: {title}\n\n{body}\n\n_{prov.line()}_ · {settings_link(prov.item, prov.profile)}\n"
    md_path.write_text(md)
    return [csv_path, md_path]


def findings_path(item: str, profile: str) -> Path:
    """Where :func:`save_findings` writes ``item``'s findings at ``profile``: beside its figure or table."""
    stem = paths.figure_dir(catalog.get_item(item).paper, profile) / catalog.get_item(item).stem
    return stem.with_name(stem.name + findings.SUFFIX)


def save_findings(prov: Provenance, verdict: str, reason: str | None, values: dict, text: str) -> Findings:
    """Write the item's findings to ``<stem>.values.json`` beside its outputs and return them for display.

    Parameters
    ----------
    prov : the item's provenance (item, profile and commit are stored; the profile picks the folder as for
        :func:`save_figure`, so smoke writes under ``build/smoke/figures/``)
    verdict : one of :data:`dcutils.findings.VERDICTS`: "reproduces", "does not reproduce", "inconclusive",
        "not testable here"
    reason : one sentence; required for "inconclusive" and "not testable here"
    values : flat dict name -> finite number or string: every number the text (and reason) cites
    text : the notebook's "What we see" Markdown, computed from its runs

    Returns
    -------
    :class:`dcutils.findings.Findings`, which a notebook cell displays as Markdown (verdict line, then text).

    Raises ValueError for an unknown verdict, a missing reason, a non-finite or non-scalar value, or a number
    in the text that is not among ``values`` (:func:`dcutils.findings.unchecked_numbers`); nothing is written then.
    """
    found = findings.make(prov.item, prov.profile, prov.commit, verdict, reason, values, text)
    findings.write(findings_path(prov.item, prov.profile), found)
    return found


def read_findings(item: str, profile: str = "quick") -> Findings | None:
    """``item``'s findings at ``profile`` as :func:`save_findings` wrote them; None when it has none yet.

    Raises :class:`dcutils.findings.FindingsError` (a ValueError) when the file is corrupt.
    """
    return findings.read(findings_path(item, profile))


def to_markdown(table: pd.DataFrame, floatfmt: str = ".2f") -> str:
    """A GitHub Markdown table (no extra dependency)."""

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return "—" if math.isnan(v) else format(v, floatfmt)
        return str(v).replace("|", "\\|")

    cols = [str(c) for c in table.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


# ----------------------------------------------------------------------------
# paper vs reproduced


def comparison(runs: pd.DataFrame, paper: pd.DataFrame, keys: Sequence[str], metric: str,
               *, scale: float = 100.0) -> pd.DataFrame:
    """Paper value, reproduced mean ± SE, difference and seed count per cell.

    Parameters
    ----------
    runs : one row per run with the ``keys`` columns and ``metric`` (a fraction).
    paper : one row per cell with the ``keys`` columns, ``paper`` (in percent, NaN
        when the paper gives none) and optionally ``paper_se``.
    keys : the columns identifying a cell (e.g. ``["dataset", "variant"]``).
    scale : factor from the run metric to the paper's unit (100 for percent).

    Returns
    -------
    DataFrame with ``keys`` then ``paper``, ``paper_se``, ``reproduced``,
    ``reproduced_se``, ``difference`` (reproduced − paper), ``seeds``. Cells of
    the paper with no run keep NaN in the reproduced columns and 0 seeds; runs
    with no paper cell are kept with NaN paper values.
    """
    keys = list(keys)
    if "paper_se" not in paper.columns:
        paper = paper.assign(paper_se=math.nan)
    rows = []
    if len(runs):
        for key, group in runs.groupby(keys, sort=False):
            key = key if isinstance(key, tuple) else (key,)
            m, se, n = claims.mean_se(group[metric] * scale)
            rows.append({**dict(zip(keys, key)), "reproduced": m, "reproduced_se": se, "seeds": n})
    rep = pd.DataFrame(rows, columns=[*keys, "reproduced", "reproduced_se", "seeds"])
    table = paper[[*keys, "paper", "paper_se"]].merge(rep, on=keys, how="outer", sort=False)
    table["seeds"] = table["seeds"].fillna(0).astype(int)
    table["difference"] = table["reproduced"] - table["paper"]
    return table[[*keys, "paper", "paper_se", "reproduced", "reproduced_se", "difference", "seeds"]]


def plus_minus(mean: float, se: float, digits: int = 2) -> str:
    """``"84.50 ± 1.20"``, or ``"—"`` for a missing value."""
    if mean is None or not np.isfinite(mean):
        return "—"
    if se is None or not np.isfinite(se):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {se:.{digits}f}"
