"""environment.yml (conda) and pyproject.toml (pip) name the same packages."""
import re
import tomllib

from dcutils import paths

DESIGN_CARD = {"jupyterlab", "papermill", "torch", "torchvision", "matplotlib", "seaborn", "scikit-learn", "pandas", "nbval"}


def _name(req: str) -> str:
    return re.split(r"[=<>!~\[ ]", req.strip(), maxsplit=1)[0].lower()


def pyproject_requirements() -> set[str]:
    return set(tomllib.loads((paths.ROOT / "pyproject.toml").read_text())["project"]["dependencies"])


def environment_requirements() -> set[str]:
    reqs, in_pip = set(), False
    for line in (paths.ROOT / "environment.yml").read_text().splitlines():
        if re.match(r"^\s*- pip:\s*$", line):
            in_pip = True
        elif in_pip and re.match(r"^\s{6}- ", line):
            reqs.add(line.split("- ", 1)[1].strip())
    return reqs


def test_same_packages_and_pins():
    assert pyproject_requirements() == environment_requirements()


def test_design_card_packages_and_torch_pins():
    reqs = pyproject_requirements()
    assert DESIGN_CARD <= {_name(r) for r in reqs}
    assert "torch==2.14.1" in reqs and "torchvision==0.29.1" in reqs


def test_environment_pins_python_311():
    assert re.search(r"^\s*- python=3\.11\s*$", (paths.ROOT / "environment.yml").read_text(), re.M)
