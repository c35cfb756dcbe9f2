"""Compute precision and memory layout of the training loops (``train.precision``,
``train.channels_last``).

bf16 autocast runs the convolutions and matrix products in bfloat16 where the hardware does
that natively (this project's CPU has AVX512-BF16: a DCGAN critic step at 32x32 went from
15.3 to 11.7 ms, 9.9 with channels_last; at 64x64 from 458 to 195 ms, SPEC section 2). CPUs
without it emulate bf16 and get slower, so ``auto`` takes bf16 only on a CPU that runs it
natively and fp32 everywhere else (CUDA, MPS, older CPUs).

What stays fp32 whatever the setting: the weights and optimiser states (autocast only
changes the compute of a forward pass), every network output before it enters a loss (cast
back here, so a loss never sums bfloat16 numbers), fig2's gradient-norm measurement and every
sample-quality evaluation (they never enter an autocast block).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import torch


def cpu_runs_bf16_natively() -> bool:
    """Whether this CPU has bf16 arithmetic in hardware (AVX512-BF16 or AMX)."""
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    for name in probes:
        probe = getattr(torch.cpu, name, None)
        try:
            if probe is not None and probe():
                return True
        except RuntimeError:  # a build without cpuinfo: assume not
            return False
    return False


def resolve(precision: str, device: torch.device) -> str:
    """``auto`` -> bf16 on a CPU that runs it natively, fp32 elsewhere; others as given."""
    if precision != "auto":
        return precision
    return "bf16" if device.type == "cpu" and cpu_runs_bf16_natively() else "fp32"


def autocast(precision: str, device: torch.device) -> Callable[[], Any]:
    """A factory of context managers for the forward passes of a training step (``precision``
    already resolved): bf16 autocast, or nothing."""
    if precision == "bf16":
        return lambda: torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext


def laid_out(module: torch.nn.Module, channels_last: bool) -> torch.nn.Module:
    """The module with its 4-D weights in channels_last memory format when asked (oneDNN's
    fast path for convolutions; a no-op for MLPs). Loading a state dict keeps the format."""
    return module.to(memory_format=torch.channels_last) if channels_last else module
