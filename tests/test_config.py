"""The config tree: composition, paper defaults, validation errors."""

import re
from pathlib import Path

import pytest

from wgan_repro import hydra_runner
from wgan_repro.errors import ConfigError
from wgan_repro.schema import validate

CONF = hydra_runner.conf_dir()


def test_defaults_follow_p2_algorithm_1():
    cfg = hydra_runner.compose([])
    assert cfg.tier == "cpu" and cfg.data.name == "digits"
    assert cfg.objective.loss == "wasserstein"
    assert cfg.optim.name == "rmsprop" and cfg.optim.lr == pytest.approx(5e-5)
    assert cfg.objective.clip == pytest.approx(0.01) and cfg.objective.n_critic == 5
    assert cfg.train.batch_size == 64
    assert (cfg.objective.warmup_critic_iters, cfg.objective.warmup_gen_iters,
            cfg.objective.warmup_every) == (100, 25, 500)


GROUPS = {p.name: sorted(f.stem for f in p.glob("*.yaml")) for p in CONF.iterdir() if p.is_dir()}
NEEDS_ROOT = {"mnist", "cifar10", "lsun", "image_folder"}


def test_groups_hold_the_promised_options():
    assert GROUPS["data"] == sorted(
        ["digits", "ring8", "grid25", "swiss_roll", "mnist", "cifar10", "lsun", "image_folder"])
    assert GROUPS["generator"] == ["dcgan", "dcgan_nobn", "mlp"]
    assert GROUPS["critic"] == ["dcgan", "mlp"]
    assert GROUPS["objective"] == ["gan_minimax", "gan_nonsaturating", "wgan_clip", "wgan_gp"]
    assert GROUPS["optim"] == ["adam", "adam_wgangp", "rmsprop"]
    assert GROUPS["scale"] == ["cpu", "paper", "quick", "smoke"]


@pytest.mark.parametrize("group,option",
                         [(g, o) for g, opts in GROUPS.items() for o in opts if g != "scale"])
def test_every_option_composes(group, option):
    extra = ["data.root=/tmp"] if option in NEEDS_ROOT else []
    cfg = hydra_runner.compose([f"{group}={option}", *extra])
    if group == "data":
        assert cfg.data.name == option


@pytest.mark.parametrize("experiment", ["fig2", "curve", "ablate", "probe_adam", "probe_noise"])
def test_the_quick_tier_is_the_cpu_tier_with_its_own_budgets(experiment):
    quick, cpu = (hydra_runner.compose([f"experiment={experiment}", f"scale={tier}"])
                  for tier in ("quick", "cpu"))
    assert quick.tier == "quick" and cpu.tier == "cpu"
    # the same data and networks: a preview of the same experiment, only shorter. The
    # critic's width is a compute budget too: fig2's cpu tier widens it (ndf 32, measured in
    # conf/experiment_tier/fig2_cpu.yaml) where the quick tier keeps the old 16.
    for section in ("data", "generator", "critic", "objective"):
        q, c = dict(quick[section]), dict(cpu[section])
        if section == "critic":
            assert q.pop("ndf") <= c.pop("ndf")
        assert q == c, section


def test_paper_scale_is_lsun_64_with_reference_widths():
    cfg = hydra_runner.compose(["scale=paper", "data.root=/data/lsun"])
    assert cfg.data.name == "lsun" and cfg.data.image_size == 64
    assert cfg.generator.ngf == 64 and cfg.critic.ndf == 64 and cfg.train.batch_size == 64


def test_every_number_in_the_config_tree_has_a_comment():
    number = re.compile(r":\s*\[?-?[0-9.][0-9.e+-]*(\s*,\s*[0-9.e+-]+)*\]?\s*($|#)")
    bare = []
    for path in CONF.rglob("*.yaml"):
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if number.search(line) and "#" not in line:
                bare.append(f"{path.relative_to(CONF)}:{i}: {line.strip()}")
    assert not bare, "numbers without a comment saying where they come from:\n" + "\n".join(bare)


@pytest.mark.parametrize("override,message", [
    ("data=nope", "choose from: cifar10, digits"),
    ("generator.ngf=abc", "generator.ngf"),
    ("foo=1", "unknown config key 'foo'"),
    ("optim.lr=fast", "optim.lr"),
    ("train.iterations=1.5", "train.iterations"),
])
def test_compose_errors_are_one_line(override, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as err:
        hydra_runner.compose([override])
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("override,message", [
    ("optim.lr=-1", "optim.lr must be > 0"),
    ("optim.lr=0", "optim.lr must be > 0"),
    ("objective.clip=0", "objective.clip must be > 0"),
    ("objective.n_critic=0", "objective.n_critic must be >= 1"),
    ("train.batch_size=0", "train.batch_size must be >= 1"),
    ("data.image_size=48", "data.image_size must be 16, 32 or 64"),
    ("device=tpu", "device must be"),
    ("optim.betas=[0.5,1.5]", "optim.betas"),
])
def test_impossible_values_are_rejected(override, message):
    cfg = hydra_runner.compose([override])
    with pytest.raises(ConfigError, match=re.escape(message)):
        validate(cfg)


def test_points_need_mlp_networks():
    with pytest.raises(ConfigError, match="generator=mlp critic=mlp"):
        validate(hydra_runner.compose(["data=ring8"]))


def test_conf_dir_is_the_repository_tree_in_a_checkout():
    assert CONF == Path(__file__).resolve().parent.parent / "conf"
