import pytest

from dcutils import items, profiles
from dcutils.experiments import notebook_settings
from dcutils.profiles import SettingsError


def test_every_profile_has_the_same_base_names():
    names = {p: set(v) for p, v in profiles.BASE.items()}
    assert set(names) == set(profiles.PROFILES)
    assert len({frozenset(v) for v in names.values()}) == 1


def test_profiles_grow_from_smoke_to_paper():
    smoke, quick, paper = (profiles.BASE[p] for p in ("smoke", "quick", "paper"))
    for key in ("pretrain_epochs", "cluster_epochs", "reset_interval"):
        assert smoke[key] < quick[key] < paper[key]
    assert len(smoke["seeds"]) < len(quick["seeds"]) < len(paper["seeds"]) == 10
    assert paper["pretrain_epochs"] == 250 and paper["cluster_epochs"] == 400 and paper["reset_interval"] == 20


def test_unknown_profile_is_an_error_naming_the_valid_ones():
    with pytest.raises(SettingsError, match=r"unknown profile 'fast'.*'smoke'.*'quick'.*'paper'"):
        notebook_settings("brb/tab05", "fast")


def test_unknown_override_is_an_error_listing_valid_names():
    with pytest.raises(SettingsError, match=r"unknown parameter\(s\) \['epochz'\].*Valid names: .*cluster_epochs"):
        notebook_settings("brb/fig01", "smoke", {"epochz": 3})


def test_override_of_wrong_type_is_an_error():
    with pytest.raises(SettingsError, match="seeds"):
        notebook_settings("brb/fig01", "smoke", {"seeds": "zero"})


def test_unknown_item_is_an_error():
    with pytest.raises(KeyError, match="brb/fig99"):
        notebook_settings("brb/fig99", "smoke")


def test_environment_variable_replaces_the_stored_profile(monkeypatch):
    monkeypatch.setenv("DCUTILS_PROFILE", "smoke")
    s = notebook_settings("brb/fig01", "paper")
    assert (s.profile, s.source) == ("smoke", "DCUTILS_PROFILE")
    assert s.cluster_epochs == profiles.BASE["smoke"]["cluster_epochs"]


def test_unknown_profile_in_environment_is_an_error(monkeypatch):
    monkeypatch.setenv("DCUTILS_PROFILE", "tiny")
    with pytest.raises(SettingsError, match="tiny"):
        notebook_settings("brb/tab05", "quick")


def test_overrides_apply_and_are_reported():
    s = notebook_settings("brb/fig01", "quick", {"seeds": [4, 5]})
    assert s.seeds == [4, 5] and s["seeds"] == [4, 5]
    assert s.overrides == ("seeds",)
    assert "(overridden)" in s.describe() and "`quick`" in s.describe()


def test_settings_are_read_only():
    s = notebook_settings("brb/fig01", "quick")
    with pytest.raises(TypeError):
        s.values["seeds"] = [9]


def test_config_items_do_not_carry_run_settings():
    assert "seeds" not in notebook_settings("brb/tab05", "quick")


def test_register_item_needs_every_profile_with_the_same_keys():
    with pytest.raises(SettingsError, match="missing"):
        items.register_item("brb/fig99", {"smoke": {}, "quick": {}})
    with pytest.raises(SettingsError, match="different keys"):
        items.register_item("brb/fig99", {"smoke": {"a": 1}, "quick": {"a": 1}, "paper": {"b": 1}})


def test_smoke_and_quick_pin_the_same_data_with_fingerprints():
    for name in ("usps", "optdigits", "mnist", "fmnist"):
        quick = profiles.data_spec("quick", name)
        assert quick == profiles.data_spec("smoke", name) and len(quick.fingerprint) == 16
    assert profiles.data_spec("quick", "mnist").split == "test"
    assert profiles.data_spec("quick", "optdigits").n == 1_797
    assert profiles.data_spec("quick", "kmnist") is None  # not run at quick: the paper profile's


def test_paper_pins_the_full_sets_without_fingerprints():
    mnist = profiles.data_spec("paper", "mnist")
    assert (mnist.split, mnist.n, mnist.fingerprint, mnist.substitute) == ("all", 70_000, "", False)
    assert profiles.data_spec("paper", "MNIST") == mnist  # names are canonicalised
