import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from dcutils import claims, outputs  # noqa: E402
from dcutils.experiments import notebook_settings  # noqa: E402


def test_mean_se():
    m, se, n = claims.mean_se([1.0, 2.0, 3.0, float("nan")])
    assert (m, n) == (2.0, 3) and se == pytest.approx(1 / math.sqrt(3))
    assert claims.mean_se([5.0])[1] == 0.0
    assert claims.mean_se([])[2] == 0


def test_comparison_puts_paper_reproduced_and_difference_side_by_side():
    runs = pd.DataFrame({"dataset": ["usps"] * 3 + ["mnist"], "variant": ["BRB"] * 4, "acc": [0.8, 0.9, 0.85, 0.7]})
    paper = pd.DataFrame({"dataset": ["usps", "kmnist"], "variant": ["BRB", "BRB"], "paper": [84.5, 60.0]})
    t = outputs.comparison(runs, paper, ["dataset", "variant"], "acc").set_index("dataset")
    assert t.loc["usps", "reproduced"] == pytest.approx(85.0)
    assert t.loc["usps", "difference"] == pytest.approx(0.5)
    assert t.loc["usps", "seeds"] == 3
    assert t.loc["kmnist", "seeds"] == 0 and math.isnan(t.loc["kmnist", "reproduced"])  # paper cell, no run
    assert math.isnan(t.loc["mnist", "paper"]) and t.loc["mnist", "seeds"] == 1  # run, no paper cell


def test_save_table_writes_csv_and_markdown_with_provenance(figures):
    settings = notebook_settings("brb/tab05", "quick")
    prov = outputs.provenance(settings, datasets=["USPS"], seeds=[0, 1, 2])
    paths = outputs.save_table(pd.DataFrame({"a": [1.5], "b": ["x"]}), prov)
    assert [p.name for p in paths] == ["tab05-hyperparameters-grayscale.csv", "tab05-hyperparameters-grayscale.md"]
    assert paths[0].parent == figures / "brb"
    back = pd.read_csv(paths[0], comment="#")
    assert list(back.columns) == ["a", "b"] and back["a"][0] == 1.5
    head = paths[0].read_text()
    assert "# profile: quick" in head and "# seeds: 0-2" in head and "# datasets: USPS" in head and "# commit: " in head
    assert "profile quick" in paths[1].read_text()


def test_save_table_wide_markdown_keeps_the_tidy_csv(figures):
    settings = notebook_settings("brb/tab13", "quick")
    prov = outputs.provenance(settings, datasets=["USPS"], seeds=[0, 1, 2])
    tidy = pd.DataFrame({"algorithm": ["DEC", "DEC", "IDEC"], "dataset": ["USPS", "MNIST", "USPS"],
                         "cell": ["85.0 / 84.5", "— / 90.1", "70.2 / 71.0"]})
    wide = tidy.pivot_table(index="algorithm", columns="dataset", values="cell", aggfunc="first")
    csv_path, md_path = outputs.save_table(tidy, prov, wide=wide)
    assert len(pd.read_csv(csv_path, comment="#")) == 3  # the CSV stays tidy, one row per cell
    md = md_path.read_text()
    header = next(line for line in md.splitlines() if line.startswith("| "))
    assert header.split("|")[1:-1] == [" algorithm ", " MNIST ", " USPS "]  # the index is the first column
    assert "| DEC | — / 90.1 | 85.0 / 84.5 |" in md and "| IDEC | — | 70.2 / 71.0 |" in md
    assert csv_path.name in md and "3 rows" in md


def test_save_table_sections_go_to_the_markdown_only(figures):
    settings = notebook_settings("brb/tab13", "quick")
    prov = outputs.provenance(settings, datasets=["USPS"], seeds=[0, 1, 2])
    more = pd.DataFrame({"comparison": ["BRB − plain"], "paired": [2.5]})
    csv_path, md_path = outputs.save_table(pd.DataFrame({"a": [1]}), prov,
                                           sections=[("+BRB against each baseline", "How to read it.", more)])
    assert list(pd.read_csv(csv_path, comment="#").columns) == ["a"]
    md = md_path.read_text()
    assert "\n## +BRB against each baseline\n\n| comparison | paired |" in md
    assert "| BRB − plain | 2.50 |\n\nHow to read it." in md
    assert md.index("| a |") < md.index("## +BRB against each baseline") < md.index("profile quick")


def test_save_figure_writes_png_and_pdf(figures):
    settings = notebook_settings("brb/fig01", "smoke")
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    paths = outputs.save_figure(fig, outputs.provenance(settings, datasets=["USPS"]))
    assert [p.suffix for p in paths] == [".png", ".pdf"] and all(p.stat().st_size > 1000 for p in paths)
    assert paths[0].name == "fig01-reclustering-barrier.png"
    assert any("profile smoke" in t.get_text() for t in fig.texts)


def test_smoke_outputs_never_land_in_figures(monkeypatch):
    from dcutils import paths

    monkeypatch.delenv("DCUTILS_FIGURES", raising=False)
    assert paths.figure_dir("brb", "smoke") == paths.BUILD / "smoke" / "figures" / "brb"
    assert paths.figure_dir("brb", "quick") == paths.FIGURES / "brb"


def test_plus_minus():
    assert outputs.plus_minus(84.5, 1.234) == "84.50 ± 1.23"
    assert outputs.plus_minus(float("nan"), 1.0) == "—"


def test_save_figure_refuses_a_hidden_series(figures):
    settings = notebook_settings("brb/fig01", "quick")
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [3, 4, 5], label="IDEC")
    ax.plot([0, 1, 2], [3, 4, 5], label="IDEC+BRB")
    with pytest.raises(outputs.HiddenSeriesError, match="line 'IDEC' and line 'IDEC\\+BRB' draw the same 3 points"):
        outputs.save_figure(fig, outputs.provenance(settings, datasets=["USPS"]))
    assert not (figures / "brb").exists() or not list((figures / "brb").iterdir())
    plt.close(fig)


def test_save_figure_passes_distinct_series_and_states_identical_ok_in_the_footer(figures):
    settings = notebook_settings("brb/fig01", "quick")
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [3, 4, 5])
    ax.plot([0, 1, 2], [3, 4, 6])
    outputs.save_figure(fig, outputs.provenance(settings, datasets=["USPS"]))
    assert not any("identical" in t.get_text() for t in fig.texts)
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [3, 4, 5])
    ax.plot([0, 1, 2], [3, 4, 5])
    written = outputs.save_figure(fig, outputs.provenance(settings, datasets=["USPS"]),
                                  identical_ok="the clip never acted, so both runs are the same")
    assert all(p.exists() for p in written)
    footer = " ".join(t.get_text().replace("\n", " ") for t in fig.texts)
    assert "identical series on purpose: the clip never acted, so both runs are the same" in footer
    plt.close("all")


def test_figure_footer_points_to_the_settings_its_runs_used_and_the_pdf_links_there(figures):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    outputs.save_figure(fig, outputs.provenance(notebook_settings("brb/fig01", "quick"), datasets=["USPS"]))
    (footer,) = [t for t in fig.texts if "commit" in t.get_text()]
    assert "settings: figures/SETTINGS.md#brbfig01" in footer.get_text().replace("\n", " ")
    assert footer.get_url() == "../SETTINGS.md#brbfig01"  # relative to figures/brb/, where the PDF lies
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    outputs.save_figure(fig, outputs.provenance(notebook_settings("brb/fig01", "smoke"), datasets=["USPS"]))
    (footer,) = [t for t in fig.texts if "commit" in t.get_text()]
    assert "python -m dcutils.run_settings --profile smoke" in footer.get_text().replace("\n", " ")
    assert footer.get_url() is None  # SETTINGS.md holds the quick profile only
    plt.close("all")
