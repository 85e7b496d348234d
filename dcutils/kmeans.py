"""Reclustering in torch: k-means (Lloyd + greedy k-means++), k-medoids, GMM-EM.

Everything runs on the device of the input tensor (CPU or CUDA), batched over
samples; only loops over iterations, chunks, clusters or k-means++ centres run
in Python. BRB (Section 5, Appendix A) reclusters with k-means (k-means++
init, ``n_init=10``) on the embedded, non-augmented subsample of 10,000 samples
(:func:`subsample_indices`); Tables 10/12 compare k-means with "k-means++ init
only" (:func:`kmeans_plusplus` + :func:`assign`), k-medoids (:func:`kmedoids`)
and EM for Gaussian mixtures (:func:`gmm_em`).

Randomness
----------
Every function takes ``generator``: a ``torch.Generator``, an ``int`` seed
(a fresh CPU generator is seeded with it), or ``None`` (a seed is drawn from
torch's global RNG, so ``torch.manual_seed`` / ``seed_everything`` make runs
repeatable). Random numbers are drawn on the generator's device and moved to
the data's device, so a given seed yields the same draws on CPU and GPU.

On the CPU, results are bit-for-bit deterministic given a seed. On CUDA, matrix
products may differ in the last bits between GPU models, which in rare ties can
change a label.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

__all__ = [
    "KMeansResult",
    "KMedoidsResult",
    "GMMResult",
    "kmeans",
    "kmeans_plusplus",
    "kmedoids",
    "gmm_em",
    "assign",
    "subsample_indices",
]

GeneratorLike = torch.Generator | int | None

#: Entries of an (n, k) distance block computed at once (32 MiB in float32).
_BLOCK_ELEMENTS = 1 << 23


class KMeansResult(NamedTuple):
    """Result of :func:`kmeans`.

    Attributes
    ----------
    centroids : Tensor, shape (k, d)
    labels : LongTensor, shape (N,)
        Index of the nearest centroid of each sample.
    inertia : float
        Sum of squared distances of the samples to their nearest centroid.
    n_iter : int
        Lloyd iterations of the best run.
    """

    centroids: Tensor
    labels: Tensor
    inertia: float
    n_iter: int


class KMedoidsResult(NamedTuple):
    """Result of :func:`kmedoids`.

    Attributes
    ----------
    centroids : Tensor, shape (k, d)
        The medoids (rows of the data).
    labels : LongTensor, shape (N,)
    inertia : float
        Sum of Euclidean (not squared) distances to the nearest medoid.
    n_iter : int
    medoid_indices : LongTensor, shape (k,)
        Rows of ``x`` that are the medoids.
    """

    centroids: Tensor
    labels: Tensor
    inertia: float
    n_iter: int
    medoid_indices: Tensor


class GMMResult(NamedTuple):
    """Result of :func:`gmm_em`.

    Attributes
    ----------
    centroids : Tensor, shape (k, d)
        Component means.
    labels : LongTensor, shape (N,)
        Most probable component of each sample.
    covariances : Tensor, shape (k, d, d) for "full", (k, d) for "diag"
    weights : Tensor, shape (k,)
        Mixing proportions.
    log_likelihood : float
        Mean log-likelihood per sample at the end.
    n_iter : int
    converged : bool
    """

    centroids: Tensor
    labels: Tensor
    covariances: Tensor
    weights: Tensor
    log_likelihood: float
    n_iter: int
    converged: bool


# --------------------------------------------------------------------- helpers
def _as_generator(generator: GeneratorLike) -> torch.Generator:
    if isinstance(generator, torch.Generator):
        return generator
    if generator is None:
        seed = int(torch.randint(0, 2**62, (1,)).item())
    elif isinstance(generator, int) and not isinstance(generator, bool):
        seed = generator
    else:
        raise TypeError(
            f"generator must be a torch.Generator, an int seed or None, got {type(generator).__name__}"
        )
    return torch.Generator().manual_seed(seed)


def _rand(n: int, g: torch.Generator, device: torch.device) -> Tensor:
    """``n`` uniform [0, 1) float64 numbers drawn on ``g``'s device, moved to ``device``."""
    return torch.rand(n, generator=g, device=g.device, dtype=torch.float64).to(device)


def _randint(high: int, n: int, g: torch.Generator, device: torch.device) -> Tensor:
    return torch.randint(high, (n,), generator=g, device=g.device).to(device)


def _check_data(x: Tensor, name: str = "x") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}; use torch.as_tensor")
    if x.dim() != 2:
        raise ValueError(
            f"{name} must have shape (N, d), got {tuple(x.shape)}; flatten with x.reshape(len(x), -1)"
        )
    if not x.is_floating_point():
        x = x.to(torch.get_default_dtype())
    return x


def _check_k(k: int, n: int) -> int:
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if k > n:
        raise ValueError(f"cannot form k={k} clusters from only {n} samples; lower k")
    return int(k)


def _chunk_rows(k: int, chunk_size: int | None) -> int:
    if chunk_size is not None:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        return int(chunk_size)
    return max(1, _BLOCK_ELEMENTS // max(k, 1))


def _sq_dists(x: Tensor, c: Tensor, x_sq: Tensor, c_sq: Tensor) -> Tensor:
    """Squared Euclidean distances, shape (len(x), len(c)), clamped at 0."""
    d = torch.addmm(c_sq.unsqueeze(0), x, c.T, alpha=-2.0)
    return (d + x_sq.unsqueeze(1)).clamp_min_(0.0)


def _nearest(x: Tensor, c: Tensor, chunk: int) -> tuple[Tensor, Tensor]:
    """Labels (N,) and squared distance (N,) to the nearest row of ``c``."""
    c_sq = (c * c).sum(1)
    labels, dists = [], []
    for s in range(0, x.shape[0], chunk):
        xb = x[s : s + chunk]
        d = _sq_dists(xb, c, (xb * xb).sum(1), c_sq)
        m, i = d.min(1)
        labels.append(i)
        dists.append(m)
    return torch.cat(labels), torch.cat(dists)


# ---------------------------------------------------------------- public API
def assign(x: Tensor, centroids: Tensor, *, chunk_size: int | None = None) -> Tensor:
    """Index of the nearest centroid (squared Euclidean) for every sample.

    Parameters
    ----------
    x : Tensor, shape (N, d)
    centroids : Tensor, shape (k, d), same device as ``x``
    chunk_size : int, optional
        Rows of ``x`` per distance block (default: blocks of ~8M entries).

    Returns
    -------
    labels : LongTensor, shape (N,), on ``x.device``
    """
    x = _check_data(x)
    centroids = _check_data(centroids, "centroids").to(x.dtype)
    if centroids.shape[1] != x.shape[1]:
        raise ValueError(
            f"centroids have {centroids.shape[1]} features but x has {x.shape[1]}"
        )
    return _nearest(x, centroids, _chunk_rows(centroids.shape[0], chunk_size))[0]


def subsample_indices(
    n: int,
    size: int,
    generator: GeneratorLike = None,
    *,
    device: torch.device | str | None = None,
) -> Tensor:
    """Random subset of ``range(n)`` without replacement, sorted.

    BRB reclusters on the embeddings of ``size = 10,000`` clean (non-augmented)
    samples (Section 5, implementation detail 3). If ``size >= n`` all indices
    are returned.

    Returns
    -------
    LongTensor, shape (min(n, size),)
    """
    if n < 0 or size < 1:
        raise ValueError(f"need n >= 0 and size >= 1, got n={n}, size={size}")
    if size >= n:
        return torch.arange(n, device=device)
    g = _as_generator(generator)
    idx = torch.randperm(n, generator=g, device=g.device)[:size]
    return idx.sort().values.to(device if device is not None else g.device)


def _plusplus_batched(x: Tensor, k: int, runs: int, g: torch.Generator, n_local_trials: int) -> Tensor:
    """Greedy k-means++ seeding for ``runs`` independent runs at once; row indices, shape (runs, k)."""
    n = x.shape[0]
    x_sq = (x * x).sum(1)
    rows = torch.arange(runs, device=x.device)
    first = _randint(n, runs, g, x.device)  # (R,)
    indices = [first]
    closest = _sq_dists(x[first], x, x_sq[first], x_sq)  # (R, N)
    for _ in range(1, k):
        cumsum = torch.cumsum(closest.double(), 1)  # (R, N)
        targets = _rand(runs * n_local_trials, g, x.device).view(runs, n_local_trials) * cumsum[:, -1:]
        cand = torch.searchsorted(cumsum, targets).clamp_(max=n - 1)  # (R, T)
        xc = x[cand]  # (R, T, d)
        d_cand = torch.baddbmm(x_sq.view(1, 1, n), xc, x.T.unsqueeze(0).expand(runs, -1, -1), alpha=-2.0)
        d_cand = (d_cand + x_sq[cand].unsqueeze(2)).clamp_min_(0.0)  # (R, T, N)
        torch.minimum(d_cand, closest.unsqueeze(1), out=d_cand)
        best = d_cand.double().sum(2).argmin(1)  # (R,)
        closest = d_cand[rows, best]
        indices.append(cand[rows, best])
    return torch.stack(indices, 1)


def kmeans_plusplus(
    x: Tensor,
    k: int,
    generator: GeneratorLike = None,
    *,
    n_local_trials: int | None = None,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Greedy k-means++ seeding (Arthur & Vassilvitskii 2007, as scikit-learn does it).

    The first centre is a uniformly random sample; each further centre is the
    best (lowest resulting potential) of ``n_local_trials`` candidates drawn
    with probability proportional to the squared distance to the nearest
    centre chosen so far. ``n_local_trials = 2 + floor(ln k)`` by default
    (scikit-learn's choice); ``n_local_trials=1`` gives plain k-means++.

    Used directly, with :func:`assign`, this is the "k-means++ init only"
    reclustering variant of BRB Tables 10 and 12.

    Parameters
    ----------
    x : Tensor, shape (N, d)
    k : int
    generator : torch.Generator, int or None

    Returns
    -------
    centroids : Tensor, shape (k, d) (rows of ``x``)
    indices : LongTensor, shape (k,), only if ``return_indices``
    """
    x = _check_data(x)
    k = _check_k(k, x.shape[0])
    if n_local_trials is None:
        n_local_trials = 2 + int(math.log(k))
    if n_local_trials < 1:
        raise ValueError(f"n_local_trials must be >= 1, got {n_local_trials}")
    idx = _plusplus_batched(x, k, 1, _as_generator(generator), n_local_trials)[0]
    centroids = x[idx].clone()
    return (centroids, idx) if return_indices else centroids


def _nearest_batched(x: Tensor, c: Tensor, x_sq: Tensor, chunk: int) -> tuple[Tensor, Tensor]:
    """Labels (R, N) and squared distances (R, N) to the nearest of each run's centroids ``c`` (R, k, d).

    All runs' centroids are stacked into one (R * k, d) matrix, so each chunk of
    samples costs one dense matrix product (N, d) x (d, R * k).
    """
    runs, k, d = c.shape
    flat = c.reshape(runs * k, d)
    c_sq = (flat * flat).sum(1)
    labels, dists = [], []
    for s in range(0, x.shape[0], chunk):
        xb = x[s : s + chunk]
        dist = _sq_dists(xb, flat, x_sq[s : s + chunk], c_sq).view(-1, runs, k)
        m, i = dist.min(2)  # (chunk, R)
        labels.append(i)
        dists.append(m)
    return torch.cat(labels).T, torch.cat(dists).T


def _lloyd(
    x: Tensor, centroids: Tensor, max_iter: int, tol_abs: float, chunk: int
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Lloyd iterations of R runs at once from ``centroids`` (R, k, d).

    Each run stops (its centroids freeze and it leaves the batch) when its
    labels no longer change or when its summed squared centre shift is <=
    ``tol_abs`` (scikit-learn's criteria); the loop ends when every run has
    stopped, so the work is that of the runs' own iterations, in as many
    steps as the slowest run needs. Empty clusters are moved to the samples
    farthest from their centres.

    Returns
    -------
    centroids (R, k, d), labels (R, N), inertia (R,), n_iter (R,) of each run.
    """
    runs, k, d = centroids.shape
    x_sq = (x * x).sum(1)
    chunk = max(1, chunk // runs)
    c = centroids.clone()
    n_iter = torch.zeros(runs, dtype=torch.long)
    active = list(range(runs))
    prev: Tensor | None = None  # labels of the active runs at the previous step
    for _ in range(max_iter):
        idx = torch.tensor(active, device=x.device)
        ca = c[idx]
        labels, mind = _nearest_batched(x, ca, x_sq, chunk)
        m = len(active)
        sums = torch.zeros(m, k, d, dtype=x.dtype, device=x.device)
        for r in range(m):  # one index_add per run: no (R * N, d) copy of x
            sums[r].index_add_(0, labels[r], x)
        offsets = (torch.arange(m, device=x.device) * k).unsqueeze(1)
        counts = torch.bincount((labels + offsets).reshape(-1), minlength=m * k).to(x.dtype).view(m, k)
        for r in (counts == 0).any(1).nonzero().flatten().tolist():  # rare: relocate empty clusters
            empty = counts[r] == 0
            far = torch.topk(mind[r], int(empty.sum())).indices
            old = labels[r, far]
            sums[r].index_add_(0, old, -x[far])
            counts[r].index_add_(0, old, -torch.ones_like(old, dtype=x.dtype))
            sums[r, empty] = x[far]
            counts[r, empty] = 1.0
        new_c = torch.where(counts.unsqueeze(2) > 0, sums / counts.clamp_min(1.0).unsqueeze(2), ca)
        c[idx] = new_c
        n_iter[active] += 1
        done = ((new_c - ca) ** 2).sum((1, 2)) <= tol_abs
        if prev is not None:
            done |= (labels == prev).all(1)
        keep = (~done).cpu()
        if not bool(keep.any()):
            break
        active = [a for a, kp in zip(active, keep.tolist()) if kp]
        prev = labels[keep.to(labels.device)]
    labels, mind = _nearest_batched(x, c, x_sq, chunk)
    return c, labels, mind.sum(1), n_iter


def kmeans(
    x: Tensor,
    k: int,
    *,
    n_init: int = 10,
    max_iter: int = 300,
    tol: float = 1e-4,
    init: str | Tensor = "k-means++",
    generator: GeneratorLike = None,
    chunk_size: int | None = None,
) -> KMeansResult:
    """k-means (Lloyd's algorithm), best of ``n_init`` runs by inertia.

    Mirrors scikit-learn's ``KMeans(algorithm="lloyd")``: greedy k-means++
    seeding, tolerance ``tol`` relative to the mean per-feature variance of
    ``x``, stop on stable labels or small centre shift, a final assignment step
    so labels match the returned centroids. The ``n_init`` runs are computed
    together, batched (distances of shape (n_init, N, k) per step), so ten
    restarts cost about as many kernel launches as one.

    Parameters
    ----------
    x : Tensor, shape (N, d)
        On any device; computation stays there. Integer input is cast to the
        default float dtype.
    k : int
        Number of clusters, 1 <= k <= N.
    n_init : int, default 10
        Independent runs; the one with the lowest inertia is returned.
        Ignored when ``init`` is a tensor.
    max_iter : int, default 300
    tol : float, default 1e-4
        Relative tolerance on the summed squared centre shift.
    init : {"k-means++", "random"} or Tensor of shape (k, d)
        "random" picks k distinct samples uniformly. A tensor is used as the
        initial centroids of a single run (e.g. the previous centroids).
    generator : torch.Generator, int seed or None
    chunk_size : int, optional
        Rows per distance block; lower it if memory is tight.

    Returns
    -------
    KMeansResult
        ``centroids`` (k, d), ``labels`` (N,), ``inertia`` (float), ``n_iter``.
    """
    x = _check_data(x)
    n, d = x.shape
    k = _check_k(k, n)
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}")
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    chunk = _chunk_rows(k, chunk_size)
    tol_abs = float(x.var(0, unbiased=False).mean()) * tol if n > 1 else 0.0

    if isinstance(init, Tensor):
        if init.shape != (k, d):
            raise ValueError(f"init centroids must have shape ({k}, {d}), got {tuple(init.shape)}")
        inits = init.to(device=x.device, dtype=x.dtype).unsqueeze(0)
    elif init in ("k-means++", "random"):
        if n_init < 1:
            raise ValueError(f"n_init must be >= 1, got {n_init}")
        g = _as_generator(generator)
        if init == "k-means++":
            idx = _plusplus_batched(x, k, n_init, g, 2 + int(math.log(k)))
        else:
            idx = torch.stack([torch.randperm(n, generator=g, device=g.device)[:k] for _ in range(n_init)]).to(x.device)
        inits = x[idx]  # (R, k, d)
    else:
        raise ValueError(f"init must be 'k-means++', 'random' or a ({k}, {d}) tensor, got {init!r}")

    c, labels, inertia, n_iter = _lloyd(x, inits, max_iter, tol_abs, chunk)
    best = int(inertia.argmin())
    return KMeansResult(c[best], labels[best], float(inertia[best]), int(n_iter[best]))


# ------------------------------------------------------------------ k-medoids
def _pairwise_cost(points: Tensor, chunk: int) -> Tensor:
    """For each row, the sum of Euclidean distances to all rows, shape (m,)."""
    sq = (points * points).sum(1)
    out = []
    for s in range(0, points.shape[0], chunk):
        pb = points[s : s + chunk]
        out.append(_sq_dists(pb, points, sq[s : s + chunk], sq).sqrt_().sum(1))
    return torch.cat(out)


def kmedoids(
    x: Tensor,
    k: int,
    *,
    max_iter: int = 100,
    n_init: int = 1,
    max_samples: int | None = 10_000,
    generator: GeneratorLike = None,
) -> KMedoidsResult:
    """k-medoids with Euclidean distance, alternating ("Voronoi iteration") updates.

    A light PAM: starting from greedy k-means++ seeds (data points), assign
    every sample to its nearest medoid, then move each medoid to the member of
    its cluster with the smallest summed distance to the other members; repeat
    until the medoids no longer change. There is no PAM swap phase, so the
    result is a local optimum of the alternating scheme.

    Parameters
    ----------
    x : Tensor, shape (N, d)
    k : int
    max_iter : int, default 100
    n_init : int, default 1
        Restarts; the one with the lowest cost on the fitted samples wins.
    max_samples : int or None, default 10,000
        Medoids are searched on a random subsample of this size (the cost of a
        medoid update grows with the square of the cluster size); all N samples
        are then assigned. ``None`` uses all samples.
    generator : torch.Generator, int seed or None

    Returns
    -------
    KMedoidsResult
        ``centroids`` (the medoids, (k, d)), ``labels`` (N,), ``inertia`` (sum
        of distances over all N samples), ``n_iter``, ``medoid_indices`` (k,).
    """
    x = _check_data(x)
    n = x.shape[0]
    k = _check_k(k, n)
    if n_init < 1 or max_iter < 1:
        raise ValueError(f"n_init and max_iter must be >= 1, got {n_init}, {max_iter}")
    g = _as_generator(generator)
    if max_samples is not None and n > max_samples:
        if max_samples < k:
            raise ValueError(f"max_samples={max_samples} is below k={k}")
        fit_idx = subsample_indices(n, max_samples, g, device=x.device)
    else:
        fit_idx = torch.arange(n, device=x.device)
    xf = x[fit_idx]
    chunk = _chunk_rows(max(k, 1), None)
    pair_chunk = max(1, _BLOCK_ELEMENTS // max(xf.shape[0], 1))

    best = None
    for _ in range(n_init):
        _, med = kmeans_plusplus(xf, k, g, return_indices=True)
        n_iter = 0
        for n_iter in range(1, max_iter + 1):  # noqa: B007 (read after the loop)
            labels, _ = _nearest(xf, xf[med], chunk)
            new_med = med.clone()
            for j in range(k):
                members = (labels == j).nonzero().squeeze(1)
                if members.numel() == 0:
                    continue
                cost = _pairwise_cost(xf[members], pair_chunk)
                new_med[j] = members[cost.argmin()]
            if torch.equal(new_med, med):
                break
            med = new_med
        _, mind = _nearest(xf, xf[med], chunk)
        cost = float(mind.sqrt().sum())
        if best is None or cost < best[0]:
            best = (cost, med, n_iter)

    _, med, n_iter = best
    medoid_indices = fit_idx[med]
    medoids = x[medoid_indices].clone()
    labels, mind = _nearest(x, medoids, chunk)
    return KMedoidsResult(medoids, labels, float(mind.sqrt().sum()), n_iter, medoid_indices)


# ----------------------------------------------------------------------- GMM
def _gmm_m_step(x: Tensor, resp: Tensor, cov_type: str, reg: float) -> tuple[Tensor, Tensor, Tensor]:
    n, d = x.shape
    nk = resp.sum(0) + 10 * torch.finfo(x.dtype).eps
    means = (resp.T @ x) / nk.unsqueeze(1)
    if cov_type == "full":
        eye = torch.eye(d, dtype=x.dtype, device=x.device)
        covs = []
        for j in range(means.shape[0]):
            diff = x - means[j]
            covs.append((resp[:, j : j + 1] * diff).T @ diff / nk[j] + reg * eye)
        cov = torch.stack(covs)
    else:
        avg_x2 = (resp.T @ (x * x)) / nk.unsqueeze(1)
        cov = (avg_x2 - means * means).clamp_min(0.0) + reg
    return nk / n, means, cov


def _gmm_log_prob(x: Tensor, means: Tensor, cov: Tensor, cov_type: str) -> Tensor:
    """log N(x | mu_j, Sigma_j), shape (N, k)."""
    n, d = x.shape
    const = d * math.log(2 * math.pi)
    cols = []
    if cov_type == "full":
        chol, info = torch.linalg.cholesky_ex(cov)
        if bool((info > 0).any()):
            raise RuntimeError(
                "a GMM covariance matrix is not positive definite; increase reg_covar "
                "(e.g. 1e-4) or use covariance_type='diag'"
            )
        for j in range(means.shape[0]):
            y = torch.linalg.solve_triangular(chol[j], (x - means[j]).T, upper=False)
            logdet = 2.0 * torch.log(torch.diagonal(chol[j])).sum()
            cols.append(-0.5 * (const + logdet + (y * y).sum(0)))
    else:
        for j in range(means.shape[0]):
            maha = ((x - means[j]) ** 2 / cov[j]).sum(1)
            cols.append(-0.5 * (const + torch.log(cov[j]).sum() + maha))
    return torch.stack(cols, 1)


def gmm_em(
    x: Tensor,
    k: int,
    *,
    covariance_type: str = "full",
    max_iter: int = 100,
    tol: float = 1e-3,
    reg_covar: float = 1e-6,
    n_init: int = 1,
    generator: GeneratorLike = None,
) -> GMMResult:
    """Gaussian mixture fitted by expectation-maximisation ("EM" of BRB Tables 10/12).

    Follows scikit-learn's ``GaussianMixture`` defaults: responsibilities
    initialised from one k-means run, ``reg_covar`` added to the covariance
    diagonals, stop when the mean log-likelihood changes by less than ``tol``,
    and a final E-step so ``labels`` match the returned parameters.
    Computed in float64 on ``x``'s device; outputs are cast back to ``x.dtype``.

    Parameters
    ----------
    x : Tensor, shape (N, d)
    k : int
    covariance_type : {"full", "diag"}, default "full"
    max_iter : int, default 100
    tol : float, default 1e-3
    reg_covar : float, default 1e-6
    n_init : int, default 1
        Restarts; the highest final log-likelihood wins.
    generator : torch.Generator, int seed or None

    Returns
    -------
    GMMResult
        ``centroids`` (means, (k, d)), ``labels`` (N,), ``covariances``,
        ``weights``, ``log_likelihood``, ``n_iter``, ``converged``.
    """
    x = _check_data(x)
    n = x.shape[0]
    k = _check_k(k, n)
    if covariance_type not in ("full", "diag"):
        raise ValueError(f"covariance_type must be 'full' or 'diag', got {covariance_type!r}")
    if n_init < 1 or max_iter < 1:
        raise ValueError(f"n_init and max_iter must be >= 1, got {n_init}, {max_iter}")
    g = _as_generator(generator)
    xd = x.double()

    best = None
    for _ in range(n_init):
        init_labels = kmeans(xd, k, n_init=1, generator=g).labels
        resp = torch.nn.functional.one_hot(init_labels, k).double()
        weights, means, cov = _gmm_m_step(xd, resp, covariance_type, reg_covar)
        lower = -math.inf
        converged = False
        n_iter = 0
        for n_iter in range(1, max_iter + 1):  # noqa: B007 (read after the loop)
            prev = lower
            log_w = _gmm_log_prob(xd, means, cov, covariance_type) + torch.log(weights)
            log_norm = torch.logsumexp(log_w, 1, keepdim=True)
            resp = torch.exp(log_w - log_norm)
            lower = float(log_norm.mean())
            weights, means, cov = _gmm_m_step(xd, resp, covariance_type, reg_covar)
            if abs(lower - prev) < tol:
                converged = True
                break
        log_w = _gmm_log_prob(xd, means, cov, covariance_type) + torch.log(weights)
        ll = float(torch.logsumexp(log_w, 1).mean())
        if best is None or ll > best[0]:
            best = (ll, log_w.argmax(1), means, cov, weights, n_iter, converged)

    ll, labels, means, cov, weights, n_iter, converged = best
    dt = x.dtype
    return GMMResult(means.to(dt), labels, cov.to(dt), weights.to(dt), ll, n_iter, converged)
