"""Tests of dcutils.data: real files from ../shared/data, tiny fixtures for the other formats."""
from __future__ import annotations

import bz2
import gzip
import pickle
import re
import struct
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from dcutils import data, paths
from dcutils.data import (
    CIFAR100_COARSE_LABELS,
    DATASETS,
    GTSRB5_CLASSES,
    DataFileError,
    Dataset,
    DatasetNotFoundError,
    canonical_name,
    dataset_statistics,
    find_files,
    fingerprint,
    idx_shape,
    load_dataset,
    make_curved_clusters,
    read_idx,
)

SHARED_DATA = paths.SHARED / "data"
needs_shared = pytest.mark.skipif(
    not (SHARED_DATA / "usps").is_dir(), reason=f"shared data folder {SHARED_DATA} is absent"
)


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """Never download; search only $DCUTILS_DATA and empty stand-ins for <repo>/data and the system dirs."""
    monkeypatch.setenv("DCUTILS_OFFLINE", "1")
    monkeypatch.setattr(paths, "LOCAL_DATA", tmp_path / "repo-data")
    monkeypatch.setattr(paths, "SYSTEM_DATA", (tmp_path / "system-a", tmp_path / "system-b"))
    monkeypatch.setenv("DCUTILS_DATA", str(tmp_path / "empty"))


@pytest.fixture
def shared(monkeypatch):
    monkeypatch.setenv("DCUTILS_DATA", str(SHARED_DATA))


def _channel_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    per_channel = x.transpose(0, 1).reshape(x.shape[1], -1).double()
    return per_channel.mean(1), per_channel.std(1, correction=0)


# --------------------------------------------------------------------------- real files


@needs_shared
def test_usps_all_brb(shared):
    ds = load_dataset("USPS")
    assert len(ds) == 9298
    assert ds.x.shape == (9298, 1, 28, 28) and ds.x.dtype == torch.float32 and ds.x.is_contiguous()
    assert ds.y.dtype == torch.int64
    assert torch.equal(torch.unique(ds.y), torch.arange(10))
    mean, std = _channel_stats(ds.x)
    assert torch.allclose(mean, torch.zeros(1, dtype=torch.float64), atol=1e-4)
    assert torch.allclose(std, torch.ones(1, dtype=torch.float64), atol=1e-4)
    assert ds.name == "usps" and ds.n_classes == 10 and ds.info["substitute"] is False
    assert ds.flat().shape == (9298, 784)


@needs_shared
def test_usps_splits_raw(shared):
    train = load_dataset("usps", split="train", preprocess="raw")
    test = load_dataset("usps", split="test", preprocess="raw")
    assert (len(train), len(test)) == (7291, 2007)
    assert train.x.shape[1:] == (1, 16, 16)
    assert train.x.min() >= 0.0 and train.x.max() <= 1.0
    assert train.x.min() == 0.0 and train.x.max() == 1.0  # [-1, 1] mapped onto the whole [0, 1]
    rdc = load_dataset("usps", split="test", preprocess="rdc")
    assert rdc.x.shape[1:] == (1, 16, 16)  # rdc does not resize
    assert torch.allclose(rdc.x.mean(), torch.tensor(0.0), atol=1e-4)


@needs_shared
def test_fmnist_all(shared):
    ds = load_dataset("fashion-mnist")
    assert ds.name == "fmnist" and len(ds) == 70_000
    assert torch.equal(torch.bincount(ds.y), torch.full((10,), 7000))
    assert idx_shape(SHARED_DATA / "fashion-mnist" / "train-images-idx3-ubyte.gz") == (60_000, 28, 28)
    assert idx_shape(SHARED_DATA / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz") == (10_000,)


@needs_shared
def test_mnist_test_split_and_missing_train(shared):
    ds = load_dataset("mnist", split="test")
    assert len(ds) == 10_000 and ds.x.shape == (10_000, 1, 28, 28)
    assert "test split only" in ds.info["note"]
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("mnist", split="all")
    message = str(err.value)
    assert isinstance(err.value, FileNotFoundError)
    assert "use split='test'" in message and str(SHARED_DATA / "mnist") in message
    for directory in paths.data_dirs():
        assert str(directory) in message
    assert "train-images-idx3-ubyte" in message
    assert err.value.found_splits == {"test": SHARED_DATA / "mnist"}
    with pytest.raises(DatasetNotFoundError):
        load_dataset("mnist", split="train")


def test_missing_dataset_names_every_place(monkeypatch, tmp_path):
    empty = tmp_path / "nothing-here"
    empty.mkdir()
    monkeypatch.setenv("DCUTILS_DATA", str(empty))
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("kmnist")
    message = str(err.value)
    assert "KMNIST" in message
    dirs = paths.data_dirs()
    assert dirs[0] == empty and len(dirs) == 4
    for directory in dirs:
        assert str(directory) in message
    assert "KMNIST/raw/train-images-idx3-ubyte" in message and "kmnist/t10k-labels-idx1-ubyte" in message
    assert "downloads are disabled" in message
    assert "DCUTILS_DATA=" in message and "folder kmnist/" in message
    assert err.value.dataset == "KMNIST" and err.value.searched == dirs


def test_medmnist_message_says_how(monkeypatch):
    with pytest.raises(DatasetNotFoundError, match="pip install medmnist") as err:
        load_dataset("bloodmnist", split="test")
    assert "bloodmnist.npz" in str(err.value)


# --------------------------------------------------------------------------- argument checks


def test_unknown_name_split_preprocess():
    with pytest.raises(ValueError) as err:
        load_dataset("imagenet")
    for key in DATASETS:
        assert key in str(err.value)
    with pytest.raises(ValueError, match="'train', 'test', 'all'"):
        load_dataset("usps", split="validation")
    with pytest.raises(ValueError, match="'brb', 'rdc', 'raw'"):
        load_dataset("usps", preprocess="minmax")
    with pytest.raises(ValueError, match="subsample"):
        load_dataset("curved4", subsample=0)


def test_aliases_and_registry():
    assert canonical_name("Fashion-MNIST") == "fmnist"
    assert canonical_name("fashionmnist") == "fmnist"
    assert canonical_name("GTSRB") == "gtsrb5"
    assert canonical_name("cifar20") == "cifar100-20"
    assert canonical_name(" CIFAR100_20 ") == "cifar100-20"
    expected = {"mnist", "kmnist", "fmnist", "usps", "optdigits", "gtsrb5", "cifar10", "cifar100-20", "cifar100",
                "stl10", "pneumoniamnist", "breastmnist", "bloodmnist", "vesselmnist3d", "curved4"}
    assert set(DATASETS) == expected
    assert DATASETS["fmnist"].display == "FMNIST" and DATASETS["fmnist"].features == 784
    assert DATASETS["vesselmnist3d"].kind == "3-D volume" and DATASETS["curved4"].kind == "synthetic 2-D"
    assert DATASETS["gtsrb5"].n_classes == 5 and DATASETS["cifar100-20"].n_classes == 20


def test_cifar100_coarse_map_groups_five_fine_classes_each():
    coarse = np.asarray(CIFAR100_COARSE_LABELS)
    assert coarse.shape == (100,)
    assert np.array_equal(np.bincount(coarse), np.full(20, 5))
    # spot checks against the class names: apple -> fruit and vegetables, whale -> aquatic mammals
    assert coarse[0] == 4 and coarse[95] == 0 and coarse[99] == 13


# --------------------------------------------------------------------------- OPTDIGITS


def test_optdigits_falls_back_to_sklearn():
    ds = load_dataset("optdigits")
    assert len(ds) == 1797 and ds.x.shape == (1797, 1, 28, 28)
    assert ds.info["substitute"] is True and "1,797" in ds.info["note"] and "5,620" in ds.info["note"]
    assert "scikit-learn" in ds.info["source"]
    raw = load_dataset("optdigits", split="test", preprocess="raw")
    assert raw.x.shape == (1797, 1, 8, 8) and raw.x.max() == 1.0 and raw.info["substitute"] is False
    with pytest.raises(DatasetNotFoundError, match="optdigits.tra"):
        load_dataset("optdigits", split="train")


def test_optdigits_uci_files(monkeypatch, tmp_path):
    folder = tmp_path / "optdigits"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, n in (("optdigits.tra", 7), ("optdigits.tes", 5)):
        rows = np.concatenate([rng.integers(0, 17, (n, 64)), np.arange(n)[:, None] % 10], axis=1)
        (folder / name).write_text("\n".join(",".join(map(str, r)) for r in rows) + "\n")
    monkeypatch.setenv("DCUTILS_DATA", str(tmp_path))
    ds = load_dataset("optdigits", preprocess="raw")
    assert len(ds) == 12 and ds.info["substitute"] is False
    assert ds.x.max() <= 1.0 and torch.equal(ds.y[:7], torch.arange(7))
    assert set(find_files("optdigits")) == {"train", "test"}


# --------------------------------------------------------------------------- subsample, synthetic


@needs_shared
def test_subsample_deterministic(shared):
    full = load_dataset("usps", split="test")
    a = load_dataset("usps", split="test", subsample=500, seed=3)
    b = load_dataset("usps", split="test", subsample=500, seed=3)
    c = load_dataset("usps", split="test", subsample=500, seed=4)
    assert len(a) == 500 and torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.y, c.y) or not torch.equal(a.x, c.x)
    # a row subset of the full (identically preprocessed) split
    rows = (full.flat()[:, None, :] == a.flat()[None, :50, :]).all(-1).any(0)
    assert rows.all()
    everything = load_dataset("usps", split="test", subsample=10**6)
    assert len(everything) == 2007 and "all kept" in everything.info["subsample"]["method"]


def test_curved_clusters():
    a = make_curved_clusters(n_per_cluster=100, noise=0.05, seed=1)
    b = make_curved_clusters(n_per_cluster=100, noise=0.05, seed=1)
    c = make_curved_clusters(n_per_cluster=100, noise=0.05, seed=2)
    assert a.x.shape == (400, 2) and a.n_classes == 4
    assert torch.equal(torch.bincount(a.y), torch.full((4,), 100))
    assert torch.equal(a.x, b.x) and not torch.equal(a.x, c.x)
    # every point lies on a unit arc around its cluster's centre (up to the noise): curved, not blobs
    centres = torch.tensor([[0.0, 0.0], [1.0, 0.5], [5.5, 0.5], [4.5, 0.0]])
    radius = (make_curved_clusters(100, noise=0.0, seed=1).x - centres[a.y]).norm(dim=1)
    assert torch.allclose(radius, torch.ones_like(radius), atol=1e-5)
    ds = load_dataset("curved4")
    assert ds.x.shape == (1000, 2) and ds.n_classes == 4 and ds.info["source"] == "synthetic"
    assert torch.allclose(ds.x.mean(0), torch.zeros(2), atol=1e-5)
    assert torch.allclose(load_dataset("curved4", preprocess="raw").x, make_curved_clusters().x)
    with pytest.raises(ValueError, match="single split"):
        load_dataset("curved4", split="train")


def test_dataset_container():
    ds = load_dataset("curved4", device="cpu")
    moved = ds.to("cpu")
    assert moved is not ds and torch.equal(moved.x, ds.x) and len(moved) == 1000
    assert "curved4" in repr(ds)
    with pytest.raises(TypeError):
        Dataset(x=torch.zeros(3, 2, dtype=torch.float64), y=torch.zeros(3, dtype=torch.int64), name="bad")
    with pytest.raises(ValueError):
        Dataset(x=torch.zeros(3, 2), y=torch.zeros(4, dtype=torch.int64), name="bad")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_device_placement_cuda():
    ds = load_dataset("curved4", device="cuda")
    assert ds.x.is_cuda and ds.y.is_cuda and ds.to("cpu").x.device.type == "cpu"


# --------------------------------------------------------------------------- statistics


@needs_shared
def test_dataset_statistics_marks_missing(shared):
    table = dataset_statistics()
    assert list(table["key"]) == list(DATASETS)
    for column in ("dataset", "type", "samples", "features", "classes", "status", "note"):
        assert column in table.columns
    rows = table.set_index("key")
    assert rows.loc["usps", "status"] == "loaded" and rows.loc["usps", "samples"] == 9298
    assert rows.loc["usps", "features"] == 784 and rows.loc["usps", "original_features"] == 256
    assert rows.loc["fmnist", "samples"] == 70_000
    assert rows.loc["mnist", "status"].startswith("substitute: test split only")
    assert rows.loc["optdigits", "status"].startswith("substitute:") and rows.loc["optdigits", "samples"] == 1797
    assert rows.loc["curved4", "status"] == "loaded" and rows.loc["curved4", "features"] == 2
    for key in ("kmnist", "gtsrb5", "cifar10", "cifar100-20", "cifar100", "stl10"):
        assert rows.loc[key, "status"] == "missing" and "not found" in rows.loc[key, "note"]
        assert pd.isna(rows.loc[key, "samples"])
    assert rows.loc["cifar10", "features"] == 3072 and rows.loc["stl10", "classes"] == 10


# --------------------------------------------------------------------------- formats


def _idx_bytes(array: np.ndarray, code: int) -> bytes:
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def test_idx_roundtrip(tmp_path):
    images = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    plain = tmp_path / "img-idx3-ubyte"
    plain.write_bytes(_idx_bytes(images, 0x08))
    zipped = tmp_path / "img-idx3-ubyte.gz"
    zipped.write_bytes(gzip.compress(_idx_bytes(images, 0x08)))
    floats = np.linspace(-1, 1, 6).astype(">f4").reshape(2, 3)
    (tmp_path / "f.idx").write_bytes(_idx_bytes(floats, 0x0D))
    assert np.array_equal(read_idx(plain), images) and read_idx(plain).dtype == np.uint8
    assert np.array_equal(read_idx(zipped), images)
    assert idx_shape(zipped) == (3, 4, 5) and idx_shape(plain) == (3, 4, 5)
    assert np.allclose(read_idx(tmp_path / "f.idx"), floats.astype(np.float32))
    (tmp_path / "short").write_bytes(_idx_bytes(images, 0x08)[:-1])
    with pytest.raises(ValueError, match="announces"):
        read_idx(tmp_path / "short")
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="not an IDX"):
        read_idx(tmp_path / "bad")


def _write_fake_idx_set(folder: Path, n_train: int = 6, n_test: int = 4) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        (folder / f"{prefix}-images-idx3-ubyte").write_bytes(
            _idx_bytes(rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), 0x08))
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(
            gzip.compress(_idx_bytes((np.arange(n) % 10).astype(np.uint8), 0x08)))


def test_torchvision_layout_plain_and_gz(monkeypatch, tmp_path):
    _write_fake_idx_set(tmp_path / "KMNIST" / "raw")
    monkeypatch.setenv("DCUTILS_DATA", str(tmp_path))
    ds = load_dataset("kmnist", preprocess="raw")
    assert len(ds) == 10 and ds.x.shape == (10, 1, 28, 28)
    files = find_files("kmnist", split="test")["test"]
    assert files[0].name == "t10k-images-idx3-ubyte" and files[1].name == "t10k-labels-idx1-ubyte.gz"


def test_download_success_and_failure(monkeypatch, tmp_path):
    monkeypatch.delenv("DCUTILS_OFFLINE")
    target = tmp_path / "downloads"
    shared = tmp_path / "shared"  # a DCUTILS_DATA folder: searched, never written to
    shared.mkdir()
    monkeypatch.setenv("DCUTILS_DATA", str(shared))
    monkeypatch.setenv("DCUTILS_DOWNLOAD_DIR", str(target))

    def broken(root: Path) -> None:
        """fake downloader"""
        raise OSError("[Errno 111] Connection refused")

    monkeypatch.setitem(DATASETS, "kmnist", replace(DATASETS["kmnist"], download=broken))
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("kmnist")
    assert "tried fake downloader" in str(err.value) and "Connection refused" in str(err.value)
    assert str(target) in str(err.value)

    def works(root: Path) -> None:
        """fake downloader"""
        _write_fake_idx_set(root / "KMNIST" / "raw")

    monkeypatch.setitem(DATASETS, "kmnist", replace(DATASETS["kmnist"], download=works))
    ds = load_dataset("kmnist")
    assert len(ds) == 10 and "downloaded with fake downloader" in ds.info["download"]
    assert (target / "KMNIST" / "raw" / "train-images-idx3-ubyte").exists()
    assert list(shared.iterdir()) == []


def test_usps_libsvm_format(monkeypatch, tmp_path):
    rng = np.random.default_rng(0)
    values = rng.uniform(-1, 1, (3, 256)).round(4)
    lines = [f"{k + 1} " + " ".join(f"{i + 1}:{v}" for i, v in enumerate(row)) for k, row in enumerate(values)]
    for name in ("usps.bz2", "usps.t.bz2"):
        (tmp_path / name).write_bytes(bz2.compress(("\n".join(lines) + "\n").encode()))
    monkeypatch.setenv("DCUTILS_DATA", str(tmp_path))
    ds = load_dataset("usps", split="train", preprocess="raw")
    assert torch.equal(ds.y, torch.tensor([0, 1, 2]))
    expected = torch.from_numpy(((values + 1) / 2).astype(np.float32)).reshape(3, 1, 16, 16)
    assert torch.allclose(ds.x, expected, atol=1e-6)


def test_cifar_pickles(monkeypatch, tmp_path):
    rng = np.random.default_rng(0)
    c10 = tmp_path / "cifar-10-batches-py"
    c10.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 256, (2, 3072), dtype=np.uint8), "labels": [1, 7]}
        (c10 / name).write_bytes(pickle.dumps(batch))
    c100 = tmp_path / "cifar-100-python"
    c100.mkdir()
    fine = np.arange(100)
    for name in ("train", "test"):
        entry = {"data": rng.integers(0, 256, (100, 3072), dtype=np.uint8), "fine_labels": fine.tolist(),
                 "coarse_labels": list(CIFAR100_COARSE_LABELS)}
        (c100 / name).write_bytes(pickle.dumps(entry))
    monkeypatch.setenv("DCUTILS_DATA", str(tmp_path))
    ten = load_dataset("cifar-10")
    assert ten.x.shape == (12, 3, 32, 32) and ten.y.tolist() == [1, 7] * 6
    mean, std = _channel_stats(ten.x)
    assert torch.allclose(std, torch.ones(3, dtype=torch.float64), atol=1e-4)
    twenty = load_dataset("cifar20", split="test")
    assert twenty.n_classes == 20 and torch.equal(twenty.y, torch.tensor(CIFAR100_COARSE_LABELS))
    hundred = load_dataset("cifar100")
    assert len(hundred) == 200 and torch.equal(hundred.y[:100], torch.arange(100))


def test_stl10_column_major(monkeypatch, tmp_path):
    folder = tmp_path / "stl10_binary"
    folder.mkdir()
    images = np.random.default_rng(0).integers(0, 256, (2, 3, 96, 96), dtype=np.uint8)
    for split in ("train", "test"):
        (folder / f"{split}_X.bin").write_bytes(np.ascontiguousarray(images.transpose(0, 1, 3, 2)).tobytes())
        (folder / f"{split}_y.bin").write_bytes(bytes([1, 10]))
    monkeypatch.setenv("DCUTILS_DATA", str(tmp_path))
    ds = load_dataset("stl10", preprocess="raw")
    assert ds.x.shape == (4, 3, 96, 96) and ds.y.tolist() == [0, 9, 0, 9]
    assert torch.allclose(ds.x[:2], torch.from_numpy(images).float() / 255)


def test_medmnist_npz(monkeypatch, tmp_path):
    folder = tmp_path / "medmnist"
    folder.mkdir()
    rng = np.random.default_rng(0)
    arrays = {}
    for part, n in (("train", 5), ("val", 2), ("test", 3)):
        arrays[f"{part}_images"] = rng.integers(0, 256, (n, 28, 28, 3), dtype=np.uint8)
        arrays[f"{part}_labels"] = (np.arange(n) % 8).reshape(n, 1)
    np.savez(folder / "bloodmnist.npz", **arrays)
    volumes = {f"{p}_images": rng.integers(0, 256, (2, 28, 28, 28), dtype=np.uint8) for p in ("train", "val", "test")}
    volumes.update({f"{p}_labels": np.array([[0], [1]]) for p in ("train", "val", "test")})
    np.savez(folder / "vesselmnist3d.npz", **volumes)
    monkeypatch.setenv("DCUTILS_DATA", str(tmp_path))
    blood = load_dataset("BloodMNIST", preprocess="raw")
    assert blood.x.shape == (10, 3, 28, 28) and blood.n_classes == 8
    assert torch.allclose(blood.x[0, 1], torch.from_numpy(arrays["train_images"][0, :, :, 1]).float() / 255)
    assert len(load_dataset("bloodmnist", split="train")) == 5
    vessel = load_dataset("vesselmnist3d")
    assert vessel.x.shape == (6, 1, 28, 28, 28) and vessel.flat().shape == (6, 28**3)


def test_gtsrb_layout(monkeypatch, tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    base = tmp_path / "gtsrb"
    for cls in (1,) + GTSRB5_CLASSES:  # class 1 must be ignored
        folder = base / "GTSRB" / "Training" / f"{cls:05d}"
        folder.mkdir(parents=True)
        for i, size in enumerate((30, 45)):
            pixels = rng.integers(40, 90, (size, size + 3, 3), dtype=np.uint8)  # low contrast
            Image.fromarray(pixels).save(folder / f"00000_{i:05d}.ppm")
    test_dir = base / "GTSRB" / "Final_Test" / "Images"
    test_dir.mkdir(parents=True)
    rows = ["Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId"]
    for i, cls in enumerate((35, 3, 2)):
        Image.fromarray(rng.integers(0, 256, (33, 31, 3), dtype=np.uint8)).save(test_dir / f"{i:05d}.ppm")
        rows.append(f"{i:05d}.ppm;31;33;5;5;26;28;{cls}")
    (base / "GT-final_test.csv").write_text("\n".join(rows) + "\n")
    monkeypatch.setenv("DCUTILS_DATA", str(tmp_path))
    raw = load_dataset("gtsrb", preprocess="raw")
    assert raw.x.shape == (12, 3, 32, 32) and raw.n_classes == 5
    assert raw.y.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 0]
    assert raw.x[:10].max() < 0.4  # low-contrast training images without equalisation
    brb = load_dataset("gtsrb", preprocess="brb")
    assert "histogram equalisation" in brb.info["preprocessing"]
    one = base / "GTSRB" / "Training" / "00002" / "00000_00000.ppm"
    plain, equalised = data._gtsrb_image(one, equalize=False), data._gtsrb_image(one, equalize=True)
    assert plain.shape == equalised.shape == (32, 32, 3)
    assert np.ptp(equalised) > 200 > np.ptp(plain)  # equalisation stretches the 40-90 range
    mean, std = _channel_stats(brb.x)
    assert torch.allclose(mean, torch.zeros(3, dtype=torch.float64), atol=1e-4)


# --------------------------------------------------------------------------- damaged files


def _copy_shared(folder: str, target: Path) -> Path:
    """Copy ``../shared/data/<folder>/*`` into ``target/<folder>/`` and return that folder."""
    dest = target / folder
    dest.mkdir(parents=True)
    for src in sorted((SHARED_DATA / folder).iterdir()):
        (dest / src.name).write_bytes(src.read_bytes())
    return dest


def _assert_names_file_and_remedy(err: DataFileError, path: Path, *words: str) -> None:
    message = str(err)
    assert isinstance(err, OSError) and err.path == path
    assert str(path) in message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    assert "delete it and let the loader download it again" in message
    assert "replace it with a complete copy from https://" in message


@needs_shared
def test_truncated_usps_file_names_the_file(monkeypatch, tmp_path):
    folder = _copy_shared("usps", tmp_path)
    damaged = folder / "zip.train.gz"
    raw = damaged.read_bytes()
    damaged.write_bytes(raw[: len(raw) // 2])
    monkeypatch.setenv("DCUTILS_DATA", str(tmp_path))
    with pytest.raises(DataFileError) as err:
        load_dataset("usps", split="train")
    _assert_names_file_and_remedy(err.value, damaged, "truncated", "gzip stream ends early")
    assert "ElemStatLearn" in str(err.value)  # where zip.train.gz comes from
    assert len(load_dataset("usps", split="test", preprocess="raw")) == 2007  # the intact file still loads


@needs_shared
def test_garbage_inside_fmnist_idx_gz_names_the_file(monkeypatch, tmp_path):
    folder = _copy_shared("fashion-mnist", tmp_path)
    damaged = folder / "t10k-images-idx3-ubyte.gz"
    raw = bytearray(damaged.read_bytes())
    middle = len(raw) // 2
    raw[middle:middle + 64] = bytes(b ^ 0xFF for b in raw[middle:middle + 64])
    damaged.write_bytes(bytes(raw))
    monkeypatch.setenv("DCUTILS_DATA", str(tmp_path))
    with pytest.raises(DataFileError) as err:
        load_dataset("fmnist", split="test")
    _assert_names_file_and_remedy(err.value, damaged, "garbage bytes inside the gzip stream", "fashion-mnist")


def test_unparseable_files_name_the_file(monkeypatch, tmp_path):
    monkeypatch.setenv("DCUTILS_DATA", str(tmp_path))
    usps = tmp_path / "usps"
    usps.mkdir()
    rows = "\n".join("1 " + " ".join(["0.5"] * 100) for _ in range(3)) + "\n"  # 101 values, not 257
    for name in ("zip.train.gz", "zip.test.gz"):
        (usps / name).write_bytes(gzip.compress(rows.encode()))
    with pytest.raises(DataFileError) as err:
        load_dataset("usps", split="test")
    _assert_names_file_and_remedy(err.value, usps / "zip.test.gz", "expected 257 values per row")

    _write_fake_idx_set(tmp_path / "kmnist")
    images = tmp_path / "kmnist" / "t10k-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-5])  # header announces more pixels than stored
    with pytest.raises(DataFileError) as err:
        load_dataset("kmnist", split="test")
    _assert_names_file_and_remedy(err.value, images, "announces")

    libsvm = tmp_path / "usps.bz2"  # torchvision's USPS file, cut short; the only train file left
    libsvm.write_bytes(bz2.compress(b"1 1:0.5\n" * 200)[:40])
    (usps / "zip.train.gz").unlink()
    with pytest.raises(DataFileError) as err:
        load_dataset("usps", split="train")
    _assert_names_file_and_remedy(err.value, libsvm, "truncated: the bz2 stream ends early")

    cifar = tmp_path / "cifar-10-batches-py"
    cifar.mkdir()
    (cifar / "test_batch").write_bytes(pickle.dumps({"data": b"x"})[:-4])  # unpickling runs out of input
    with pytest.raises(DataFileError) as err:
        load_dataset("cifar10", split="test")
    assert err.value.path == cifar / "test_batch" and "cannot be parsed as CIFAR10 data" in str(err.value)
    assert "https://www.cs.toronto.edu/~kriz/cifar.html" in str(err.value)


def test_data_file_error_without_download_says_where_to_get_it(monkeypatch, tmp_path):
    folder = tmp_path / "optdigits"
    folder.mkdir()
    (folder / "optdigits.tra").write_text("1,2,3\n")
    (folder / "optdigits.tes").write_text("1,2,3\n")
    monkeypatch.setenv("DCUTILS_DATA", str(tmp_path))
    with pytest.raises(DataFileError) as err:
        load_dataset("optdigits", split="test")
    message = str(err.value)
    assert str(folder / "optdigits.tes") in message and "expected 65 comma-separated values" in message
    assert "download it again" not in message  # OPTDIGITS has no automatic download
    assert "complete copy from https://archive.ics.uci.edu/" in message


# --------------------------------------------------------------------------- fingerprint


@needs_shared
def test_fingerprint_stable_and_split_specific(shared):
    train = load_dataset("usps", split="train", preprocess="raw")
    again = load_dataset("usps", split="train", preprocess="raw")
    test = load_dataset("usps", split="test", preprocess="raw")
    assert re.fullmatch(r"[0-9a-f]{16}", train.info["fingerprint"])
    assert train.info["fingerprint"] == again.info["fingerprint"]
    assert train.info["fingerprint"] != test.info["fingerprint"]
    # the stored value is fingerprint() of the raw split, under the canonical name
    assert fingerprint(test.x, test.y, "USPS", "test") == test.info["fingerprint"]


def test_fingerprint_is_of_the_full_raw_split():
    full = load_dataset("optdigits", split="test", preprocess="raw")
    other = load_dataset("optdigits", split="test", subsample=100, seed=3, preprocess="brb")
    assert len(other) == 100 and other.x.shape[-1] == 28  # preprocessed and subsampled ...
    assert other.info["fingerprint"] == full.info["fingerprint"]  # ... yet the same fingerprint
    assert full.info["fingerprint"] == fingerprint(full.x, full.y, "optdigits", "test")


def test_fingerprint_sees_every_input():
    x = torch.rand(5, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    y = torch.arange(5)
    base = fingerprint(x, y, "usps", "train")
    assert fingerprint(x.numpy(), y.numpy(), "USPS", "train") == base  # arrays, aliases and case
    nudged = x.clone()
    nudged[3, 0, 2, 1] += 1e-6
    changed = {
        "one pixel": fingerprint(nudged, y, "usps", "train"),
        "one label": fingerprint(x, torch.tensor([0, 1, 2, 3, 3]), "usps", "train"),
        "shape": fingerprint(x.reshape(5, 1, 2, 8), y, "usps", "train"),
        "name": fingerprint(x, y, "mnist", "train"),
        "split": fingerprint(x, y, "usps", "test"),
    }
    assert all(v != base for v in changed.values()), changed
    assert len(set(changed.values())) == len(changed)
    with pytest.raises(ValueError, match="split"):
        fingerprint(x, y, "usps", "val")
    with pytest.raises(ValueError, match=r"\(N,\)"):
        fingerprint(x, y[:4], "usps", "train")
    with pytest.raises(TypeError, match="torch tensor or numpy array"):
        fingerprint(x.tolist(), y, "usps", "train")
