"""wgan_repro.claims.toy: P2 Figures 1-2 (toy)'s rules judged on every seed, at and just past
their thresholds on hand-built per-seed statistics, the statistics computed from small hand-built
tables, and the judge reading the files (an older table without a seed column included).
Thresholds come from the module's named constants, never literal numbers."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml

from wgan_repro import results
from wgan_repro.claims import toy as toy_claims
from wgan_repro.verdicts import INCONCLUSIVE, MIN_SEEDS, NOT_REPRODUCED, REPRODUCED, SEED_RULE

SEEDS = tuple(range(MIN_SEEDS))
TOLERANCE = toy_claims.W_TOLERANCE * toy_claims.THETA_RANGE
# One seed's statistics, every one at its threshold (the saturation ratio's is strict: just under)
TOY_PASS = {"critic_error_max": TOLERANCE, "emd_error_max": TOLERANCE,
            "js_deviation_max": toy_claims.JS_FLAT_TOLERANCE, "js_at_zero": 0.0,
            "discriminator_saturation_ratio": 0.99 * toy_claims.SATURATED_RATIO,
            "critic_linear_r2": toy_claims.LINEAR_R2}
# ... and comfortably inside them (the tables write_toy builds)
TOY_GOOD = {"critic_error_max": TOLERANCE / 2, "emd_error_max": TOLERANCE / 4,
            "js_deviation_max": toy_claims.JS_FLAT_TOLERANCE / 2,
            "discriminator_saturation_ratio": toy_claims.SATURATED_RATIO / 10,
            "critic_linear_r2": (1 + toy_claims.LINEAR_R2) / 2}
PAST = {  # each statistic just past its threshold
    "critic_error_max": 1.01 * TOLERANCE, "emd_error_max": 1.01 * TOLERANCE,
    "js_deviation_max": 1.01 * toy_claims.JS_FLAT_TOLERANCE,
    "discriminator_saturation_ratio": toy_claims.SATURATED_RATIO,  # strict <
    "critic_linear_r2": 0.99 * toy_claims.LINEAR_R2}
RULE_OF = {"critic_error_max": toy_claims.rule_p2_fig1_w, "emd_error_max": toy_claims.rule_p2_fig1_w,
           "js_deviation_max": toy_claims.rule_p2_fig1_js,
           "discriminator_saturation_ratio": toy_claims.rule_p2_fig2,
           "critic_linear_r2": toy_claims.rule_p2_fig2}
PART_OF = {"critic_error_max": toy_claims.CRITIC_PART, "emd_error_max": toy_claims.EMD_PART,
           "js_deviation_max": toy_claims.JS_PART,
           "discriminator_saturation_ratio": toy_claims.SATURATION_PART,
           "critic_linear_r2": toy_claims.R2_PART}
RULES = (toy_claims.rule_p2_fig1_w, toy_claims.rule_p2_fig1_js, toy_claims.rule_p2_fig2)


def per_seed(statistics=TOY_PASS, seeds=SEEDS, **by_seed) -> dict:
    """{seed: statistics}; by_seed = {"s<seed>": {key: value}} changes one seed."""
    return {s: {**statistics, **by_seed.get(f"s{s}", {})} for s in seeds}


# ==== the rules on every seed ======================================================================
@pytest.mark.parametrize("rule", RULES)
def test_toy_rules_pass_at_their_thresholds_on_every_seed(rule):
    outcome, measured, values = rule(per_seed())
    assert outcome.verdict == REPRODUCED and isinstance(measured, str)
    assert {v.seed for v in values} == set(SEEDS) and all(v.passes for v in values)


@pytest.mark.parametrize("key", PAST)
def test_toy_rules_no_seed_passing_one_part_is_not_reproduced(key):
    outcome, _, _ = RULE_OF[key](per_seed({**TOY_PASS, key: PAST[key]}))
    assert outcome.verdict == NOT_REPRODUCED
    assert outcome.reason.startswith(f"{PART_OF[key]}: ")
    assert f"seeds 0, 1, 2: {PAST[key]:.3g}, {PAST[key]:.3g}, {PAST[key]:.3g}" in outcome.reason
    assert outcome.reason.endswith("; 0 of 3 seeds pass")


def test_toy_reason_names_the_threshold():
    outcome, _, _ = toy_claims.rule_p2_fig1_w(per_seed({**TOY_PASS, "critic_error_max": 0.2}))
    assert f"(needs <= {TOLERANCE:g})" in outcome.reason
    outcome, _, _ = toy_claims.rule_p2_fig2(per_seed({**TOY_PASS, "critic_linear_r2": 0.5}))
    assert f"(needs >= {toy_claims.LINEAR_R2:g})" in outcome.reason
    outcome, _, _ = toy_claims.rule_p2_fig2(per_seed(
        {**TOY_PASS, "discriminator_saturation_ratio": 0.5}))
    assert f"(needs < {toy_claims.SATURATED_RATIO:g})" in outcome.reason


@pytest.mark.parametrize("key", PAST)
def test_toy_rules_one_seed_past_is_a_split(key):
    outcome, _, _ = RULE_OF[key](per_seed(s1={key: PAST[key]}))
    assert outcome.verdict == INCONCLUSIVE
    assert outcome.reason.startswith("2 of 3 seeds pass every part")
    assert f"{PART_OF[key]}: " in outcome.reason and "2 of 3 seeds pass" in outcome.reason


@pytest.mark.parametrize("rule", RULES)
def test_toy_rules_with_fewer_seeds_decide_nothing(rule):
    outcome, _, _ = rule(per_seed(seeds=SEEDS[:-1]))
    assert outcome.verdict == INCONCLUSIVE and f"2 seeds (needs >= {MIN_SEEDS})" in outcome.reason
    failing = per_seed({**TOY_PASS, **PAST}, seeds=SEEDS[:1])
    outcome, _, _ = rule(failing)
    assert outcome.verdict == INCONCLUSIVE and f"1 seed (needs >= {MIN_SEEDS})" in outcome.reason


def test_toy_rules_without_a_statistic_are_inconclusive():
    outcome, measured, _ = toy_claims.rule_p2_fig1_w(per_seed(s2={"critic_error_max": None}))
    assert outcome.verdict == INCONCLUSIVE and "not judged where no data" in outcome.reason
    assert "0.1, 0.1, n/a" in measured
    # a part no seed passes fails the claim even where another seed has no data for it
    failing = per_seed({**TOY_PASS, "emd_error_max": 2 * TOLERANCE}, s0={"critic_error_max": None})
    assert toy_claims.rule_p2_fig1_w(failing)[0].verdict == NOT_REPRODUCED
    assert toy_claims.rule_p2_fig1_w({})[0].verdict == INCONCLUSIVE


def test_toy_measured_value_describes_every_seed_and_the_context():
    _, measured, _ = toy_claims.rule_p2_fig1_js(per_seed(s1={"js_at_zero": 0.25}))
    assert measured == (f"{toy_claims.JS_PART}: {toy_claims.JS_DEVIATION} 0.05 (seeds 0, 1, 2: "
                        "0.05, 0.05, 0.05); context, JS estimate at theta = 0: 0.000, 0.250, 0.000")


def test_toy_rule_texts_end_with_the_seed_rule():
    for claim in toy_claims.CLAIMS:
        assert claim.rule.startswith("per seed") and claim.rule.endswith(SEED_RULE)
    assert f"<= {TOLERANCE:g} (part: {toy_claims.CRITIC_PART})" in toy_claims.P2_FIG1_W.rule
    for part in (toy_claims.EMD_PART,):
        assert f"(part: {part})" in toy_claims.P2_FIG1_W.rule
    assert f"(part: {toy_claims.JS_PART};" in toy_claims.P2_FIG1_JS.rule
    for part in (toy_claims.SATURATION_PART, toy_claims.R2_PART):
        assert f"(part: {part})" in toy_claims.P2_FIG2.rule


# ==== the statistics from the tables ===============================================================
THETAS = (-1.0, -0.5, 0.0, 0.5, 1.0)
SETTINGS = toy_claims.GaussianSettings(real_mean=2.0, fake_mean=-2.0, std=0.5)
GRID = np.linspace(-4.0, 4.0, 41)


def lines_table(seed: int, statistics: dict = TOY_GOOD):
    """One seed's parallel_lines rows with these largest errors (all at theta = 0 and 0.5)."""
    log2 = math.log(2)
    rows = []
    for theta in THETAS:
        w = abs(theta)
        critic = w + (statistics["critic_error_max"] if theta == 0 else 0.0)
        rows.append({"seed": seed, "theta": theta, "w_closed_form": w,
                     "js_closed_form": log2 if theta else 0.0,
                     "kl_closed_form": math.inf if theta else 0.0,
                     "tv_closed_form": 1.0 if theta else 0.0,
                     "emd_samples": w + (statistics["emd_error_max"] if theta == 0 else 0.0),
                     "critic_estimate": critic, "critic_estimate_raw": 2 * critic,
                     "critic_lipschitz": 2.0,
                     "js_estimate": (log2 * (1 - statistics["js_deviation_max"]) if theta == 0.5
                                     else log2 if theta else 0.0)})
    return pd.DataFrame(rows, columns=list(results.PARALLEL_LINES_COLUMNS))


def gaussians_table(seed: int, statistics: dict = TOY_GOOD, settings=SETTINGS):
    """One seed's two_gaussians rows: |dD/dx| is the ratio everywhere but its peak at x = 0 (1),
    the critic a line plus a bend orthogonal to it over the fit's span, sized for the R^2."""
    s, x = settings, GRID
    span = ((x >= min(s.real_mean, s.fake_mean) - toy_claims.FIT_SPAN_STDS * s.std)
            & (x <= max(s.real_mean, s.fake_mean) + toy_claims.FIT_SPAN_STDS * s.std))
    design = np.stack([np.ones_like(x), x], 1)
    coef, *_ = np.linalg.lstsq(design[span], x[span] ** 2, rcond=None)
    bend = x ** 2 - design @ coef  # orthogonal to 1 and x over the span
    r2 = statistics["critic_linear_r2"]
    sxx = ((x[span] - x[span].mean()) ** 2).sum()
    k = math.sqrt(sxx * (1 - r2) / (r2 * (bend[span] ** 2).sum()))

    def density(mean):
        return np.exp(-0.5 * ((x - mean) / s.std) ** 2) / (s.std * math.sqrt(2 * math.pi))

    grad = np.full_like(x, statistics["discriminator_saturation_ratio"])
    grad[np.abs(x).argmin()] = 1.0
    return pd.DataFrame({"seed": seed, "x": x, "density_real": density(s.real_mean),
                         "density_fake": density(s.fake_mean),
                         "discriminator": 1 / (1 + np.exp(-5 * x)), "discriminator_grad": grad,
                         "critic": x + k * bend}, columns=list(results.TWO_GAUSSIANS_COLUMNS))


def toy_tables(statistics: dict = TOY_GOOD, seeds=SEEDS):
    """Both tables for these seeds; statistics is one seed's, or {seed: statistics}."""
    of = {s: statistics.get(s, TOY_GOOD) for s in seeds} if set(statistics) <= set(seeds) \
        else dict.fromkeys(seeds, statistics)
    return (pd.concat([lines_table(s, of[s]) for s in seeds], ignore_index=True),
            pd.concat([gaussians_table(s, of[s]) for s in seeds], ignore_index=True))


def toy_config(settings=SETTINGS, seed: int = 0) -> dict:
    return {"seed": seed, "toy": {"gaussian_real_mean": settings.real_mean,
                                  "gaussian_fake_mean": settings.fake_mean,
                                  "gaussian_std": settings.std, "seeds": list(SEEDS)}}


def write_toy(results_dir, statistics: dict = TOY_GOOD, seeds=SEEDS, seed_column: bool = True,
              config: dict | None = None):
    """What `wgan-repro toy` leaves for the judge: toy/parallel_lines.csv, two_gaussians.csv,
    config.yaml and a summary.json (the experiment's marker), for tests of the file layer.
    ``statistics``: every seed's (TOY_GOOD: each comfortably inside its threshold), or
    {seed: statistics}."""
    folder = results_dir / "toy"
    folder.mkdir(parents=True, exist_ok=True)
    lines, gaussians = toy_tables(statistics, seeds)
    if not seed_column:
        lines, gaussians = lines.drop(columns="seed"), gaussians.drop(columns="seed")
    lines.to_csv(folder / "parallel_lines.csv", index=False)
    gaussians.to_csv(folder / "two_gaussians.csv", index=False)
    (folder / "config.yaml").write_text(yaml.safe_dump(config or toy_config()))
    (folder / "summary.json").write_text(json.dumps({"seeds": {str(s): {"thetas": len(THETAS)}
                                                               for s in seeds}}))


def test_statistics_from_the_tables_are_the_ones_built_in():
    wanted = {0: TOY_GOOD, 1: {**TOY_GOOD, "critic_linear_r2": 0.5,
                               "discriminator_saturation_ratio": 0.2}}
    lines, gaussians = toy_tables(wanted, seeds=(0, 1))
    got = toy_claims.seed_statistics(lines, gaussians, SETTINGS)
    assert set(got) == {0, 1}
    for seed, statistics in wanted.items():
        for key, value in statistics.items():
            assert got[seed][key] == pytest.approx(value, rel=1e-9), (seed, key)
        assert got[seed]["js_at_zero"] == 0.0


def test_statistics_of_a_seed_missing_from_one_table_are_nan():
    lines, gaussians = toy_tables(seeds=(0, 1))
    got = toy_claims.seed_statistics(lines, gaussians[gaussians["seed"] == 0], SETTINGS)
    assert not math.isnan(got[1]["critic_error_max"])
    assert math.isnan(got[1]["critic_linear_r2"])
    assert math.isnan(got[1]["discriminator_saturation_ratio"])


# ==== the judge reads the files ====================================================================
def test_judge_reads_the_tables_and_judges_every_seed(tmp_path):
    write_toy(tmp_path)
    judged = toy_claims.judge(tmp_path)
    assert [c.claim_id for c in judged] == [c.claim_id for c in toy_claims.CLAIMS]
    assert all(c.verdict == REPRODUCED for c in judged)
    assert judged[0].source == "toy/parallel_lines.csv, toy/two_gaussians.csv"
    parts = {(v.part, v.seed) for c in judged for v in c.seed_values}
    assert parts == {(p, s) for p in PART_OF.values() for s in SEEDS}
    write_toy(tmp_path, {**TOY_GOOD, "critic_linear_r2": 0.5})
    assert [c.verdict for c in toy_claims.judge(tmp_path)] == [REPRODUCED, REPRODUCED,
                                                               NOT_REPRODUCED]


def test_judge_reads_an_older_table_without_a_seed_column_as_the_configs_seed(tmp_path):
    write_toy(tmp_path, seeds=(0,), seed_column=False, config=toy_config(seed=7))
    for claim in toy_claims.judge(tmp_path):
        assert claim.verdict == INCONCLUSIVE
        assert claim.reason.startswith(f"1 of 1 seeds pass every part; 1 seed (needs >= {MIN_SEEDS})")
        assert {v.seed for v in claim.seed_values} == {7}


@pytest.mark.parametrize("config, reason", [
    ({"toy": {"gaussian_real_mean": 2.0}}, toy_claims.NEEDS_CONFIG),
    ({}, "needs toy/parallel_lines.csv (its seed column, or seed in toy/config.yaml)")])
def test_judge_without_what_it_needs_is_inconclusive(tmp_path, config, reason):
    write_toy(tmp_path, seed_column=bool(config), config=config)
    if not config:  # write_toy's `or` would write the default config
        (tmp_path / "toy" / "config.yaml").write_text("{}")
    for claim in toy_claims.judge(tmp_path):
        assert claim.verdict == INCONCLUSIVE and claim.reason == reason


def test_judge_without_the_tables_is_inconclusive(tmp_path):
    for claim in toy_claims.judge(tmp_path):
        assert claim.verdict == INCONCLUSIVE
        assert claim.reason.startswith("needs toy/parallel_lines.csv")
