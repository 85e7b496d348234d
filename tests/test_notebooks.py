"""Notebooks are committed clean, declare plain-literal parameters and use the dcutils kernel."""
import ast
import json

import pytest

from dcutils import paths
from dcutils.execute import declared_parameters, execute
from dcutils.profiles import SettingsError

NOTEBOOKS = sorted(paths.NOTEBOOKS.glob("*/*.ipynb"))


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def notebook(request):
    return request.param


def test_committed_without_outputs(notebook):
    nb = json.loads(notebook.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, f"{notebook.name} holds outputs"


def test_parameters_cell_holds_plain_literals(notebook):
    nb = json.loads(notebook.read_text())
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    tree = ast.parse("".join(tagged[0]["source"]))
    names = set()
    for node in tree.body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, "assignments only"
        ast.literal_eval(node.value)  # raises for anything but a literal
        names.add(node.targets[0].id)
    assert {"profile", "overrides"} <= names
    assert declared_parameters(notebook).keys() == names


def test_uses_the_dcutils_kernel_and_reads_like_the_paper(notebook):
    nb = json.loads(notebook.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "dcutils"
    first = nb["cells"][0]
    assert first["cell_type"] == "markdown" and "".join(first["source"]).startswith("# ")
    # the last prose is "What we see"; only code (its numbers, computed from the runs) may follow it
    last_md = max(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "markdown")
    assert "What we see" in "".join(nb["cells"][last_md]["source"])
    after = nb["cells"][last_md + 1:]
    assert all(c["cell_type"] == "code" for c in after)
    if after:
        sources = ["".join(c["source"]) for c in after]
        assert any("display(Markdown(" in src or "save_findings(" in src for src in sources), \
            "code after 'What we see' should show its computed text"


#: Papers whose notebooks end by saving their findings (verdict, cited values, text) with outputs.save_findings.
PAPERS_WITH_FINDINGS = ("brb", "rdc")


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.parent.name in PAPERS_WITH_FINDINGS],
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_what_we_see_ends_with_the_saved_findings(path):
    nb = json.loads(path.read_text())
    last = nb["cells"][-1]
    assert last["cell_type"] == "code" and "".join(last["source"]).startswith("outputs.save_findings("), \
        f"{path.name}: the last cell should be outputs.save_findings(...) (its verdict, values and text)"


def test_runner_rejects_unknown_parameter_before_starting_a_kernel():
    with pytest.raises(SettingsError, match=r"unknown parameter\(s\) \['seedz'\]"):
        execute(NOTEBOOKS[0], "smoke", {"seedz": [0]})


def test_runner_rejects_unknown_profile():
    with pytest.raises(SettingsError, match="unknown profile 'fast'"):
        execute(NOTEBOOKS[0], "fast")
