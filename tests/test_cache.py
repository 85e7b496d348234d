"""Tests of dcutils.cache: atomic writes, record checks, the six corrupt kinds, quarantine."""
import gzip
import json
import re
import zlib

import pytest
import torch

from dcutils import cache

CONFIG = {"algorithm": "dec", "dataset": "usps", "seed": 0}
PAYLOAD = {"history": {"epoch": list(range(40)), "loss": [1.0 / (i + 1) for i in range(40)]}, "final": {"acc": 0.5}}


def _record(tmp_path, header=None, payload=None):
    path = tmp_path / "run.json.gz"
    cache.write_record(path, {"config": CONFIG} if header is None else header, PAYLOAD if payload is None else payload)
    return path


def _write_raw_record(path, record):
    """Store ``record`` (a dict, or any JSON value) gzipped, as write_record would, without its checks."""
    path.write_bytes(gzip.compress(cache.canonical_json(record).encode(), mtime=0))


def _with_checksum(record, fmt=cache.FORMAT_VERSION):
    """``record`` plus the checksum format ``fmt`` defines, so only the property under test is wrong."""
    record = dict(record)
    record.pop("sha256", None)
    record["sha256"] = cache._record_checksum(record, fmt)
    return record


def _assert_corrupt_and_quarantined(path, expect, match):
    """read_record raises CorruptCacheError (nothing else); quarantine moves the file aside with a .why note."""
    original = path.read_bytes()
    with pytest.raises(cache.CorruptCacheError, match=match) as err:
        cache.read_record(path, expect)
    reason = str(err.value)
    assert str(path) in reason
    moved = cache.quarantine(path, reason)
    assert not path.exists()
    assert moved.parent == path.parent
    assert re.fullmatch(re.escape(path.name) + r"\.corrupt-\d{8}-\d{6}(-\d+)?", moved.name), moved.name
    assert moved.read_bytes() == original
    why = moved.with_name(moved.name + ".why")
    assert why.read_text().strip() == reason
    return reason


# --------------------------------------------------------------------------- sound records


def test_canonical_json_ignores_key_order():
    assert cache.canonical_json({"b": 1, "a": (1, 2)}) == cache.canonical_json({"a": [1, 2], "b": 1})


def test_record_round_trip(tmp_path):
    path = _record(tmp_path, {"config": {"x": 1}, "data": "0123abcd"})
    got = cache.read_record(path, {"config": {"x": 1}, "data": "0123abcd"})
    assert got["payload"] == PAYLOAD
    assert got["header"] == {"format": cache.FORMAT_VERSION, "config": {"x": 1}, "data": "0123abcd"}


def test_format_version_is_2_and_old_formats_need_opting_in(tmp_path):
    assert cache.FORMAT_VERSION == 2
    path = tmp_path / "old.json.gz"
    body = cache.canonical_json(PAYLOAD)
    # format 1: checksum over the payload only, as the previous write_record stored it
    _write_raw_record(path, {"format": 1, "config": CONFIG, "sha256": cache.sha256_text(body), "payload": body})
    with pytest.raises(cache.CorruptCacheError, match=r"format 1, expected one of \[2\]"):
        cache.read_record(path, {"config": CONFIG})
    got = cache.read_record(path, {"config": CONFIG}, formats=(1, 2))
    assert got["payload"] == PAYLOAD and got["header"]["format"] == 1
    new = _record(tmp_path)
    assert cache.read_record(new, {"config": CONFIG}, formats=(1, 2))["header"]["format"] == 2


def test_write_record_validates_its_arguments(tmp_path):
    with pytest.raises(ValueError, match="reserved"):
        cache.write_record(tmp_path / "r.json.gz", {"config": CONFIG, "sha256": "x"}, PAYLOAD)
    with pytest.raises(TypeError, match="must be dicts"):
        cache.write_record(tmp_path / "r.json.gz", {"config": CONFIG}, [1, 2])
    assert not (tmp_path / "r.json.gz").exists()


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


def test_missing_record_is_not_corrupt(tmp_path):
    with pytest.raises(FileNotFoundError):
        cache.read_record(tmp_path / "absent.json.gz", {})


# --------------------------------------------------------------------------- the six corrupt kinds


def test_a_truncated_record(tmp_path):
    path = _record(tmp_path)
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    _assert_corrupt_and_quarantined(path, {"config": CONFIG}, "truncated: the gzip stream ends early")


def test_a_every_truncation_is_detected(tmp_path):
    path = _record(tmp_path)
    raw = path.read_bytes()
    for cut in range(len(raw)):  # includes the empty file and a missing last trailer byte
        path.write_bytes(raw[:cut])
        with pytest.raises(cache.CorruptCacheError, match="truncated"):
            cache.read_record(path, {"config": CONFIG})


def test_b_bytes_changed_inside_the_gzip_stream(tmp_path):
    path = _record(tmp_path)
    raw = bytearray(path.read_bytes())
    raw[12] ^= 0xFF  # first bytes of the deflate data: zlib.error before this was handled
    path.write_bytes(bytes(raw))
    with pytest.raises(zlib.error):
        gzip.decompress(bytes(raw))
    _assert_corrupt_and_quarantined(path, {"config": CONFIG}, "cannot decode the gzip stream")


def test_b_every_single_byte_change_is_detected_or_harmless(tmp_path):
    path = _record(tmp_path)
    raw = path.read_bytes()
    sound = cache.read_record(path, {"config": CONFIG})
    causes = set()
    for pos in range(len(raw)):
        changed = bytearray(raw)
        changed[pos] ^= 0xFF
        path.write_bytes(bytes(changed))
        try:
            got = cache.read_record(path, {"config": CONFIG})
        except cache.CorruptCacheError as err:
            causes.add(type(err.__cause__))
        else:  # only gzip header bytes that do not describe the data (mtime, OS) may change harmlessly
            assert pos < 10 and got == sound, f"byte {pos} changed without detection"
    # the low-level errors that used to escape were all met and all turned into CorruptCacheError
    assert {zlib.error, gzip.BadGzipFile, EOFError} <= causes


@pytest.mark.parametrize("text, match", [
    (b'{"format": 2, "config": ', "not valid JSON"),
    (b"\xff\xfe not utf-8 \x80", "not UTF-8"),
])
def test_c_valid_gzip_but_not_json(tmp_path, text, match):
    path = tmp_path / "run.json.gz"
    path.write_bytes(gzip.compress(text))
    _assert_corrupt_and_quarantined(path, {"config": CONFIG}, match)


def test_d_payload_edited_checksum_wrong(tmp_path):
    path = _record(tmp_path)
    record = json.loads(gzip.decompress(path.read_bytes()))
    record["payload"] = record["payload"].replace('"acc":0.5', '"acc":0.9')
    assert '"acc":0.9' in record["payload"]
    _write_raw_record(path, record)
    _assert_corrupt_and_quarantined(path, {"config": CONFIG}, "checksum mismatch")


def test_d_header_edited_checksum_wrong(tmp_path):
    # format 2's checksum covers the header: a record relabelled as another run is caught
    path = _record(tmp_path)
    record = json.loads(gzip.decompress(path.read_bytes()))
    record["config"] = {**CONFIG, "seed": 1}
    _write_raw_record(path, record)
    _assert_corrupt_and_quarantined(path, {"config": {**CONFIG, "seed": 1}}, "checksum mismatch")


def test_e_record_of_another_config(tmp_path):
    path = _record(tmp_path, {"config": CONFIG, "algorithm_version": 3, "data": "aaaa"})
    assert cache.read_record(path, {"config": CONFIG, "algorithm_version": 3, "data": "aaaa"})["payload"] == PAYLOAD
    for field, value in (("algorithm_version", 4), ("data", "bbbb")):
        expect = {"config": CONFIG, "algorithm_version": 3, "data": "aaaa", field: value}
        with pytest.raises(cache.CorruptCacheError, match=f"stored {field} differs"):
            cache.read_record(path, expect)
    _assert_corrupt_and_quarantined(path, {"config": {**CONFIG, "seed": 1}}, "stored config differs")


@pytest.mark.parametrize("kind", ["payload_list", "payload_number", "record_list", "header_field_missing",
                                  "checksum_missing", "payload_missing", "format_missing", "payload_not_text"])
def test_f_malformed_record(tmp_path, kind):
    path = tmp_path / "run.json.gz"
    body = cache.canonical_json(PAYLOAD)
    full = {"format": 2, "config": CONFIG, "payload": body}
    if kind == "payload_list":  # checksum correct, but the payload is not a JSON object
        record, match = _with_checksum({**full, "payload": "[1, 2]"}), "payload is a JSON list"
    elif kind == "payload_number":
        record, match = _with_checksum({**full, "payload": "3"}), "payload is a JSON int"
    elif kind == "record_list":
        record, match = [full], "a JSON list, not an object"
    elif kind == "header_field_missing":  # asked for "config", the record has none
        record, match = _with_checksum({"format": 2, "payload": body}), "field.* config missing"
    elif kind == "payload_not_text":
        record, match = _with_checksum({**full, "payload": PAYLOAD}), "payload and sha256 must be strings"
    else:
        field = kind.removesuffix("_missing")
        record = _with_checksum(full)
        del record["sha256" if field == "checksum" else field]
        match = f"field.* {'sha256' if field == 'checksum' else field} missing"
    _write_raw_record(path, record)
    _assert_corrupt_and_quarantined(path, {"config": CONFIG}, match)


# --------------------------------------------------------------------------- quarantine


def test_quarantine_keeps_the_file_and_the_reason(tmp_path):
    path = tmp_path / "bad.json.gz"
    path.write_bytes(b"junk")
    moved = cache.quarantine(path, "checksum mismatch")
    assert not path.exists() and moved.read_bytes() == b"junk"
    assert "checksum mismatch" in moved.with_name(moved.name + ".why").read_text()


def test_quarantine_never_overwrites_an_earlier_one(tmp_path, monkeypatch):
    monkeypatch.setattr(cache.time, "strftime", lambda fmt: "20240101-000000")  # both in the same second
    path = tmp_path / "bad.json.gz"
    path.write_bytes(b"first")
    first = cache.quarantine(path, "one")
    path.write_bytes(b"second")
    second = cache.quarantine(path, "two")
    assert first != second
    assert first.read_bytes() == b"first" and second.read_bytes() == b"second"
    assert second.with_name(second.name + ".why").read_text() == "two\n"


# --------------------------------------------------------------------------- tensors


def test_tensors_round_trip_and_truncation(tmp_path):
    path = tmp_path / "m.pt"
    cache.save_tensors(path, {"w": torch.arange(6.0).reshape(2, 3)})
    assert torch.equal(cache.load_tensors(path)["w"], torch.arange(6.0).reshape(2, 3))
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(cache.CorruptCacheError, match="checksum wrong"):
        cache.load_tensors(path)


def test_tensors_any_failure_is_corrupt(tmp_path):
    path = tmp_path / "m.pt"
    cache.save_tensors(path, {"w": torch.zeros(2)})
    sidecar = tmp_path / "m.pt.sha256"
    sidecar.write_bytes(b"\xff\xfe")  # sidecar not text
    with pytest.raises(cache.CorruptCacheError, match="checksum missing or unreadable"):
        cache.load_tensors(path)
    sidecar.unlink()
    with pytest.raises(cache.CorruptCacheError, match="checksum missing"):
        cache.load_tensors(path)
    # garbage with a matching checksum: torch.load fails, reported as corrupt
    cache.atomic_write_bytes(path, b"not a torch file")
    cache.atomic_write_bytes(sidecar, cache.hashlib.sha256(b"not a torch file").hexdigest().encode())
    with pytest.raises(cache.CorruptCacheError, match="cannot load"):
        cache.load_tensors(path)
    # a sound file that holds no dict
    cache.save_tensors(path, [torch.zeros(2)])
    with pytest.raises(cache.CorruptCacheError, match="not a dict"):
        cache.load_tensors(path)
    with pytest.raises(FileNotFoundError):
        cache.load_tensors(tmp_path / "absent.pt")
