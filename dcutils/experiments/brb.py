"""Settings and run lists of the brb items."""
from __future__ import annotations

from dcutils.profiles import register_item  # noqa: F401
from dcutils.experiments import run_list  # noqa: F401
