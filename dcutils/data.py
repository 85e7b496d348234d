"""Data set loaders returning device-ready tensors.

Every data set of the catalog's "Data sets" table has an entry in
:data:`DATASETS`; :func:`load_dataset` finds its files on disk (or downloads
them where a download path exists), applies one paper's preprocessing and
returns a :class:`Dataset` of contiguous tensors.

Where files are searched
------------------------
:func:`dcutils.paths.data_dirs` gives the directories, in order:
``$DCUTILS_DATA`` (colon-separated), ``<repo>/data``, ``/usr/share/datasets``,
``/usr/local/share/datasets`` (MedMNIST sets also look in ``~/.medmnist``, the
``medmnist`` package's own default). In each directory a data set's files are
looked for under several common folder names (``mnist/``, ``MNIST/raw/``, ...,
see ``DATASETS[name].layout``), gzipped or plain. The first directory holding
a complete file set of a split wins.

Downloads
---------
When a split is not on disk, torchvision (MNIST, KMNIST, FashionMNIST, USPS,
GTSRB, CIFAR10/100, STL10) or the ``medmnist`` package downloads it into the
repository's ``data/`` folder (``$DCUTILS_DOWNLOAD_DIR`` replaces it; never a
``DCUTILS_DATA`` folder, which may be a shared collection). Set
``DCUTILS_OFFLINE=1`` to skip downloads. Every failure ends in a
:class:`DatasetNotFoundError` that lists each place searched, what happened to
the download and how to provide the files. Nothing else is cached on disk.

Preprocessing (``preprocess=``)
-------------------------------
``"brb"``
    Breaking the Reclustering Barrier, Appendix C: scale to [0, 1]; resize
    grayscale images to 28x28 (USPS 16x16 and OPTDIGITS 8x8 are upsampled,
    bilinear, ``torch.nn.functional.interpolate``); GTSRB: per-image
    histogram equalisation (each RGB channel separately) before the resize to
    32x32; finally a z-score per channel over the whole loaded split
    (population standard deviation), so every channel has mean 0 and std 1.
``"rdc"``
    R-DC, Section 4.1.1 ("we standardize it"): scale to [0, 1], then the same
    z-score per channel over the whole loaded split, no resizing. The text's
    "row normalization" is ambiguous; we chose the channel-wise z-score that
    its Eq. 16 (feature-wise z-score) and brb share, so one input pipeline
    serves both papers.
``"raw"``
    [0, 1] floats at the native resolution (GTSRB is still resized to 32x32,
    without equalisation, because its images differ in size).

The synthetic ``curved4`` set is returned as generated for ``"raw"`` and
z-scored per coordinate for ``"brb"`` / ``"rdc"``.

Splits
------
``"train"``, ``"test"`` or ``"all"`` (train + test, the papers' autoencoder
protocol). For MedMNIST, ``"all"`` is train + val + test (the R-DC sample
counts) and ``"train"`` excludes the val part. A split that is not available
raises :class:`DatasetNotFoundError` naming the splits that are; it is never
silently replaced, with one documented exception: OPTDIGITS falls back to
scikit-learn's bundled 1,797 images (the UCI test part), flagged by
``info["substitute"]``.

Damaged files
-------------
A data file that exists but cannot be read completely or parsed (a
truncated gzip/bz2 stream, garbage bytes, a wrong IDX header or size, USPS
rows of the wrong length, an unreadable pickle, ...) raises
:class:`DataFileError` naming the file, what is wrong and how to replace it;
it is never silently skipped in favour of another copy.

Fingerprint
-----------
``info["fingerprint"]`` (:func:`fingerprint`) identifies exactly which
images a run used: a hash of the data set's name, the split and the full
split's [0, 1] images and labels as read, before preprocessing and
subsampling. It is part of a run's key, so a run on other files never
passes for one on the pinned files.
"""
from __future__ import annotations

import bz2
import contextlib
import csv
import gzip
import hashlib
import io
import math
import os
import pickle
import re
import socket
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from dcutils import paths

__all__ = [
    "Dataset",
    "DatasetSpec",
    "DatasetNotFoundError",
    "DataFileError",
    "DATASETS",
    "ALIASES",
    "SPLITS",
    "PREPROCESSING",
    "CIFAR100_COARSE_LABELS",
    "GTSRB5_CLASSES",
    "canonical_name",
    "load_dataset",
    "fingerprint",
    "find_files",
    "dataset_statistics",
    "make_curved_clusters",
    "read_idx",
    "idx_shape",
]

SPLITS = ("train", "test", "all")
PREPROCESSING = ("brb", "rdc", "raw")

#: Original GTSRB class ids kept by brb (Leiber et al., 2021), relabelled 0-4
#: in this order: speed limit 50, priority road, no entry, general caution,
#: ahead only.
GTSRB5_CLASSES = (2, 12, 17, 18, 35)

#: CIFAR-100 fine label (0-99, alphabetical class order) -> the standard
#: coarse superclass (0-19), as stored in the data set's ``coarse_labels``.
CIFAR100_COARSE_LABELS = (
    4, 1, 14, 8, 0, 6, 7, 7, 18, 3,
    3, 14, 9, 18, 7, 11, 3, 9, 7, 11,
    6, 11, 5, 10, 7, 6, 13, 15, 3, 15,
    0, 11, 1, 10, 12, 14, 16, 9, 11, 5,
    5, 19, 8, 8, 15, 13, 14, 17, 18, 10,
    16, 4, 17, 4, 2, 0, 17, 4, 18, 17,
    10, 3, 2, 12, 12, 16, 12, 1, 9, 19,
    2, 10, 0, 1, 16, 12, 9, 13, 15, 13,
    16, 19, 2, 4, 6, 19, 5, 5, 8, 19,
    18, 1, 2, 15, 6, 0, 17, 8, 14, 13,
)

_OFFLINE_ENV = "DCUTILS_OFFLINE"
_DOWNLOAD_TIMEOUT_S = 30.0


# --------------------------------------------------------------------------
# The Dataset container
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """A loaded data set: inputs, labels and provenance.

    Attributes
    ----------
    x : torch.Tensor
        float32 inputs, (N, C, H, W) for images, (N, 1, D, H, W) for
        VesselMNIST3D, (N, 2) for the synthetic ``curved4``.
    y : torch.Tensor
        int64 ground-truth labels, (N,), values in ``0 .. n_classes - 1``.
    name : str
        Canonical lowercase key of :data:`DATASETS` (e.g. ``"fmnist"``).
    info : dict
        Provenance: ``display_name``, ``source`` (files read, or
        ``"synthetic"`` / ``"scikit-learn bundled"``), ``split``,
        ``preprocess`` and ``preprocessing`` (what was done), ``note``,
        ``substitute`` (True when the data differ from the paper's; then
        ``substitute_what`` says how in a few words), ``download``,
        ``n_classes``, ``paper_samples``, ``subsample``, ``channel_mean`` /
        ``channel_std`` (the z-score statistics, when applied),
        ``fingerprint`` (:func:`fingerprint` of the full split as read).
    """

    x: torch.Tensor
    y: torch.Tensor
    name: str
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.x, torch.Tensor) or not isinstance(self.y, torch.Tensor):
            raise TypeError("Dataset.x and Dataset.y must be torch tensors")
        if self.x.dtype != torch.float32:
            raise TypeError(f"Dataset.x must be float32, got {self.x.dtype}")
        if self.y.dtype != torch.int64 or self.y.ndim != 1:
            raise TypeError(f"Dataset.y must be a 1-D int64 tensor, got {self.y.dtype} {tuple(self.y.shape)}")
        if self.x.ndim < 2 or self.x.shape[0] != self.y.shape[0]:
            raise ValueError(
                f"Dataset.x {tuple(self.x.shape)} and y {tuple(self.y.shape)} must have the same first dimension N"
            )

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, x={tuple(self.x.shape)} {str(self.x.dtype).replace('torch.', '')} "
            f"on {self.x.device}, n_classes={self.n_classes}, split={self.info.get('split')!r}, "
            f"preprocess={self.info.get('preprocess')!r})"
        )

    @property
    def n_classes(self) -> int:
        """Number of classes of the data set (not only those present after subsampling)."""
        if "n_classes" in self.info:
            return int(self.info["n_classes"])
        return int(self.y.max().item()) + 1 if len(self) else 0

    @property
    def device(self) -> torch.device:
        """Device holding ``x`` and ``y``."""
        return self.x.device

    def to(self, device: torch.device | str) -> Dataset:
        """A new Dataset with ``x`` and ``y`` on ``device`` (same info)."""
        return replace(self, x=self.x.to(device).contiguous(), y=self.y.to(device).contiguous(), info=dict(self.info))

    def flat(self) -> torch.Tensor:
        """``x`` as (N, D) with D = C*H*W (a view when ``x`` is contiguous)."""
        return self.x.reshape(len(self), -1)


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


class DatasetNotFoundError(FileNotFoundError):
    """A data set (or one of its splits) is neither on disk nor downloadable.

    The message names the data set, every directory searched with the file
    names looked for, what happened to the download and how to provide the
    files. The same facts are kept as attributes.

    Attributes
    ----------
    dataset : str
        Display name (e.g. ``"KMNIST"``).
    split : str
        Requested split.
    searched : list of Path
        Directories searched, in order.
    found_splits : dict
        Split -> directory for the splits that *were* found.
    download : str
        What happened to the download attempt.
    reason : str
        One-line summary, for tables.
    """

    def __init__(
        self,
        message: str,
        *,
        dataset: str,
        split: str,
        searched: Sequence[Path] = (),
        found_splits: dict[str, Path] | None = None,
        download: str = "",
        reason: str = "",
    ) -> None:
        super().__init__(message)
        self.dataset = dataset
        self.split = split
        self.searched = list(searched)
        self.found_splits = dict(found_splits or {})
        self.download = download
        self.reason = reason or message.splitlines()[0]

    def __str__(self) -> str:
        return str(self.args[0])


_GENERIC_REMEDY = "delete it and let the loader download it again, or replace it with a complete copy"


class DataFileError(OSError):
    """A data file exists but cannot be read completely or parsed.

    Raised for truncated gzip / bz2 streams, garbage bytes, a wrong IDX
    header or size, USPS rows of the wrong length, unreadable pickles or
    archives, and the like. The message names the file, what is wrong and
    what to do.

    Parameters
    ----------
    path : path-like
        The damaged file (or, when the culprit is unknown, the file set's
        first file; ``problem`` then lists the others).
    problem : str
        What is wrong, e.g. ``"truncated: the gzip stream ends early"``.
    remedy : str, optional
        What to do; a generic "delete it and let the loader download it
        again, or replace it with a complete copy" when omitted.

    Attributes
    ----------
    path : Path
    problem : str
    remedy : str
    """

    def __init__(self, path: str | os.PathLike, problem: str, remedy: str | None = None) -> None:
        self.path = Path(path)
        self.problem = problem
        self.remedy = remedy or _GENERIC_REMEDY
        super().__init__(f"data file {self.path} cannot be read: {problem}. To fix it: {self.remedy}.")
        self.filename = str(self.path)

    def __str__(self) -> str:
        return str(self.args[0])

    def __reduce__(self):
        return (type(self), (self.path, self.problem, self.remedy))


# --------------------------------------------------------------------------
# File formats
# --------------------------------------------------------------------------

_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _bunzip(raw: bytes) -> bytes:
    """``bz2.decompress`` (all streams, trailing non-bz2 bytes ignored) raising EOFError when a stream is cut short."""
    parts: list[bytes] = []
    while raw:
        decompressor = bz2.BZ2Decompressor()
        try:
            parts.append(decompressor.decompress(raw))
        except OSError:
            if parts:  # leftover data that is not a bz2 stream: ignored, as bz2.decompress does
                break
            raise
        if not decompressor.eof:
            raise EOFError("compressed data ended before the end-of-stream marker was reached")
        raw = decompressor.unused_data
    return b"".join(parts)


def _read_bytes(path: Path) -> bytes:
    """Bytes of ``path``, decompressed when it starts with the gzip or bzip2 magic.

    Raises
    ------
    DataFileError
        The compressed stream is truncated or damaged.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        kind, decompress = "gzip", gzip.decompress
    elif raw[:3] == b"BZh":
        kind, decompress = "bz2", _bunzip
    else:
        return raw
    try:
        return decompress(raw)
    except EOFError as err:
        raise DataFileError(path, f"truncated: the {kind} stream ends early ({len(raw):,} bytes on disk)") from err
    except (OSError, ValueError, zlib.error) as err:  # BadGzipFile, CRC mismatch, invalid data
        raise DataFileError(path, f"garbage bytes inside the {kind} stream ({type(err).__name__}: {err})") from err


def _parse_idx_header(raw: bytes, path: Path) -> tuple[np.dtype, tuple[int, ...], int]:
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path} is not an IDX file: the first two bytes must be zero, got {raw[:4]!r}")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02X}; expected one of "
                         f"{', '.join(f'0x{c:02X}' for c in _IDX_DTYPES)}")
    offset = 4 + 4 * ndim
    if len(raw) < offset:
        raise ValueError(f"{path}: IDX header truncated ({len(raw)} bytes for {ndim} dimensions)")
    shape = tuple(int(v) for v in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    return _IDX_DTYPES[code], shape, offset


def idx_shape(path: str | os.PathLike) -> tuple[int, ...]:
    """Shape stored in an IDX file's header, reading only the header.

    Parameters
    ----------
    path : path-like
        IDX file, plain or gzipped.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(2)
    opener = gzip.open if head == b"\x1f\x8b" else open
    try:
        with opener(path, "rb") as fh:
            start = fh.read(4)
            raw = start + fh.read(4 * start[3]) if len(start) == 4 else start
    except EOFError as err:
        raise DataFileError(path, "truncated: the gzip stream ends inside the IDX header") from err
    except (zlib.error, gzip.BadGzipFile) as err:
        raise DataFileError(path, f"garbage bytes inside the gzip stream ({type(err).__name__}: {err})") from err
    return _parse_idx_header(raw, path)[1]


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST family's format), plain or gzipped.

    Parameters
    ----------
    path : path-like
        File whose header is two zero bytes, a type code (0x08 uint8, 0x09
        int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), the
        number of dimensions, then one big-endian uint32 per dimension.

    Returns
    -------
    numpy.ndarray
        Array of the stored shape, e.g. (N, 28, 28) uint8 for images and
        (N,) uint8 for labels, in native byte order.
    """
    path = Path(path)
    raw = _read_bytes(path)
    dtype, shape, offset = _parse_idx_header(raw, path)
    count = math.prod(shape)
    expected = offset + count * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(f"{path}: IDX header announces shape {shape} ({expected} bytes), file has {len(raw)} bytes")
    array = np.frombuffer(raw, dtype=dtype, count=count, offset=offset).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


def _read_idx_pair(files: Sequence[Path], preprocess: str) -> tuple[np.ndarray, np.ndarray]:
    images, labels = read_idx(files[0]), read_idx(files[1])
    if images.ndim != 3 or labels.shape != images.shape[:1]:
        raise ValueError(f"{files[0]} {images.shape} and {files[1]} {labels.shape} are not an image/label pair")
    return images[:, None], labels


def _read_usps_text(files: Sequence[Path], preprocess: str) -> tuple[np.ndarray, np.ndarray]:
    """``zip.train.gz`` rows: label, then 256 gray values in [-1, 1]."""
    with io.StringIO(_read_bytes(files[0]).decode("ascii")) as fh:
        table = np.loadtxt(fh, dtype=np.float32, ndmin=2)
    if table.shape[1] != 257:
        raise ValueError(f"{files[0]}: expected 257 values per row (label + 16x16), got {table.shape[1]}")
    x = (table[:, 1:].reshape(-1, 1, 16, 16) + 1.0) / 2.0
    return np.clip(x, 0.0, 1.0), table[:, 0].astype(np.int64)


def _read_usps_libsvm(files: Sequence[Path], preprocess: str) -> tuple[np.ndarray, np.ndarray]:
    """torchvision's ``usps.bz2``: libsvm rows ``label 1:v1 ... 256:v256``, labels 1-10."""
    text = _read_bytes(files[0]).decode("ascii")
    text = re.sub(r"\s\d+:", " ", text)
    with io.StringIO(text) as fh:
        table = np.loadtxt(fh, dtype=np.float32, ndmin=2)
    if table.shape[1] != 257:
        raise ValueError(f"{files[0]}: expected 257 values per row (label + 16x16), got {table.shape[1]}")
    x = (table[:, 1:].reshape(-1, 1, 16, 16) + 1.0) / 2.0
    return np.clip(x, 0.0, 1.0), table[:, 0].astype(np.int64) - 1


def _read_optdigits_uci(files: Sequence[Path], preprocess: str) -> tuple[np.ndarray, np.ndarray]:
    """UCI ``optdigits.tra`` / ``.tes``: 64 counts in 0-16, then the label."""
    with io.StringIO(_read_bytes(files[0]).decode("ascii")) as fh:
        table = np.loadtxt(fh, delimiter=",", dtype=np.float32, ndmin=2)
    if table.shape[1] != 65:
        raise ValueError(f"{files[0]}: expected 65 comma-separated values per row, got {table.shape[1]}")
    return table[:, :64].reshape(-1, 1, 8, 8) / 16.0, table[:, 64].astype(np.int64)


def _unpickle(path: Path) -> dict:
    with open(path, "rb") as fh:
        return pickle.load(fh, encoding="latin1")


def _read_cifar10(files: Sequence[Path], preprocess: str) -> tuple[np.ndarray, np.ndarray]:
    batches = [_unpickle(p) for p in files]
    x = np.concatenate([np.asarray(b["data"], dtype=np.uint8) for b in batches]).reshape(-1, 3, 32, 32)
    y = np.concatenate([np.asarray(b["labels"], dtype=np.int64) for b in batches])
    return x, y


def _read_cifar100(files: Sequence[Path], preprocess: str, *, coarse: bool) -> tuple[np.ndarray, np.ndarray]:
    entry = _unpickle(files[0])
    x = np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    fine = np.asarray(entry["fine_labels"], dtype=np.int64)
    if not coarse:
        return x, fine
    y = np.asarray(CIFAR100_COARSE_LABELS, dtype=np.int64)[fine]
    stored = entry.get("coarse_labels")
    if stored is not None and not np.array_equal(y, np.asarray(stored, dtype=np.int64)):
        raise ValueError(f"{files[0]}: its coarse_labels disagree with the fixed CIFAR-100 superclass map")
    return x, y


def _read_stl10(files: Sequence[Path], preprocess: str) -> tuple[np.ndarray, np.ndarray]:
    """``stl10_binary/*_X.bin``: uint8 images stored column-major; labels 1-10."""
    x = np.frombuffer(Path(files[0]).read_bytes(), dtype=np.uint8).reshape(-1, 3, 96, 96).transpose(0, 1, 3, 2)
    y = np.frombuffer(Path(files[1]).read_bytes(), dtype=np.uint8).astype(np.int64) - 1
    return np.ascontiguousarray(x), y


def _read_medmnist(files: Sequence[Path], preprocess: str, *, parts: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """MedMNIST ``<flag>.npz``: ``{train,val,test}_{images,labels}``."""
    with np.load(files[0]) as npz:
        missing = [f"{p}_images" for p in parts if f"{p}_images" not in npz.files]
        if missing:
            raise ValueError(f"{files[0]} lacks {', '.join(missing)}; it holds {', '.join(npz.files)}")
        images = np.concatenate([npz[f"{p}_images"] for p in parts])
        labels = np.concatenate([npz[f"{p}_labels"].reshape(-1) for p in parts]).astype(np.int64)
    if images.ndim == 3:  # (N, H, W) grayscale
        images = images[:, None]
    elif images.ndim == 4 and images.shape[-1] == 3:  # (N, H, W, 3) RGB
        images = images.transpose(0, 3, 1, 2)
    elif images.ndim == 4:  # (N, D, H, W) volume
        images = images[:, None]
    if images.dtype.kind == "f":
        images = images.astype(np.float32)
        top = float(images.max()) if images.size else 1.0
        if top > 1.0:
            images /= top
    return np.ascontiguousarray(images), labels


def _gtsrb_image(path: Path, equalize: bool) -> np.ndarray:
    from PIL import Image, ImageOps

    with Image.open(path) as img:
        img = img.convert("RGB")
        if equalize:
            img = ImageOps.equalize(img)  # each channel separately
        img = img.resize((32, 32), Image.Resampling.BILINEAR)
        return np.asarray(img, dtype=np.uint8)


def _stack_gtsrb(items: list[tuple[Path, int]], preprocess: str) -> tuple[np.ndarray, np.ndarray]:
    relabel = {c: i for i, c in enumerate(GTSRB5_CLASSES)}
    equalize = preprocess == "brb"
    x = np.stack([_gtsrb_image(p, equalize) for p, _ in items]) if items else np.zeros((0, 32, 32, 3), np.uint8)
    y = np.asarray([relabel[c] for _, c in items], dtype=np.int64)
    return x.transpose(0, 3, 1, 2), y


def _read_gtsrb_train(files: Sequence[Path], preprocess: str) -> tuple[np.ndarray, np.ndarray]:
    """Training layout: one folder per class (``00002/``, ...) of ``.ppm`` images."""
    items = [(p, c) for folder, c in zip(files, GTSRB5_CLASSES) for p in sorted(Path(folder).glob("*.ppm"))]
    return _stack_gtsrb(items, preprocess)


def _read_gtsrb_test(files: Sequence[Path], preprocess: str) -> tuple[np.ndarray, np.ndarray]:
    """Test layout: ``Final_Test/Images/*.ppm`` plus ``GT-final_test.csv`` (Filename;...;ClassId)."""
    csv_path, folder = Path(files[0]), Path(files[1])
    with open(csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";", skipinitialspace=True))
    keep = set(GTSRB5_CLASSES)
    items = [(folder / r["Filename"], int(r["ClassId"])) for r in rows if int(r["ClassId"]) in keep]
    return _stack_gtsrb(items, preprocess)


# --------------------------------------------------------------------------
# Layouts: where each split's files may lie
# --------------------------------------------------------------------------

Reader = Callable[[Sequence[Path], str], "tuple[np.ndarray, np.ndarray]"]


@dataclass(frozen=True)
class FileSet:
    """One way a split may lie on disk: files relative to a data directory.

    Each path may also exist gzipped (``+ .gz``) or, if it ends in ``.gz``,
    plain. ``read(paths, preprocess)`` returns (x, y) numpy arrays; x is
    uint8 in 0-255 or float in [0, 1], (N, C, ...).
    """

    files: tuple[str, ...]
    read: Reader

    def describe(self) -> str:
        return " + ".join(self.files)


def _idx_layout(folders: Sequence[str]) -> dict[str, tuple[FileSet, ...]]:
    def sets(prefix: str) -> tuple[FileSet, ...]:
        return tuple(
            FileSet((f"{d}/{prefix}-images-idx3-ubyte", f"{d}/{prefix}-labels-idx1-ubyte"), _read_idx_pair)
            for d in folders
        )

    return {"train": sets("train"), "test": sets("t10k")}


def _usps_layout() -> dict[str, tuple[FileSet, ...]]:
    def sets(text_name: str, bz2_name: str) -> tuple[FileSet, ...]:
        text = tuple(FileSet((f"{d}/{text_name}",), _read_usps_text) for d in ("usps", "USPS"))
        libsvm = tuple(FileSet((f"{d}{bz2_name}",), _read_usps_libsvm) for d in ("usps/", "USPS/", ""))
        return text + libsvm

    return {"train": sets("zip.train.gz", "usps.bz2"), "test": sets("zip.test.gz", "usps.t.bz2")}


def _optdigits_layout() -> dict[str, tuple[FileSet, ...]]:
    folders = ("optdigits", "OPTDIGITS", "optdigits/raw")
    return {
        "train": tuple(FileSet((f"{d}/optdigits.tra",), _read_optdigits_uci) for d in folders),
        "test": tuple(FileSet((f"{d}/optdigits.tes",), _read_optdigits_uci) for d in folders),
    }


def _gtsrb_layout() -> dict[str, tuple[FileSet, ...]]:
    train_roots = ("gtsrb/GTSRB/Training", "GTSRB/Final_Training/Images", "gtsrb/GTSRB/Final_Training/Images")
    train = tuple(
        FileSet(tuple(f"{root}/{c:05d}" for c in GTSRB5_CLASSES), _read_gtsrb_train) for root in train_roots
    )
    test = (
        FileSet(("gtsrb/GT-final_test.csv", "gtsrb/GTSRB/Final_Test/Images"), _read_gtsrb_test),
        FileSet(("GTSRB/GT-final_test.csv", "GTSRB/Final_Test/Images"), _read_gtsrb_test),
        FileSet(("GT-final_test.csv", "GTSRB/Final_Test/Images"), _read_gtsrb_test),
    )
    return {"train": train, "test": test}


def _cifar10_layout() -> dict[str, tuple[FileSet, ...]]:
    folders = ("cifar-10-batches-py", "cifar10/cifar-10-batches-py", "CIFAR10/cifar-10-batches-py")
    return {
        "train": tuple(FileSet(tuple(f"{d}/data_batch_{i}" for i in range(1, 6)), _read_cifar10) for d in folders),
        "test": tuple(FileSet((f"{d}/test_batch",), _read_cifar10) for d in folders),
    }


def _cifar100_layout(coarse: bool) -> dict[str, tuple[FileSet, ...]]:
    folders = ("cifar-100-python", "cifar100/cifar-100-python", "CIFAR100/cifar-100-python")
    read = partial(_read_cifar100, coarse=coarse)
    return {split: tuple(FileSet((f"{d}/{split}",), read) for d in folders) for split in ("train", "test")}


def _stl10_layout() -> dict[str, tuple[FileSet, ...]]:
    folders = ("stl10_binary", "stl10/stl10_binary", "STL10/stl10_binary")
    return {
        split: tuple(FileSet((f"{d}/{split}_X.bin", f"{d}/{split}_y.bin"), _read_stl10) for d in folders)
        for split in ("train", "test")
    }


def _medmnist_layout(flag: str) -> dict[str, tuple[FileSet, ...]]:
    names = (f"medmnist/{flag}.npz", f"MedMNIST/{flag}.npz", f"{flag}.npz")
    parts = {"train": ("train",), "test": ("test",), "all": ("train", "val", "test")}
    return {s: tuple(FileSet((n,), partial(_read_medmnist, parts=p)) for n in names) for s, p in parts.items()}


# --------------------------------------------------------------------------
# Downloads
# --------------------------------------------------------------------------


def _offline() -> bool:
    return os.environ.get(_OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def _download_root() -> Path | None:
    """Where downloads go: :func:`dcutils.paths.download_dir` (``<repo>/data``), if writable.

    Never one of the ``DCUTILS_DATA`` folders: those may be shared, read-only
    collections that a download must not litter.
    """
    directory = paths.download_dir()
    existing = directory if directory.exists() else next((p for p in directory.parents if p.exists()), None)
    if existing is not None and os.access(existing, os.W_OK):
        return directory
    return None


@contextlib.contextmanager
def _socket_timeout(seconds: float):
    """Bound each socket operation so an unreachable network fails fast."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _torchvision_download(class_name: str, calls: Sequence[dict]) -> Callable[[Path], None]:
    def download(root: Path) -> None:
        import torchvision.datasets as tvd

        cls = getattr(tvd, class_name)
        for kwargs in calls:
            cls(str(root), download=True, **kwargs)

    download.__doc__ = f"torchvision.datasets.{class_name}(root, download=True)"
    return download


def _medmnist_download(flag: str) -> Callable[[Path], None]:
    def download(root: Path) -> None:
        try:
            import medmnist
        except ImportError as exc:
            raise ImportError("the medmnist package is not installed (pip install medmnist)") from exc
        cls = getattr(medmnist, medmnist.INFO[flag]["python_class"])
        target = root / "medmnist"
        target.mkdir(parents=True, exist_ok=True)
        cls(split="train", download=True, root=str(target))

    download.__doc__ = f"the medmnist package ({flag})"
    return download


def _try_download(spec: DatasetSpec) -> tuple[bool, str]:
    """Run the spec's download; (succeeded, what happened)."""
    if spec.download is None:
        return False, f"not available: there is no automatic download for {spec.display}"
    if _offline():
        return False, f"not tried: downloads are disabled ({_OFFLINE_ENV}={os.environ.get(_OFFLINE_ENV)})"
    what = (spec.download.__doc__ or getattr(spec.download, "__name__", "the download")).strip()
    root = _download_root()
    if root is None:
        return False, (f"not tried: the download folder {paths.download_dir()} is not writable "
                       "(set DCUTILS_DOWNLOAD_DIR)")
    try:
        root.mkdir(parents=True, exist_ok=True)
        with _socket_timeout(_DOWNLOAD_TIMEOUT_S):
            spec.download(root)
    except Exception as exc:  # no network, HTTP error, missing package, full disk, ...
        detail = " ".join(str(exc).split())  # one line, whatever the library printed
        return False, f"tried {what} into {root}, failed: {type(exc).__name__}: {detail}"
    return True, f"downloaded with {what} into {root}"


# --------------------------------------------------------------------------
# Specs
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetSpec:
    """Everything known about one data set before loading it.

    Attributes
    ----------
    key : str
        Canonical lowercase name (the key in :data:`DATASETS`).
    display : str
        Name used in tables and figures (e.g. ``"FMNIST"``).
    kind : str
        ``"grayscale"``, ``"color"``, ``"3-D volume"`` or ``"synthetic 2-D"``.
    n_classes : int
        Number of classes.
    paper_samples : int or None
        Sample count the papers use (None: made by code).
    shape : tuple of int
        Shape of one sample after ``preprocess="brb"`` (e.g. (1, 28, 28)).
    original_shape : tuple of int
        Native shape of one sample (e.g. (1, 16, 16) for USPS).
    papers : tuple of str
        Papers using it (``brb``, ``resl``, ``rdc``).
    loader : callable
        ``loader(split, preprocess) -> (x, y, info)``: x float32 in [0, 1]
        (N, *original_shape) (GTSRB: equalised for ``"brb"``), y int64.
    layout : dict
        Split -> file sets searched, in order (empty for synthetic sets).
    download : callable or None
        ``download(root)``; None where no automatic download exists.
    how_to_provide : str
        Sentence appended to not-found errors.
    note : str
        Caveats (differences to the papers).
    extra_dirs : tuple of Path
        Searched after :func:`dcutils.paths.data_dirs`.
    origin : str
        Where complete copies of the files are published (a URL), named by
        :class:`DataFileError` messages.
    split_samples : dict of str to int
        Sample count of each published split (``"train"``, ``"test"``,
        ``"all"``), for estimates made without loading; :func:`split_size`.
    """

    key: str
    display: str
    kind: str
    n_classes: int
    paper_samples: int | None
    shape: tuple[int, ...]
    original_shape: tuple[int, ...]
    papers: tuple[str, ...]
    loader: Callable[[str, str], tuple[torch.Tensor, torch.Tensor, dict]] = field(repr=False)
    layout: dict = field(default_factory=dict, repr=False)
    download: Callable[[Path], None] | None = field(default=None, repr=False)
    how_to_provide: str = ""
    note: str = ""
    extra_dirs: tuple[Path, ...] = ()
    origin: str = ""
    split_samples: dict[str, int] = field(default_factory=dict)

    @property
    def features(self) -> int:
        """C*H*W after brb preprocessing (e.g. 784 for 28x28 grayscale)."""
        return math.prod(self.shape)

    def search_dirs(self) -> list[Path]:
        """Directories searched for this data set, in order."""
        return list(paths.data_dirs()) + list(self.extra_dirs)


def _existing(path: Path) -> Path | None:
    if path.exists():
        return path
    gz = path.with_name(path.name + ".gz")
    if gz.exists():
        return gz
    if path.suffix == ".gz" and path.with_suffix("").exists():
        return path.with_suffix("")
    return None


def _find_split(spec: DatasetSpec, split: str, dirs: Sequence[Path]) -> tuple[Path, FileSet, list[Path]] | None:
    """First (directory, file set, resolved files) holding ``split``."""
    for directory in dirs:
        if not directory.is_dir():
            continue
        for fileset in spec.layout.get(split, ()):
            found = [_existing(directory / rel) for rel in fileset.files]
            if all(p is not None for p in found):
                return directory, fileset, found  # type: ignore[return-value]
    return None


def _parts(spec: DatasetSpec, split: str) -> tuple[str, ...]:
    """Layout splits that make up ``split`` ("all" = train + test unless the layout has its own)."""
    if split == "all" and "all" not in spec.layout:
        return ("train", "test")
    return (split,)


def _dir_label(directory: Path) -> str:
    env = [Path(p).expanduser() for p in os.environ.get("DCUTILS_DATA", "").split(os.pathsep) if p]
    if directory in env:
        tag = "from DCUTILS_DATA"
    elif directory == paths.LOCAL_DATA:
        tag = "repository data folder"
    elif directory in paths.SYSTEM_DATA:
        tag = "system location"
    else:
        tag = "package default"
    if not directory.exists():
        tag += "; does not exist"
    return f"{directory}  ({tag})"


def _not_found(
    spec: DatasetSpec, split: str, dirs: Sequence[Path], missing: Sequence[str], download: str
) -> DatasetNotFoundError:
    found = {s: r[2][0].parent for s in ("train", "test") if (r := _find_split(spec, s, dirs)) is not None}
    plural = "s" if len(missing) > 1 else ""
    lines = [f"{spec.display} (split={split!r}) was not found: no complete file set for the "
             f"{' and '.join(missing)} split{plural}."]
    if found:
        where = " and ".join(f"{s} split in {d}" for s, d in found.items())
        lines.append(f"Only {spec.display}'s {where} was found; use split={next(iter(found))!r}.")
    lines.append("Searched these directories, in order:")
    lines += [f"  - {_dir_label(d)}" for d in dirs]
    lines.append("looking in each for any of these file sets (paths relative to the directory; each file "
                 "plain or gzipped):")
    for s in missing:
        for fileset in spec.layout.get(s, ()):
            lines.append(f"  - {s}: {fileset.describe()}")
    lines.append(f"Download: {download}.")
    lines.append(f"To provide it: {spec.how_to_provide}")
    reason = f"{spec.display} {'/'.join(missing)} split not found in {len(dirs)} directories; download {download}"
    return DatasetNotFoundError(
        "\n".join(lines), dataset=spec.display, split=split, searched=dirs, found_splits=found,
        download=download, reason=reason,
    )


def _to_unit_float(x: np.ndarray) -> torch.Tensor:
    """uint8 0-255 -> float32 [0, 1]; floats are taken as already in [0, 1]."""
    if x.dtype == np.uint8:
        return torch.from_numpy(np.ascontiguousarray(x)).to(torch.float32).div_(255.0)
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


#: What a reader raises when a file's content is damaged (anything else is a bug and propagates).
_CONTENT_ERRORS = (OSError, EOFError, ValueError, KeyError, IndexError, TypeError, AttributeError,
                   zlib.error, pickle.UnpicklingError, struct.error, zipfile.BadZipFile)


def _remedy(spec: DatasetSpec) -> str:
    """What to do about a damaged file of ``spec``: download again and/or a complete copy from its origin."""
    source = spec.origin or "the data set's publisher"
    if spec.download is None:
        return f"replace it with a complete copy from {source}"
    what = (spec.download.__doc__ or "the loader's download").strip()
    return (f"delete it and let the loader download it again ({what}; needs network access and "
            f"{_OFFLINE_ENV} unset), or replace it with a complete copy from {source}")


def _culprit(err: BaseException, files: Sequence[Path]) -> tuple[Path, str]:
    """The file of ``files`` that ``err`` is about, and a note when that is a guess."""
    named = getattr(err, "filename", None)
    text = f"{named or ''} {err}"
    for path in sorted(files, key=lambda p: len(str(p)), reverse=True):  # longest first: folders hold files
        if str(path) in text:
            return Path(path), ""
    if len(files) == 1:
        return Path(files[0]), ""
    others = ", ".join(str(p) for p in files[1:])
    return Path(files[0]), f" (or one of the other files of the set: {others})"


def _read_fileset(spec: DatasetSpec, fileset: FileSet, files: Sequence[Path], preprocess: str):
    """Run ``fileset``'s reader; any sign of a damaged file becomes a :class:`DataFileError`."""
    try:
        return fileset.read(files, preprocess)
    except DataFileError as err:  # from _read_bytes: name what to do for this data set
        raise DataFileError(err.path, err.problem, _remedy(spec)) from err.__cause__
    except _CONTENT_ERRORS as err:
        path, guess = _culprit(err, files)
        detail = " ".join(str(err).split()) or "no details"
        raise DataFileError(path, f"cannot be parsed as {spec.display} data{guess}: {type(err).__name__}: "
                                  f"{detail}", _remedy(spec)) from err


def _load_from_files(split: str, preprocess: str, *, key: str) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Search, download if needed, and read ``split`` of a file-based data set.

    Raises
    ------
    DatasetNotFoundError
        A part of the split is neither on disk nor downloadable.
    DataFileError
        A file found is truncated or cannot be parsed.
    """
    spec = DATASETS[key]
    dirs = spec.search_dirs()
    parts = _parts(spec, split)
    hits = {s: _find_split(spec, s, dirs) for s in parts}
    download = "not needed"
    if any(h is None for h in hits.values()):
        ok, download = _try_download(spec)
        if ok:
            hits = {s: _find_split(spec, s, dirs) for s in parts}
            if any(h is None for h in hits.values()):
                download += ", but the files were still not found afterwards"
    missing = [s for s, h in hits.items() if h is None]
    if missing:
        raise _not_found(spec, split, dirs, missing, download)
    xs, ys, sources = [], [], []
    for s in parts:
        _, fileset, files = hits[s]  # type: ignore[misc]
        x, y = _read_fileset(spec, fileset, files, preprocess)
        xs.append(_to_unit_float(x))
        ys.append(torch.from_numpy(np.asarray(y, dtype=np.int64)))
        sources += [str(p) for p in files]
    info = {"source": sources, "download": download, "substitute": False}
    return torch.cat(xs), torch.cat(ys), info


_OPTDIGITS_NOTE = (
    "OPTDIGITS: scikit-learn's bundled 1,797-image part (UCI test set), not the full 5,620; "
    "put optdigits.tra and optdigits.tes in optdigits/ for the full set"
)


def _load_optdigits(split: str, preprocess: str) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """UCI files when present, else scikit-learn's bundled test part (flagged)."""
    spec = DATASETS["optdigits"]
    dirs = spec.search_dirs()
    hits = {s: _find_split(spec, s, dirs) for s in _parts(spec, split)}
    if all(h is not None for h in hits.values()):
        return _load_from_files(split, preprocess, key="optdigits")
    if split == "train" or any(h is not None for h in hits.values()):
        missing = [s for s, h in hits.items() if h is None]
        raise _not_found(spec, split, dirs, missing,
                         "not available (UCI files must be placed by hand); scikit-learn bundles only the test part")
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.from_numpy(np.asarray(digits.images, dtype=np.float32).reshape(-1, 1, 8, 8) / 16.0)
    y = torch.from_numpy(np.asarray(digits.target, dtype=np.int64))
    info = {
        "source": "scikit-learn bundled (sklearn.datasets.load_digits)",
        "download": "not needed",
        # The bundled images are exactly the UCI test part: a substitute only when "all" was asked for.
        "substitute": split == "all",
        "substitute_what": "scikit-learn's 1,797-image part (UCI test set) of 5,620",
        "note": _OPTDIGITS_NOTE,
    }
    return x, y, info


def make_curved_clusters(n_per_cluster: int = 250, noise: float = 0.05, seed: int = 0) -> Dataset:
    """Four curved (banana-shaped) 2-D clusters, R-DC's Feature Twist toy data (rdc fig02 / fig16).

    Two pairs of interleaving half-circle arcs of radius 1, side by side:
    pair one is the classic "two moons" (arcs centred at (0, 0), upper half,
    and (1, 0.5), lower half); pair two is pair one turned by 180 degrees and
    shifted to x + 4.5. Arc angles are uniform; isotropic Gaussian noise of
    standard deviation ``noise`` is added. No cluster is convex, so k-means
    in input space cannot separate them while a curved embedding can.

    Parameters
    ----------
    n_per_cluster : int
        Points per cluster (N = 4 * n_per_cluster).
    noise : float
        Standard deviation of the Gaussian jitter, in units of the arc radius.
    seed : int
        Seed of the numpy generator; equal seeds give identical data.

    Returns
    -------
    Dataset
        x (N, 2) float32 raw coordinates, y (N,) int64 in 0-3, grouped by cluster.
    """
    if isinstance(n_per_cluster, bool) or not isinstance(n_per_cluster, (int, np.integer)) or n_per_cluster < 1:
        raise ValueError(f"n_per_cluster must be a positive int, got {n_per_cluster!r}")
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    rng = np.random.default_rng(seed)
    # (centre x, centre y, first angle, rotation sign): each arc spans pi radians.
    arcs = ((0.0, 0.0, 0.0, 1.0), (1.0, 0.5, np.pi, 1.0), (5.5, 0.5, 0.0, -1.0), (4.5, 0.0, np.pi, -1.0))
    points, labels = [], []
    for label, (cx, cy, start, sign) in enumerate(arcs):
        angle = start + rng.uniform(0.0, np.pi, size=n_per_cluster)
        xy = np.stack([cx + sign * np.cos(angle), cy + sign * np.sin(angle)], axis=1)
        points.append(xy + rng.normal(0.0, noise, size=xy.shape))
        labels.append(np.full(n_per_cluster, label, dtype=np.int64))
    info = {
        "display_name": "Curved4",
        "source": "synthetic",
        "split": "all",
        "preprocess": "raw",
        "preprocessing": "none (raw coordinates)",
        "note": f"four curved 2-D clusters, n_per_cluster={n_per_cluster}, noise={noise}, seed={seed}",
        "substitute": False,
        "n_classes": 4,
        "paper_samples": None,
        "generator": {"n_per_cluster": int(n_per_cluster), "noise": float(noise), "seed": int(seed)},
    }
    x = torch.from_numpy(np.concatenate(points).astype(np.float32))
    return Dataset(x=x, y=torch.from_numpy(np.concatenate(labels)), name="curved4", info=info)


def _load_curved(split: str, preprocess: str) -> tuple[torch.Tensor, torch.Tensor, dict]:
    if split != "all":
        raise ValueError(f"curved4 is synthetic and has a single split; use split='all', not {split!r}")
    data = make_curved_clusters()
    info = {k: data.info[k] for k in ("source", "note", "substitute", "generator")}
    return data.x, data.y, info


def _files_hint(layout: dict, folder_hint: str, extra: str) -> str:
    first = {s: sets[0].files for s, sets in layout.items() if s != "all" and sets}
    names = sorted({Path(f).name for files in first.values() for f in files})
    return (
        f"put {', '.join(names)} in a folder {folder_hint} under one of the directories above, "
        f"or set DCUTILS_DATA=/path/to/data (a directory holding {folder_hint}); {extra}"
    )


def _torchvision_hint(class_name: str) -> str:
    return (f"with network access and {_OFFLINE_ENV} unset, torchvision.datasets.{class_name} downloads it "
            "into <repo>/data (or $DCUTILS_DOWNLOAD_DIR)")


def _build_specs() -> dict[str, DatasetSpec]:
    specs: list[DatasetSpec] = []

    def add(key: str, **kwargs) -> None:
        kwargs.setdefault("loader", partial(_load_from_files, key=key))
        specs.append(DatasetSpec(key=key, **kwargs))

    gray28, rgb32 = (1, 28, 28), (3, 32, 32)
    idx_sets = (
        ("mnist", "MNIST", "MNIST", ("mnist", "MNIST/raw", "MNIST"), ("brb", "rdc"),
         "https://ossci-datasets.s3.amazonaws.com/mnist/ (torchvision's mirror of http://yann.lecun.com/exdb/mnist/)"),
        ("kmnist", "KMNIST", "KMNIST", ("kmnist", "KMNIST/raw", "KMNIST", "kuzushiji-mnist"), ("brb",),
         "https://github.com/rois-codh/kmnist"),
        ("fmnist", "FMNIST", "FashionMNIST",
         ("fashion-mnist", "FashionMNIST/raw", "FashionMNIST", "fmnist", "fashion_mnist"), ("brb", "rdc"),
         "https://github.com/zalandoresearch/fashion-mnist"),
    )
    for key, display, tv_name, folders, papers, origin in idx_sets:
        layout = _idx_layout(folders)
        add(key, display=display, kind="grayscale", n_classes=10, paper_samples=70_000, shape=gray28,
            original_shape=gray28, papers=papers, layout=layout, origin=origin,
            split_samples={"train": 60_000, "test": 10_000, "all": 70_000},
            download=_torchvision_download(tv_name, [{"train": True}, {"train": False}]),
            how_to_provide=_files_hint(layout, f"{folders[0]}/", _torchvision_hint(tv_name)),
            note="train + test (70,000) in the papers")

    usps = _usps_layout()
    add("usps", display="USPS", kind="grayscale", n_classes=10, paper_samples=9_298, shape=gray28,
        original_shape=(1, 16, 16), papers=("brb",), layout=usps,
        split_samples={"train": 7_291, "test": 2_007, "all": 9_298},
        origin="https://hastie.su.domains/ElemStatLearn/ (zip.train.gz, zip.test.gz) or "
               "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass.html#usps (usps.bz2, usps.t.bz2)",
        download=_torchvision_download("USPS", [{"train": True}, {"train": False}]),
        how_to_provide=_files_hint(usps, "usps/", "or torchvision's usps.bz2 and usps.t.bz2 in the directory itself; "
                                   + _torchvision_hint("USPS")),
        note="7,291 train + 2,007 test, 16x16 upsampled to 28x28 for brb")

    optdigits = _optdigits_layout()
    add("optdigits", display="OPTDIGITS", kind="grayscale", n_classes=10, paper_samples=5_620, shape=gray28,
        original_shape=(1, 8, 8), papers=("brb",), layout=optdigits, loader=_load_optdigits,
        split_samples={"train": 3_823, "test": 1_797, "all": 5_620},
        origin="https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits",
        how_to_provide=_files_hint(optdigits, "optdigits/", "without them split='all' and 'test' fall back to "
                                   "scikit-learn's bundled 1,797-image test part"),
        note="values 0-16 scaled by 1/16; 8x8 upsampled to 28x28 for brb; without the UCI files only "
             "scikit-learn's 1,797-image test part exists")

    gtsrb = _gtsrb_layout()
    add("gtsrb5", display="GTSRB", kind="color", n_classes=5, paper_samples=7_860, shape=rgb32,
        original_shape=rgb32, papers=("brb",), layout=gtsrb, origin="https://benchmark.ini.rub.de/gtsrb_dataset.html",
        download=_torchvision_download("GTSRB", [{"split": "train"}, {"split": "test"}]),
        how_to_provide="unpack torchvision's GTSRB layout (gtsrb/GTSRB/Training/000NN/*.ppm, "
                       "gtsrb/GTSRB/Final_Test/Images/*.ppm, gtsrb/GT-final_test.csv) under one of the directories "
                       "above, or set DCUTILS_DATA=/path/to/data; " + _torchvision_hint("GTSRB"),
        note="classes 2, 12, 17, 18, 35 relabelled 0-4; images of varying size resized to 32x32 "
             "(after per-image histogram equalisation for brb); the catalog's ~7,860 is the size of these "
             "classes' train part, split='all' adds their test part")

    cifar10 = _cifar10_layout()
    add("cifar10", display="CIFAR10", kind="color", n_classes=10, paper_samples=60_000, shape=rgb32,
        original_shape=rgb32, papers=("brb", "resl", "rdc"), layout=cifar10,
        origin="https://www.cs.toronto.edu/~kriz/cifar.html (the python version)",
        download=_torchvision_download("CIFAR10", [{"train": True}]),
        how_to_provide=_files_hint(cifar10, "cifar-10-batches-py/", _torchvision_hint("CIFAR10")),
        note="brb/resl train on train and report test")
    for key, display, coarse, n_classes, papers in (
        ("cifar100-20", "CIFAR100-20", True, 20, ("brb", "resl")),
        ("cifar100", "CIFAR100", False, 100, ("resl",)),
    ):
        layout = _cifar100_layout(coarse)
        add(key, display=display, kind="color", n_classes=n_classes, paper_samples=60_000, shape=rgb32,
            original_shape=rgb32, papers=papers, layout=layout,
            origin="https://www.cs.toronto.edu/~kriz/cifar.html (the python version)",
            download=_torchvision_download("CIFAR100", [{"train": True}]),
            how_to_provide=_files_hint(layout, "cifar-100-python/", _torchvision_hint("CIFAR100")),
            note="20 superclasses via the fixed CIFAR-100 coarse map" if coarse else "100 fine classes")

    stl10 = _stl10_layout()
    add("stl10", display="STL10", kind="color", n_classes=10, paper_samples=13_000, shape=(3, 96, 96),
        original_shape=(3, 96, 96), papers=("resl",), layout=stl10, origin="https://cs.stanford.edu/~acoates/stl10/",
        download=_torchvision_download("STL10", [{"split": "train"}]),
        how_to_provide=_files_hint(stl10, "stl10_binary/", _torchvision_hint("STL10")),
        note="train + test (13,000); the unlabeled part is not used")

    medmnist_home = (Path("~/.medmnist").expanduser(),)
    for key, display, kind, n_classes, count, shape, desc in (
        ("pneumoniamnist", "PneumoniaMNIST", "grayscale", 2, 5_856, gray28, "chest X-ray"),
        ("breastmnist", "BreastMNIST", "grayscale", 2, 780, gray28, "breast ultrasound"),
        ("bloodmnist", "BloodMNIST", "color", 8, 17_092, (3, 28, 28), "blood cell microscope"),
        ("vesselmnist3d", "VesselMNIST3D", "3-D volume", 2, 1_908, (1, 28, 28, 28), "brain MRA vessel segments"),
    ):
        layout = _medmnist_layout(key)
        note = f"{desc}; split='all' is MedMNIST's train + val + test"
        if key == "breastmnist":
            note += "; MedMNIST labels BreastMNIST with 2 classes (R-DC's Table 1 says 3)"
        add(key, display=display, kind=kind, n_classes=n_classes, paper_samples=count, shape=shape,
            original_shape=shape, papers=("rdc",), layout=layout, download=_medmnist_download(key),
            origin=f"https://medmnist.com/ ({key}.npz, MedMNIST v2 on Zenodo)",
            how_to_provide=f"pip install medmnist and allow network access ({_OFFLINE_ENV} unset), or put "
                           f"{key}.npz in a folder medmnist/ under one of the directories above "
                           "(or set DCUTILS_DATA=/path/to/data)",
            note=note, extra_dirs=medmnist_home)

    add("curved4", display="Curved4", kind="synthetic 2-D", n_classes=4, paper_samples=None, shape=(2,),
        original_shape=(2,), papers=("rdc",), loader=_load_curved,
        how_to_provide="made by code (make_curved_clusters)",
        note="four curved 2-D clusters, 4 x 250 points, noise 0.05, seed 0")
    return {s.key: s for s in specs}


#: Canonical lowercase name -> :class:`DatasetSpec`, one per catalog data set.
DATASETS: dict[str, DatasetSpec] = _build_specs()

#: Accepted alternative spellings -> canonical name.
ALIASES: dict[str, str] = {
    "fashion-mnist": "fmnist",
    "fashionmnist": "fmnist",
    "f-mnist": "fmnist",
    "kuzushiji-mnist": "kmnist",
    "gtsrb": "gtsrb5",
    "gtsrb-5": "gtsrb5",
    "cifar20": "cifar100-20",
    "cifar-20": "cifar100-20",
    "cifar-100-20": "cifar100-20",
    "cifar-10": "cifar10",
    "cifar-100": "cifar100",
    "stl-10": "stl10",
    "pneumonia": "pneumoniamnist",
    "breast": "breastmnist",
    "blood": "bloodmnist",
    "vessel3d": "vesselmnist3d",
    "vesselmnist": "vesselmnist3d",
    "curved": "curved4",
    "curved-clusters": "curved4",
}


def split_size(name: str, split: str = "all") -> int | None:
    """Samples in ``split`` of data set ``name`` as published, without loading it.

    The split's count from :attr:`DatasetSpec.split_samples` where the catalog
    knows it, else the papers' count (:attr:`DatasetSpec.paper_samples`; None
    for a set made by code). An estimate: OPTDIGITS' ``"all"`` without the UCI
    files loads scikit-learn's 1,797 images.

    >>> split_size("optdigits", "test"), split_size("USPS")
    (1797, 9298)
    """
    spec = DATASETS[canonical_name(name)]
    return spec.split_samples.get(split, spec.paper_samples)


def canonical_name(name: str) -> str:
    """Canonical key of ``name`` (case-insensitive, ``_`` = ``-``, aliases resolved).

    Raises
    ------
    ValueError
        If the name is unknown; the message lists the valid names.
    """
    if not isinstance(name, str):
        raise ValueError(f"data set name must be a string, got {type(name).__name__}")
    key = name.strip().lower().replace("_", "-").replace(" ", "-")
    key = ALIASES.get(key, key)
    if key not in DATASETS:
        raise ValueError(
            f"unknown data set {name!r}; valid names: {', '.join(DATASETS)} "
            f"(aliases: {', '.join(sorted(ALIASES))})"
        )
    return key


def find_files(name: str, split: str = "all") -> dict[str, list[Path]]:
    """Files on disk that hold ``split`` of a data set; never downloads.

    Returns
    -------
    dict
        Layout split (``"train"``, ``"test"``, or ``"all"`` for MedMNIST)
        -> the files found, from the first directory that has them.

    Raises
    ------
    DatasetNotFoundError
        If some part of ``split`` is not on disk (synthetic ``curved4`` has
        no files and returns ``{}``).
    """
    spec = DATASETS[canonical_name(name)]
    _check_choice("split", split, SPLITS)
    if not spec.layout:
        return {}
    dirs = spec.search_dirs()
    hits = {s: _find_split(spec, s, dirs) for s in _parts(spec, split)}
    missing = [s for s, h in hits.items() if h is None]
    if missing:
        raise _not_found(spec, split, dirs, missing, "not tried (find_files never downloads)")
    return {s: h[2] for s, h in hits.items()}  # type: ignore[index]


# --------------------------------------------------------------------------
# Preprocessing and the public loader
# --------------------------------------------------------------------------


def _check_choice(what: str, value: object, valid: Iterable[str]) -> None:
    valid = tuple(valid)
    if value not in valid:
        raise ValueError(f"unknown {what} {value!r}; valid values: {', '.join(map(repr, valid))}")


def _resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """(N, C, h, w) -> (N, C, size, size), bilinear, values stay in [0, 1]."""
    if x.shape[-2:] == (size, size):
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp_(0.0, 1.0)


def _zscore_channels(x: torch.Tensor) -> tuple[torch.Tensor, list[float], list[float]]:
    """z-score per channel (dim 1; per column for (N, D)) over all other dims, in place.

    ``x`` must be a tensor the caller owns. Uses the population standard
    deviation, two passes (mean, then the mean square of the centred data,
    both with torch's cascaded float32 sums); a constant channel is only
    centred.
    """
    dims = tuple(d for d in range(x.ndim) if d != 1)
    count = max(x.numel() // max(x.shape[1], 1), 1)
    mean = x.mean(dim=dims, keepdim=True)
    x.sub_(mean)
    std = (x.square().sum(dim=dims, keepdim=True) / count).sqrt_()
    x.div_(torch.where(std > 0, std, torch.ones_like(std)))
    return x, mean.flatten().tolist(), std.flatten().tolist()


def _preprocess(spec: DatasetSpec, x: torch.Tensor, preprocess: str) -> tuple[torch.Tensor, dict]:
    info: dict = {}
    steps = []
    if spec.kind == "synthetic 2-D":
        if preprocess == "raw":
            return x, {"preprocessing": "none (raw coordinates)"}
        x, info["channel_mean"], info["channel_std"] = _zscore_channels(x)
        return x, {**info, "preprocessing": "z-score per coordinate"}
    steps.append("scaled to [0, 1]")
    if spec.key == "gtsrb5":
        steps.append("per-image histogram equalisation, resized to 32x32" if preprocess == "brb"
                     else "resized to 32x32 (no equalisation)")
    if preprocess == "brb" and spec.kind == "grayscale" and x.ndim == 4 and x.shape[-2:] != (28, 28):
        steps.append(f"bilinear resize {x.shape[-2]}x{x.shape[-1]} -> 28x28")
        x = _resize(x, 28)
    if preprocess in ("brb", "rdc"):
        x, info["channel_mean"], info["channel_std"] = _zscore_channels(x)
        steps.append("z-score per channel over the loaded split")
    info["preprocessing"] = "; ".join(steps)
    return x, info


_FINGERPRINT_TAG = b"dcutils.data.fingerprint v1"


def fingerprint(x: torch.Tensor | np.ndarray, y: torch.Tensor | np.ndarray, name: str, split: str) -> str:
    """Identify exactly which images and labels a run used (16 hex digits).

    :func:`load_dataset` stores it as ``info["fingerprint"]``, computed from
    the full split as read from disk, before preprocessing and before
    subsampling: every ``preprocess`` and ``subsample`` of the same files
    gives the same value, other files or another split give another. It is
    part of a run's key. (GTSRB is the exception to preprocessing: its
    ``"brb"`` images are equalised while being read, so they fingerprint
    differently from its ``"raw"`` / ``"rdc"`` images.)

    Parameters
    ----------
    x : torch.Tensor or numpy.ndarray
        Inputs, (N, ...) (e.g. (N, C, H, W) in [0, 1]); hashed as contiguous
        little-endian float32 together with its shape.
    y : torch.Tensor or numpy.ndarray
        Labels, (N,); hashed as little-endian int64.
    name : str
        Data set name; a name or alias known to :data:`DATASETS` is replaced
        by its canonical key, any other non-empty name is used as given.
    split : {"train", "test", "all"}

    Returns
    -------
    str
        The first 16 hex digits of the SHA-256 of a version tag, the name,
        the split, x's shape and bytes, and y's bytes.

    Raises
    ------
    TypeError
        ``x`` or ``y`` is not a tensor or array, or ``name`` not a string.
    ValueError
        Empty ``name``, unknown ``split``, ``y`` not 1-D, or N differs.
    """
    if not isinstance(name, str) or not name.strip():
        raise (ValueError if isinstance(name, str) else TypeError)(
            f"name must be a non-empty data set name, got {name!r}")
    _check_choice("split", split, SPLITS)
    arrays = []
    for what, value, dtype in (("x", x, "<f4"), ("y", y, "<i8")):
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{what} must be a torch tensor or numpy array, got {type(value).__name__}")
        arrays.append(np.ascontiguousarray(value, dtype=dtype))
    xa, ya = arrays
    if ya.ndim != 1 or xa.ndim < 1 or xa.shape[0] != ya.shape[0]:
        raise ValueError(f"x {xa.shape} and y {ya.shape} must be (N, ...) and (N,)")
    try:
        key = canonical_name(name)
    except ValueError:
        key = name.strip()
    digest = hashlib.sha256()
    header = [_FINGERPRINT_TAG, key.encode(), split.encode(), repr(xa.shape).encode(), repr(ya.shape).encode()]
    digest.update(b"\0".join(header) + b"\0")
    digest.update(xa.reshape(-1).view(np.uint8))  # the bytes in place, no copy
    digest.update(ya.reshape(-1).view(np.uint8))
    return digest.hexdigest()[:16]


def _subsample_indices(n_total: int, n: int, seed: int) -> torch.Tensor:
    """Uniform random draw of ``n`` of ``n_total`` indices without replacement, sorted."""
    generator = torch.Generator().manual_seed(int(seed))
    return torch.randperm(n_total, generator=generator)[:n].sort().values


def load_dataset(
    name: str,
    *,
    split: str = "all",
    subsample: int | None = None,
    seed: int = 0,
    preprocess: str = "brb",
    device: torch.device | str | None = None,
) -> Dataset:
    """Load one data set of the catalog, preprocessed for one paper.

    Parameters
    ----------
    name : str
        Key of :data:`DATASETS` or an alias (case-insensitive), e.g.
        ``"fmnist"``, ``"Fashion-MNIST"``, ``"gtsrb"``, ``"cifar20"``.
    split : {"all", "train", "test"}
        ``"all"`` = train + test (MedMNIST: train + val + test). A split that
        is not available raises :class:`DatasetNotFoundError` (never
        substituted, except OPTDIGITS' documented scikit-learn fallback).
    subsample : int, optional
        Keep this many samples, drawn uniformly at random without replacement
        (not stratified) with ``seed``, returned in their original order.
        Preprocessing statistics are computed on the whole split first, so a
        subsample is a row subset of the full result. A value >= the split's
        size keeps everything (noted in ``info["subsample"]``).
    seed : int
        Seed of the subsample draw (a torch CPU generator: the same on every
        machine).
    preprocess : {"brb", "rdc", "raw"}
        See the module docstring.
    device : torch.device or str, optional
        Where the tensors go; CPU when omitted.

    Returns
    -------
    Dataset
        Contiguous float32 x (N, C, H, W) (curved4: (N, 2); VesselMNIST3D:
        (N, 1, D, H, W)) and int64 y (N,).

    Raises
    ------
    ValueError
        Unknown name, split or preprocess, or an invalid subsample.
    DatasetNotFoundError
        The data set (or the split) is neither on disk nor downloadable.
    DataFileError
        A file of the split exists but is truncated or cannot be parsed; the
        message names it and how to replace it.
    """
    key = canonical_name(name)
    _check_choice("split", split, SPLITS)
    _check_choice("preprocess", preprocess, PREPROCESSING)
    if subsample is not None and (
        isinstance(subsample, bool) or not isinstance(subsample, (int, np.integer)) or subsample < 1
    ):
        raise ValueError(f"subsample must be None or a positive int, got {subsample!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an int, got {seed!r}")
    spec = DATASETS[key]

    x, y, load_info = spec.loader(split, preprocess)
    data_fingerprint = fingerprint(x, y, key, split)  # the full split as read, before preprocessing
    x, prep_info = _preprocess(spec, x, preprocess)
    n_total = int(y.shape[0])
    sub_info = None
    if subsample is not None:
        if subsample < n_total:
            idx = _subsample_indices(n_total, int(subsample), seed)
            x, y = x[idx], y[idx]
            sub_info = {"n": int(subsample), "of": n_total, "seed": int(seed), "method": "uniform without replacement"}
        else:
            sub_info = {"n": n_total, "of": n_total, "seed": int(seed),
                        "method": f"none: subsample={subsample} >= {n_total} samples, all kept"}
    note = load_info.get("note") or spec.note
    if split != "all" and spec.paper_samples:
        note += f"; {split} split only ({n_total:,} of the paper's {spec.paper_samples:,})"
    info = {
        "display_name": spec.display,
        "kind": spec.kind,
        "source": load_info.get("source"),
        "download": load_info.get("download", "not needed"),
        "split": split,
        "preprocess": preprocess,
        **prep_info,
        "note": note,
        "substitute": bool(load_info.get("substitute", False)),
        **({"substitute_what": load_info["substitute_what"]} if load_info.get("substitute") else {}),
        "n_classes": spec.n_classes,
        "paper_samples": spec.paper_samples,
        "papers": spec.papers,
        "subsample": sub_info,
        "fingerprint": data_fingerprint,
    }
    if "generator" in load_info:
        info["generator"] = load_info["generator"]
    x = x.to(device).contiguous() if device is not None else x.contiguous()
    y = y.to(device).contiguous() if device is not None else y.contiguous()
    return Dataset(x=x, y=y, name=key, info=info)


# --------------------------------------------------------------------------
# Statistics table (brb tab03, rdc tab01)
# --------------------------------------------------------------------------


def dataset_statistics(names: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per data set, from the real loaders (brb Table 3, R-DC Table 1).

    Each data set is loaded with ``split="all"`` and ``preprocess="brb"``.
    When only the test split exists (MNIST here) the test split is loaded and
    the row says ``substitute: test split only``; a data set that cannot be
    loaded gets status ``"missing"`` and the reason, never an exception.

    Parameters
    ----------
    names : iterable of str, optional
        Data sets (names or aliases); default: every entry of :data:`DATASETS`.

    Returns
    -------
    pandas.DataFrame
        Columns ``key``, ``dataset`` (display name), ``type``, ``samples``
        (loaded; NA when missing), ``paper_samples``, ``features`` (C*H*W
        after brb preprocessing, e.g. 784 for 28x28 grayscale),
        ``original_features``, ``classes``, ``papers``, ``status``
        (``"loaded"``, ``"missing"`` or ``"substitute: ..."``), ``note``.
    """
    keys = list(DATASETS) if names is None else [canonical_name(n) for n in names]
    rows = []
    for key in keys:
        spec = DATASETS[key]
        row = {
            "key": key,
            "dataset": spec.display,
            "type": spec.kind,
            "samples": None,
            "paper_samples": spec.paper_samples,
            "features": spec.features,
            "original_features": math.prod(spec.original_shape),
            "classes": spec.n_classes,
            "papers": ", ".join(spec.papers),
            "status": "missing",
            "note": spec.note,
        }
        try:
            try:
                data = load_dataset(key, split="all", preprocess="brb")
                status = "loaded"
            except DatasetNotFoundError as exc:
                if "test" not in exc.found_splits:
                    raise
                data = load_dataset(key, split="test", preprocess="brb")
                status = f"substitute: test split only ({len(data):,} of {spec.paper_samples:,})"
            if data.info.get("substitute"):
                status = f"substitute: {data.info.get('substitute_what', data.info['note'])}"
            row.update(samples=len(data), features=math.prod(data.x.shape[1:]), classes=data.n_classes,
                       status=status, note=data.info["note"])
        except DatasetNotFoundError as exc:
            row["note"] = exc.reason
        except Exception as exc:  # a broken file must not break the table
            row["note"] = f"could not be loaded: {type(exc).__name__}: {exc}"
        rows.append(row)
    frame = pd.DataFrame(rows)
    for column in ("samples", "paper_samples", "features", "original_features", "classes"):
        frame[column] = frame[column].astype("Int64")
    return frame
