"""Atomic, checksummed storage for finished runs and pretrained networks.

Two kinds of files live under ``results/``:

``<profile>/<algorithm>/<dataset>/<run-id>.json.gz``
    A run record: JSON (gzip) holding a header (the config, the algorithm's
    declared version, the data fingerprint, ...), the history and final
    metrics, and a SHA-256 checksum.
``pretrained/<dataset>/<key>.pt``
    A ``torch.save`` of a state dict with a ``.sha256`` sidecar.

Records are keyed by the run's config, the algorithm version its author
declares and the fingerprint of the data it used
(:func:`dcutils.data.fingerprint`), never by the source code: editing code
does not silently invalidate results; bumping an algorithm's version does.
The header fields that must match are whatever the caller passes as
``expect`` to :func:`read_record`.

Every write goes to a temporary file in the same folder, is flushed to disk
and then renamed over the target, so a killed process leaves either the old
file or the new one, never half of one.

Reading a record detects six kinds of untrustworthy file and raises
:class:`CorruptCacheError` for each, never another exception:

1. a truncated file (the gzip stream ends early);
2. bytes changed inside the gzip stream (bad deflate data, CRC mismatch,
   text that is not UTF-8);
3. a valid gzip stream that is not valid JSON;
4. a checksum mismatch (the payload, or in format 2 the header, was edited);
5. a record describing another run (a header field asked for differs);
6. a malformed record: not a JSON object, header fields or the payload
   missing, a payload that is not a JSON object, or an unaccepted format.

Callers move such a file aside with :func:`quarantine` (keeping it, and a
``.why`` note, for inspection) and recompute.

Format versions
---------------
1. checksum over the payload text only (header fields could be edited
   unnoticed); header held a code hash.
2. (current) checksum over the whole record except the checksum itself:
   ``format``, every header field and the payload text.

:func:`read_record` accepts format 2 only unless told otherwise
(``formats=(1, 2)``, for a migration tool).
"""
from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import io
import json
import os
import tempfile
import time
import zlib
from collections.abc import Collection
from pathlib import Path
from typing import Any

import torch

from dcutils import paths
from dcutils.core import canonical_json, sha256_text  # noqa: F401  (re-exported: records and keys hash alike)

FORMAT_VERSION = 2

#: Record fields written by :func:`write_record` itself; a header may not use them.
_RESERVED = ("format", "sha256", "payload")

#: Bytes of the smallest gzip file (10-byte header, empty deflate block, 8-byte trailer).
_MIN_GZIP = len(gzip.compress(b"", mtime=0))


class CorruptCacheError(RuntimeError):
    """A cache file that cannot be trusted (truncated, edited, malformed or mismatched)."""


# ----------------------------------------------------------------------------
# hashing


# canonical_json and sha256_text are the leaf module's (dcutils.core), re-exported here.


def _record_checksum(record: dict[str, Any], fmt: int) -> str:
    """Checksum of a record as format ``fmt`` defines it (see the module docstring)."""
    if fmt == 1:
        return sha256_text(record["payload"])
    return sha256_text(canonical_json({k: v for k, v in record.items() if k != "sha256"}))


# ----------------------------------------------------------------------------
# atomic files


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def file_lock(path: Path):
    """Hold an exclusive lock on ``<path>.lock`` (blocking) for the ``with`` body.

    Parallel workers (``python -m dcutils.compute --jobs N``) that need the
    same pretrained network take this lock around "load it, or train and
    save it", so the network is trained once and the others load it.
    """
    lock = Path(str(path) + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def quarantine(path: Path, reason: str) -> Path:
    """Move an untrusted cache file aside (kept for inspection) and return its new path.

    The file becomes ``<name>.corrupt-<YYYYmmdd-HHMMSS>`` in the same folder
    (``-1``, ``-2``, ... appended if that name is taken), and
    ``<that name>.why`` holds ``reason``.
    """
    path = Path(path)
    stem = f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}"
    target, n = path.with_name(stem), 0
    while target.exists():
        n += 1
        target = path.with_name(f"{stem}-{n}")
    os.replace(path, target)
    target.with_name(target.name + ".why").write_text(reason + "\n")
    return target


def _read_file(path: Path) -> bytes:
    """Bytes of ``path``; FileNotFoundError if absent, CorruptCacheError if unreadable."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as err:
        raise CorruptCacheError(f"{path}: cannot read ({type(err).__name__}: {err})") from err


# ----------------------------------------------------------------------------
# run records (JSON)


def write_record(path: Path, header: dict[str, Any], payload: dict[str, Any]) -> None:
    """Store ``payload`` with ``header`` and a checksum, atomically (format :data:`FORMAT_VERSION`).

    Parameters
    ----------
    path : path-like
        Target file (``.json.gz``); its folder is created.
    header : dict
        JSON-serialisable fields that identify the run (config, algorithm
        version, data fingerprint, ...); not ``format``, ``sha256`` or
        ``payload``.
    payload : dict
        JSON-serialisable results (history, final metrics, ...).

    Raises
    ------
    TypeError
        ``header`` or ``payload`` is not a dict, or holds a value JSON cannot store.
    ValueError
        ``header`` uses a reserved field name.
    """
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise TypeError(f"header and payload must be dicts, got {type(header).__name__} and "
                        f"{type(payload).__name__}")
    clash = [k for k in _RESERVED if k in header]
    if clash:
        raise ValueError(f"header field(s) {', '.join(map(repr, clash))} are reserved by the record format; "
                         "rename them")
    record = {"format": FORMAT_VERSION, **header, "payload": canonical_json(payload)}
    record["sha256"] = _record_checksum(record, FORMAT_VERSION)
    atomic_write_bytes(path, gzip.compress(canonical_json(record).encode(), mtime=0))


def read_record(path: Path, expect: dict[str, Any], *, formats: Collection[int] = (FORMAT_VERSION,)) -> dict[str, Any]:
    """Read a record written by :func:`write_record` and check that it can be trusted.

    Parameters
    ----------
    path : path-like
        The record file.
    expect : dict
        Header fields that must be present and equal (compared as canonical
        JSON), e.g. ``{"config": ..., "algorithm_version": ..., "data": ...}``.
    formats : collection of int, keyword-only
        Record formats accepted; default only the current one. A migration
        tool reading old records passes ``formats=(1, 2)``.

    Returns
    -------
    dict
        ``{"header": {...}, "payload": {...}}``; the header includes
        ``format`` and every stored header field, not the checksum.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    CorruptCacheError
        For any file that cannot be trusted (see the module docstring for
        the six kinds); the message names the file and what is wrong.
    """
    path = Path(path)
    raw = _read_file(path)
    if len(raw) < _MIN_GZIP and b"\x1f\x8b\x08".startswith(raw[:3]):
        raise CorruptCacheError(f"{path}: truncated: the file has {len(raw)} bytes, fewer than any gzip stream")
    try:
        text = gzip.decompress(raw)
    except EOFError as err:
        raise CorruptCacheError(f"{path}: truncated: the gzip stream ends early (the file was cut short "
                                f"or damaged; {err})") from err
    except (OSError, zlib.error) as err:  # gzip.BadGzipFile is an OSError
        raise CorruptCacheError(f"{path}: cannot decode the gzip stream, bytes were changed "
                                f"({type(err).__name__}: {err})") from err
    try:
        record = json.loads(text.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise CorruptCacheError(f"{path}: cannot decode: the content is not UTF-8 text ({err})") from err
    except (ValueError, RecursionError) as err:
        raise CorruptCacheError(f"{path}: cannot decode: the content is not valid JSON "
                                f"({type(err).__name__}: {err})") from err
    if not isinstance(record, dict):
        raise CorruptCacheError(f"{path}: malformed record: a JSON {type(record).__name__}, not an object")
    missing = [k for k in (*_RESERVED, *expect) if k not in record]
    if missing:
        raise CorruptCacheError(f"{path}: malformed record: header field(s) {', '.join(missing)} missing")
    fmt = record["format"]
    if isinstance(fmt, bool) or not isinstance(fmt, int) or fmt not in formats:
        raise CorruptCacheError(f"{path}: format {fmt!r}, expected one of {sorted(formats)}")
    body = record["payload"]
    if not isinstance(body, str) or not isinstance(record["sha256"], str):
        raise CorruptCacheError(f"{path}: malformed record: payload and sha256 must be strings")
    if _record_checksum(record, fmt) != record["sha256"]:
        raise CorruptCacheError(f"{path}: checksum mismatch (the record was edited)")
    for key, value in expect.items():
        if canonical_json(record[key]) != canonical_json(value):
            raise CorruptCacheError(f"{path}: stored {key} differs from the one asked for (a record of another run)")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as err:
        raise CorruptCacheError(f"{path}: malformed record: the payload is not valid JSON ({err})") from err
    if not isinstance(payload, dict):
        raise CorruptCacheError(f"{path}: malformed record: the payload is a JSON {type(payload).__name__}, "
                                "not an object")
    header = {k: v for k, v in record.items() if k not in ("payload", "sha256")}
    return {"header": header, "payload": payload}


# ----------------------------------------------------------------------------
# tensors (pretrained networks)


def save_tensors(path: Path, state: dict[str, Any]) -> None:
    """``torch.save`` ``state`` atomically, with a ``.sha256`` sidecar."""
    buf = io.BytesIO()
    torch.save(state, buf)
    data = buf.getvalue()
    atomic_write_bytes(path, data)
    atomic_write_bytes(Path(str(path) + ".sha256"), hashlib.sha256(data).hexdigest().encode())


def load_tensors(path: Path, map_location: Any = "cpu") -> dict[str, Any]:
    """Load what :func:`save_tensors` wrote, checking the sidecar checksum.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    CorruptCacheError
        Any other failure: unreadable file, sidecar missing, unreadable or
        not matching, contents that ``torch.load(weights_only=True)`` cannot
        load, or that are not a dict.
    """
    path = Path(path)
    data = _read_file(path)
    sidecar = Path(str(path) + ".sha256")
    try:
        stored = sidecar.read_bytes().decode("ascii").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise CorruptCacheError(f"{path}: checksum missing or unreadable ({type(err).__name__}: {err})") from err
    if stored != hashlib.sha256(data).hexdigest():
        raise CorruptCacheError(f"{path}: checksum wrong (the file was truncated or edited)")
    try:
        state = torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling failure means corrupt
        raise CorruptCacheError(f"{path}: cannot load ({type(err).__name__}: {err})") from err
    if not isinstance(state, dict):
        raise CorruptCacheError(f"{path}: holds a {type(state).__name__}, not a dict of tensors")
    return state


def network_path(dataset: str, key_obj: dict[str, Any], prefix: str = "") -> tuple[Path, str]:
    """Where a pretrained network identified by ``key_obj`` is cached: ``results/pretrained/<dataset>/
    [<prefix>-]<key>.pt``, and its 16-digit key (the SHA-256 of the canonical JSON of ``key_obj``)."""
    key = sha256_text(canonical_json(key_obj))[:16]
    name = f"{prefix}-{key}.pt" if prefix else f"{key}.pt"
    return paths.results_root() / "pretrained" / dataset / name, key


def load_network(path: Path) -> dict[str, Any] | None:
    """The stored network at ``path``, or None when there is none; a corrupt file is moved aside
    (:func:`quarantine`) and None returned, so the caller trains it again."""
    if not path.exists():
        return None
    try:
        return load_tensors(path)
    except CorruptCacheError as err:
        quarantine(path, str(err))
        return None
