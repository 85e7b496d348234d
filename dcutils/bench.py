"""Speed benchmarks (``make bench``): BRB's cost on USPS, and batched k-means.

Prints, for the machine it runs on (CPU or GPU, whatever :func:`dcutils.device.default_device` picks):

1. IDEC+BRB on USPS (all 9,298 images, 28×28, a fresh autoencoder): seconds per clustering epoch
   (training only, median over epochs) and seconds per BRB step (soft reset + embedding + k-means on the
   10,000-sample subsample, i.e. all of USPS, + momentum reset). From them, BRB's share of a whole clustering
   phase at the paper's protocol (400 epochs, a step every 20 epochs: 19 steps), next to the paper's 1.1 %
   (A100; Appendix G), and the share measured in the benchmark run itself.
2. k-means with n_init = 10 on a 10,000 × 10 embedding-like matrix: the batched torch implementation
   (all restarts at once), ten sequential single-restart torch runs, and scikit-learn's ``KMeans``.

Timings are wall-clock seconds; on CUDA every timed region synchronises first. The results are also written
to ``bench/out/bench-<device>.json`` (git-ignored). This is a benchmark, not a test: nothing is asserted.
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import time

import torch

from dcutils import brb, cache, kmeans, paths
from dcutils.data import load_dataset
from dcutils.device import default_device, seed_everything
from dcutils.hparams import BRB_GRAYSCALE

PAPER_SHARE = 1.1
PAPER_EPOCHS, PAPER_T = 400, 20


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench_brb_usps(device: torch.device, epochs: int = 4) -> dict:
    """IDEC+BRB on all of USPS for ``epochs`` epochs with a BRB step at every epoch after the first."""
    data = load_dataset("usps", split="all", device=device)
    gen = seed_everything(0)
    model = brb.pretrain.new_model(data, 0, device)
    result = brb.train_clustering(model, data.x, data.y, method="idec", variant="brb", cluster_epochs=epochs,
                                  reset_interval=1, augment=brb.make_augmenter(data), generator=gen)
    h = result.history.iloc[1:]
    epoch_s = statistics.median(h["epoch_seconds"])
    steps = h[h["brb"].astype(bool)]
    step_s = statistics.median(steps["brb_seconds"]) if len(steps) else float("nan")
    n_steps = len(brb.reset_epochs(PAPER_EPOCHS, PAPER_T))
    return {
        "samples": len(data),
        "seconds_per_epoch": epoch_s,
        "seconds_per_step": epoch_s / math.ceil(len(data) / BRB_GRAYSCALE.batch_size),
        "seconds_per_brb_step": step_s,
        "brb_components_ms": {c: 1e3 * statistics.median(steps[c]) for c in ("t_reset", "t_embed", "t_cluster",
                                                                                "t_momentum")} if len(steps) else {},
        "share_at_paper_protocol_percent": 100 * n_steps * step_s / (PAPER_EPOCHS * epoch_s),
        "share_in_this_run_percent": 100 * float(h["brb_seconds"].sum() / h["epoch_seconds"].sum()),
        "epochs": epochs,
    }


def bench_kmeans(device: torch.device, n: int = 10_000, d: int = 10, k: int = 10, n_init: int = 10) -> dict:
    """Seconds of k-means (n_init restarts) batched in torch, sequential in torch, and in scikit-learn."""
    g = torch.Generator().manual_seed(0)
    centers = torch.randn(k, d, generator=g) * 3
    x = (centers[torch.randint(0, k, (n,), generator=g)] + torch.randn(n, d, generator=g)).to(device)
    out = {"n": n, "d": d, "k": k, "n_init": n_init}

    def timed(fn) -> tuple[float, float]:
        _sync(device)
        t0 = time.perf_counter()
        inertia = fn()
        _sync(device)
        return time.perf_counter() - t0, inertia

    kmeans.kmeans(x, k, n_init=2, generator=1)  # warm-up
    out["torch_batched_s"], out["torch_batched_inertia"] = timed(
        lambda: kmeans.kmeans(x, k, n_init=n_init, generator=0).inertia)
    out["torch_sequential_s"], out["torch_sequential_inertia"] = timed(
        lambda: min(kmeans.kmeans(x, k, n_init=1, generator=i).inertia for i in range(n_init)))
    try:
        from sklearn.cluster import KMeans

        xs = x.cpu().numpy()
        out["sklearn_s"], out["sklearn_inertia"] = timed(
            lambda: float(KMeans(k, n_init=n_init, random_state=0).fit(xs).inertia_))
    except ImportError:  # pragma: no cover - scikit-learn is a dependency
        pass
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=4, help="clustering epochs of the USPS benchmark (>= 2)")
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first epoch has no BRB step)")
    device = default_device()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{platform.processor() or 'cpu'}"
    print(f"device: {device} ({name}), torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    res = {"device": str(device), "device_name": name, "torch": torch.__version__,
           "threads": torch.get_num_threads()}
    b = bench_brb_usps(device, args.epochs)
    res["brb_usps"] = b
    print(f"\nIDEC+BRB on USPS ({b['samples']:,} images, {b['epochs']} epochs, a BRB step every epoch after the first)")
    print(f"  seconds per clustering epoch (training only) : {b['seconds_per_epoch']:.3f}")
    print(f"  seconds per BRB step                         : {b['seconds_per_brb_step']:.3f}  "
          + ", ".join(f"{k[2:]} {v:.1f} ms" for k, v in b["brb_components_ms"].items()))
    print(f"  BRB share of a clustering phase, paper protocol (19 steps in 400 epochs): "
          f"{b['share_at_paper_protocol_percent']:.2f} %   (paper: {PAPER_SHARE} % on an A100)")
    print(f"  BRB share in this benchmark run (a step every epoch): {b['share_in_this_run_percent']:.1f} %")
    km = bench_kmeans(device)
    res["kmeans"] = km
    print(f"\nk-means, n_init {km['n_init']}, {km['n']:,} x {km['d']}, k = {km['k']}")
    print(f"  torch, restarts batched   : {km['torch_batched_s']:.3f} s (inertia {km['torch_batched_inertia']:.1f})")
    print(f"  torch, restarts one by one: {km['torch_sequential_s']:.3f} s "
          f"(inertia {km['torch_sequential_inertia']:.1f})")
    if "sklearn_s" in km:
        print(f"  scikit-learn KMeans (CPU) : {km['sklearn_s']:.3f} s (inertia {km['sklearn_inertia']:.1f})")
    out = paths.ROOT / "bench" / "out" / f"bench-{device.type}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + "\n")
    print(f"\nwritten to {out.relative_to(paths.ROOT)}")
    # the step time `make status` multiplies by the optimizer steps still to run
    step = {"seconds_per_step": b["seconds_per_step"], "device": f"{device} ({name})",
            "batch_size": BRB_GRAYSCALE.batch_size,
            "what": "IDEC+BRB clustering step on USPS, fp32, training only"}
    cache.atomic_write_bytes(paths.results_root() / "bench.json", (json.dumps(step, indent=1) + "\n").encode())
    print(f"optimizer step: {1e3 * b['seconds_per_step']:.1f} ms (written to results/bench.json for make status)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
