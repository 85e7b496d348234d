"""Speed benchmarks (``make bench``): BRB's cost on USPS, and batched k-means.

Prints, for the machine it runs on (CPU or GPU, whatever :func:`dcutils.device.default_device` picks):

1. IDEC+BRB on USPS (all 9,298 images, 28×28, a fresh autoencoder): seconds per clustering epoch
   (training only, median over epochs) and seconds per BRB step (soft reset + embedding + k-means on the
   10,000-sample subsample, i.e. all of USPS, + momentum reset). From them, BRB's share of a whole clustering
   phase at the paper's protocol (400 epochs, a step every 20 epochs: 19 steps), next to the paper's 1.1 %
   (A100; Appendix G), and the share measured in the benchmark run itself.
2. k-means with n_init = 10 on a 10,000 × 10 embedding-like matrix: the batched torch implementation
   (all restarts at once), ten sequential single-restart torch runs, and scikit-learn's ``KMeans``.
3. Precision and optimizer (:mod:`dcutils.precision`): the machine's matmul peak in fp32 and bf16
   measured in the same run (TFLOP/s, a 2048³ product and the network's 256 × 1024 × 1024 shape), then
   one IDEC training step of BRB's autoencoder (784-1024-512-256-10, batch 256 plus its augmented view,
   gradient clipping, Adam) for fp32 + torch's default Adam, fp32 + fused Adam and bf16 autocast +
   fused Adam, each with its achieved TFLOP/s and its share of the measured bf16 peak; forward +
   backward alone in fp32 and bf16; Adam's ``step()`` alone (default, for-each, fused); and a
   pretraining step (reconstruction MSE, one view). The matmuls and all variants are timed in the
   same interleaved rounds, so a neighbour's load on shared cores falls on all of them alike. Times
   are the median round; TFLOP/s and the share of the bf16 peak compare each one's best round with the
   matmul's best round (a peak is what the cores do undisturbed, so the step is taken likewise).

   FLOPs of a step count the matrix products only: forward ``2 · rows · Σ in·out`` over the encoder
   and decoder Linear layers (rows = 512 for the IDEC step: the batch and its augmented view), and
   backward twice that, so a step is ``6 · rows · Σ in·out`` (8.97 GFLOP for the IDEC step).

4. ReSL's pipeline (``--resl`` adds it; ``--only-resl`` runs it alone): seconds per epoch of SimCLR
   (batch 512), SCAN (batch 128) and self-labeling (batch 250, every sample confident so every batch
   trains; evaluation timed apart) on Fashion-MNIST images for ResNet18 widths 1/16, 1/8 and 1/4,
   bf16 autocast and fused Adam (quick's choices), timed on a few batches and scaled to 3,000
   training and 2,000 evaluation images (quick's sizes). This is how quick's width was chosen.

5. Stacked runs (issue 25): one IDEC mini-batch step of BRB's autoencoder with BatchNorm, alone and per run
   of a stacked group of 1, 3 and 10 runs (:class:`dcutils.stacking.StackedNetworks`), fp32 and bf16, in
   interleaved rounds. ``make status`` divides brb.dc's step time by the fp32 speed-up of the group size
   ``compute --stack auto`` uses on the device.

Timings are wall-clock seconds; on CUDA every timed region synchronises first. The results are also written
to ``bench/out/bench-<device>.json`` (git-ignored), and the step time and stacked speed-ups of this kind of
device (:func:`dcutils.environment.device_label`) to ``results/bench.json`` (git-ignored, one entry per
device) for ``make status``. This is a benchmark, not a test: nothing is asserted.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable

import torch
from torch import nn

from dcutils import brb, cache, environment, kmeans, paths, precision
from dcutils.brb.stacked import batch_loss
from dcutils.brb.train import batches_per_epoch
from dcutils.data import load_dataset
from dcutils.device import default_device, seed_everything
from dcutils.hparams import BRB_GRAYSCALE
from dcutils.models import brb_autoencoder
from dcutils.resl import network, pretext, selflabel, strategies
from dcutils.stacking import StackedNetworks

PAPER_SHARE = 1.1
PAPER_EPOCHS, PAPER_T = 400, 20


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


#: Issue 9's goals on the 2-core CPU: an IDEC+BRB clustering epoch and a pretraining epoch on USPS, seconds.
EPOCH_GOALS = {"cluster": 0.6, "pretrain": 0.3}


def bench_brb_usps(device: torch.device, epochs: int = 4, precision: str = "fp32") -> dict:
    """IDEC+BRB on all of USPS for ``epochs`` epochs with a BRB step at every epoch after the first, in
    ``precision`` with fused Adam and the authors' training choices (the library defaults); then two
    pretraining epochs (MSE, one view) timed the same way."""
    data = load_dataset("usps", split="all", device=device)
    gen = seed_everything(0)
    model = brb.pretrain.new_model(data, 0, device)
    result = brb.train_clustering(model, data.x, data.y, method="idec", variant="brb", cluster_epochs=epochs,
                                  reset_interval=1, augment=brb.make_augmenter(data), generator=gen,
                                  precision=precision)
    h = result.history.iloc[1:]
    epoch_s = statistics.median(h["epoch_seconds"])
    steps = h[h["brb"].astype(bool)]
    step_s = statistics.median(steps["brb_seconds"]) if len(steps) else float("nan")
    n_steps = len(brb.reset_epochs(PAPER_EPOCHS, PAPER_T))
    pre_model = brb.pretrain.new_model(data, 0, device)
    pre_times = []
    for _ in range(3):  # the first epoch warms up
        _sync(device)
        t0 = time.perf_counter()
        brb.pretrain_autoencoder(pre_model, data.x, epochs=1, generator=gen, precision=precision)
        _sync(device)
        pre_times.append(time.perf_counter() - t0)
    return {
        "precision": precision,
        "samples": len(data),
        "seconds_per_epoch": epoch_s,
        "seconds_per_step": epoch_s / batches_per_epoch(len(data), BRB_GRAYSCALE.batch_size),
        "seconds_per_pretrain_epoch": statistics.median(pre_times[1:]),
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


# ------------------------------------------------------------------ precision and optimizer
#: Matmul shapes (m, k, n) of the peak measurement: a large square one, and the network's widest layer.
MATMUL_SHAPES = ((2048, 2048, 2048), (256, 1024, 1024))
#: The training-step variants: (name, precision, Adam implementation).
STEP_VARIANTS = (("fp32 + default Adam", "fp32", "default"), ("fp32 + fused Adam", "fp32", "fused"),
                 ("bf16 + fused Adam", "bf16", "fused"))
ADAM_KINDS = ("default", "foreach", "fused")


def cpu_info() -> dict:
    """The CPU's model name and whether it has bf16 matrix units (AMX) or bf16 dot products (AVX-512 BF16)."""
    model, flags = platform.processor() or "cpu", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:  # not Linux: the name from platform only
        pass
    bf16 = ("AMX" if "amx_bf16" in flags else "AVX-512 BF16 (no AMX)" if "avx512_bf16" in flags
            else "none (bf16 is emulated)" if flags else "unknown")
    return {"model": model, "amx_bf16": "amx_bf16" in flags, "avx512_bf16": "avx512_bf16" in flags,
            "bf16_units": bf16}


def _interleaved(fns: dict[str, Callable[[], object]], rounds: int, device: torch.device) -> dict[str, list[float]]:
    """Seconds of each ``fn()`` call in each of ``rounds`` rounds; the order rotates round by round, so
    a neighbour's load on shared cores falls on all of them alike."""
    names = list(fns)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            _sync(device)
            t0 = time.perf_counter()
            fns[name]()
            _sync(device)
            times[name].append(time.perf_counter() - t0)
    return times


def _matmul_fns(device: torch.device) -> tuple[dict[str, Callable[[], object]], dict[str, float]]:
    """Timed calls of plain matrix products (fp32 and bf16 for each of :data:`MATMUL_SHAPES`) and their FLOPs."""
    g = torch.Generator().manual_seed(0)
    fns, flops = {}, {}
    for m, k, n in MATMUL_SHAPES:
        a, b = torch.randn(m, k, generator=g).to(device), torch.randn(k, n, generator=g).to(device)
        reps = max(1, int(1e10 // (2 * m * k * n)))  # ~10 GFLOP per timed call
        for dtype, (x, y) in {"fp32": (a, b), "bf16": (a.bfloat16(), b.bfloat16())}.items():
            name = f"matmul {m}x{k}x{n} {dtype}"
            fns[name] = lambda x=x, y=y, reps=reps: [torch.mm(x, y) for _ in range(reps)]
            flops[name] = 2.0 * m * k * n * reps
    return fns, flops


def _peaks(times: dict[str, list[float]], flops: dict[str, float]) -> dict:
    """TFLOP/s of each matmul (best round and median round) and the fp32 / bf16 peaks (best rounds)."""
    out: dict = {"shapes": {}}
    for name, f in flops.items():
        shape, dtype = name.split()[1:]
        out["shapes"].setdefault(shape, {})[dtype] = f / min(times[name]) / 1e12
        out["shapes"][shape][f"{dtype}_median_round"] = f / statistics.median(times[name]) / 1e12
    for dtype in precision.PRECISIONS:
        out[f"{dtype}_peak_tflops"] = max(v[dtype] for v in out["shapes"].values())
    return out


def matmul_peak(device: torch.device, threads: int | None = None, rounds: int = 7) -> dict:
    """:func:`_peaks` of plain matrix products, optionally with ``threads`` CPU threads."""
    old = torch.get_num_threads()
    if threads is not None and device.type == "cpu":
        torch.set_num_threads(threads)
    try:
        fns, flops = _matmul_fns(device)
        for f in fns.values():
            f()  # warm-up (oneDNN / cuBLAS pick their kernels)
        return {"threads": torch.get_num_threads(), **_peaks(_interleaved(fns, rounds, device), flops)}
    finally:
        torch.set_num_threads(old)


def linear_macs(model: nn.Module) -> int:
    """Σ in·out over the model's Linear layers (multiply-adds per sample of one forward pass)."""
    return sum(m.in_features * m.out_features for m in model.modules() if isinstance(m, nn.Linear))


def _step_setup(device: torch.device, batch: int = 256, dim: int = 784, k: int = 10, seed: int = 0):
    """BRB's autoencoder, DEC/IDEC centroids, a batch in [0, 1] and a slightly perturbed second view."""
    g = torch.Generator().manual_seed(seed)
    xb = torch.rand(batch, dim, generator=g).to(device)
    xa = (xb + 0.05 * torch.randn(batch, dim, generator=g).to(device)).clamp(0, 1)
    torch.manual_seed(seed)
    model = brb_autoencoder(dim, k).to(device)
    centroids = nn.Parameter(torch.randn(k, k, generator=g).to(device))
    return model, centroids, xb, xa


def _make_adam(params: list, kind: str) -> torch.optim.Adam:
    """Adam with BRB's settings: torch's default implementation, for-each, or fused."""
    kw = {"lr": 1e-3, "betas": BRB_GRAYSCALE.betas, "weight_decay": BRB_GRAYSCALE.weight_decay}
    if kind == "foreach":
        return torch.optim.Adam(params, foreach=True, **kw)
    return precision.adam(params, fused=kind == "fused", **kw)


def _idec_steps(device: torch.device, model: nn.Module, centroids: nn.Parameter, xb: torch.Tensor,
                xa: torch.Tensor, opt: torch.optim.Optimizer, prec: str, clipped: list, steps: int
                ) -> Callable[[], None]:
    """``steps`` IDEC training steps of ``model`` (loss under autocast, backward, clipping ``clipped``, Adam)."""
    def run():
        for _ in range(steps):
            with precision.autocast(device, prec):
                total = brb.clustering_loss("idec", model, xb, centroids, xa)[0]
            opt.zero_grad(set_to_none=True)
            total.backward()
            nn.utils.clip_grad_norm_(clipped, BRB_GRAYSCALE.grad_clip)
            opt.step()
    return run


def bench_precision(device: torch.device, batch: int = 256, steps_per_round: int = 10, rounds: int = 9) -> dict:
    """BRB training steps by precision and Adam implementation, interleaved with the matmul peak.

    The IDEC step is what :func:`dcutils.brb.train_clustering` does per mini-batch (loss on the batch
    and its augmented view, backward, gradient clipping, Adam), in a loop of its own: autocast around
    the loss only, backward and the optimizer outside it.
    """
    def idec_steps(model, centroids, xb, xa, opt, prec):
        return _idec_steps(device, model, centroids, xb, xa, opt, prec, [*model.parameters(), centroids],
                           steps_per_round)

    def fwd_bwd(model, centroids, xb, xa, prec):
        def run():
            for _ in range(steps_per_round):
                model.zero_grad(set_to_none=True)
                centroids.grad = None
                with precision.autocast(device, prec):
                    total = brb.clustering_loss("idec", model, xb, centroids, xa)[0]
                total.backward()
        return run

    def pretrain_steps(model, xb, opt, prec):
        def run():
            for _ in range(steps_per_round):
                with precision.autocast(device, prec):
                    loss = nn.functional.mse_loss(model(xb)[1], xb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        return run

    fns, flops = _matmul_fns(device)
    implementations = {}
    for name, prec, kind in STEP_VARIANTS:
        model, centroids, xb, xa = _step_setup(device, batch)
        opt = _make_adam([*model.parameters(), centroids], kind)
        implementations[name] = precision.adam_implementation(opt)
        fns[f"step: {name}"] = idec_steps(model, centroids, xb, xa, opt, prec)
    for prec in precision.PRECISIONS:
        model, centroids, xb, xa = _step_setup(device, batch)
        fns[f"forward+backward: {prec}"] = fwd_bwd(model, centroids, xb, xa, prec)
        model, _, xb, _ = _step_setup(device, batch)
        opt = _make_adam(list(model.parameters()), "fused")
        fns[f"pretrain step: {prec} + fused Adam"] = pretrain_steps(model, xb, opt, prec)
    for kind in ADAM_KINDS:
        model, centroids, _, _ = _step_setup(device, batch)
        params = [*model.parameters(), centroids]
        for p in params:
            p.grad = torch.randn_like(p) * 1e-3
        opt = _make_adam(params, kind)
        implementations[f"adam {kind}"] = precision.adam_implementation(opt)
        fns[f"adam step: {kind}"] = lambda opt=opt: [opt.step() for _ in range(steps_per_round)]
    for f in fns.values():
        f()  # warm-up: the first steps allocate optimizer state, oneDNN picks its kernels
    times = _interleaved(fns, rounds, device)
    macs = linear_macs(brb_autoencoder(784, 10))
    gflop = {"idec": 6 * 2 * batch * macs / 1e9, "pretrain": 6 * batch * macs / 1e9}  # IDEC: batch + augmented view
    peak = _peaks(times, flops)
    out: dict = {"batch_size": batch, "steps_per_round": steps_per_round, "rounds": rounds,
                 "matmul": {"threads": torch.get_num_threads(), **peak},
                 "fused_adam_unsupported_reason": precision.fused_adam_unsupported([torch.zeros(1, device=device)]),
                 "implementations": implementations, "linear_macs_per_sample": macs,
                 "idec_step_gflop": gflop["idec"], "pretrain_step_gflop": gflop["pretrain"],
                 "seconds": {}, "seconds_best_round": {}, "tflops": {}, "share_of_bf16_peak_percent": {}}
    for name, t in times.items():
        if name.startswith("matmul"):
            continue
        out["seconds"][name] = statistics.median(t) / steps_per_round
        out["seconds_best_round"][name] = min(t) / steps_per_round
        g = gflop["pretrain"] if name.startswith("pretrain") else gflop["idec"] if "adam step" not in name else None
        if g is not None:
            # like for like: the best round of the step against the best round of the matmul
            tf = g / out["seconds_best_round"][name] / 1e3
            out["tflops"][name] = tf
            out["share_of_bf16_peak_percent"][name] = 100 * tf / peak["bf16_peak_tflops"]
    return out


#: Group sizes of section 5: a run alone in the stacked code, a cell's three seeds, a paper cell's ten.
STACK_SIZES = (1, 3, 10)


def bench_stacked(device: torch.device, sizes: tuple[int, ...] = STACK_SIZES, batch: int = 256,
                  steps_per_round: int = 5, rounds: int = 5, precisions: tuple[str, ...] = ("fp32", "bf16"),
                  compiled: bool = False) -> dict:
    """Seconds of one IDEC mini-batch step of a single run and per run of a stacked group (section 5).

    BRB's autoencoder with BatchNorm (the authors' runs), the batch and its augmented view, fused Adam and
    gradient clipping: the single step as :func:`dcutils.brb.train_clustering` takes it, and the stacked step
    of :func:`dcutils.brb.stacked.train_clustering_group` (:class:`dcutils.stacking.StackedNetworks`) for each
    group size, in each precision, timed in interleaved rounds (median round). ``per_run_seconds`` is a group
    step's time divided by its size: what one run costs when it trains in that group. With ``compiled`` the
    stacked steps are also timed with the loss under ``torch.compile`` (``mode="reduce-overhead"``, i.e.
    CUDA graphs, on a GPU; inductor's default on a CPU), compilation outside the timing.
    """
    def single(prec: str):
        _, centroids, xb, xa = _step_setup(device, batch)
        model = brb_autoencoder(784, 10, batch_norm=True).to(device)
        opt = _make_adam([*model.parameters(), centroids], "fused")
        return _idec_steps(device, model, centroids, xb, xa, opt, prec, list(model.parameters()), steps_per_round)

    def stacked(size: int, prec: str, compile_: bool = False):
        parts = [_step_setup(device, batch, seed=r) for r in range(size)]
        torch.manual_seed(0)
        stack = StackedNetworks([brb_autoencoder(784, 10, batch_norm=True).to(device) for _ in range(size)])
        centroids = [p[1] for p in parts]
        xb, xa = torch.stack([p[2] for p in parts]), torch.stack([p[3] for p in parts])
        opt = _make_adam([*stack.parameters(), *centroids], "fused")
        stack.train()

        def loss(xb, c, xa):
            with precision.autocast(device, prec):
                return stack.map(lambda net, b, cc, a: batch_loss("idec", "entries", "authors", net, b, cc, a),
                                 xb, c, xa)[0]

        if compile_:
            loss = torch.compile(loss, mode="reduce-overhead" if device.type == "cuda" else None)

        def run():
            for _ in range(steps_per_round):
                total = loss(xb, torch.stack(centroids), xa)
                opt.zero_grad(set_to_none=True)
                total.sum().backward()
                stack.clip_grad_norms_(BRB_GRAYSCALE.grad_clip)
                opt.step()
        return run

    fns: dict[str, Callable[[], object]] = {}
    for prec in precisions:
        fns[f"single {prec}"] = single(prec)
        for size in sizes:
            fns[f"stacked {size} {prec}"] = stacked(size, prec)
            if compiled:
                fns[f"compiled {size} {prec}"] = stacked(size, prec, compile_=True)
    with warnings.catch_warnings():  # torch's one-time "no batching rule" notes: their cost is what is measured
        warnings.filterwarnings("ignore", message=".*batching rule.*")
        for f in fns.values():
            f()  # warm-up
        times = _interleaved(fns, rounds, device)
    out: dict = {"batch_size": batch, "sizes": list(sizes), "steps_per_round": steps_per_round, "rounds": rounds,
                 "precisions": {}}
    for prec in precisions:
        one = statistics.median(times[f"single {prec}"]) / steps_per_round
        group = {size: statistics.median(times[f"stacked {size} {prec}"]) / steps_per_round for size in sizes}
        out["precisions"][prec] = {
            "single_seconds": one,
            "group_seconds": {str(k): v for k, v in group.items()},
            "per_run_seconds": {str(k): v / k for k, v in group.items()},
            "speedup_per_run": {str(k): one / (v / k) for k, v in group.items()},
        }
        if compiled:
            comp = {size: statistics.median(times[f"compiled {size} {prec}"]) / steps_per_round for size in sizes}
            out["precisions"][prec]["compiled_speedup_per_run"] = {str(k): one / (v / k) for k, v in comp.items()}
    return out


def print_stacked(st: dict) -> None:
    """Print section 5."""
    print(f"\nStacked runs (issue 25): one IDEC step, batch {st['batch_size']} + its augmented view, BatchNorm, fused "
          f"Adam; ms per run (median of {st['rounds']} interleaved rounds)")
    sizes = st["sizes"]
    print(f"  {'':8s} {'single':>8s} " + " ".join(f"{'group ' + str(k):>10s}" for k in sizes)
          + "   speed-up per run at " + ", ".join(str(k) for k in sizes))
    for prec, v in st["precisions"].items():
        print(f"  {prec:8s} {1e3 * v['single_seconds']:8.2f} "
              + " ".join(f"{1e3 * v['per_run_seconds'][str(k)]:10.2f}" for k in sizes)
              + "   " + ", ".join(f"{v['speedup_per_run'][str(k)]:.2f}x" for k in sizes))
        if "compiled_speedup_per_run" in v:
            print(f"  {prec} under torch.compile: speed-up per run at " + ", ".join(
                f"{k}: {v['compiled_speedup_per_run'][str(k)]:.2f}x" for k in sizes))


def print_precision(pr: dict, pk1: dict | None) -> None:
    """Print section 3."""
    pk, s, best = pr["matmul"], pr["seconds"], pr["seconds_best_round"]
    peak = pk["bf16_peak_tflops"]
    print(f"\nPrecision and optimizer ({pk['threads']} threads; ms are the median of {pr['rounds']} interleaved "
          f"rounds, TFLOP/s and % of the bf16 peak use each one's best round)")
    for shape, v in pk["shapes"].items():
        line = f"  matmul {shape:<16}: fp32 {v['fp32']:.2f}  bf16 {v['bf16']:.2f} TFLOP/s"
        if pk1 is not None:
            line += f"   (1 thread: fp32 {pk1['shapes'][shape]['fp32']:.2f}  bf16 {pk1['shapes'][shape]['bf16']:.2f})"
        print(line)
    print(f"  peak measured in this run: fp32 {pk['fp32_peak_tflops']:.2f}, bf16 {peak:.2f} TFLOP/s")

    def row(label: str, name: str) -> None:
        print(f"    {label:<34}: {1e3 * s[name]:6.2f} ms (best {1e3 * best[name]:6.2f})  "
              f"{pr['tflops'][name]:.3f} TFLOP/s  {pr['share_of_bf16_peak_percent'][name]:4.1f} % of bf16 peak")

    print(f"  IDEC step, batch {pr['batch_size']} + its augmented view ({pr['idec_step_gflop']:.2f} GFLOP of matmuls):")
    for name, _, _ in STEP_VARIANTS:
        row(f"{name} [{pr['implementations'][name]}]", f"step: {name}")
    for prec in precision.PRECISIONS:
        row(f"forward+backward alone, {prec}", f"forward+backward: {prec}")
    print(f"  pretraining step, batch {pr['batch_size']}, MSE, one view ({pr['pretrain_step_gflop']:.2f} GFLOP):")
    for prec in precision.PRECISIONS:
        row(f"{prec} + fused Adam", f"pretrain step: {prec} + fused Adam")
    print("  Adam step() alone: " + ", ".join(f"{k} {1e3 * s[f'adam step: {k}']:.2f} ms" for k in ADAM_KINDS)
          + f"  (torch's default here: {pr['implementations']['adam default']})")
    if pr["fused_adam_unsupported_reason"]:
        print(f"  fused Adam unavailable: {pr['fused_adam_unsupported_reason']}")


RESL_WIDTHS = (0.0625, 0.125, 0.25)


def bench_resl(device: torch.device, widths: tuple[float, ...] = RESL_WIDTHS, n_train: int = 3000,
               n_test: int = 2000, prec: str = "bf16") -> dict:
    """Seconds per SimCLR / SCAN / self-labeling epoch and per evaluation at each width (section 4)."""
    full = pretext.load_splits("fmnist", n_train=n_train, n_test=n_test, device=device)
    out: dict[str, dict] = {}
    for width in widths:
        gen = seed_everything(0)
        row: dict[str, float] = {}
        sub = pretext.Splits(full.x_train[:1024], full.y_train[:1024], full.x_test, full.y_test, full.mean, full.std,
                             full.n_classes, {})
        t0 = time.perf_counter()
        contrastive, _ = pretext.train_simclr(sub, width=width, epochs=1, batch_size=512, lr=0.4, temperature=0.1,
                                              weight_decay=1e-4, generator=gen, prec=prec)
        row["simclr_epoch_s"] = (time.perf_counter() - t0) / 2 * (n_train // 512)
        model = network.ClusteringModel(network.resnet18(1, width), full.n_classes).to(device)
        model.backbone.load_state_dict(contrastive.backbone.state_dict())
        sub256 = pretext.Splits(full.x_train[:256], full.y_train[:256], full.x_test[:10], full.y_test[:10],
                                full.mean, full.std, full.n_classes, {})
        nb = torch.randint(0, 256, (256, 20), generator=gen)
        t0 = time.perf_counter()
        pretext.train_scan(model, sub256, nb, epochs=1, batch_size=128, lr=1e-4, weight_decay=1e-4,
                           entropy_weight=5.0, n_ops=4, cutout=14, generator=gen, prec=prec)
        row["scan_epoch_s"] = (time.perf_counter() - t0) / 2 * -(-n_train // 128)
        sub500 = pretext.Splits(full.x_train[:500], full.y_train[:500], full.x_test[:10], full.y_test[:10],
                                full.mean, full.std, full.n_classes, {})
        rows, _ = selflabel.self_label(model, strategies.NoReset(), sub500, epochs=1, batch_size=250, lr=1e-4,
                                       weight_decay=1e-4, threshold=0.0, balance=True, n_ops=4, cutout=14,
                                       generator=gen, prec=prec)
        row["selflabel_epoch_s"] = rows[-1]["train_seconds"] / 2 * -(-n_train // 250)
        t0 = time.perf_counter()
        selflabel.evaluate(model, full, 0.99, None)
        row["evaluation_s"] = time.perf_counter() - t0
        out[f"{width:g}"] = row
    return {"n_train": n_train, "n_test": n_test, "precision": prec, "widths": out}


def print_resl(r: dict) -> None:
    print(f"\nReSL pipeline on FMNIST ({r['n_train']:,} training, {r['n_test']:,} evaluation images; "
          f"{r['precision']} autocast, fused Adam), seconds per epoch")
    print(f"  {'width':>8s} {'SimCLR':>8s} {'SCAN':>8s} {'self-label':>11s} {'evaluation':>11s}")
    for w, row in r["widths"].items():
        print(f"  {w:>8s} {row['simclr_epoch_s']:8.2f} {row['scan_epoch_s']:8.2f} {row['selflabel_epoch_s']:11.2f} "
              f"{row['evaluation_s']:11.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=4, help="clustering epochs of the USPS benchmark (>= 2)")
    parser.add_argument("--only-precision", action="store_true",
                        help="run section 3 only (precision and optimizer); results/bench.json is left as it is")
    parser.add_argument("--resl", action="store_true", help="add section 4 (ReSL's pipeline at three widths)")
    parser.add_argument("--compile", action="store_true",
                        help="section 5 also times the stacked steps under torch.compile (CUDA graphs on a GPU); "
                        "compiling takes ~30 s per variant")
    parser.add_argument("--only-resl", action="store_true",
                        help="run section 4 only (ReSL's pipeline); results/bench.json is left as it is")
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first epoch has no BRB step)")
    device = default_device()
    cpu = cpu_info()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu["model"]
    print(f"device: {device} ({name}), torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
          + (f", bf16 units: {cpu['bf16_units']}" if device.type == "cpu" else ""))
    res = {"device": str(device), "device_name": name, "torch": torch.__version__,
           "threads": torch.get_num_threads(), "cpu": cpu}
    if args.only_precision:
        _precision_section(device, res)
        _write(device, res)
        return 0
    if args.only_resl:
        res["resl"] = bench_resl(device)
        print_resl(res["resl"])
        _write(device, res)
        return 0
    both = {p: bench_brb_usps(device, args.epochs, p) for p in ("fp32", "bf16")}
    res["brb_usps"] = both
    b = both["bf16"]
    print(f"\nIDEC+BRB on USPS ({b['samples']:,} images, {b['epochs']} epochs, a BRB step every epoch after the "
          "first; fused Adam, the authors' training choices)")
    print(f"  {'':44s} {'fp32':>8s} {'bf16':>8s} {'fp32/bf16':>10s} {'goal':>6s}")
    for key, label, goal in (("seconds_per_epoch", "seconds per clustering epoch (training only)", "cluster"),
                             ("seconds_per_pretrain_epoch", "seconds per pretraining epoch", "pretrain")):
        f32, b16 = both["fp32"][key], both["bf16"][key]
        print(f"  {label:44s} {f32:8.3f} {b16:8.3f} {f32 / b16:10.2f} {EPOCH_GOALS[goal]:6.2f}")
    print(f"  seconds per BRB step (bf16)                  : {b['seconds_per_brb_step']:.3f}  "
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
    _precision_section(device, res)
    res["stacked"] = bench_stacked(device, compiled=args.compile)
    print_stacked(res["stacked"])
    if args.resl:
        res["resl"] = bench_resl(device)
        print_resl(res["resl"])
    _write(device, res)
    label = environment.device_label(device)
    entry = {"seconds_per_step": b["seconds_per_step"], "device": label, "batch_size": BRB_GRAYSCALE.batch_size,
             "what": "IDEC+BRB clustering step on USPS, bf16 autocast (quick's precision), training only",
             "stacked_speedup": res["stacked"]["precisions"]["fp32"]["speedup_per_run"],
             "stacked_what": "per-run speed-up of a stacked group over a single run, by group size, fp32 (the paper "
                             "profile's precision), section 5"}
    write_bench_entry(entry)
    print(f"optimizer step: {1e3 * b['seconds_per_step']:.1f} ms on {label} (written to "
          f"{paths.results_root() / 'bench.json'} for make status)")
    return 0


def write_bench_entry(entry: dict, path=None) -> None:
    """File ``entry`` (a device's step time and stacked speed-ups) under its ``device`` in ``results/bench.json``,
    keeping the other devices' entries (a file of the older one-device form is replaced)."""
    path = path or paths.results_root() / "bench.json"
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        old = {}
    devices = old.get("devices", {}) if isinstance(old, dict) and isinstance(old.get("devices"), dict) else {}
    devices[entry["device"]] = entry
    cache.atomic_write_bytes(path, (json.dumps({"devices": devices}, indent=1) + "\n").encode())


def _precision_section(device: torch.device, res: dict) -> None:
    pk1 = matmul_peak(device, threads=1) if device.type == "cpu" and torch.get_num_threads() > 1 else None
    pr = bench_precision(device)
    print_precision(pr, pk1)
    res["precision"] = {**pr, "matmul_1_thread": pk1}


def _write(device: torch.device, res: dict) -> None:
    out = paths.ROOT / "bench" / "out" / f"bench-{device.type}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + "\n")
    print(f"\nwritten to {out.relative_to(paths.ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
