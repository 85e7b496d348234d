"""Our DEC without pretraining on OPTDIGITS next to the authors' own code, epoch by epoch (issue 20).

The authors' repository runs offline on a CPU with small stand-ins (see the
``#`` lines of ``dcutils/reference/brb_authors_code_dec_optdigits.csv``). Run
there with their grid runner's configuration and our quick protocol's BRB
interval (T = 63 epochs), plain DEC and DEC+BRB without pretraining give a
per-epoch ACC that ours should match: the same network, data, losses and
schedule, other seeds. The comparison is unpaired (the seeds differ): per
epoch, ours minus theirs with SE = sqrt(SE_ours² + SE_theirs²), and the two
agree when the difference is within 2 SE.

``python -m dcutils.brb.crosscheck`` prints the table from the committed quick
records (OPTDIGITS, DEC without pretraining, plain and +BRB, seeds 0-2).
"""
from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from dcutils import claims, outputs, runs
from dcutils.brb.settings import grid_config
from dcutils.experiments import notebook_settings
from dcutils.reference import brb_authors_dec_optdigits

__all__ = ["EPOCHS", "VARIANTS", "our_configs", "our_acc", "comparison", "main"]

#: Epochs compared: the start, early training, around the BRB steps at 63 and 126, and the end of their runs.
EPOCHS = (0, 1, 3, 10, 30, 60, 63, 64, 100, 126, 127, 130)
#: Our variant per name of theirs.
VARIANTS = {"DEC": "none", "DEC+BRB": "brb"}


def our_configs(profile: str = "quick") -> list:
    """The ``brb.dc`` grid configs of OPTDIGITS, DEC without pretraining, plain and +BRB, every seed of ``profile``."""
    s = notebook_settings("brb/tab13", profile, {})
    return [grid_config(s, "optdigits", "dec", v, False, seed) for v in VARIANTS.values() for seed in s.seeds]


def our_acc(runset) -> pd.DataFrame:
    """Columns variant (their names), seed, epoch, acc (percent) of ``runset``'s DEC runs without pretraining."""
    hist = runset.history()
    names = {v: k for k, v in VARIANTS.items()}
    hist = hist[(hist["method"] == "dec") & (~hist["pretrain"].astype(bool)) & hist["variant"].isin(names)]
    return pd.DataFrame({"variant": hist["variant"].map(names).to_numpy(), "seed": hist["seed"].to_numpy(),
                         "epoch": hist["epoch"].to_numpy(), "acc": hist["acc"].to_numpy() * 100})


def comparison(ours: pd.DataFrame, theirs: pd.DataFrame | None = None, epochs=EPOCHS) -> pd.DataFrame:
    """Per variant and epoch: theirs and ours (mean ± SE over seeds), ours − theirs ± SE, and whether it is within 2 SE.

    Parameters
    ----------
    ours, theirs : columns variant, seed, epoch, acc (percent); ``theirs`` defaults to the authors' runs
    epochs : the epochs to compare (those both sides have)

    Returns
    -------
    DataFrame: variant, epoch, theirs, theirs_se, theirs_n, ours, ours_se, ours_n, difference,
    difference_se, agrees ("yes" within 2 SE, "no" beyond, "—" without an SE).
    """
    theirs = brb_authors_dec_optdigits() if theirs is None else theirs
    rows = []
    for variant in VARIANTS:
        for epoch in epochs:
            c = claims.unpaired(ours.loc[(ours["variant"] == variant) & (ours["epoch"] == epoch), "acc"],
                                theirs.loc[(theirs["variant"] == variant) & (theirs["epoch"] == epoch), "acc"])
            o, t, diff, se = c["a"], c["b"], c["mean"], c["se"]
            if t[2] == 0 or o[2] == 0:
                continue
            agrees = "—" if not np.isfinite(se) else ("yes" if c["direction"] == claims.INCONCLUSIVE else "no")
            rows.append({"variant": variant, "epoch": epoch, "theirs": t[0], "theirs_se": t[1], "theirs_n": t[2],
                         "ours": o[0], "ours_se": o[1], "ours_n": o[2], "difference": diff, "difference_se": se,
                         "agrees": agrees})
    return pd.DataFrame(rows, columns=["variant", "epoch", "theirs", "theirs_se", "theirs_n", "ours", "ours_se",
                                       "ours_n", "difference", "difference_se", "agrees"])


def main(argv: list[str] | None = None) -> int:
    """Print the comparison from the committed quick records (Markdown); exit 1 when a record is missing."""
    profile = (argv or sys.argv[1:] or ["quick"])[0]
    configs = our_configs(profile)
    missing = [c.label() for c in configs if runs.load_cached(c) is None]
    if missing:
        print(f"{len(missing)} of {len(configs)} records missing at {profile}: "
              f"python -m dcutils.compute --profile {profile} --item brb/tab13", file=sys.stderr)
        return 1
    table = comparison(our_acc(runs.get_runs(configs)))
    view = table.assign(theirs=[outputs.plus_minus(m, s) for m, s in zip(table["theirs"], table["theirs_se"])],
                        ours=[outputs.plus_minus(m, s) for m, s in zip(table["ours"], table["ours_se"])],
                        difference=[f"{d:+.1f} ± {s:.1f}" for d, s in zip(table["difference"],
                                                                          table["difference_se"])])
    print(outputs.to_markdown(view[["variant", "epoch", "theirs", "ours", "difference", "agrees"]]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
