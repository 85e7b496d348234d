"""Run lists use the data their profile pins, on every machine; nothing is loaded to build them."""
import pytest

from dcutils import data, experiments, profiles
from dcutils.experiments import notebook_settings


@pytest.fixture
def no_data(monkeypatch, tmp_path):
    """As on a fresh machine without the data sets and without network."""
    monkeypatch.setenv("DCUTILS_DATA", str(tmp_path / "empty"))
    monkeypatch.setattr(data.paths, "LOCAL_DATA", tmp_path / "none")
    monkeypatch.setattr(data.paths, "SYSTEM_DATA", ())

    def refuse(*args, **kwargs):
        raise AssertionError("building run lists must not load data")

    monkeypatch.setattr(data, "load_dataset", refuse)


@pytest.mark.parametrize("item", ["brb/tab13", "rdc/tab03", "rdc/fig17", "rdc/fig20", "rdc/fig01", "rdc/fig02"])
@pytest.mark.parametrize("profile", ["quick", "paper"])
def test_run_lists_use_the_profiles_data_without_loading_it(no_data, item, profile):
    configs = experiments.configs_for(notebook_settings(item, profile, {}))
    assert configs, f"{item} has no runs at {profile}"
    for cfg in configs:
        spec = profiles.data_spec(profile, cfg.dataset)
        assert spec is not None, f"{item} at {profile} asks for {cfg.dataset}, which the profile does not pin"
        assert cfg.data_fingerprint == spec.fingerprint
        if "split" in dict(cfg.params):
            assert cfg["split"] == spec.split


def test_quick_grid_is_the_same_on_a_machine_without_data(no_data):
    quick = experiments.configs_for(notebook_settings("brb/tab13", "quick", {}))
    assert {c.dataset for c in quick} == {"usps", "optdigits"}
    assert all(c.data_fingerprint for c in quick)


def test_data_report_comes_from_the_profile_definition(no_data):
    report = experiments.data_report(["mnist", "kmnist", "usps"], "quick", 2_000)
    assert list(report["status"]) == ["test split only, 10,000 of 70,000", "not run at quick (paper profile)",
                                      "as in the paper"]
    assert "subsample 2,000" in report["used as"].iloc[0]
