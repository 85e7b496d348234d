"""pyproject.toml (ranges), requirements.lock (exact tested versions) and environment.yml (conda) agree."""
import re
import tomllib

from packaging.requirements import Requirement

from dcutils import paths

DESIGN_CARD = {
    "jupyterlab", "papermill", "torch", "torchvision", "matplotlib", "seaborn", "scikit-learn", "pandas", "nbval",
}
TORCH_PINS = {"torch": "2.14.1", "torchvision": "0.29.1"}
TEST_ONLY = {"pytest", "ruff"}


def _norm(name: str) -> str:
    """PEP 503 name: scikit_learn, Scikit.Learn -> scikit-learn."""
    return re.sub(r"[-_.]+", "-", name).lower()


def project() -> dict:
    return tomllib.loads((paths.ROOT / "pyproject.toml").read_text())["project"]


def main_requirements() -> dict[str, Requirement]:
    return {_norm(r.name): r for r in map(Requirement, project()["dependencies"])}


def extra_requirements() -> dict[str, Requirement]:
    """The `test` extra: what `make test` installs on top."""
    return {_norm(r.name): r for r in map(Requirement, project()["optional-dependencies"]["test"])}


def locked() -> dict[str, str]:
    text = (paths.ROOT / "requirements.lock").read_text()
    return {_norm(m[1]): m[2] for m in re.finditer(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", text, re.M)}


def environment_pins() -> dict[str, str]:
    """The pip section of environment.yml as {name: version}; a line without == maps to None."""
    pins, in_pip = {}, False
    for line in (paths.ROOT / "environment.yml").read_text().splitlines():
        if re.match(r"^\s*- pip:\s*$", line):
            in_pip = True
        elif in_pip and re.match(r"^\s{6}- ", line):
            req = line.split("- ", 1)[1].strip()
            name, _, version = req.partition("==")
            pins[_norm(name)] = version or None
    return pins


def test_every_dependency_is_locked_within_its_range():
    lock = locked()
    for name, req in {**main_requirements(), **extra_requirements()}.items():
        assert name in lock, f"{name} is in pyproject.toml but not in requirements.lock: run `make lock`"
        assert req.specifier.contains(lock[name], prereleases=True), (
            f"requirements.lock has {name}=={lock[name]}, outside pyproject.toml's {req}: run `make lock`"
        )


def test_environment_pins_equal_the_lock():
    lock, env = locked(), environment_pins()
    assert env, "environment.yml names no pip packages"
    for name, version in env.items():
        assert version is not None, f"environment.yml names {name} without an exact version (==)"
        assert lock.get(name) == version, f"environment.yml pins {name}=={version}, requirements.lock {lock.get(name)}"


def test_environment_names_the_pyproject_packages():
    assert set(environment_pins()) == set(main_requirements()) | set(extra_requirements())


def test_design_card_packages_and_torch_pins():
    main, lock, env = main_requirements(), locked(), environment_pins()
    assert DESIGN_CARD <= set(main)
    assert "submitit" in main  # SLURM job arrays
    for name, version in TORCH_PINS.items():
        assert str(main[name].specifier) == f"=={version}"
        assert lock[name] == version and env[name] == version


def test_test_tools_only_in_the_test_extra():
    assert TEST_ONLY <= set(extra_requirements())
    assert not TEST_ONLY & set(main_requirements()), "`make figures` must not need pytest or ruff"
    assert {"nbval", "tqdm", "ipykernel"} <= set(main_requirements())


def test_environment_pins_python_311():
    assert re.search(r"^\s*- python=3\.11\s*$", (paths.ROOT / "environment.yml").read_text(), re.M)
    assert "with Python 3.11" in (paths.ROOT / "requirements.lock").read_text()
