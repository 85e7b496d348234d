"""Findings files: verdicts, reasons, and every number of the prose among the values."""
import json
import math

import numpy as np
import pytest

from dcutils import findings, outputs
from dcutils.experiments import notebook_settings
from dcutils.findings import Cite, unchecked_numbers

# --- the prose-number check ------------------------------------------------------------------------------------

def test_a_number_typed_into_the_text_is_caught():
    values = {"brb": 85.46, "plain": 67.52}
    assert unchecked_numbers("BRB 85.5 vs plain 67.5", values) == []
    assert unchecked_numbers("BRB 85.5 vs plain 67.5; the paper has 84.50", values) == ["84.50"]


def test_a_rounded_value_passes_and_a_misrounded_one_does_not():
    values = {"acc": 67.523}
    for written in ("67.523", "67.52", "67.5", "68"):
        assert unchecked_numbers(f"ACC {written} %", values) == [], written
    for written in ("67.6", "67", "67.53", "6.75"):
        assert unchecked_numbers(f"ACC {written} %", values) == [written], written


def test_signs_ranges_and_thousands():
    values = {"gain": 18.03, "se": 6.61, "loss": -0.028, "low": 55.2, "high": 95.3, "n": 9298, "behind": -2.8}
    assert unchecked_numbers("+18.0 ± 6.6; -0.028; 55.2-95.3 %; 9,298 samples; behind by 2.8", values) == []
    assert unchecked_numbers("gain -18.0", values) == ["-18.0"]  # a signed number must match the sign
    assert unchecked_numbers("gain −18.0", values) == ["−18.0"]  # the typographic minus too
    assert unchecked_numbers("9,299 samples", values) == ["9,299"]


def test_names_and_references_are_not_numbers_but_parameters_are():
    text = ("fig01 and tab13 on MNIST, CIFAR10 and CIFAR100-20 with ResNet18 in bf16 (not fp32); d1/d2 of a "
            "d-500-500-2000-10 network, torch 2.14.1 (see Tables 13-15, Figure 1, Eq. 7)")
    assert unchecked_numbers(text, {"torch": "2.14.1"}) == []
    assert unchecked_numbers("a BRB step every T = 20 epochs", {}) == ["20"]
    assert unchecked_numbers("a BRB step every T = 20 epochs", {"T": 20}) == []


def test_numbers_inside_string_values_count():
    assert unchecked_numbers("interval 28×28 and lr 1e-3", {"resize": "28×28", "lr": "1e-3"}) == []


def test_cite_formats_and_records():
    cite = Cite()
    text = f"ACC {cite('acc', np.float64(67.523), '.1f')} over {cite('seeds', np.int64(3))} seeds"
    assert text == "ACC 67.5 over 3 seeds"
    assert cite.values == {"acc": 67.523, "seeds": 3} and type(cite.values["seeds"]) is int
    assert unchecked_numbers(text, cite.values) == []
    cite("acc", 67.523)  # the same value again is fine
    with pytest.raises(ValueError, match="'acc' twice"):
        cite("acc", 70.0)


# --- save_findings / read_findings ---------------------------------------------------------------------------

@pytest.fixture
def prov():
    return outputs.provenance(notebook_settings("brb/fig01", "quick"), datasets=["USPS"])


def test_save_findings_writes_values_json_beside_the_outputs_and_reads_back(figures, prov):
    cite = Cite()
    text = f"BRB − IDEC: {cite('gain', 18.03, '+.1f')} points over {cite('pairs', 3)} pairs."
    shown = outputs.save_findings(prov, findings.REPRODUCES, None, cite.values, text)
    path = figures / "brb" / "fig01-reclustering-barrier.values.json"
    raw = json.loads(path.read_text())
    assert list(raw) == ["item", "profile", "commit", "verdict", "reason", "values", "text"]
    assert raw["item"] == "brb/fig01" and raw["profile"] == "quick" and raw["commit"] == prov.commit
    assert raw["verdict"] == "reproduces" and raw["values"] == {"gain": 18.03, "pairs": 3} and raw["text"] == text
    assert shown._repr_markdown_().startswith("**Verdict: reproduces**") and text in shown.markdown()
    assert outputs.read_findings("brb/fig01", "quick") == shown
    assert outputs.read_findings("brb/fig04", "quick") is None


def test_smoke_findings_go_where_smoke_figures_go(monkeypatch, tmp_path):
    from dcutils import paths

    monkeypatch.delenv("DCUTILS_FIGURES", raising=False)
    monkeypatch.setattr(paths, "BUILD", tmp_path / "build")
    prov = outputs.provenance(notebook_settings("brb/fig01", "smoke"), datasets=["USPS"])
    outputs.save_findings(prov, findings.INCONCLUSIVE, "one seed has no standard error.", {}, "Nothing to say.")
    assert (tmp_path / "build/smoke/figures/brb/fig01-reclustering-barrier.values.json").exists()


@pytest.mark.parametrize("verdict, reason, values, text, match", [
    ("reproduced", None, {}, "", "unknown verdict 'reproduced'"),
    (findings.INCONCLUSIVE, None, {}, "", "needs a reason"),
    (findings.NOT_TESTABLE, "  ", {}, "", "needs a reason"),
    (findings.NOT_TESTABLE, "one\ntwo", {}, "", "one sentence on one line"),
    (findings.REPRODUCES, None, {"gain": math.nan}, "", "'gain' is nan"),
    (findings.REPRODUCES, None, {"gain": math.inf}, "", "'gain' is inf"),
    (findings.REPRODUCES, None, {"gain": [1, 2]}, "", "number or a string"),
    (findings.REPRODUCES, None, {"ok": True}, "", "number or a string"),
    (findings.REPRODUCES, None, {"gain": 18.0}, "gain 18.0 over 3 seeds, paper 84.5",
     r"not among its values: 3, 84\.5"),
    (findings.INCONCLUSIVE, "only 2 of 4 cells", {}, "", r"not among its values: 2, 4"),
])
def test_save_findings_refuses_bad_input_and_writes_nothing(figures, prov, verdict, reason, values, text, match):
    with pytest.raises(ValueError, match=match):
        outputs.save_findings(prov, verdict, reason, values, text)
    assert not (figures / "brb" / "fig01-reclustering-barrier.values.json").exists()


@pytest.mark.parametrize("content, match", [
    ("{not json", "not valid JSON"),
    (json.dumps({"item": "brb/fig01"}), "lacks commit, profile, reason, text, values, verdict"),
    (json.dumps({k: "x" for k in findings.FIELDS}), "unknown verdict 'x'"),
])
def test_a_corrupt_findings_file_is_a_clear_error(figures, content, match):
    path = figures / "brb" / "fig01-reclustering-barrier.values.json"
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(findings.FindingsError, match=match):
        outputs.read_findings("brb/fig01", "quick")
