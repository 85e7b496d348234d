"""Tests of dcutils.environment: the machine description stored with every run record."""
import json
import platform

import numpy
import pandas
import pytest
import sklearn
import torch

from dcutils import environment, paths


def test_every_field_present_and_json_serialisable():
    env = environment.describe("cpu", precision="float32")
    assert tuple(env) == environment.FIELDS
    assert set(environment.FIELDS) >= {
        "python", "torch", "numpy", "scikit-learn", "pandas", "os", "machine", "cpu", "cpu_count", "threads",
        "device", "gpu", "cuda", "cudnn", "precision", "git_commit", "dirty"}
    assert json.loads(json.dumps(env)) == env  # plain JSON values only, nothing lost in a round trip
    assert env["device"] == "cpu" and env["gpu"] is None and env["precision"] == "float32"


def test_versions_are_the_imported_ones():
    env = environment.describe()
    assert env["torch"] == torch.__version__
    assert env["numpy"] == numpy.__version__
    assert env["scikit-learn"] == sklearn.__version__
    assert env["pandas"] == pandas.__version__
    assert env["python"] == platform.python_version()
    assert env["cuda"] == torch.version.cuda


def test_threads_are_read_on_every_call():
    before = torch.get_num_threads()
    try:
        environment.describe()  # fills the cache of the static part first
        torch.set_num_threads(1)
        assert environment.describe()["threads"] == torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    assert environment.describe()["threads"] == before


def test_git_state_of_the_repository():
    env = environment.describe()
    if not (paths.ROOT / ".git").exists():
        assert env["git_commit"] is None and env["dirty"] is None
        return
    assert isinstance(env["git_commit"], str) and len(env["git_commit"]) == 40
    int(env["git_commit"], 16)  # hex digits only
    assert isinstance(env["dirty"], bool)


def test_git_failure_gives_none(monkeypatch, tmp_path):
    monkeypatch.setattr(paths, "ROOT", tmp_path)  # not a repository
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))  # git must not look above it
    environment._static.cache_clear()
    try:
        env = environment.describe()
        assert env["git_commit"] is None and env["dirty"] is None
    finally:
        environment._static.cache_clear()


def test_precision_is_stored_as_given_and_arguments_are_checked():
    assert environment.describe(torch.device("cpu"), "float32, TF32 matmul")["precision"] == "float32, TF32 matmul"
    with pytest.raises(ValueError, match="device"):
        environment.describe("not-a-device")
    with pytest.raises(TypeError, match="precision"):
        environment.describe("cpu", precision=torch.float32)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_cuda_device_without_cuda_is_an_error():
    with pytest.raises(RuntimeError, match="no CUDA device"):
        environment.describe("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_name_on_cuda():
    env = environment.describe("cuda:0")
    assert env["gpu"] == torch.cuda.get_device_name(0) and env["device"] == "cuda:0"
    assert json.loads(json.dumps(env)) == env
