"""Settings and run lists of the brb items."""
from __future__ import annotations

from dcutils.profiles import register_item  # noqa: F401
from dcutils.experiments import run_list  # noqa: F401

#: The eight data sets of BRB Table 3, in the paper's order.
TAB03_DATASETS = ["optdigits", "gtsrb5", "usps", "cifar10", "cifar100-20", "mnist", "fmnist", "kmnist"]
register_item("brb/tab03", {p: {"datasets": TAB03_DATASETS} for p in ("smoke", "quick", "paper")})
