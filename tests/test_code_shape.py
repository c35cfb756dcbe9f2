"""The code's shape, kept by tests: short functions, no import cycles, plotting without torch."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from wgan_repro import registry

PACKAGE = Path(__file__).resolve().parent.parent / "wgan_repro"
MAX_FUNCTION_LINES = 80  # a function longer than a screen is two functions


def modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text())
    return found


def test_no_function_is_longer_than_a_screen():
    long = [f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines"
            for name, tree in modules().items() for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, long


def imports_of(tree: ast.Module, known: set[str]) -> set[str]:
    """The package's modules this module imports, at any depth (lazy imports included)."""
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        found |= {n for n in names if n in known}
    return found


def test_no_import_cycle():
    trees = modules()
    graph = {name: imports_of(tree, set(trees)) - {name} for name, tree in trees.items()}
    graph = {k: {v for v in vs if v != "wgan_repro"} for k, vs in graph.items()}

    def cycle_from(start):
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    return path + [nxt]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
        return None

    cycles = [" -> ".join(c) for c in map(cycle_from, graph) if c]
    assert not cycles, cycles


MAX_FILE_LINES = 600  # a module longer than this holds two layers


def test_no_module_is_longer_than_600_lines():
    long = [f"{p.relative_to(PACKAGE.parent)}: {n} lines" for p in sorted(PACKAGE.rglob("*.py"))
            if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES]
    assert not long, long


def test_experiments_do_not_import_the_claims():
    """The flow is experiments -> files -> claims -> plots: an experiment writes its tables and
    never reads a verdict (table shaping they share lives in stats.py)."""
    trees = modules()
    judging = {n for n in trees if n.startswith("wgan_repro.claims")} | {"wgan_repro.verdicts"}
    offenders = {name: sorted(imports_of(tree, set(trees)) & judging)
                 for name, tree in trees.items() if name.startswith("wgan_repro.experiments")}
    assert not {k: v for k, v in offenders.items() if v}, offenders


@pytest.mark.parametrize("module", ["wgan_repro.plots", "wgan_repro.report", "wgan_repro.stats",
                                    "wgan_repro.report_markdown", "wgan_repro.report_pdf",
                                    "wgan_repro.aggregate", "wgan_repro.registry",
                                    "wgan_repro.claims", "wgan_repro.verdicts",
                                    "wgan_repro.plots.claims",
                                    *(f"wgan_repro.{layer}.{name}" for layer in ("plots", "claims")
                                      for name in registry.EXPERIMENTS)])
def test_plotting_and_the_report_import_no_torch(module):
    # Re-plotting and reporting read CSVs only: they must work (and start fast) without torch.
    code = f"import sys, {module}; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
