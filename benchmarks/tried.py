"""What was tried to make the WGAN critic step fast, one change at a time (the README's table).

Each variant times the same WGAN critic step (batch 64, cpu-tier networks at 1x32x32 with
ngf = ndf = 16, or the paper DCGAN at 3x64x64 with --size 64) and changes one thing against the
baseline, which is what wgan_repro.train does. Interleaved repeats, fastest counts.

    python benchmarks/tried.py             # about a minute on 2 cores
    python benchmarks/tried.py --size 64   # about 5 minutes
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
from omegaconf import OmegaConf

from wgan_repro.models import build_critic, build_generator
from wgan_repro.objectives import clip_weights_, wgan_critic_loss
from wgan_repro.runtime import make_optimizer

NETS = {32: (1, 16), 64: (3, 64)}  # image size -> (channels, ngf = ndf)
BATCH, NZ, CLIP = 64, 100, 0.01


def networks(size: int, channels_last: bool = False):
    from wgan_repro.schema import CriticConfig, GeneratorConfig, OptimConfig

    channels, width = NETS[size]
    shape = (channels, size, size)
    torch.manual_seed(0)
    generator = build_generator(OmegaConf.structured(GeneratorConfig(ngf=width, nz=NZ)), shape)
    critic = build_critic(OmegaConf.structured(CriticConfig(ndf=width)), shape)
    if channels_last:
        generator, critic = (m.to(memory_format=torch.channels_last) for m in (generator, critic))
    optimizer = make_optimizer(OmegaConf.structured(OptimConfig(name="rmsprop", lr=5e-5)),
                               critic.parameters())
    return generator, critic, optimizer, shape


def step_factory(size: int, variant: str) -> Callable[[], None]:
    generator, critic, optimizer, shape = networks(size, channels_last=variant == "channels_last")
    data = torch.randint(0, 256, (1024, *shape), dtype=torch.uint8)
    params = list(critic.parameters())
    loader = iter(())
    if variant == "dataloader":
        dataset = torch.utils.data.TensorDataset(data)

        def batches():
            while True:
                yield from torch.utils.data.DataLoader(dataset, batch_size=BATCH, shuffle=True,
                                                       drop_last=True)
        loader = batches()
    rng = torch.Generator().manual_seed(0)

    def real_batch() -> torch.Tensor:
        if variant == "dataloader":
            return next(loader)[0].float() / 127.5 - 1
        idx = torch.randint(0, data.shape[0], (BATCH,), generator=rng)
        return data.index_select(0, idx).float() / 127.5 - 1  # what InMemoryBatches does

    def step() -> None:
        real = real_batch()
        if variant == "fake_with_graph":  # the 2017 script: G's graph built, then unused
            fake = generator(torch.randn(BATCH, NZ)).detach()
        else:
            with torch.no_grad():
                fake = generator(torch.randn(BATCH, NZ))
        loss = wgan_critic_loss(critic(real), critic(fake))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if variant == "clip_per_parameter":  # the 2017 script's loop over parameters
            with torch.no_grad():
                for p in params:
                    p.clamp_(-CLIP, CLIP)
        else:
            clip_weights_(params, CLIP)

    return step


VARIANTS = {
    "baseline": "no_grad fakes, foreach clipping, in-memory uint8 batches (wgan_repro.train)",
    "fake_with_graph": "fakes generated with autograd on, then detached",
    "clip_per_parameter": "clipping in a Python loop over parameters",
    "dataloader": "batches from a shuffling DataLoader over the same tensor",
    "channels_last": "both networks in channels_last memory format",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=32, choices=sorted(NETS))
    parser.add_argument("--steps", type=int, default=None, help="critic steps per timing")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    steps = args.steps or (100 if args.size == 32 else 5)
    steps_by_variant = {v: step_factory(args.size, v) for v in VARIANTS}
    best = {v: float("inf") for v in VARIANTS}
    for _ in range(args.repeats):
        for variant, step in steps_by_variant.items():
            step()  # warm
            start = time.perf_counter()
            for _ in range(steps):
                step()
            best[variant] = min(best[variant], (time.perf_counter() - start) / steps)
    base = best["baseline"]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.size}x{args.size}")
    print(f"{'variant':<20} {'ms/step':>8} {'vs baseline':>12}  what")
    for variant, what in VARIANTS.items():
        print(f"{variant:<20} {best[variant] * 1e3:>8.2f} {best[variant] / base:>11.2f}x  {what}")


if __name__ == "__main__":
    main()
