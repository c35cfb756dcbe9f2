"""Generator iterations per second of the WGAN training loop vs the bare compute.

The loop is `wgan_repro.train.train` exactly as users run it (data batches, weight
clipping, per-iteration logging, progress), with the reference warm-up switched off so
every generator iteration costs the same (n_critic = 5 critic steps + 1 generator step).
The bare compute is the same forward, backward and optimiser calls on the same networks
in a tight loop, with no data pipeline, clipping or logging. ratio = loop time / bare time
(1.0 is the floor).

    python benchmarks/train_speed.py            # 32x32 (cpu tier) and 64x64 (paper DCGAN)
    python benchmarks/train_speed.py --sizes 32 --iters 200
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch

from wgan_repro import hydra_runner
from wgan_repro.models import build_critic, build_generator
from wgan_repro.objectives import wgan_critic_loss, wgan_generator_loss
from wgan_repro.runtime import make_optimizer, select_device
from wgan_repro.train import train

# Per image size: the networks benchmarked and how many generator iterations to time.
SETTINGS = {
    32: {"overrides": ["data.image_size=32", "generator.ngf=16", "critic.ndf=16"], "iters": 100},
    64: {"overrides": ["data.image_size=64", "data.channels=3", "generator.ngf=64",
                       "critic.ndf=64"], "iters": 4},
}


def compose(size: int, iters: int, results: str, device: str, extra: tuple[str, ...] = ()):
    """The benchmark's config; ``extra`` overrides e.g. the dataset."""
    return hydra_runner.compose([
        *SETTINGS[size]["overrides"], *extra, "objective.warmup=false", f"train.iterations={iters}",
        f"train.sample_every={10 * iters}", f"train.checkpoint_every={10 * iters}",
        "progress=none", f"results_dir={results}", f"device={device}",
        f"run_name=bench-{time.monotonic_ns()}",
    ])


def loop_seconds_per_iter(cfg) -> float:
    summary_rows = train(cfg)
    import pandas as pd

    seconds = pd.read_csv(f"{summary_rows['run_dir']}/metrics.csv")["seconds"].to_numpy()
    skip = max(1, len(seconds) // 10)  # first iterations pay one-off allocation costs
    return float((seconds[-1] - seconds[skip - 1]) / (len(seconds) - skip))


def bare_seconds_per_iter(cfg) -> float:
    device = select_device(cfg.device)
    torch.manual_seed(cfg.seed)
    shape = (cfg.data.channels, cfg.data.image_size, cfg.data.image_size)
    generator = build_generator(cfg.generator, shape).to(device)
    critic = build_critic(cfg.critic, shape).to(device)
    opt_g = make_optimizer(cfg.optim, generator.parameters())
    opt_c = make_optimizer(cfg.optim, critic.parameters())
    batch, nz, n_critic = cfg.train.batch_size, cfg.generator.nz, cfg.objective.n_critic
    real = torch.rand(batch, *shape, device=device) * 2 - 1

    def step() -> None:
        critic.requires_grad_(True)
        for _ in range(n_critic):
            with torch.no_grad():
                fake = generator(torch.randn(batch, nz, device=device))
            loss = wgan_critic_loss(critic(real), critic(fake))
            opt_c.zero_grad(set_to_none=True)
            loss.backward()
            opt_c.step()
        critic.requires_grad_(False)
        loss = wgan_generator_loss(critic(generator(torch.randn(batch, nz, device=device))))
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
        opt_g.step()

    iters = cfg.train.iterations
    skip = max(1, iters // 10)
    for _ in range(skip):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(iters - skip):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / (iters - skip)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="32,64", help="image sizes, comma separated")
    parser.add_argument("--iters", type=int, default=None, help="generator iterations per timing")
    parser.add_argument("--repeats", type=int, default=3, help="timings per side; the fastest counts")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, mps")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'size':>4} {'device':>6} {'loop it/s':>10} {'bare it/s':>10} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as results:
        for size in (int(s) for s in args.sizes.split(",")):
            iters = args.iters or SETTINGS[size]["iters"]
            loop, bare = [], []
            for _ in range(args.repeats):  # interleaved, so drifts in machine load hit both
                cfg = compose(size, iters, results, args.device)
                bare.append(bare_seconds_per_iter(cfg))
                loop.append(loop_seconds_per_iter(cfg))
            loop_s, bare_s = min(loop), min(bare)
            device = select_device(args.device).type
            print(f"{size:>4} {device:>6} {1 / loop_s:>10.2f} {1 / bare_s:>10.2f} "
                  f"{loop_s / bare_s:>6.3f}   (loop spread {statistics.pstdev(loop) / loop_s:.1%})")


if __name__ == "__main__":
    main()
