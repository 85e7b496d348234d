"""Clustering and geometry metrics of the three papers.

Every function names the paper and equation it implements. Label metrics
(ACC, NMI, ARI, F1, CL change, NMI match) accept numpy arrays, Python
sequences or torch tensors on any device; they move labels to CPU numpy at the
boundary and work on the contingency matrix, so none loops over samples in
Python and all are fast for N = 70,000. Geometry metrics (silhouette,
intra/inter-CD, d1/d2, TwoNN, PCA-LID) run in torch, in float64, on the device
of their input (numpy input runs on the CPU) and process pairwise distances in
row chunks so that no N x N matrix is allocated at once.

Units
-----
All scores are **fractions** (ACC, NMI, F1 and the confident fraction in
[0, 1]; ARI and silhouette in [-1, 1]) except :func:`cluster_label_change`,
which returns a **percentage** in [0, 100] as the papers define it. The
notebooks multiply fractions by 100 for display.

Public API
----------
hungarian_mapping, map_clusters, cluster_acc, nmi, ari, f1_macro, f1_micro,
clustering_scores, cluster_label_change, silhouette_components,
silhouette_samples, silhouette, intra_inter_cd, centroid_distance_ratio,
twonn_id, pca_lid, is_confident, confident_fraction, nmi_match.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

ArrayLike = np.ndarray | torch.Tensor | Sequence

__all__ = [
    "hungarian_mapping",
    "map_clusters",
    "cluster_acc",
    "nmi",
    "ari",
    "f1_macro",
    "f1_micro",
    "clustering_scores",
    "cluster_label_change",
    "silhouette_components",
    "silhouette_samples",
    "silhouette",
    "intra_inter_cd",
    "centroid_distance_ratio",
    "twonn_id",
    "pca_lid",
    "is_confident",
    "confident_fraction",
    "nmi_match",
]

#: Upper bound on the number of float64 entries of one distance chunk
#: (2**25 entries = 256 MiB).
_CHUNK_ENTRIES = 2**25
_METRICS = ("cosine", "euclidean")


# --------------------------------------------------------------------------
# Input conversion and validation
# --------------------------------------------------------------------------
def _to_numpy(x: ArrayLike) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _as_labels(y: ArrayLike, name: str) -> np.ndarray:
    """Labels as a 1-D int64 numpy array; raise a clear error otherwise."""
    arr = _to_numpy(y)
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array of N integer labels, got shape {arr.shape}. "
            "Pass cluster indices (e.g. probs.argmax(1)), not probabilities."
        )
    if arr.dtype.kind in "biu":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "f":
        if arr.size and not (np.isfinite(arr).all() and np.all(arr == np.round(arr))):
            raise ValueError(
                f"{name} holds non-integer floats; pass integer labels "
                "(e.g. probs.argmax(1)), not scores or probabilities."
            )
        return arr.astype(np.int64)
    raise TypeError(f"{name} must hold integer labels, got dtype {arr.dtype}.")


def _label_pair(y_true: ArrayLike, y_pred: ArrayLike, names=("y_true", "y_pred")):
    a = _as_labels(y_true, names[0])
    b = _as_labels(y_pred, names[1])
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same length, "
            f"got {a.shape[0]} and {b.shape[0]}."
        )
    if a.shape[0] == 0:
        raise ValueError(f"{names[0]} and {names[1]} are empty; need at least one sample.")
    return a, b


def _contingency(a: np.ndarray, b: np.ndarray):
    """Dense contingency matrix (n_classes, n_clusters) and the label values.

    Returns ``(C, classes, clusters)`` with ``C[i, j]`` the number of samples
    with ``a == classes[i]`` and ``b == clusters[j]`` (int64).
    """
    classes, ia = np.unique(a, return_inverse=True)
    clusters, ib = np.unique(b, return_inverse=True)
    n_a, n_b = classes.size, clusters.size
    flat = np.bincount(ia.ravel() * n_b + ib.ravel(), minlength=n_a * n_b)
    return flat.reshape(n_a, n_b).astype(np.int64), classes, clusters


def _as_points(x: ArrayLike, name: str) -> torch.Tensor:
    """Points as a 2-D float64 tensor on the input's device (CPU for numpy)."""
    if isinstance(x, torch.Tensor):
        t = x.detach()
    else:
        t = torch.from_numpy(np.asarray(x, dtype=np.float64))
    if t.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N, D), got shape {tuple(t.shape)}.")
    if not (t.dtype.is_floating_point or t.dtype in (torch.int32, torch.int64)):
        raise TypeError(f"{name} must hold real numbers, got dtype {t.dtype}.")
    t = t.to(torch.float64)
    if t.shape[0] == 0 or t.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(t.shape)}).")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or infinite values; clean the embedding first.")
    return t


def _check_metric(metric: str) -> None:
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {_METRICS}, got {metric!r}.")


def _subsample(n: int, sample_size: int | None, seed: int) -> np.ndarray | None:
    """Indices of a random subsample without replacement (None: use all).

    The rule is ``np.random.default_rng(seed).choice(n, sample_size,
    replace=False)``; ``sample_size >= n`` means all samples.
    """
    if sample_size is None:
        return None
    if int(sample_size) < 2:
        raise ValueError(f"sample_size must be at least 2 or None, got {sample_size}.")
    if sample_size >= n:
        return None
    return np.random.default_rng(seed).choice(n, int(sample_size), replace=False)


def _row_chunk(n_cols: int) -> int:
    return max(1, _CHUNK_ENTRIES // max(1, n_cols))


# --------------------------------------------------------------------------
# Hungarian mapping and ACC
# --------------------------------------------------------------------------
def _matching(C: np.ndarray):
    """Row (class) and column (cluster) indices of the maximum-weight matching."""
    rows, cols = linear_sum_assignment(C, maximize=True)
    return rows, cols


def hungarian_mapping(
    y_true: ArrayLike, y_pred: ArrayLike, unmatched: str = "drop"
) -> dict[int, int]:
    """One-to-one map from predicted clusters to classes (BRB Eq. 9, D.1).

    Solves the assignment problem on the contingency matrix with
    ``scipy.optimize.linear_sum_assignment`` (Hungarian method, Kuhn 1955),
    maximising the number of samples whose mapped cluster equals their class.

    Parameters
    ----------
    y_true : array-like of int, shape (N,)
        Ground-truth classes.
    y_pred : array-like of int, shape (N,)
        Predicted cluster indices; the number of clusters may differ from the
        number of classes.
    unmatched : {"drop", "majority"}
        What to do with clusters left without a class when there are more
        clusters than classes. ``"drop"`` (default) leaves them out of the map,
        so the map is injective and :func:`map_clusters` sends them to a
        "no class" label that is always wrong: this is the standard ACC
        definition, which counts only matched clusters. ``"majority"`` maps
        each of them to the class it overlaps most (not injective; for
        display only, ACC/F1 never use it).

    Returns
    -------
    dict[int, int]
        ``{cluster label: class label}``.
    """
    if unmatched not in ("drop", "majority"):
        raise ValueError(f"unmatched must be 'drop' or 'majority', got {unmatched!r}.")
    a, b = _label_pair(y_true, y_pred)
    C, classes, clusters = _contingency(a, b)
    rows, cols = _matching(C)
    mapping = {int(clusters[c]): int(classes[r]) for r, c in zip(rows, cols)}
    if unmatched == "majority":
        for j, cl in enumerate(clusters):
            if int(cl) not in mapping:
                mapping[int(cl)] = int(classes[int(np.argmax(C[:, j]))])
    return mapping


def map_clusters(y_pred: ArrayLike, mapping: dict[int, int], fill: int = -1) -> np.ndarray:
    """Apply a cluster -> class map to predictions.

    Parameters
    ----------
    y_pred : array-like of int, shape (N,)
        Predicted cluster indices.
    mapping : dict[int, int]
        As returned by :func:`hungarian_mapping`.
    fill : int
        Label given to clusters absent from ``mapping`` (unmatched clusters);
        must not be one of the mapped classes.

    Returns
    -------
    np.ndarray of int64, shape (N,)
    """
    b = _as_labels(y_pred, "y_pred")
    if fill in set(mapping.values()):
        raise ValueError(
            f"fill={fill} is one of the mapped classes; choose a label outside the classes."
        )
    keys = np.fromiter(mapping.keys(), dtype=np.int64, count=len(mapping))
    vals = np.fromiter(mapping.values(), dtype=np.int64, count=len(mapping))
    order = np.argsort(keys)
    keys, vals = keys[order], vals[order]
    out = np.full(b.shape, fill, dtype=np.int64)
    if keys.size:
        pos = np.clip(np.searchsorted(keys, b), 0, keys.size - 1)
        hit = keys[pos] == b
        out[hit] = vals[pos[hit]]
    return out


def _acc_from_contingency(C: np.ndarray, rows, cols) -> float:
    return float(C[rows, cols].sum() / C.sum())


def cluster_acc(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Clustering accuracy with the Hungarian mapping (BRB Eq. 9, Appendix D.1;
    ReSL Eq. 1).

    ``ACC = max_map (1/N) sum_i [y_i == map(c_i)]`` over one-to-one maps;
    with more clusters than classes only matched clusters can be correct.

    Parameters
    ----------
    y_true, y_pred : array-like of int, shape (N,)

    Returns
    -------
    float
        Fraction in [0, 1].
    """
    a, b = _label_pair(y_true, y_pred)
    C, _, _ = _contingency(a, b)
    return _acc_from_contingency(C, *_matching(C))


# --------------------------------------------------------------------------
# NMI, ARI
# --------------------------------------------------------------------------
def _entropy_from_counts(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def _nmi_from_contingency(C: np.ndarray) -> float:
    n_a, n_b = C.shape
    if n_a == n_b == 1:
        return 1.0  # both labelings unsplit: perfect match (sklearn's convention)
    if n_a == 1 or n_b == 1:
        return 0.0
    n = C.sum()
    pi = C.sum(axis=1).astype(np.float64)
    pj = C.sum(axis=0).astype(np.float64)
    nzx, nzy = np.nonzero(C)
    nij = C[nzx, nzy].astype(np.float64)
    mi = float((nij / n * (np.log(nij) + math.log(n) - np.log(pi[nzx]) - np.log(pj[nzy]))).sum())
    mi = max(mi, 0.0)
    if mi == 0.0:
        return 0.0
    norm = 0.5 * (_entropy_from_counts(pi) + _entropy_from_counts(pj))
    return float(min(mi / norm, 1.0))


def nmi(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Normalized mutual information, arithmetic normalisation
    (BRB Eq. 11, Appendix D.3; ReSL Eq. 2).

    ``NMI = I(Y; C) / ((H(Y) + H(C)) / 2)``, identical to scikit-learn's
    ``normalized_mutual_info_score`` default, including its conventions (two
    unsplit labelings give 1, one unsplit labeling gives 0). Symmetric.

    Parameters
    ----------
    y_true, y_pred : array-like of int, shape (N,)

    Returns
    -------
    float
        Fraction in [0, 1].
    """
    a, b = _label_pair(y_true, y_pred)
    return _nmi_from_contingency(_contingency(a, b)[0])


def _ari_from_contingency(C: np.ndarray) -> float:
    # Exact integer arithmetic (Python ints) to avoid overflow at N = 70,000.
    n = int(C.sum())
    pairs = lambda v: int((v * (v - 1) // 2).sum())  # noqa: E731
    index = pairs(C)
    sum_a = pairs(C.sum(axis=1))
    sum_b = pairs(C.sum(axis=0))
    total = n * (n - 1) // 2
    num = 2 * (index * total - sum_a * sum_b)
    den = (sum_a + sum_b) * total - 2 * sum_a * sum_b
    if den == 0:
        return 1.0  # both labelings identical partitions (all in one, or all singletons)
    return num / den


def ari(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Adjusted Rand index (BRB Eq. 10, Appendix D.2; ReSL Eq. 4).

    ``ARI = (RI - E[RI]) / (max RI - E[RI])`` under the permutation
    (hypergeometric) model, as scikit-learn's ``adjusted_rand_score``.

    Parameters
    ----------
    y_true, y_pred : array-like of int, shape (N,)

    Returns
    -------
    float
        In [-1, 1] (1: identical partitions, about 0: chance).
    """
    a, b = _label_pair(y_true, y_pred)
    return _ari_from_contingency(_contingency(a, b)[0])


# --------------------------------------------------------------------------
# F1 after the Hungarian mapping (R-DC)
# --------------------------------------------------------------------------
def _f1_from_contingency(C: np.ndarray, rows, cols) -> tuple[float, float]:
    """(macro, micro) F1 over the true classes after the one-to-one mapping.

    Unmatched clusters get a label outside the classes: their samples are
    false negatives of their class and count towards no class's precision.
    """
    n_classes = C.shape[0]
    tp = np.zeros(n_classes, dtype=np.float64)
    pred = np.zeros(n_classes, dtype=np.float64)
    col_sums = C.sum(axis=0)
    tp[rows] = C[rows, cols]
    pred[rows] = col_sums[cols]
    true = C.sum(axis=1).astype(np.float64)
    macro = float(np.mean(2.0 * tp / (true + pred)))
    micro = float(tp.sum() / C.sum())
    return macro, micro


def f1_macro(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Macro-averaged F1 after the Hungarian mapping (R-DC, Sec. 4.1.2).

    Clusters are mapped to classes as in :func:`cluster_acc`; F1 is computed
    per ground-truth class and averaged with equal weights over the classes.
    Equals ``sklearn.metrics.f1_score(y_true, map_clusters(y_pred, m),
    average="macro", labels=np.unique(y_true))`` with
    ``m = hungarian_mapping(y_true, y_pred)``.

    Parameters
    ----------
    y_true, y_pred : array-like of int, shape (N,)

    Returns
    -------
    float
        Fraction in [0, 1].
    """
    a, b = _label_pair(y_true, y_pred)
    C, _, _ = _contingency(a, b)
    return _f1_from_contingency(C, *_matching(C))[0]


def f1_micro(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Micro-averaged F1 after the Hungarian mapping (R-DC, Sec. 4.1.2).

    For single-label predictions micro-F1 equals the accuracy of the mapped
    labels, hence :func:`cluster_acc` (R-DC's tables show ACC = F1 micro).
    Equals ``sklearn.metrics.f1_score(y_true, map_clusters(y_pred, m),
    average="micro")``.

    Parameters
    ----------
    y_true, y_pred : array-like of int, shape (N,)

    Returns
    -------
    float
        Fraction in [0, 1].
    """
    a, b = _label_pair(y_true, y_pred)
    C, _, _ = _contingency(a, b)
    return _f1_from_contingency(C, *_matching(C))[1]


def clustering_scores(y_true: ArrayLike, y_pred: ArrayLike) -> dict[str, float]:
    """ACC, NMI, ARI, F1 macro and F1 micro from one contingency matrix.

    The per-epoch convenience of the training loops: one pass over the labels
    (no Python loop over samples), fast for N = 70,000.

    Parameters
    ----------
    y_true, y_pred : array-like of int, shape (N,)

    Returns
    -------
    dict[str, float]
        Keys ``"acc"``, ``"nmi"``, ``"f1_macro"``, ``"f1_micro"`` (fractions in
        [0, 1]) and ``"ari"`` (in [-1, 1]).
    """
    a, b = _label_pair(y_true, y_pred)
    C, _, _ = _contingency(a, b)
    rows, cols = _matching(C)
    macro, micro = _f1_from_contingency(C, rows, cols)
    return {
        "acc": _acc_from_contingency(C, rows, cols),
        "nmi": _nmi_from_contingency(C),
        "ari": _ari_from_contingency(C),
        "f1_macro": macro,
        "f1_micro": micro,
    }


def cluster_label_change(labels_prev: ArrayLike, labels_now: ArrayLike) -> float:
    """Cluster label change between two epochs (BRB Sec. 4; ReSL Eq. 6).

    ``CL change = 100 * (1 - NMI(labels_prev, labels_now))``.

    Parameters
    ----------
    labels_prev, labels_now : array-like of int, shape (N,)
        Cluster assignments of the same samples at epochs t-1 and t.

    Returns
    -------
    float
        **Percent** in [0, 100]: 0 = same partition (up to renaming),
        100 = complete change.
    """
    a, b = _label_pair(labels_prev, labels_now, ("labels_prev", "labels_now"))
    return 100.0 * (1.0 - _nmi_from_contingency(_contingency(a, b)[0]))


# --------------------------------------------------------------------------
# Silhouette, intra-/inter-class distance (BRB Appendix D.4)
# --------------------------------------------------------------------------
def _encode_labels(labels: ArrayLike, n: int, device: torch.device):
    y = _as_labels(labels, "labels")
    if y.shape[0] != n:
        raise ValueError(f"labels has {y.shape[0]} entries but embeddings has {n} rows.")
    _, inv = np.unique(y, return_inverse=True)
    inv = inv.ravel()
    counts = np.bincount(inv)
    n_labels = counts.size
    if not 2 <= n_labels <= n - 1:
        raise ValueError(
            f"the silhouette needs 2 <= number of labels <= n_samples - 1, got "
            f"{n_labels} labels for {n} samples."
        )
    return torch.from_numpy(inv).to(device), torch.from_numpy(counts).to(device, torch.float64)


def _cluster_distance_sums(x: torch.Tensor, y: torch.Tensor, k: int, metric: str) -> torch.Tensor:
    """S[i, c] = sum of distances from sample i to the samples of label c
    (the sample itself contributes 0). Shape (N, K), float64."""
    n = x.shape[0]
    if metric == "cosine":
        # 1 - cos is linear in the unit vectors: sum_j (1 - u_i.u_j) = n_c - u_i.(sum_j u_j).
        # Exact (same numbers as the pairwise route) and O(N K D) instead of O(N^2 D).
        norms = x.norm(dim=1, keepdim=True)
        u = torch.where(norms > 0, x / norms.clamp_min(torch.finfo(x.dtype).tiny), x)
        sums_u = torch.zeros(k, x.shape[1], dtype=x.dtype, device=x.device).index_add_(0, y, u)
        counts = torch.bincount(y, minlength=k).to(x.dtype)
        S = counts[None, :] - u @ sums_u.T
        # The sample itself sits in its own label's sum with distance 1 - |u_i|^2
        # (0 for a unit vector, 1 for a zero vector); sklearn sets self-distance to 0.
        self_term = 1.0 - (u * u).sum(dim=1)
        S[torch.arange(n, device=x.device), y] -= self_term
        return S
    onehot = torch.zeros(n, k, dtype=x.dtype, device=x.device)
    onehot[torch.arange(n, device=x.device), y] = 1.0
    sq = (x * x).sum(dim=1)
    out = torch.empty(n, k, dtype=x.dtype, device=x.device)
    step = _row_chunk(n)
    for start in range(0, n, step):
        stop = min(start + step, n)
        d = torch.addmm(sq[None, :].expand(stop - start, n), x[start:stop], x.T, alpha=-2.0)
        d.add_(sq[start:stop, None]).clamp_min_(0.0).sqrt_()
        idx = torch.arange(start, stop, device=x.device)
        d[idx - start, idx] = 0.0
        out[start:stop] = d @ onehot
    return out


def silhouette_components(
    embeddings: ArrayLike,
    labels: ArrayLike,
    metric: str = "cosine",
    sample_size: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample silhouette terms a(i) and b(i) (BRB Eq. 12-13, Appendix D.4).

    ``a(i)``: mean distance of sample i to the *other* samples of its label
    (intra-class distance); ``b(i)``: the smallest mean distance of i to the
    samples of another label (inter-class distance). Rousseeuw (1987).

    Parameters
    ----------
    embeddings : array-like or tensor, shape (N, D)
        Computed in float64 on the tensor's device (CPU for numpy).
    labels : array-like of int, shape (N,)
        Ground-truth classes (BRB's intra/inter-CD) or predicted clusters.
    metric : {"cosine", "euclidean"}
        Cosine distance ``1 - cos`` (default; BRB follows Lehner et al. 2024)
        or Euclidean. Cosine costs O(N K D); Euclidean O(N^2 D) in row chunks.
    sample_size : int or None
        Compute on a random subsample of this size (all samples if None);
        indices ``np.random.default_rng(seed).choice(N, sample_size,
        replace=False)``, distances only within the subsample (as sklearn).
    seed : int
        Seed of the subsample.

    Returns
    -------
    a, b : np.ndarray of float64, shape (N,) or (sample_size,)
        ``a`` is NaN for samples alone in their label (a is undefined there).
    """
    _check_metric(metric)
    x = _as_points(embeddings, "embeddings")
    y_np = _as_labels(labels, "labels")
    if y_np.shape[0] != x.shape[0]:
        raise ValueError(f"labels has {y_np.shape[0]} entries but embeddings has {x.shape[0]} rows.")
    idx = _subsample(x.shape[0], sample_size, seed)
    if idx is not None:
        x = x[torch.from_numpy(idx).to(x.device)]
        y_np = y_np[idx]
    y, counts = _encode_labels(y_np, x.shape[0], x.device)
    k = counts.numel()
    S = _cluster_distance_sums(x, y, k, metric)
    n = x.shape[0]
    rows = torch.arange(n, device=x.device)
    own = counts[y]
    a = S[rows, y] / (own - 1.0)  # 0/0 = NaN for singletons
    means = S / counts[None, :]
    means[rows, y] = torch.inf
    b = means.min(dim=1).values
    return a.cpu().numpy(), b.cpu().numpy()


def silhouette_samples(
    embeddings: ArrayLike,
    labels: ArrayLike,
    metric: str = "cosine",
    sample_size: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Per-sample silhouette ``s(i) = (b - a) / max(a, b)`` (Rousseeuw 1987).

    Same conventions as ``sklearn.metrics.silhouette_samples``: s = 0 for a
    sample alone in its label. Parameters as :func:`silhouette_components`.

    Returns
    -------
    np.ndarray of float64, shape (N,) or (sample_size,), values in [-1, 1].
    """
    a, b = silhouette_components(embeddings, labels, metric, sample_size, seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (b - a) / np.maximum(a, b)
    return np.nan_to_num(s, nan=0.0)


def silhouette(
    embeddings: ArrayLike,
    labels: ArrayLike,
    metric: str = "cosine",
    sample_size: int | None = None,
    seed: int = 0,
) -> float:
    """Mean silhouette score (BRB Appendix H.10-H.11, Figs. 16-17).

    Equals ``sklearn.metrics.silhouette_score(embeddings, labels, metric=...)``
    (to about 1e-12 in float64) when ``sample_size`` is None; the subsample
    rule differs from sklearn's (see :func:`silhouette_components`).

    Parameters
    ----------
    embeddings : array-like or tensor, shape (N, D)
    labels : array-like of int, shape (N,)
        Needs 2 <= number of labels <= N - 1.
    metric : {"cosine", "euclidean"}
    sample_size, seed : see :func:`silhouette_components`.

    Returns
    -------
    float
        In [-1, 1].
    """
    return float(np.mean(silhouette_samples(embeddings, labels, metric, sample_size, seed)))


def intra_inter_cd(
    embeddings: ArrayLike,
    y_true: ArrayLike,
    metric: str = "cosine",
    sample_size: int | None = None,
    seed: int = 0,
) -> tuple[float, float]:
    """Intra- and inter-class distance (BRB Eq. 12-13, Appendix D.4; Figs. 2, 6, 10).

    The silhouette's a(i) and b(i) against ground-truth classes, averaged
    over samples, with cosine distance by default (Lehner et al. 2024).

    Parameters
    ----------
    embeddings : array-like or tensor, shape (N, D)
    y_true : array-like of int, shape (N,)
        Ground-truth classes.
    metric : {"cosine", "euclidean"}
    sample_size, seed : see :func:`silhouette_components`.

    Returns
    -------
    intra, inter : float
        Mean a(i) (samples alone in their class are skipped, a is undefined
        there) and mean b(i). Distances, not fractions: cosine distances lie
        in [0, 2], Euclidean ones are in the embedding's units.
    """
    a, b = silhouette_components(embeddings, y_true, metric, sample_size, seed)
    return float(np.nanmean(a)), float(np.mean(b))


# --------------------------------------------------------------------------
# Centroid distance ratio (BRB Fig. 7)
# --------------------------------------------------------------------------
def centroid_distance_ratio(embeddings: ArrayLike, centroids: ArrayLike) -> np.ndarray:
    """Ratio d1/d2 of the Euclidean distances to the closest and the
    second-closest centroid (BRB Fig. 7).

    Values near 1 mark samples that sit near a Voronoi border and can change
    cluster easily; BRB moves mass towards 0.9-1.0.

    Parameters
    ----------
    embeddings : array-like or tensor, shape (N, D)
    centroids : array-like or tensor, shape (K, D), K >= 2
        Moved to the embeddings' device.

    Returns
    -------
    np.ndarray of float64, shape (N,)
        Values in [0, 1] (0: the sample lies on a centroid; a sample at
        distance 0 from two coinciding centroids gets 1).
    """
    x = _as_points(embeddings, "embeddings")
    c = _as_points(centroids, "centroids").to(x.device)
    if c.shape[0] < 2:
        raise ValueError(f"need at least 2 centroids for d1/d2, got {c.shape[0]}.")
    if c.shape[1] != x.shape[1]:
        raise ValueError(
            f"centroids have dimension {c.shape[1]} but embeddings have {x.shape[1]}."
        )
    out = torch.empty(x.shape[0], dtype=torch.float64, device=x.device)
    step = _row_chunk(c.shape[0])
    for start in range(0, x.shape[0], step):
        d = torch.cdist(x[start : start + step], c, compute_mode="donot_use_mm_for_euclid_dist")
        d12 = d.topk(2, dim=1, largest=False).values
        ratio = d12[:, 0] / d12[:, 1]
        out[start : start + step] = torch.where(d12[:, 1] > 0, ratio, torch.ones_like(ratio))
    return out.cpu().numpy()


# --------------------------------------------------------------------------
# Intrinsic dimension (R-DC Sec. 4.1.2)
# --------------------------------------------------------------------------
def _two_nn_distances(x: torch.Tensor, n_candidates: int = 4) -> torch.Tensor:
    """Euclidean distances (N, 2) to the first and second nearest neighbour
    (self excluded). Candidates come from chunked squared distances via
    matrix products; their distances are then recomputed exactly."""
    n = x.shape[0]
    x = x - x.mean(dim=0, keepdim=True)  # smaller norms: less cancellation
    sq = (x * x).sum(dim=1)
    m = min(n_candidates, n - 1)
    out = torch.empty(n, 2, dtype=x.dtype, device=x.device)
    step = _row_chunk(n)
    for start in range(0, n, step):
        stop = min(start + step, n)
        rows = torch.arange(start, stop, device=x.device)
        # |x_j|^2 - 2 x_i.x_j orders neighbours like the squared distance
        # (the row term |x_i|^2 is constant along a row and left out).
        d2 = torch.addmm(sq[None, :].expand(stop - start, n), x[start:stop], x.T, alpha=-2.0)
        d2[rows - start, rows] = torch.inf
        cand = d2.topk(m, dim=1, largest=False).indices  # (B, m)
        exact = (x[start:stop, None, :] - x[cand]).norm(dim=2)
        out[start:stop] = exact.sort(dim=1).values[:, :2]
    return out


def twonn_id(
    x: ArrayLike,
    discard_fraction: float = 0.1,
    sample_size: int | None = None,
    seed: int = 0,
) -> float:
    """TwoNN intrinsic dimension (Facco et al. 2017; R-DC's ID, Figs. 1, 15).

    For each point ``mu = r2 / r1`` (distances to the second and first
    nearest neighbours) follows a Pareto law with ``-log(1 - F(mu)) = d
    log(mu)``. With the empirical CDF ``F(mu_(i)) = i / N`` of the sorted
    ratios, ``d`` is the least-squares slope through the origin after
    discarding the ``discard_fraction`` largest ratios (Facco et al. keep
    90 %). Duplicate points (``r1 == 0``) are handled by keeping one copy of
    each distinct point before the neighbour search, so a data set with
    repeated rows gives the same ID as its distinct rows; any ``r1 == 0`` that
    remains is dropped.

    Parameters
    ----------
    x : array-like or tensor, shape (N, D)
        Computed in float64 on the tensor's device (CPU for numpy); kNN by
        chunked distances + top-k, never N x N at once.
    discard_fraction : float in [0, 1)
        Share of the largest ratios left out of the fit (default 0.1).
    sample_size : int or None
        Optional random subsample (``np.random.default_rng(seed)``) for speed.
    seed : int

    Returns
    -------
    float
        The estimated dimension (not a fraction).
    """
    if not 0.0 <= discard_fraction < 1.0:
        raise ValueError(f"discard_fraction must be in [0, 1), got {discard_fraction}.")
    pts = _as_points(x, "x")
    idx = _subsample(pts.shape[0], sample_size, seed)
    if idx is not None:
        pts = pts[torch.from_numpy(idx).to(pts.device)]
    # Collapse exact duplicates to one copy: a duplicate has r1 == 0, and its
    # twin would also make mu == 1 for the points around it.
    pts = torch.unique(pts, dim=0)
    if pts.shape[0] < 3:
        raise ValueError(f"TwoNN needs at least 3 distinct points, got {pts.shape[0]}.")
    r = _two_nn_distances(pts)
    keep = r[:, 0] > 0
    mu = (r[keep, 1] / r[keep, 0]).sort().values
    n = mu.numel()
    n_fit = min(int(math.floor(n * (1.0 - discard_fraction))), n - 1)
    if n_fit < 2:
        raise ValueError(f"discard_fraction={discard_fraction} leaves {n_fit} points to fit.")
    f = torch.arange(1, n_fit + 1, dtype=mu.dtype, device=mu.device) / n
    xs = torch.log(mu[:n_fit])
    ys = -torch.log1p(-f)
    denom = (xs * xs).sum()
    if float(denom) == 0.0:
        raise ValueError("all nearest-neighbour ratios are 1 (a regular lattice?); TwoNN is undefined.")
    return float((xs * ys).sum() / denom)


def pca_lid(x: ArrayLike, variance: float = 0.9, *, standardize: bool = False, strict: bool = False) -> int:
    """Linear intrinsic dimension by PCA (R-DC's LID, Figs. 1, 15; Ansuini et
    al. 2019).

    The number of principal components needed to explain at least
    ``variance`` of the total variance (default 0.9, the 90 % of Ansuini et
    al. 2019, which R-DC follows).

    Two options give the R-DC authors' estimator (their ``computePC_ID`` in
    the file ``DynAE`` of ``Amalsalem/Rethinking-DC``, lines 105-115:
    ``StandardScaler`` then ``PCA``, ``np.argwhere(cumsum(evr) > th)[0][0]``
    with ``th=0.9999``): ``standardize=True`` scales every feature to unit
    (population) variance after centring, a constant feature keeping scale 1
    as ``StandardScaler`` does; ``strict=True`` counts the components up to
    the first whose cumulative share is *strictly* above ``variance``. (The
    authors' function returns that component's 0-based index, i.e. this
    count minus one; :func:`dcutils.rdc.evaluation.geometry` offers both.)
    Neither option changes the default result.

    Parameters
    ----------
    x : array-like or tensor, shape (N, D)
        Computed in float64 on the tensor's device.
    variance : float in (0, 1]
        Share of the total variance to explain.
    standardize : bool, default False
        Divide each centred feature by its standard deviation first.
    strict : bool, default False
        First cumulative share ``> variance`` (authors) instead of
        ``>= variance`` (default).

    Returns
    -------
    int
        In [1, D]; 0 when all points coincide (no variance).
    """
    if not 0.0 < variance <= 1.0:
        raise ValueError(f"variance must be in (0, 1], got {variance}.")
    pts = _as_points(x, "x")
    centred = pts - pts.mean(dim=0, keepdim=True)
    if standardize:
        std = centred.pow(2).mean(dim=0).sqrt()
        centred = centred / torch.where(std > 0, std, torch.ones_like(std))
    eig = torch.linalg.eigvalsh(centred.T @ centred).flip(0).clamp_min(0.0)
    total = float(eig.sum())
    if total == 0.0:
        return 0
    share = (eig.cumsum(0) / total).cpu().numpy()
    if strict:
        return int(min(np.sum(share <= variance) + 1, share.size))
    return int(min(np.sum(share < variance - 1e-12) + 1, share.size))


# --------------------------------------------------------------------------
# Self-labeling metrics (ReSL)
# --------------------------------------------------------------------------
def _as_probs(probs: ArrayLike) -> torch.Tensor:
    p = probs.detach() if isinstance(probs, torch.Tensor) else torch.from_numpy(np.asarray(probs))
    if p.ndim != 2:
        raise ValueError(f"probs must be 2-D (N, K) softmax probabilities, got shape {tuple(p.shape)}.")
    if p.shape[0] == 0:
        raise ValueError("probs is empty; need at least one sample.")
    p = p.to(torch.float64)
    lo, hi = float(p.min()), float(p.max())
    if lo < 0.0 or hi > 1.0 + 1e-6:
        raise ValueError(
            f"probs must lie in [0, 1] (got min {lo:.3g}, max {hi:.3g}); "
            "apply softmax to logits first."
        )
    return p


def is_confident(probs: ArrayLike, threshold: float = 0.99) -> np.ndarray:
    """Mask of confident samples: max softmax probability > ``threshold``
    (ReSL Sec. 3 and Table 3, threshold 0.99).

    The comparison is strict, as in SCAN's self-labeling code; ReSL's text
    writes ``>=``, which differs only for probabilities exactly equal to the
    threshold.

    Parameters
    ----------
    probs : array-like or tensor, shape (N, K)
    threshold : float in [0, 1]

    Returns
    -------
    np.ndarray of bool, shape (N,)
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}.")
    p = _as_probs(probs)
    return (p.max(dim=1).values > threshold).cpu().numpy()


def confident_fraction(probs: ArrayLike, threshold: float = 0.99) -> float:
    """Share of samples whose max softmax probability exceeds ``threshold``
    (ReSL Fig. 1).

    Parameters
    ----------
    probs : array-like or tensor, shape (N, K)
    threshold : float in [0, 1] (default 0.99, ReSL Table 3)

    Returns
    -------
    float
        Fraction in [0, 1].
    """
    return float(is_confident(probs, threshold).mean())


def nmi_match(y_true: ArrayLike, pseudo_labels: ArrayLike, confident_mask: ArrayLike) -> float:
    """NMI between confident pseudo-labels and true classes over the
    confident set only (ReSL Eq. 5, Appendix D, "NMI Match"; Fig. 3, Table 2).

    Parameters
    ----------
    y_true : array-like of int, shape (N,)
    pseudo_labels : array-like of int, shape (N,)
        ``argmax`` of the clustering head.
    confident_mask : array-like of bool, shape (N,)
        e.g. :func:`is_confident` of the same probabilities.

    Returns
    -------
    float
        Fraction in [0, 1]; NaN when no sample is confident.
    """
    a, b = _label_pair(y_true, pseudo_labels, ("y_true", "pseudo_labels"))
    mask = _to_numpy(confident_mask)
    if mask.shape != a.shape:
        raise ValueError(f"confident_mask must have shape {a.shape}, got {mask.shape}.")
    if mask.dtype != np.bool_:
        raise TypeError(f"confident_mask must be boolean, got dtype {mask.dtype}.")
    if not mask.any():
        return float("nan")
    return _nmi_from_contingency(_contingency(a[mask], b[mask])[0])
