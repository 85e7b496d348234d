import gzip
import json

import pytest
import torch

from dcutils import cache


def test_canonical_json_ignores_key_order():
    assert cache.canonical_json({"b": 1, "a": (1, 2)}) == cache.canonical_json({"a": [1, 2], "b": 1})


def test_record_round_trip(tmp_path):
    path = tmp_path / "r.json.gz"
    cache.write_record(path, {"config": {"x": 1}}, {"history": {"epoch": [0, 1]}, "final": {"acc": 0.5}})
    got = cache.read_record(path, {"config": {"x": 1}})
    assert got["payload"] == {"history": {"epoch": [0, 1]}, "final": {"acc": 0.5}}
    assert got["header"]["config"] == {"x": 1}


def test_truncated_record_is_detected(tmp_path):
    path = tmp_path / "r.json.gz"
    cache.write_record(path, {"config": {}}, {"final": {"acc": 0.5}})
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(cache.CorruptCacheError, match="cannot decode"):
        cache.read_record(path, {})


def test_edited_record_is_detected(tmp_path):
    path = tmp_path / "r.json.gz"
    cache.write_record(path, {"config": {}}, {"final": {"acc": 0.5}})
    record = json.loads(gzip.decompress(path.read_bytes()))
    record["payload"] = record["payload"].replace("0.5", "0.9")
    path.write_bytes(gzip.compress(json.dumps(record).encode()))
    with pytest.raises(cache.CorruptCacheError, match="checksum"):
        cache.read_record(path, {})


def test_record_for_another_config_is_rejected(tmp_path):
    path = tmp_path / "r.json.gz"
    cache.write_record(path, {"config": {"seed": 0}}, {"final": {}})
    with pytest.raises(cache.CorruptCacheError, match="config differs"):
        cache.read_record(path, {"config": {"seed": 1}})


def test_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "f.bin"
    cache.atomic_write_bytes(path, b"old")

    def boom(*args, **kwargs):
        raise KeyboardInterrupt  # as if the process were killed before the rename

    monkeypatch.setattr(cache.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        cache.atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]  # no temporary left behind


def test_tensors_round_trip_and_corruption(tmp_path):
    path = tmp_path / "m.pt"
    cache.save_tensors(path, {"w": torch.arange(6.0).reshape(2, 3)})
    assert torch.equal(cache.load_tensors(path)["w"], torch.arange(6.0).reshape(2, 3))
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(cache.CorruptCacheError, match="checksum"):
        cache.load_tensors(path)


def test_quarantine_keeps_the_file_and_the_reason(tmp_path):
    path = tmp_path / "bad.json.gz"
    path.write_bytes(b"junk")
    moved = cache.quarantine(path, "checksum mismatch")
    assert not path.exists() and moved.read_bytes() == b"junk"
    assert "checksum" in moved.with_name(moved.name + ".why").read_text()


def test_code_hash_follows_dcutils_imports():
    # runs imports cache, and cache imports paths: both belong to the hash of runs.
    found = cache._dcutils_imports((cache.paths.PACKAGE / "runs.py").read_text(), "dcutils")
    assert {"dcutils.cache", "dcutils.paths"} <= found
    assert cache.code_hash("dcutils.runs") != cache.code_hash("dcutils.paths")


def test_code_hash_ignores_imports_inside_functions():
    source = "from dcutils import metrics\nif True:\n    import dcutils.kmeans\ndef f():\n    from dcutils import catalog\n"
    assert cache._dcutils_imports(source, "dcutils") == {"dcutils", "dcutils.metrics", "dcutils.kmeans"}


def test_training_code_hash_does_not_cover_notebook_settings_or_catalog():
    cache.code_hash.cache_clear()
    seen = set()
    todo = ["dcutils.brb", "dcutils.rdc"]
    while todo:
        name = todo.pop()
        if name in seen or cache._module_file(name) is None:
            continue
        seen.add(name)
        path = cache._module_file(name)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        todo.extend(cache._dcutils_imports(path.read_text(), package))
    assert {"dcutils.metrics", "dcutils.kmeans", "dcutils.resets"} <= seen
    assert not seen & {"dcutils.catalog", "dcutils.experiments", "dcutils.outputs", "dcutils.algorithms"}


def test_code_hash_resolves_relative_imports():
    assert cache._dcutils_imports("from . import metrics\nfrom .data import load", "dcutils") >= {
        "dcutils.metrics", "dcutils.data"}
    assert "dcutils.kmeans" in cache._dcutils_imports("from ..kmeans import kmeans", "dcutils.experiments")
