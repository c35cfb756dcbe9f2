"""Every benchmark in one run (under 10 minutes on 2 CPU cores); writes benchmarks/results.csv.

1. wgan_loop[/image_folder]: P2 Algorithm 1 as users run it (wgan_repro.train.train: data,
   clipping, logging) vs the bare compute of the same steps (benchmarks/train_speed.py), at
   32x32 (cpu tier, ngf = ndf = 16) and 64x64x3 (paper DCGAN); on the digits and on an image
   folder (decoded once into memory when the run starts).
2. fig2_loop: the discriminator-from-scratch loop with gradient-norm logging
   (experiments.fig2.train_discriminator_from_scratch) vs the same D steps and measurements
   in a tight loop on a fixed batch.
3. eval_emd, eval_fcd: one evaluation point of curve/ablate (1000 generated vs 1006 held-out
   digits): exact EMD (POT) and the classifier's Frechet distance; iters_per_s is evaluations
   per second (no bare counterpart).
4. peak_memory/<experiment>: peak RSS of each verb at the cpu tier, in a fresh process, with
   its iteration counts shortened (see SHORT) so all six fit the budget. Memory is set by
   data, networks, evaluation and the in-memory logs, not by the length of the run (the
   full reference run of `wgan-repro all` peaked at 1.33 GiB).

ratio = bare_iters_per_s / iters_per_s: 1.0 is the floor, 1.10 means 10% overhead.

    python benchmarks/run.py                 # everything, on the device `auto` picks
    python benchmarks/run.py --only wgan_loop,fig2_loop --device cuda
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_speed  # noqa: E402  (the WGAN loop's benchmark, shared)

from wgan_repro import hydra_runner  # noqa: E402
from wgan_repro.data import load_dataset, make_batches  # noqa: E402
from wgan_repro.experiments import fig2  # noqa: E402
from wgan_repro.models import build_critic, build_generator  # noqa: E402
from wgan_repro.objectives import gan_discriminator_loss  # noqa: E402
from wgan_repro.results import write_csv  # noqa: E402
from wgan_repro.runtime import make_optimizer, select_device  # noqa: E402

COLUMNS = ("benchmark", "image_size", "device", "iters_per_s", "bare_iters_per_s", "ratio",
           "peak_mib")
OUT = Path(__file__).resolve().parent / "results.csv"
REPEATS = 2  # interleaved loop/bare timings per benchmark; the fastest of each counts
# Generator iterations timed per WGAN-loop measurement (the first 10% are skipped).
WGAN_ITERS = {32: 60, 64: 4}
# Discriminator iterations timed per fig2 measurement; norms every 10 as at the cpu tier.
FIG2_ITERS = {32: 300, 64: 20}
FIG2_NETS = {32: ["generator.ngf=16", "critic.ndf=16"],
             64: ["data.image_size=64", "data.channels=3", "generator.ngf=64", "critic.ndf=64"]}
# Each verb at the cpu tier, shortened: one seed, few iterations, no warm-up (its 100-step
# critic iterations would dominate; memory does not grow with the run's length).
SHORT_WGAN = ["--seeds", "0", "train.iterations=20", "objective.warmup=false"]
SHORT = {
    "fig2": ["fig2", "--epochs", "1,2", "--d-iters", "50", "--seeds", "0"],
    "curve": ["curve", *SHORT_WGAN],
    "ablate": ["ablate", "--mlp", *SHORT_WGAN],  # the largest generator
    "toy": ["toy", "--seeds", "0"],
    "probe_adam": ["probe", "adam", *SHORT_WGAN],
    "probe_noise": ["probe", "noise", "--epochs", "1", "--seeds", "0", "fig2.d_iters=50"],
}


def row(benchmark: str, size: int, device: str, loop_s: float | None = None,
        bare_s: float | None = None, peak_mib: float | None = None) -> dict:
    """Seconds per iteration in, the declared columns out (NaN where not measured)."""
    iters = 1 / loop_s if loop_s else math.nan
    bare = 1 / bare_s if bare_s else math.nan
    return {"benchmark": benchmark, "image_size": size, "device": device,
            "iters_per_s": round(iters, 3), "bare_iters_per_s": round(bare, 3),
            "ratio": round(bare / iters, 3), "peak_mib": round(peak_mib) if peak_mib else math.nan}


def image_folder(root: Path, n: int = 640) -> Path:
    """n random RGB PNGs of 72x72 in two class folders (resized and cropped on load)."""
    from PIL import Image

    rng = torch.Generator().manual_seed(0)
    for i in range(n):
        folder = root / f"class{i % 2}"
        folder.mkdir(parents=True, exist_ok=True)
        pixels = torch.randint(0, 256, (72, 72, 3), generator=rng, dtype=torch.uint8).numpy()
        Image.fromarray(pixels).save(folder / f"{i:04d}.png")
    return root


def wgan_loop(size: int, device: str, results: str, data: list[str], name: str) -> dict:
    loop, bare = [], []
    for _ in range(REPEATS):  # interleaved, so drifts in machine load hit both
        cfg = train_speed.compose(size, WGAN_ITERS[size], results, device, tuple(data))
        bare.append(train_speed.bare_seconds_per_iter(cfg))
        loop.append(train_speed.loop_seconds_per_iter(cfg))
    return row(name, size, select_device(device).type, min(loop), min(bare))


def fig2_loop(size: int, device_name: str, results: str) -> dict:
    cfg = hydra_runner.compose(["experiment=fig2", *FIG2_NETS[size], f"fig2.d_iters={FIG2_ITERS[size]}",
                                "fig2.measure_every=10", "progress=none", f"device={device_name}",
                                f"results_dir={results}"])
    device = select_device(cfg.device)
    data = load_dataset(cfg.data, cache_dir=Path(results) / ".cache")
    generator = build_generator(cfg.generator, data.sample_shape).to(device)
    loop, bare = [], []
    for _ in range(REPEATS):
        batches = make_batches(data, cfg.train.batch_size, cfg.seed, device)
        _sync(device)
        start = time.perf_counter()
        fig2.train_discriminator_from_scratch(cfg, generator, batches, data.sample_shape, device, 1)
        _sync(device)
        loop.append((time.perf_counter() - start) / cfg.fig2.d_iters)
        bare.append(_bare_fig2(cfg, generator, data.sample_shape, device))
    return row("fig2_loop", size, device.type, min(loop), min(bare))


def _bare_fig2(cfg, generator, shape, device) -> float:
    """The same D steps and norm measurements on one fixed batch, nothing else."""
    torch.manual_seed(cfg.seed)
    discriminator = build_critic(cfg.critic, shape).to(device)
    optimizer = make_optimizer(cfg.optim, discriminator.parameters())
    batch, nz, every = cfg.train.batch_size, cfg.generator.nz, cfg.fig2.measure_every
    real = torch.rand(batch, *shape, device=device) * 2 - 1
    generator.train()

    def measure() -> None:
        discriminator.requires_grad_(False)
        logits_fake = discriminator(generator(torch.randn(batch, nz, device=device)))
        norms = fig2.generator_grad_norms(generator, logits_fake)
        with torch.no_grad():
            logits_real = discriminator(real)
            torch.stack([gan_discriminator_loss(logits_real, logits_fake.detach()), *norms]).tolist()
        discriminator.requires_grad_(True)

    _sync(device)
    start = time.perf_counter()
    measure()
    for d_iter in range(1, cfg.fig2.d_iters + 1):
        with torch.no_grad():
            fake = generator(torch.randn(batch, nz, device=device))
        loss = gan_discriminator_loss(discriminator(real), discriminator(fake))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if d_iter % every == 0 or d_iter == cfg.fig2.d_iters:
            measure()
    _sync(device)
    return (time.perf_counter() - start) / cfg.fig2.d_iters


def _sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def evaluation(device_name: str, results: str) -> list[dict]:
    from wgan_repro.experiments.quality import make_evaluator
    from wgan_repro.metrics import exact_emd

    cfg = hydra_runner.compose(["experiment=curve", f"device={device_name}",
                                f"results_dir={results}", "progress=none"])
    evaluate, classifier = make_evaluator(cfg, cfg.curve.eval_samples)  # trains/caches the CNN
    data = load_dataset(cfg.data, cache_dir=Path(results) / ".cache")
    from wgan_repro.data import to_unit_range

    real = to_unit_range(data.heldout).cpu()
    fake = torch.rand(cfg.curve.eval_samples, *real.shape[1:]) * 2 - 1
    rows = []
    for name, measure in (("eval_emd", lambda: exact_emd(fake, real)),
                          ("eval_fcd", lambda: classifier.fcd(fake, real))):
        seconds = []
        for _ in range(3):
            start = time.perf_counter()
            measure()
            seconds.append(time.perf_counter() - start)
        rows.append(row(name, cfg.data.image_size, "cpu", min(seconds)))
    return rows


def peak_memory(experiment: str, results: str) -> dict:
    """Peak RSS of one verb in a fresh process (its own RUSAGE_CHILDREN), in MiB."""
    wrapper = ("import resource, subprocess, sys; "
               "code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL); "
               "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    # One results folder for all: the digits classifier is trained once and cached, as in
    # a user's results/ (its training is not what peaks).
    cli = [sys.executable, "-m", "wgan_repro", *SHORT[experiment], "--results",
           f"{results}/memory"]
    out = subprocess.run([sys.executable, "-c", wrapper, *cli], capture_output=True, text=True,
                         check=True).stdout.split()
    if out[0] != "0":
        raise RuntimeError(f"{' '.join(SHORT[experiment])} failed with exit code {out[0]}")
    kib = int(out[1]) / (1024 if sys.platform == "darwin" else 1)  # bytes on macOS
    return row(f"peak_memory/{experiment}", 32, "cpu", peak_mib=kib / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, mps")
    parser.add_argument("--only", default="wgan_loop,fig2_loop,eval,peak_memory",
                        help="comma-separated subset of: wgan_loop, fig2_loop, eval, peak_memory")
    args = parser.parse_args()
    only = set(args.only.split(","))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device "
          f"{select_device(args.device)}")
    rows: list[dict] = []

    def report(new: dict) -> None:
        rows.append(new)
        print("  ".join(f"{k}={new[k]}" for k in COLUMNS), flush=True)

    with tempfile.TemporaryDirectory() as results:
        if "wgan_loop" in only:
            folder = image_folder(Path(results) / "images")
            for size in (32, 64):
                report(wgan_loop(size, args.device, results, [], "wgan_loop"))
                report(wgan_loop(size, args.device, results,
                                 ["data=image_folder", f"data.root={folder}", "data.channels=3"],
                                 "wgan_loop/image_folder"))
        if "fig2_loop" in only:
            for size in (32, 64):
                report(fig2_loop(size, args.device, results))
        if "eval" in only:
            for new in evaluation(args.device, results):
                report(new)
        if "peak_memory" in only:
            for experiment in SHORT:
                report(peak_memory(experiment, results))
    write_csv(OUT, rows, COLUMNS)
    import pandas as pd

    print(pd.DataFrame(rows, columns=COLUMNS).to_string(index=False))
    print(f"written: {OUT}")


if __name__ == "__main__":
    main()
