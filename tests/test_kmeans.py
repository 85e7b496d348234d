from __future__ import annotations

import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits, make_blobs
from sklearn.metrics import adjusted_rand_score

from dcutils.kmeans import (
    assign,
    gmm_em,
    kmeans,
    kmeans_plusplus,
    kmedoids,
    subsample_indices,
)


@pytest.fixture(scope="module")
def digits() -> torch.Tensor:
    return torch.tensor(load_digits().data, dtype=torch.float32)


@pytest.fixture(scope="module")
def blobs() -> tuple[torch.Tensor, torch.Tensor]:
    x, y = make_blobs(1500, centers=5, n_features=6, cluster_std=0.7, random_state=3)
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y)


def _brute_inertia(x, centroids, labels):
    return float(((x - centroids[labels]) ** 2).sum())


def test_kmeans_matches_sklearn_inertia_on_digits(digits):
    ref = KMeans(n_clusters=10, n_init=10, random_state=0).fit(digits.numpy().astype("float64"))
    res = kmeans(digits, 10, n_init=10, generator=0)
    assert res.inertia <= 1.01 * ref.inertia_
    assert res.centroids.shape == (10, 64) and res.labels.shape == (1797,)
    assert res.labels.dtype == torch.long
    # the reported inertia and labels belong to the returned centroids
    assert abs(res.inertia - _brute_inertia(digits, res.centroids, res.labels)) < 1e-3 * res.inertia
    torch.testing.assert_close(res.labels, assign(digits, res.centroids), rtol=0, atol=0)
    assert 1 <= res.n_iter <= 300


def test_kmeans_is_deterministic_given_seed(digits):
    a = kmeans(digits, 10, n_init=3, generator=7)
    b = kmeans(digits, 10, n_init=3, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a.labels, b.labels) and torch.equal(a.centroids, b.centroids)
    assert a.inertia == b.inertia
    torch.manual_seed(11)
    c = kmeans(digits, 10, n_init=2)
    torch.manual_seed(11)
    d = kmeans(digits, 10, n_init=2)
    assert torch.equal(c.labels, d.labels)


def test_kmeans_with_init_tensor(digits):
    first = kmeans(digits, 10, n_init=2, generator=0)
    again = kmeans(digits, 10, init=first.centroids, n_init=50)  # n_init ignored
    assert again.n_iter == 1  # already converged
    assert torch.equal(again.labels, first.labels)
    torch.testing.assert_close(again.centroids, first.centroids)
    # a poor start converges to a better solution
    poor = digits[:10].clone()
    from_poor = kmeans(digits, 10, init=poor)
    labels0 = assign(digits, poor)
    assert from_poor.inertia < _brute_inertia(digits, poor, labels0)
    with pytest.raises(ValueError, match="shape"):
        kmeans(digits, 10, init=poor[:5])


def test_kmeans_chunked_equals_unchunked(digits):
    a = kmeans(digits, 10, n_init=2, generator=1)
    b = kmeans(digits, 10, n_init=2, generator=1, chunk_size=97)
    assert torch.equal(a.labels, b.labels)
    assert abs(a.inertia - b.inertia) < 1e-4 * a.inertia


def test_kmeans_relocates_empty_clusters(blobs):
    x, _ = blobs
    init = torch.cat([x[:4], torch.full((1, x.shape[1]), 1e4)])  # last centre gets no point
    res = kmeans(x, 5, init=init)
    counts = torch.bincount(res.labels, minlength=5)
    assert (counts > 0).all()
    assert torch.isfinite(res.centroids).all()
    assert res.centroids.abs().max() < 1e3


def test_assign_matches_brute_force():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1000, 7, generator=g)
    c = torch.randn(13, 7, generator=g)
    expected = torch.cdist(x.double(), c.double()).argmin(1)
    assert torch.equal(assign(x, c, chunk_size=64), expected)
    assert torch.equal(assign(x, c), expected)
    with pytest.raises(ValueError, match="features"):
        assign(x, c[:, :3])


def test_kmeans_plusplus_picks_one_seed_per_separated_blob(blobs):
    x, y = blobs
    centroids, idx = kmeans_plusplus(x, 5, generator=0, return_indices=True)
    assert centroids.shape == (5, 6)
    assert torch.equal(centroids, x[idx])
    assert sorted(y[idx].tolist()) == [0, 1, 2, 3, 4]
    # "k-means++ init only" reclustering: seeds + assignment
    labels = assign(x, centroids)
    assert adjusted_rand_score(y.numpy(), labels.numpy()) > 0.95
    plain = kmeans_plusplus(x, 5, generator=0, n_local_trials=1)
    assert plain.shape == (5, 6)


def test_kmedoids_recovers_blobs(blobs):
    x, y = blobs
    res = kmedoids(x, 5, generator=0)
    assert adjusted_rand_score(y.numpy(), res.labels.numpy()) > 0.95
    assert torch.equal(res.centroids, x[res.medoid_indices])
    dist = torch.cdist(x, res.centroids)
    assert torch.equal(res.labels, dist.argmin(1))
    assert abs(res.inertia - float(dist.min(1).values.sum())) < 1e-3 * res.inertia
    sub = kmedoids(x, 5, generator=0, max_samples=400)
    assert adjusted_rand_score(y.numpy(), sub.labels.numpy()) > 0.95


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_gmm_recovers_blobs(blobs, covariance_type):
    x, y = blobs
    res = gmm_em(x, 5, covariance_type=covariance_type, generator=0)
    assert adjusted_rand_score(y.numpy(), res.labels.numpy()) > 0.95
    assert res.converged
    assert res.centroids.shape == (5, 6)
    torch.testing.assert_close(res.weights.sum(), torch.tensor(1.0))
    shape = (5, 6, 6) if covariance_type == "full" else (5, 6)
    assert res.covariances.shape == shape


def test_gmm_log_likelihood_matches_sklearn(blobs):
    from sklearn.mixture import GaussianMixture

    x, _ = blobs
    ref = GaussianMixture(5, random_state=0).fit(x.numpy().astype("float64"))
    res = gmm_em(x, 5, generator=0)
    assert abs(res.log_likelihood - ref.score(x.numpy().astype("float64"))) < 0.01


def test_subsample_indices():
    idx = subsample_indices(70_000, 10_000, generator=0)
    assert idx.shape == (10_000,) and idx.dtype == torch.long
    assert torch.unique(idx).numel() == 10_000
    assert idx.min() >= 0 and idx.max() < 70_000
    assert torch.all(idx[1:] > idx[:-1])
    assert torch.equal(idx, subsample_indices(70_000, 10_000, generator=0))
    assert not torch.equal(idx, subsample_indices(70_000, 10_000, generator=1))
    assert torch.equal(subsample_indices(500, 10_000), torch.arange(500))


def test_argument_validation(digits):
    with pytest.raises(ValueError, match="clusters"):
        kmeans(digits[:5], 10)
    with pytest.raises(ValueError, match=r"\(N, d\)"):
        kmeans(digits[0], 2)
    with pytest.raises(ValueError, match="init"):
        kmeans(digits, 3, init="bogus")
    with pytest.raises(TypeError, match="generator"):
        kmeans(digits, 3, generator="seed")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_kmeans_on_cuda_matches_cpu(digits):
    cpu = kmeans(digits, 10, n_init=3, generator=0)
    gpu = kmeans(digits.cuda(), 10, n_init=3, generator=0)
    assert gpu.labels.device.type == "cuda" and gpu.centroids.device.type == "cuda"
    assert abs(gpu.inertia - cpu.inertia) < 1e-3 * cpu.inertia
    assert assign(digits.cuda(), gpu.centroids).device.type == "cuda"
