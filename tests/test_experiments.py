"""Run lists drop data sets that do not load here, whether or not downloads are allowed."""
import pytest

from dcutils import data, experiments
from dcutils.profiles import notebook_settings


@pytest.fixture
def downloads_allowed_but_failing(monkeypatch):
    """As on a machine without network where DCUTILS_OFFLINE is not set: every download fails."""
    monkeypatch.delenv("DCUTILS_OFFLINE", raising=False)
    monkeypatch.setattr(data, "_try_download", lambda spec: (False, "tried, failed: no network (test)"))
    experiments.resolve_data.cache_clear()
    yield
    experiments.resolve_data.cache_clear()


def test_missing_data_is_reported_with_the_loaders_reason(downloads_allowed_but_failing):
    kmnist = experiments.resolve_data("kmnist")
    assert not kmnist.available and kmnist.status == "missing" and "no network (test)" in kmnist.note
    report = experiments.data_report(["kmnist", "optdigits"])
    assert list(report["status"])[0] == "missing"
    assert list(report["status"])[1].startswith("substitute")  # scikit-learn's part, named


@pytest.mark.parametrize("item", ["brb/tab13", "rdc/tab03", "rdc/fig17", "rdc/fig20", "rdc/fig01"])
def test_run_lists_only_use_data_that_loads(downloads_allowed_but_failing, item):
    if not experiments.resolve_data("usps").available:
        pytest.skip("the data sets beside the repository are not here")
    for profile in ("quick", "paper"):
        for cfg in experiments.configs_for(notebook_settings(item, profile, {})):
            choice = experiments.resolve_data(cfg.dataset) if cfg.dataset != "curved4" else None
            assert choice is None or choice.available, f"{item} at {profile} asks for {cfg.dataset}"
            if choice is not None and "split" in dict(cfg.params):
                assert cfg["split"] == choice.split
