"""Every claim of the two papers that wgan-repro tests: the paper's words, the rule, the verdict.

One module per experiment, ``wgan_repro.claims.<name>`` (fig2, curve, ablate, toy, clip,
probe_adam, probe_noise), so a reader can check each rule against its quote:

- its :class:`~wgan_repro.verdicts.Claim` records hold what the paper says (``paper_quote``,
  quoted with its section or figure) and the test written from it (``rule``), before any result
  is seen; the thresholds are the named constants right above each claim, never moved toward a
  measured value, and the rule's text is built from them;
- its rules are pure functions of the experiment's tables (``pandas.DataFrame``, shaped by
  wgan_repro.stats) that return an :class:`~wgan_repro.verdicts.Outcome` and the measured value
  in words (the three-valued verdict logic is wgan_repro.verdicts);
- its ``judge(results_dir)`` reads that experiment's files and returns its claims, and
  ``CLAIMS`` lists them in claims.csv's order.

This module is the file layer: reading the tables, :func:`judge_and_write` (one experiment's rows
of claims.csv and its summary.json), :func:`rejudge` (every experiment from the files already
there, ``wgan-repro report --rejudge``: verdicts never need a retraining) and :func:`all_claims`.
The experiments come from wgan_repro.registry; nothing here imports torch.

P1 = Arjovsky & Bottou, "Towards Principled Methods for Training GANs" (ICLR 2017, arXiv
1701.04862v1). P2 = Arjovsky, Chintala & Bottou, "Wasserstein GAN" (ICML 2017, arXiv 1701.07875).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path

from wgan_repro import registry
from wgan_repro.verdicts import Claim

SUMMARY = "summary.json"  # every experiment's summary, in its folder


# ---- reading an experiment's files ------------------------------------------------------------------
def read_table(path: Path):
    """A CSV as a pandas.DataFrame, or None when the file is not there."""
    import pandas as pd

    return pd.read_csv(path) if Path(path).exists() else None


def read_json(path: Path) -> dict:
    """A JSON file's object, {} when the file is not there."""
    return json.loads(Path(path).read_text()) if Path(path).exists() else {}


def read_yaml(path: Path) -> dict:
    """A YAML file's mapping (yaml.safe_load), {} when the file is not there or empty."""
    import yaml

    return yaml.safe_load(Path(path).read_text()) or {} if Path(path).exists() else {}


def previous_sources(results_dir: Path, experiment: str) -> list[str]:
    """The sources an older claims.csv recorded for this experiment (rejudging old runs)."""
    old = read_table(Path(results_dir) / "claims.csv")
    if old is None or "source" not in old.columns:
        return []
    return [str(s) for s in old.loc[old["experiment"] == experiment, "source"].dropna()]


def source_of(results_dir: Path, experiment: str, summary: dict, default: str) -> str:
    """The claims' source: the summary's, else the one claims.csv recorded, else ``default``."""
    previous = previous_sources(results_dir, experiment)
    return summary.get("source") or (previous[0] if previous else default)


# ---- judging every registered experiment ------------------------------------------------------------
def _judge(experiment: registry.Experiment) -> Callable[[Path], list[Claim]]:
    return registry.resolve(experiment.judge)


def judge_and_write(results_dir: Path, name: str) -> list[dict[str, str]]:
    """Judge one experiment from its files, replace its rows of claims.csv and of
    claims_seeds.csv (what each verdict was judged from), and keep both in its summary.json too
    (when that summary exists); returns the claims.csv rows."""
    from wgan_repro.results import update_claims, update_claims_seeds, write_json

    experiment = registry.get(name)
    judged = _judge(experiment)(Path(results_dir))
    rows = [claim.row() for claim in judged]
    seed_rows = [row for claim in judged for row in claim.seed_rows()]
    update_claims(Path(results_dir), experiment.name, rows)
    ids = {c.claim_id for c in judged} | {c.claim_id for c in _module_claims(experiment)}
    update_claims_seeds(Path(results_dir), sorted(ids), seed_rows)
    summary_path = Path(results_dir) / experiment.folder / SUMMARY
    if summary_path.exists():
        summary = read_json(summary_path)
        summary["claims"] = rows
        summary["claims_seeds"] = seed_rows
        write_json(summary_path, summary)
    return rows


def rejudge(results_dir: Path) -> dict[str, list[dict[str, str]]]:
    """Recompute the claims of every experiment that has results in ``results_dir`` (its marker
    file exists) from its files, with the rules of this version (no training)."""
    return {name: judge_and_write(results_dir, name)
            for name, experiment in registry.EXPERIMENTS.items()
            if (Path(results_dir) / experiment.folder / experiment.marker).exists()}


def all_claims() -> tuple[Claim, ...]:
    """Every claim of every registered experiment, in registry order (each judge's module
    lists its claims as CLAIMS, in claims.csv's order)."""
    return tuple(c for experiment in registry.EXPERIMENTS.values()
                 for c in _module_claims(experiment))


def _module_claims(experiment: registry.Experiment) -> tuple[Claim, ...]:
    """The claims its judge's module declares (CLAIMS), judged or not this time."""
    return tuple(getattr(importlib.import_module(_judge(experiment).__module__), "CLAIMS", ()))
