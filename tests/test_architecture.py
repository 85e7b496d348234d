"""Imports flow one way: core ← primitives ← training ← runs, settings, plots (no cycles, no hidden imports).

The layers (README, "Layout"):

- **core** (``dcutils.core``): what an algorithm sees; imports nothing from dcutils.
- **primitives**: data, models, resets, k-means, augmentation, metrics, ...; import core and each other.
- **training** (``dcutils.<paper>`` and its training modules): import core, primitives and their own
  paper's training modules; never the run cache, settings or plots.
- **upper**: runs, profiles, items, experiments, compute, plots, settings, ...; import anything below.

The graph includes imports inside functions, and those are forbidden for dcutils modules: an import
inside a function is how a cycle hides.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from dcutils import paths

CORE = {"dcutils.core"}
PRIMITIVES = {
    "dcutils", "dcutils.paths", "dcutils.device", "dcutils.cache", "dcutils.data", "dcutils.models",
    "dcutils.resets", "dcutils.kmeans", "dcutils.augment", "dcutils.metrics", "dcutils.hparams", "dcutils.dec",
    "dcutils.timing", "dcutils.environment", "dcutils.precision", "dcutils.health", "dcutils.stacking",
}
TRAINING_PACKAGES = ("dcutils.brb", "dcutils.rdc", "dcutils.resl")
#: Modules of a paper's package that belong to the upper layer.
UPPER_IN_PAPERS = ("settings", "plots", "analysis_settings", "analysis_plots", "analysis_frames", "analysis_figures",
                   "analysis_verdicts", "choices_plots", "deviations_plots", "crosscheck", "contrastive_settings",
                   "contrastive_plots", "frames", "tables", "figures", "texts", "verdicts", "grid_frames",
                   "grid_tables", "grid_figures", "grid_texts", "grid_verdicts", "claims")
#: Training modules allowed to import another paper's training modules (and only these), and why.
CROSS_PAPER = {
    # BRB's contrastive runs (issue 23) build on ReSL's ResNet18, data splits, NT-Xent and self-labeling stage
    "dcutils.brb.contrastive": {"dcutils.resl.augment", "dcutils.resl.losses", "dcutils.resl.network",
                                "dcutils.resl.pretext"},
    "dcutils.brb.contrastive_pretrain": {"dcutils.resl.pretext"},
    "dcutils.brb.contrastive_run": {"dcutils.resl.pretext", "dcutils.resl.selflabel", "dcutils.resl.strategies"},
}


def _modules() -> dict[str, Path]:
    mods = {}
    for p in (paths.ROOT / "dcutils").rglob("*.py"):
        parts = list(p.relative_to(paths.ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = p
    return mods


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str) -> list[tuple[str, bool]]:
    """(imported dcutils module, inside a function?) for every import statement of ``module``."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    in_function: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            in_function.update(id(n) for n in ast.walk(node) if n is not node)
    found = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")
                base = ".".join(up[: len(up) - (node.level - 1)] + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        for t in targets:
            r = _resolve(t)
            if r and r != module:
                found.append((r, id(node) in in_function))
    return found


GRAPH = {m: {t for t, _ in _imports(m)} for m in MODULES}


def layer(module: str) -> str:
    if module in CORE:
        return "core"
    if module in PRIMITIVES:
        return "primitive"
    for pkg in TRAINING_PACKAGES:
        if module == pkg or module.startswith(pkg + "."):
            return "upper" if module.rsplit(".", 1)[-1] in UPPER_IN_PAPERS else "training"
    return "upper"


def _cycles() -> list[list[str]]:
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return out


def test_the_import_graph_has_no_cycle():
    assert _cycles() == []


def test_the_cycle_finder_finds_a_cycle():
    GRAPH["dcutils.core"].add("dcutils.runs")  # core importing the run cache would close a loop
    try:
        assert any("dcutils.core" in c for c in _cycles())
    finally:
        GRAPH["dcutils.core"].discard("dcutils.runs")


#: Modules allowed to import dcutils inside functions, and why (never to break a cycle).
LAZY_IMPORTS = {
    "dcutils.executors": "a spawned or submitted worker sets its thread counts before torch is imported",
}


def test_no_dcutils_import_inside_a_function():
    hidden = [f"{m} imports {t}" for m in MODULES for t, inner in _imports(m) if inner and m not in LAZY_IMPORTS]
    assert hidden == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module):
    allowed = {
        "core": set(),
        "primitive": {"core", "primitive"},
        "training": {"core", "primitive", "training"},
        "upper": {"core", "primitive", "training", "upper"},
    }[layer(module)]
    wrong = sorted(t for t in GRAPH[module] if layer(t) not in allowed)
    assert wrong == [], f"{module} ({layer(module)}) imports {wrong}"
    if layer(module) == "training":
        paper = next(p for p in TRAINING_PACKAGES if module == p or module.startswith(p + "."))
        other = sorted(t for t in GRAPH[module] if layer(t) == "training" and not t.startswith(paper)
                       and t not in CROSS_PAPER.get(module, set()))
        assert other == [], f"{module} imports another paper's training code {other}"


def test_layers_are_what_readme_says():
    """README's layout table names every module of the core, primitive and training layers."""
    readme = (paths.ROOT / "README.md").read_text()
    for module in sorted(MODULES):
        if layer(module) != "upper" and module != "dcutils":
            short = module.removeprefix("dcutils.")
            assert f"`{short.split('.')[-1]}`" in readme, f"README's layout does not mention {module}"
