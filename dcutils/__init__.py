"""dcutils: the shared code behind the reset-based deep clustering companion.

Notebooks under ``notebooks/<paper>/`` import this package for data, models,
resets, reclustering, training loops, metrics, cached runs and plotting.

Modules
-------
paths     every location the project reads or writes (nothing depends on the
          working directory)
device    the torch device runs use (CUDA when present, ``DCUTILS_DEVICE``)
profiles  the ``smoke`` / ``quick`` / ``paper`` profiles and notebook settings
data      data set loaders returning device-ready tensors
metrics   clustering and geometry metrics, each naming the paper's equation
cache     atomic, checksummed storage keyed by config and code hashes
runs      run configs, the algorithm registry and the cached ``get_runs``
outputs   figures and tables written to ``figures/<paper>/`` with provenance
catalog   every figure and table of the three papers, with status and outputs
"""

__version__ = "0.1.0"
