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
models    feed-forward autoencoders (BRB d-1024-512-256-K, R-DC d-500-500-2000-10)
resets    soft reset (shrink & perturb), Adam moment reset, ablation variants
kmeans    k-means (k-means++), k-medoids and Gaussian-mixture EM in torch
augment   batched, on-device image augmentation
acai      ACAI critic and losses (R-DC phase 1)
proximity proximity-level self-supervision (R-DC phase 2)
hparams   the papers' hyperparameters as the objects the code runs with
cache     atomic, checksummed storage keyed by config and code hashes
runs      run configs, the algorithm registry and the cached ``get_runs``
outputs   figures and tables written to ``figures/<paper>/`` with provenance
catalog   every figure and table of the three papers, with status and outputs
paper_data the numbers printed in the papers, as tidy CSV tables (one loader each)
"""

__version__ = "0.1.0"
