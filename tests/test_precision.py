"""train.precision and train.channels_last: what auto resolves to, what stays fp32, and that a
bf16 run is a run of its own, deterministic and finite."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from wgan_repro import precision
from wgan_repro.errors import ConfigError
from wgan_repro.models.dcgan import DCGANCritic
from wgan_repro.schema import validate
from wgan_repro.train import run_dir_for, semantic_config, train


@pytest.mark.parametrize("native, device, expected", [
    (True, "cpu", "bf16"), (False, "cpu", "fp32"), (True, "cuda", "fp32"), (True, "mps", "fp32")])
def test_auto_takes_bf16_only_on_a_cpu_that_runs_it_natively(monkeypatch, native, device, expected):
    monkeypatch.setattr(precision, "cpu_runs_bf16_natively", lambda: native)
    assert precision.resolve("auto", torch.device(device)) == expected
    for explicit in ("fp32", "bf16"):  # an explicit choice is never second-guessed
        assert precision.resolve(explicit, torch.device(device)) == explicit


def test_a_cpu_without_the_probe_functions_is_not_native(monkeypatch):
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported", raising=False)
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported", raising=False)
    assert precision.cpu_runs_bf16_natively() is False


def test_unknown_precision_is_a_config_error(compose):
    with pytest.raises(ConfigError, match="train.precision must be auto, fp32, bf16, got 'fp16'"):
        validate(compose("train.precision=fp16"))


def test_auto_is_recorded_as_what_it_resolves_to(compose, monkeypatch):
    monkeypatch.setattr(precision, "cpu_runs_bf16_natively", lambda: True)
    auto, bf16, fp32 = (compose(f"train.precision={p}") for p in ("auto", "bf16", "fp32"))
    assert semantic_config(auto)["train"]["precision"] == "bf16"
    assert run_dir_for(auto) == run_dir_for(bf16) != run_dir_for(fp32)  # separate runs


def test_autocast_computes_in_bf16_and_the_weights_stay_fp32():
    critic = DCGANCritic(16, 1, ndf=4)
    x = torch.randn(4, 1, 16, 16)
    with precision.autocast("bf16", torch.device("cpu"))():
        out = critic(x)
    assert out.dtype == torch.bfloat16 and out.float().dtype == torch.float32
    assert all(p.dtype == torch.float32 for p in critic.parameters())
    with precision.autocast("fp32", torch.device("cpu"))():
        assert critic(x).dtype == torch.float32


def test_channels_last_layout_survives_loading_a_state_dict():
    critic = precision.laid_out(DCGANCritic(16, 1, ndf=4), channels_last=True)
    conv = critic.main[0].weight if hasattr(critic, "main") else next(
        p for p in critic.parameters() if p.dim() == 4)
    assert conv.is_contiguous(memory_format=torch.channels_last)
    critic.load_state_dict(DCGANCritic(16, 1, ndf=4).state_dict())
    assert conv.is_contiguous(memory_format=torch.channels_last)
    plain = precision.laid_out(DCGANCritic(16, 1, ndf=4), channels_last=False)
    assert next(p for p in plain.parameters() if p.dim() == 4).is_contiguous()


def _metrics(summary) -> pd.DataFrame:
    columns = ["critic_loss", "generator_loss", "wasserstein_estimate"]
    return pd.read_csv(f"{summary['run_dir']}/metrics.csv")[columns]


def test_a_bf16_run_is_deterministic_finite_and_close_to_fp32(compose, tmp_path):
    bf16 = _metrics(train(compose("train.precision=bf16", "run_name=a")))
    again = _metrics(train(compose("train.precision=bf16", "run_name=b")))
    fp32 = _metrics(train(compose("train.precision=fp32", "run_name=c")))
    pd.testing.assert_frame_equal(bf16, again)  # same seed, same machine: same numbers
    assert bf16.notna().all().all() and not bf16.equals(fp32)  # bf16 is really used
    # the first critic loss is one forward pass of the same weights: bf16 rounding only
    assert bf16["critic_loss"].iloc[0] == pytest.approx(fp32["critic_loss"].iloc[0], rel=0.05,
                                                        abs=1e-3)
