"""P2 Fig. 5-7: WGAN keeps working where the standard GAN fails.

For each selected generator variant (``ablate.variants``: the DCGAN generator, the one
without batch norm and with a constant filter count, the 4x512 MLP) and each arm
(``ablate.arms``: WGAN, standard GAN) and seed, one training run (``train``) with
the DCGAN critic. Every ``train.eval_every`` iterations and at the end, ``ablate.eval_samples``
generated digits are measured against the held-out digits: exact pixel EMD, FCD in the
digits classifier's features, classes covered and KL(class histogram || uniform). The
aggregate step writes ``ablate/metrics.csv`` and ``summary.json``; the sample figures,
``summary.pdf`` and the claims are computed from them (the final evaluation of every run).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from wgan_repro import hydra_runner
from wgan_repro.aggregate import concatenated
from wgan_repro.data import load_dataset, to_unit_range
from wgan_repro.errors import ConfigError
from wgan_repro.experiments.quality import make_evaluator
from wgan_repro.plans import Plan, seeds_text, validated, validated_jobs
from wgan_repro.results import ABLATE_COLUMNS, read_csv, write_csv, write_json
from wgan_repro.schema import POINT_DATASETS
from wgan_repro.stats import final_rows, scored_final
from wgan_repro.train import train

ARMS = ("wgan", "gan")  # left and right panels of every figure
GP_ARM = "wgan_gp"  # the third arm, with --gp (ablate.gp): WGAN-GP Fig. 2's re-run of P2's
# generator_parameters' key for the DCGAN generator built at the no-BN variant's image size
DCGAN_AT_NO_BN_SIZE = "dcgan_at_no_bn_size"


def validate_ablate(cfg: DictConfig) -> None:
    if cfg.data.name in POINT_DATASETS:
        raise ConfigError("ablate measures digit classes: use an image dataset, not data="
                          + cfg.data.name)
    needed = arms_run(cfg)
    if not set(needed) <= set(cfg.ablate.arms) or not set(cfg.ablate.arms) <= {*ARMS, GP_ARM}:
        raise ConfigError(f"ablate.arms must define {', '.join(ARMS)} (and {GP_ARM} for --gp) and "
                          f"nothing else, got {', '.join(cfg.ablate.arms) or 'none'}")
    if not cfg.ablate.variants:
        raise ConfigError("ablate.variants is empty: nothing to train")
    if cfg.ablate.eval_samples < 2:
        raise ConfigError(f"ablate.eval_samples must be >= 2, got {cfg.ablate.eval_samples}")
    if not 0.0 < cfg.ablate.class_min_share <= 1.0:
        raise ConfigError(f"ablate.class_min_share must be in (0, 1], got "
                          f"{cfg.ablate.class_min_share}")
    if not cfg.ablate.seeds:
        raise ConfigError("ablate.seeds is empty")


def arms_run(cfg: DictConfig) -> tuple[str, ...]:
    """The arms this run trains: WGAN and GAN, and WGAN-GP with --gp."""
    return (*ARMS, GP_ARM) if cfg.ablate.gp else ARMS


def plan(user: list[str], variants: list[str] | None = None) -> Plan:
    """One job per variant, seed and arm; ``variants`` None runs every variant in
    ablate.variants."""
    cfg = validated(["experiment=ablate", *user], validate_ablate)
    chosen = list(cfg.ablate.variants) if variants is None else list(variants)
    unknown = [v for v in chosen if v not in cfg.ablate.variants]
    if unknown:
        raise ConfigError(f"ablate.variants has no {', '.join(unknown)}")
    # The variant's and the arm's own overrides come first, so what the user typed wins.
    jobs = [["experiment=ablate", *cfg.ablate.variants[v], *cfg.ablate.arms[arm], *user,
             f"ablate.variant={v}", f"ablate.arm={arm}", f"seed={s}"]
            for v in chosen for s in cfg.ablate.seeds for arm in arms_run(cfg)]
    # Each variant may have its own length and image size: its first job's config says.
    lengths, job_cfgs = {}, validated_jobs(jobs, validate_ablate)
    for job_cfg in job_cfgs:
        lengths.setdefault(job_cfg.ablate.variant, (job_cfg.train.iterations,
                                                    job_cfg.data.image_size))
    context = {"chosen": chosen, "lengths": lengths,
               "parameters": generator_parameters(variant_configs(cfg, user))}
    return Plan("ablate", cfg, jobs, list(cfg.ablate.seeds), context, job_cfgs)


def variant_configs(cfg: DictConfig, user: list[str]) -> dict[str, DictConfig]:
    """Every variant's config, for its generator's size; P2's "10x fewer parameters" compares
    the no-BN generator with the DCGAN one at the same image size, so that one is added."""
    configs = {v: hydra_runner.compose(["experiment=ablate", *cfg.ablate.variants[v], *user])
               for v in cfg.ablate.variants}
    if "dcgan" in configs and "no_bn" in configs:
        size = configs["no_bn"].data.image_size
        configs[DCGAN_AT_NO_BN_SIZE] = hydra_runner.compose(
            ["experiment=ablate", *cfg.ablate.variants["dcgan"], *user, f"data.image_size={size}"])
    return configs


def run(cfg: DictConfig) -> dict[str, Any]:
    """One run: variant ``ablate.variant``, arm ``ablate.arm``, seed ``seed``. ``cfg``
    was validated when the job was planned (validate_ablate)."""
    evaluate, classifier = make_evaluator(cfg, cfg.ablate.eval_samples,
                                          coverage_min_share=cfg.ablate.class_min_share)
    summary = train(cfg, evaluate=evaluate)
    # The floor a generator can hope for: real training digits against the held-out ones.
    data = load_dataset(cfg.data, cache_dir=Path(cfg.results_dir) / ".cache")
    fcd_real = classifier.fcd(to_unit_range(data.train), to_unit_range(data.heldout))
    return {"variant": cfg.ablate.variant, "arm": cfg.ablate.arm, "seed": cfg.seed,
            "fcd_real_vs_real": fcd_real, "run_dir": summary["run_dir"], "diverged": summary["diverged"],
            "diverged_at": summary["diverged_at"], "gen_iters": summary["gen_iters"],
            "params_generator": summary["params_generator"],
            "classifier_accuracy": classifier.heldout_accuracy}


def generator_parameters(configs: dict[str, DictConfig]) -> dict[str, int]:
    """Parameter count of each variant's generator, built (not trained) from its config."""
    from wgan_repro.models import build_generator, count_parameters

    counts = {}
    for variant, cfg in configs.items():
        shape = (cfg.data.channels, cfg.data.image_size, cfg.data.image_size)
        counts[variant] = count_parameters(build_generator(cfg.generator, shape))
    return counts


# ---- aggregation ----------------------------------------------------------------------------------
def _evaluations(run: dict[str, Any]) -> list:
    """Every evaluation of one run as tables of ABLATE_COLUMNS; a diverged run ends with a row
    at its divergence."""
    import pandas as pd

    key = {"variant": run["variant"], "arm": run["arm"], "seed": run["seed"]}
    tables = []
    quality_path = Path(run["run_dir"]) / "quality.csv"
    if quality_path.exists():
        quality = pd.read_csv(quality_path).rename(columns={"gen_iter": "gen_iters"})
        tables.append(quality.assign(**key, diverged=False))
    if run["diverged"]:
        tables.append(pd.DataFrame([{**key, "gen_iters": run["diverged_at"], "emd": math.nan,
                                     "fcd": math.nan, "classes_covered": math.nan,
                                     "kl_uniform": math.nan, "diverged": True}]))
    return tables


def aggregate(plan: Plan, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Write ablate/metrics.csv and summary.json; returns the summary, with the generator
    sizes of the variants run (``parameters``) and of all (``all_parameters``).

    Variants run earlier (say ``--no-bn`` yesterday, ``--mlp`` today) stay in metrics.csv
    and summary.json: each run of the verb replaces only the variants it trained.
    """
    import json

    parameters, lengths = plan.context["parameters"], plan.context["lengths"]
    sources = {v: (f"ablate/metrics.csv (tier {plan.cfg.tier}, seeds "
                   f"{seeds_text(plan.cfg.ablate.seeds)}, {lengths[v][0]} generator "
                   f"iterations, {lengths[v][1]}x{lengths[v][1]})") for v in plan.context["chosen"]}
    out = plan.results_dir / "ablate"
    fresh = {r["variant"] for r in runs}
    kept, kept_summary = [], {}
    if (out / "metrics.csv").exists() and (out / "summary.json").exists():
        old = read_csv(out / "metrics.csv", ABLATE_COLUMNS)
        kept = [old[~old["variant"].isin(fresh)]]
        kept_summary = json.loads((out / "summary.json").read_text())
    tables = kept + [table for run in runs for table in _evaluations(run)]
    write_csv(out / "metrics.csv", concatenated(tables, ABLATE_COLUMNS).to_dict("records"),
              ABLATE_COLUMNS)
    frame = read_csv(out / "metrics.csv", ABLATE_COLUMNS)

    variants = {k: v for k, v in kept_summary.get("variants", {}).items() if k not in fresh}
    for variant in sorted(fresh):
        arm_runs = [r for r in runs if r["variant"] == variant]
        grids = {}
        for arm in (*ARMS, GP_ARM):
            mine = sorted((r for r in arm_runs if r["arm"] == arm), key=lambda r: r["seed"])
            if mine:
                grids[arm] = {"seed": mine[0]["seed"], "path": _last_grid(Path(mine[0]["run_dir"])),
                              "diverged_at": mine[0]["diverged_at"]}
        variants[variant] = {"source": sources[variant], "sample_grids": grids,
                             "params_generator": parameters.get(variant),
                             "classifier_heldout_accuracy": arm_runs[0]["classifier_accuracy"],
                             "fcd_real_vs_real": arm_runs[0]["fcd_real_vs_real"]}
    for variant, entry in variants.items():
        entry["final"] = final_stats(frame, variant)
    summary = {"variants": dict(sorted(variants.items())),
               "generator_parameters": {**kept_summary.get("generator_parameters", {}),
                                        **parameters}}
    write_json(out / "summary.json", summary)
    return {**summary, "parameters": {v: parameters[v] for v in plan.context["chosen"]},
            "all_parameters": parameters}


def _last_grid(run_dir: Path) -> str | None:
    grids = sorted((run_dir / "samples").glob("gen_iter_*.png"))
    return str(grids[-1]) if grids else None


def final_stats(frame, variant: str) -> dict[str, Any]:
    """Per arm: the seeds' final values (diverged runs scored worst), median, min and max."""
    import numpy as np

    stats = {}
    for arm, group in final_rows(frame, variant).groupby("arm"):
        per_seed = {int(r["seed"]): {**scored_final(r), "gen_iters": int(r["gen_iters"]),
                                     "diverged": bool(r["diverged"])}
                    for r in group.to_dict("records")}
        entry: dict[str, Any] = {"seeds": per_seed, "n_seeds": len(per_seed),
                                 "diverged_seeds": sum(v["diverged"] for v in per_seed.values())}
        for key in ("emd", "fcd", "classes_covered", "kl_uniform"):
            values = np.array([v[key] for v in per_seed.values()], dtype=float)
            entry[key] = {"median": float(np.median(values)), "min": float(values.min()),
                          "max": float(values.max())}
        stats[arm] = entry
    return stats
