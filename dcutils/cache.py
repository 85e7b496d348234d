"""Atomic, checksummed storage for finished runs and pretrained networks.

Two kinds of files live under ``results/``:

``<profile>/<algorithm>/<dataset>/<run-id>.json.gz``
    A run record: JSON (gzip) holding the config, the code hash, the history
    and final metrics, and a SHA-256 of its payload.
``pretrained/<dataset>/<key>.pt``
    A ``torch.save`` of a state dict with a ``.sha256`` sidecar.

Every write goes to a temporary file in the same folder, is flushed to disk
and then renamed over the target, so a killed process leaves either the old
file or the new one, never half of one. A file that fails to decode, whose
checksum does not match, or whose stored config differs from the one asked
for raises :class:`CorruptCacheError`; callers move it aside (keeping it for
inspection) and recompute.

The *code hash* of a module is the SHA-256 of its source and of every
``dcutils`` module it imports at module level, transitively, so editing
plotting code, the catalog or a notebook's settings never invalidates a
training run, while editing a training loop does.
"""
from __future__ import annotations

import ast
import contextlib
import fcntl
import gzip
import hashlib
import io
import json
import os
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from dcutils import paths

FORMAT_VERSION = 1


class CorruptCacheError(RuntimeError):
    """A cache file that cannot be trusted (truncated, edited, or mismatched)."""


# ----------------------------------------------------------------------------
# hashing


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: equal objects give equal text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_json_default)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, tuple):
        return list(obj)
    if hasattr(obj, "item"):  # numpy / torch scalars
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"cannot store {type(obj).__name__} in a cache record")


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _module_level(tree: ast.Module):
    """Statements run at import time: the module body and its if/try/with blocks, not def/class bodies."""
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, (ast.If, ast.Try, ast.With)):
            for name in ("body", "orelse", "finalbody"):
                todo.extend(getattr(node, name, []))
            for handler in getattr(node, "handlers", []):
                todo.extend(handler.body)


def _dcutils_imports(source: str, package: str) -> set[str]:
    """Names of the dcutils modules that ``source`` imports at module level (absolute or relative).

    Imports inside functions are not followed: they are how ``runs`` loads the
    algorithm registry and ``profiles`` the notebook settings, neither of which
    changes what a run computes. Code that a computation depends on must
    therefore be imported at module level.
    """
    found: set[str] = set()
    for node in _module_level(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("dcutils"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import inside dcutils
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            if not base.startswith("dcutils"):
                continue
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return found


def _module_file(name: str) -> Path | None:
    rel = Path(*name.split("."))
    for candidate in (paths.ROOT / rel.with_suffix(".py"), paths.ROOT / rel / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@lru_cache(maxsize=None)
def code_hash(module: str) -> str:
    """SHA-256 (16 hex digits) of ``module``'s source and its dcutils imports.

    ``module`` is a dotted name (``"dcutils.brb"``); a module outside dcutils
    (a test's algorithm) is hashed from its own file only.
    """
    import importlib

    seen: dict[str, str] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_file(name)
        if path is None:
            if name == module:  # not in the repo: hash its own file
                mod = importlib.import_module(name)
                src = Path(mod.__file__).read_text()
                seen[name] = src
            continue
        src = path.read_text()
        seen[name] = src
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        todo.extend(_dcutils_imports(src, package))
    digest = hashlib.sha256()
    for name in sorted(seen):
        digest.update(name.encode() + b"\0" + seen[name].encode() + b"\0")
    return digest.hexdigest()[:16]


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
    """Move an untrusted cache file aside (kept for inspection) and return its new path."""
    path = Path(path)
    target = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
    os.replace(path, target)
    target.with_name(target.name + ".why").write_text(reason + "\n")
    return target


# ----------------------------------------------------------------------------
# run records (JSON)


def write_record(path: Path, header: dict[str, Any], payload: dict[str, Any]) -> None:
    """Store ``payload`` with ``header`` (config, code hash, ...) and a checksum."""
    body = canonical_json(payload)
    record = {"format": FORMAT_VERSION, **header, "sha256": sha256_text(body), "payload": body}
    atomic_write_bytes(path, gzip.compress(canonical_json(record).encode(), mtime=0))


def read_record(path: Path, expect: dict[str, Any]) -> dict[str, Any]:
    """Read a record written by :func:`write_record` and check it.

    Parameters
    ----------
    expect : header fields that must match exactly (e.g. the config).

    Raises
    ------
    FileNotFoundError if absent; CorruptCacheError if it cannot be trusted.
    """
    raw = Path(path).read_bytes()
    try:
        record = json.loads(gzip.decompress(raw))
        body = record["payload"]
    except (OSError, EOFError, ValueError, KeyError, TypeError) as err:
        raise CorruptCacheError(f"{path}: cannot decode ({type(err).__name__}: {err})") from err
    if record.get("format") != FORMAT_VERSION:
        raise CorruptCacheError(f"{path}: format {record.get('format')!r}, expected {FORMAT_VERSION}")
    if sha256_text(body) != record.get("sha256"):
        raise CorruptCacheError(f"{path}: checksum mismatch (the file was truncated or edited)")
    for key, value in expect.items():
        if canonical_json(record.get(key)) != canonical_json(value):
            raise CorruptCacheError(f"{path}: stored {key} differs from the one asked for")
    header = {k: v for k, v in record.items() if k not in ("payload", "sha256")}
    return {"header": header, "payload": json.loads(body)}


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
    """Load what :func:`save_tensors` wrote, checking the sidecar checksum."""
    path = Path(path)
    data = path.read_bytes()
    sidecar = Path(str(path) + ".sha256")
    if not sidecar.is_file() or sidecar.read_text().strip() != hashlib.sha256(data).hexdigest():
        raise CorruptCacheError(f"{path}: checksum missing or wrong")
    try:
        return torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling failure means corrupt
        raise CorruptCacheError(f"{path}: cannot load ({type(err).__name__}: {err})") from err
