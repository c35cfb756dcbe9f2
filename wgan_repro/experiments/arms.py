"""What both probes share: an experiment over arms (probe.arms: named override lists) and
seeds, one job per arm and seed, and the checks on its arms."""

from __future__ import annotations

from collections.abc import Callable

from omegaconf import DictConfig

from wgan_repro import hydra_runner
from wgan_repro.errors import ConfigError
from wgan_repro.plans import Plan, validated_jobs


def validate_arms(cfg: DictConfig, required: tuple[str, ...], extra_arms: bool = False
                   ) -> None:
    """probe.arms defines exactly ``required`` or, with ``extra_arms``, those and at least one
    more; and the probe's other settings are usable."""
    p = cfg.probe
    got = ', '.join(p.arms) or 'none'
    if not extra_arms and set(p.arms) != set(required):
        raise ConfigError(f"probe.arms must define exactly {', '.join(required)}, got {got}")
    if extra_arms and (not set(required) <= set(p.arms) or len(p.arms) == len(required)):
        raise ConfigError(f"probe.arms must define {', '.join(required)} and at least one other "
                          f"arm, got {got}")
    if not p.seeds:
        raise ConfigError("probe.seeds is empty")
    errors = [f"probe.{k} must be >= 1, got {p[k]}" for k in ("jump_window", "blow_up_radius")
              if p[k] < 1]
    if p.blow_up_threshold <= 0:
        errors.append(f"probe.blow_up_threshold must be > 0, got {p.blow_up_threshold}")
    if errors:
        raise ConfigError("; ".join(errors))


def plan_arms(name: str, user: list[str], required: tuple[str, ...], extra_arms: bool,
              validate: Callable[[DictConfig], None]) -> Plan:
    """One job per arm and seed of experiment ``name``: the required arms first, then the
    others in config order; each arm's own overrides come first, so what the user typed wins."""
    cfg = hydra_runner.compose([f"experiment={name}", *user])
    validate_arms(cfg, required, extra_arms)
    arms = required + tuple(a for a in cfg.probe.arms if a not in required)
    jobs = [[f"experiment={name}", *cfg.probe.arms[arm], *user, f"probe.arm={arm}", f"seed={s}"]
            for arm in arms for s in cfg.probe.seeds]
    return Plan(name, cfg, jobs, list(cfg.probe.seeds), job_cfgs=validated_jobs(jobs, validate))
