"""The figure index covers the catalog, and notebooks follow its names."""
import re

import pytest

from dcutils import catalog, paths, statements

CATALOG = paths.SHARED / "FIGURES.md"


def catalog_ids() -> set[str]:
    """Item ids of ../shared/FIGURES.md ("fig04-fig11" expands to its range)."""
    ids, paper = set(), None
    for line in CATALOG.read_text().splitlines():
        m = re.match(r"^## (brb|resl|rdc):", line)
        if m:
            paper = m.group(1)
            continue
        m = re.match(r"^\| (fig(\d\d)-fig(\d\d)|fig\d\d|tab\d\d|algo\d|headline) \|", line)
        if m and paper:
            if m.group(2):
                ids.update(f"{paper}/fig{n:02d}" for n in range(int(m.group(2)), int(m.group(3)) + 1))
            else:
                ids.add(f"{paper}/{m.group(1)}")
    return ids


def test_index_lists_every_catalog_item_and_nothing_else():
    assert CATALOG.exists(), "../shared/FIGURES.md must be beside the repository (as in CI)"
    ids = catalog_ids()
    assert len(ids) > 80
    assert {i.key for i in catalog.ITEMS} == ids


def test_item_keys_are_unique_and_statuses_known():
    keys = [i.key for i in catalog.ITEMS]
    assert len(keys) == len(set(keys))
    for item in catalog.ITEMS:
        assert item.kind in {"data", "config", "schematic"}
        assert item.status in {catalog.DONE, catalog.NOT_STARTED, catalog.SCHEMATIC} or re.match(
            r"^(partial|not regenerated|index only)\b.*: .+|^done \(.+\)$", item.status), item


def test_every_notebook_is_a_catalog_item_or_an_extra_with_its_name():
    stems = {(i.paper, i.stem) for i in [*catalog.ITEMS, *catalog.EXTRAS]}
    notebooks = sorted(paths.NOTEBOOKS.glob("*/*.ipynb"))
    assert notebooks
    for nb in notebooks:
        assert (nb.parent.name, nb.stem) in stems, f"{nb} does not follow the catalog's naming"


def test_done_and_partial_items_have_notebooks():
    for item in catalog.ITEMS:
        if item.status.startswith((catalog.DONE, "partial")):
            assert item.notebook.exists(), f"{item.key} is marked {item.status!r} but {item.notebook} is missing"


def test_items_with_notebooks_are_not_marked_not_started():
    for item in catalog.ITEMS:
        if item.notebook.exists():
            assert item.status != catalog.NOT_STARTED, f"{item.key} has a notebook; give it its status"


def test_extras_are_outside_the_catalog_but_in_the_index():
    assert catalog.EXTRAS
    for extra in catalog.EXTRAS:
        assert extra.key not in {i.key for i in catalog.ITEMS}
        assert catalog.get_item(extra.key) is extra
        assert extra.notebook.exists(), extra.notebook
    assert catalog.get_item("brb/deviations").notebook.name == "deviations.ipynb"


def test_rendered_index_mentions_every_item():
    text = catalog.render_index()
    for item in [*catalog.ITEMS, *catalog.EXTRAS]:
        assert f"| {item.id} |" in text


def test_committed_index_is_current():
    index = paths.FIGURES / "README.md"
    assert index.read_text() == catalog.render_index(statements.gallery_claims()), \
        "figures/README.md is stale: run `make index`"


def test_committed_settings_page_is_current_and_linked():
    from dcutils import run_settings

    page = paths.FIGURES / "SETTINGS.md"
    assert page.read_text() == run_settings.render("quick"), "figures/SETTINGS.md is stale: run `make index`"
    index = catalog.render_index()
    assert "[settings](SETTINGS.md#brbfig01)" in index and "\n## brb/fig01\n" in page.read_text()


def test_settings_page_lists_what_the_runs_used_not_the_paper():
    from dcutils import run_settings

    shared, distinct = run_settings.summary("brb/fig01", "quick")
    # fig01 at quick: USPS, IDEC without pretraining, T = 20 over 180 epochs, three paired seeds per variant
    assert shared["dataset"] == "'usps'" and shared["cluster_epochs"] == "180" and shared["reset_interval"] == "20"
    assert set(distinct["variant"]) == {"'none'", "'recluster'", "'brb'"}
    assert set(distinct["seeds"]) == {"0-2"} and distinct["runs"].sum() == 9


def test_get_item_error_names_the_item():
    with pytest.raises(KeyError, match="brb/fig42"):
        catalog.get_item("brb/fig42")


def test_outputs_follow_kind():
    assert [p.suffix for p in catalog.get_item("brb/tab05").outputs()] == [".csv", ".md"]
    assert [p.suffix for p in catalog.get_item("brb/fig01").outputs()] == [".png", ".pdf"]


def test_index_is_a_gallery_with_status_and_verdict_apart(tmp_path, monkeypatch):
    import json

    from dcutils import findings

    monkeypatch.setattr(paths, "FIGURES", tmp_path)
    (tmp_path / "brb").mkdir()
    (tmp_path / "brb" / "fig01-reclustering-barrier.png").write_bytes(b"png")
    (tmp_path / "brb" / "fig01-reclustering-barrier.values.json").write_text(json.dumps({
        "item": "brb/fig01", "profile": "quick", "commit": "abc", "verdict": findings.DOES_NOT_REPRODUCE,
        "reason": "BRB | IDEC behind", "values": {}, "text": ""}))
    (tmp_path / "brb" / "tab05-hyperparameters-grayscale.values.json").write_text(json.dumps({
        "item": "brb/tab05", "profile": "paper", "commit": "abc", "verdict": findings.NOT_TESTABLE,
        "reason": "a table of settings, not a claim", "values": {}, "text": ""}))
    text = catalog.render_index()
    for verdict in findings.VERDICTS:
        assert f"- **{verdict}**: " in text  # the header explains each verdict
    brb = text.split("## brb:")[1].split("## ")[0]
    rows = {line.split(" | ")[0]: line.split(" | ") for line in brb.splitlines() if line.startswith("| ")}
    fig01 = rows["| fig01"]
    assert fig01[1] == '<img src="brb/fig01-reclustering-barrier.png" width="180">'
    assert fig01[3] == catalog._cell(catalog.get_item("brb/fig01").status)  # the status, whatever it says now
    assert fig01[4] == "**does not reproduce**: BRB \\| IDEC behind"
    assert "[`fig01-reclustering-barrier.values.json`](brb/fig01-reclustering-barrier.values.json)" in fig01[6]
    tab05 = rows["| tab05"]
    assert tab05[1] == "—" and tab05[4] == "**not testable here**: a table of settings, not a claim (profile paper)"
    assert rows["| fig04"][4] == "no verdict yet"


def test_index_names_a_corrupt_findings_file(tmp_path, monkeypatch):
    from dcutils import findings

    monkeypatch.setattr(paths, "FIGURES", tmp_path)
    (tmp_path / "brb").mkdir()
    (tmp_path / "brb" / "fig01-reclustering-barrier.values.json").write_text("{")
    with pytest.raises(findings.FindingsError, match="fig01-reclustering-barrier.values.json is not valid JSON"):
        catalog.render_index()


def test_the_index_shows_what_each_item_claims_from_the_statements():
    claims = statements.gallery_claims()
    text = catalog.render_index(claims)
    assert claims["brb/fig01"].startswith("Claim: ") and claims["brb/tab05"].startswith("Not testable here: ")
    for item in [*catalog.ITEMS, *catalog.EXTRAS]:
        assert catalog._cell(claims[item.key]) in text
