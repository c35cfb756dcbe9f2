"""Declared CSV columns, atomic writes, locks, and run folders.

Every file a reader may open is written to a temporary file in the same folder and then
renamed over the target, so a crash never leaves a truncated file behind. Whatever two
wgan-repro processes may write at once (a run folder, a cache entry, an experiment's
aggregated figures, claims.csv) is guarded by a lock file, so concurrent runs on one results
folder wait for each other instead of interleaving.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from wgan_repro.errors import ResultsError

# Columns of results/<experiment>/<run>/metrics.csv, one row per generator iteration.
# wasserstein_estimate is filled for the WGAN; discriminator_accuracy and js_estimate for
# the standard GAN; the other objective's columns stay empty.
TRAIN_METRICS_COLUMNS = (
    "gen_iter",  # 1-based count of generator updates done
    "critic_iters",  # critic updates before this generator update
    "critic_loss",  # the critic's loss on its last update (what it minimised)
    "generator_loss",  # the generator's loss on this update
    "wasserstein_estimate",  # E f(real) - E f(fake) on the critic's last batch
    "discriminator_accuracy",  # GAN: share of real and fake samples classified right
    "js_estimate",  # GAN: 1/2 L(D, g) + log 2 on the discriminator's last batch
    "seconds",  # wall-clock seconds since the run (first) started
)

# results/fig2/grad_norms.csv: one row per measured discriminator iteration (P1 Fig. 1-3).
FIG2_COLUMNS = (
    "epoch",  # generator snapshot: epochs of DCGAN training before it was frozen
    "seed",
    "d_iter",  # discriminator updates done (0 = untrained)
    "d_loss",  # discriminator cross-entropy on this row's real batch and G(z)
    "d_accuracy",  # share of that real batch and G(z) classified right
    # The generator gradient of each cost is taken on fig2.grad_batches independent noise
    # batches g_1..g_K (each a training-sized batch); the norm is that of their mean g_bar.
    "grad_norm_original",  # || mean_k grad_theta E log(1 - D(G(z_k))) ||_2, all generator parameters
    "grad_norm_logd",  # || mean_k grad_theta E -log D(G(z_k)) ||_2 on the same z_k
    "grad_var_original",  # minibatch gradient variance: mean_k || g_k - g_bar ||^2, original cost
    "grad_var_logd",  # the same for the -log D cost (P1 Fig. 3: "the variance ... is increasing")
    "instance_noise_std",  # std of the noise on D's inputs at this iteration (0 = none)
)
# results/fig2/update_quality.csv: P1 Fig. 3's "updates that lower sample quality": a copy of each
# snapshot takes fig2.update_steps generator steps against its frozen, trained-from-scratch
# discriminator, with either cost; sample quality before (steps = 0) and after.
FIG2_UPDATE_QUALITY_COLUMNS = (
    "epoch", "seed",
    "cost",  # logd (-log D, the claim) | original (log(1 - D), the control)
    "steps",  # generator steps taken (0 = the snapshot itself)
    "fcd",  # Fréchet distance in the digits classifier's feature space (lower is better)
    "emd",  # exact pixel-space EMD to the held-out digits (lower is better)
)

# results/curve/curve.csv: one row per generator iteration of every run of P2 Fig. 3-4.
CURVE_COLUMNS = (
    "run",  # name in curve.runs (wgan_dcgan, wgan_mlp, wgan_mlp_mlp_high_lr, gan_dcgan, gan_mlp)
    "objective", "generator", "critic", "seed", "gen_iter",
    "wasserstein_estimate",  # raw (unfiltered) E f(real) - E f(fake); empty for the GAN
    "js_estimate",  # raw 1/2 L(D, g) + log 2; empty for the WGAN
)
# results/curve/quality.csv: one row per evaluation point.
QUALITY_COLUMNS = (
    "run", "seed", "gen_iter",
    "emd",  # exact pixel-space EMD, curve.eval_samples generated vs as many held-out images
    "fcd",  # Fréchet distance in the digits classifier's feature space
)

# results/ablate/metrics.csv: one row per evaluation of every run of P2 Fig. 5-7; the last row
# of a run (largest gen_iters) is its result.
ABLATE_COLUMNS = (
    "variant",  # generator under test: dcgan (Fig. 5), no_bn (Fig. 6), mlp (Fig. 7)
    "arm",  # wgan (P2 Algorithm 1) or gan (standard, non-saturating, Adam); was "objective"
    "seed",
    "gen_iters",  # generator iterations done when evaluated
    "emd",  # exact pixel-space EMD, ablate.eval_samples generated vs the held-out digits
    "fcd",  # Fréchet distance in the digits classifier's feature space
    "classes_covered",  # digit classes holding >= ablate.class_min_share of the samples
    "kl_uniform",  # KL(predicted-class histogram || uniform), nats: 0 uniform, log 10 one class
    "diverged",  # the run hit NaN/Inf at gen_iters; its metrics are empty
)

# results/probe_adam/<run>/critic_steps.csv: one row per critic update of one arm of
# `probe adam` (P2 section 4.2).
PROBE_ADAM_STEP_COLUMNS = (
    "arm",  # adam | rmsprop (probe.arms)
    "optimizer", "lr", "seed",
    "gen_iter",  # the generator iteration this critic update precedes (1-based)
    "critic_step",  # 1-based count of critic updates in the run
    "step_cosine",  # cos(optimiser step before clipping, -gradient): < 0 climbs the loss
    "wasserstein_estimate",  # E f(real) - E f(fake) on this update's batch (-critic loss)
)
# results/probe_adam/adam_cosine.csv: every arm's rows, with the blow-up marks the claim uses.
PROBE_ADAM_COLUMNS = PROBE_ADAM_STEP_COLUMNS + (
    "estimate_jump",  # |estimate - median of the previous probe.jump_window| / their MAD
    "blow_up",  # estimate_jump > probe.blow_up_threshold
    "near_blow_up",  # within probe.blow_up_radius critic updates of a blow-up
)
# results/probe_adam/adam_quality.csv: sample quality every train.eval_every generator iterations of
# every arm of `probe adam`: a blow-up counts only when the next evaluation is worse.
PROBE_ADAM_QUALITY_COLUMNS = (
    "arm", "seed", "gen_iter",
    "emd",  # exact pixel-space EMD, probe.eval_samples generated vs held-out digits
    "fcd",  # Fréchet distance in the digits classifier's feature space
)
# results/probe_noise/instance_noise.csv: the fig2 protocol with and without instance noise.
PROBE_NOISE_COLUMNS = ("arm",) + FIG2_COLUMNS  # arm: without_noise | sigma_<std> (probe.arms)

# results/toy/parallel_lines.csv: one row per seed and theta of P2 Fig. 1 (P0 on {0} x [0, 1],
# P_theta on {theta} x [0, 1]).
PARALLEL_LINES_COLUMNS = (
    "seed",  # the job's seed (toy.seeds): every seed reruns the whole grid
    "theta",
    "w_closed_form", "js_closed_form", "kl_closed_form", "tv_closed_form",  # P2 Example 1
    "emd_samples",  # exact EMD (POT) between toy.eval_samples samples of each
    "critic_estimate",  # |E f(P0) - E f(P_theta)| / critic_lipschitz: W from the critic
    "critic_estimate_raw",  # E f(P0) - E f(P_theta) of the clipped critic (K W, K unknown)
    "critic_lipschitz",  # largest input-gradient norm of the critic over the samples
    "js_estimate",  # 1/2 L(D, g) + log 2 of the trained discriminator
)
# results/toy/two_gaussians.csv: one row per seed and x of P2 Fig. 2.
TWO_GAUSSIANS_COLUMNS = (
    "seed",  # the job's seed (toy.seeds)
    "x", "density_real", "density_fake",
    "discriminator",  # D(x) = sigmoid(logit), the trained discriminator
    "discriminator_grad",  # dD/dx
    "critic",  # f(x), the trained weight-clipped critic
)

# results/clip/*.csv (P2 section 3 with WGAN-GP's Fig. 1 protocol). method: clip | gp; c: the
# clipping bound (empty for gp).
CLIP_PENALTY_METHOD = "gp"  # the method column's value for the gradient penalty
CLIP_LAYER_COLUMNS = (  # Fig. 1b: one row per recorded critic update and linear layer
    "method", "c", "seed",
    "critic_step",  # 1-based count of critic updates in the run (the first, then every k-th)
    "gen_iter",  # the generator iteration it belongs to
    "layer",  # 1 = the input layer ... the output layer (WGAN-GP plots them 13 -> 1)
    "grad_norm",  # ||d (E f(real) - E f(fake)) / d this layer's output||_2 on the update's batches
    "weight_grad_norm",  # ||d critic loss / d this layer's weights||_2 (the penalty included)
    "share_at_bound",  # clipped critic: share of all its weights at +-c before this update
)
CLIP_WEIGHTS_COLUMNS = (  # histograms of the critics' weights at the end of training
    "part",  # fig1b (the WGAN on Swiss Roll) | fig1a (the critics against a fixed generator)
    "dataset", "method", "c", "seed",
    "bound",  # the histogram's unit: c when clipped, the largest |weight| otherwise
    "bin_low", "bin_high",  # the bin, in units of bound, over [-1, 1]
    "count",  # weights in the bin (the last bin includes +1)
)
CLIP_OPTIMALITY_COLUMNS = (  # Fig. 1a: every k critic steps against real + noise
    "dataset", "method", "c", "seed", "step",
    "share_at_bound",  # clipped critic: share of its weights at +-c
    "estimate",  # E f(real) - E f(fake) on the evaluation samples
    "lipschitz",  # largest input-gradient norm over real, fake and in-between points
    "emd",  # exact EMD (POT) between the evaluation samples
    "optimality",  # estimate / lipschitz / emd: 1 = an optimal 1-Lipschitz critic
)
CLIP_SURFACE_COLUMNS = ("dataset", "method", "c", "seed", "x", "y", "value")  # Fig. 1a grid
CLIP_POINTS_COLUMNS = ("dataset", "seed", "kind", "x", "y")  # Fig. 1a: real | fake samples shown

# results/claims.csv: one row per claim of the papers, with its computed verdict.
# Written by wgan_repro.claims only: every row quotes the paper and states its rule.
CLAIMS_COLUMNS = (
    "experiment",  # fig2 | curve | ablate | toy | probe_adam | probe_noise
    "claim_id",  # stable name of the claim, e.g. p1_fig2_vanishing
    "claim",  # the claim in a line
    "paper_quote",  # the paper's own words, with section or figure
    "rule",  # the test, written from the quote before any result was seen
    "paper_value",  # what the paper reports
    "measured_value",  # what this run measured (with context figures)
    "verdict",  # reproduced | not reproduced | inconclusive
    "reason",  # why not reproduced / inconclusive (empty when reproduced)
    "source",  # the files and run behind the measurement
)
VERDICTS = ("reproduced", "not reproduced", "inconclusive")
# results/claims_seeds.csv: what every verdict was judged from, one row per claim, part and seed
# (wgan_repro.verdicts.SeedValue). claims.csv, summary.json and the figures quote these values.
CLAIMS_SEEDS_COLUMNS = (
    "claim_id",
    "part",  # the snapshot, run or arm the rule checks separately ("epoch 20", "wgan_mlp", ...)
    "seed",
    "statistic",  # what was measured, in words
    "value",  # its value (empty: not measured)
    "threshold",  # what the rule requires of it, e.g. ">= 1"
    "passes",  # True | False | empty (not measured, or its precondition not met)
)

# results/timings.csv: one row per experiment verb, its last complete run (the report reads it).
TIMINGS_COLUMNS = (
    "experiment",  # fig2 | curve | ablate | toy | probe_adam | probe_noise (as in claims.csv)
    "command",  # the command line that produced the results
    "tier",  # smoke | cpu | paper
    "launcher",  # basic | joblib | submitit_local | submitit_slurm
    "seeds",  # e.g. "0,1,2"
    "jobs",  # number of Hydra jobs launched
    "finished_utc",  # ISO 8601, when aggregation finished
    "wall_s",  # seconds from launch to aggregated results
    "python_version", "torch_version",  # the environment the jobs ran in
    "device",  # cpu | cuda (<name>) | mps
    "cpu_model",  # the processor the time was taken on (speeds differ 2.5-3.7x between CPUs)
    "precision",  # fp32 | bf16, as train.precision resolved on that machine
)
# Columns renamed since an older version wrote them (old -> new): read_csv still reads those
# files. ablate/metrics.csv called its arm column "objective" (curve.csv keeps its own).
RENAMED_COLUMNS = {"objective": "arm"}


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


NEARLY_FULL_BYTES = 1 << 20  # under 1 MiB free, a failed write is a full disk
# What torch's zip writer says when a write comes up short (a full disk among other causes)
TORCH_SHORT_WRITE = ("unexpected pos", "PytorchStreamWriter failed", "file write failed")


def disk_full(path: Path) -> ResultsError:
    return ResultsError(f"no space left on device while writing {path}; nothing was "
                        "overwritten: free space and rerun the same command to resume")


def _nearly_full(folder: Path) -> bool:
    import shutil

    try:
        return shutil.disk_usage(folder).free < NEARLY_FULL_BYTES
    except OSError:
        return False


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except (NotADirectoryError, FileExistsError) as err:
        raise ResultsError(f"cannot write {path}: a parent path is a file") from err
    except PermissionError as err:
        raise ResultsError(f"cannot write {path}: permission denied") from err
    except OSError as err:
        if err.errno == errno.ENOSPC:
            raise disk_full(path) from err
        raise ResultsError(f"cannot write {path}: {err.strerror or err}") from err
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; results are for others to read
        # Data on disk before the rename, so a power cut cannot leave an empty file either.
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        if err.errno == errno.ENOSPC:
            raise disk_full(path) from err
        raise ResultsError(f"cannot write {path}: {err.strerror or err}") from err
    except RuntimeError as err:  # torch.save reports a short write as a RuntimeError
        Path(tmp).unlink(missing_ok=True)
        if any(s in str(err) for s in TORCH_SHORT_WRITE):
            if _nearly_full(path.parent):
                raise disk_full(path) from err
            raise ResultsError(f"cannot write {path}: {str(err).strip().splitlines()[0]}; "
                               "nothing was overwritten") from err
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def tidied_on_failure(root: Path) -> Iterator[None]:
    """If the block fails, remove the folders it created under ``root`` (``root`` and its new
    parents included) that hold nothing but lock files and temporaries: a command that fails
    leaves the results folder as it found it. A folder with anything else in it (a config, a
    checkpoint: what a rerun resumes from) stays, and so does one whose lock another process
    holds."""
    root = Path(root).absolute()
    oldest_new = root
    while not oldest_new.parent.exists() and oldest_new.parent != oldest_new:
        oldest_new = oldest_new.parent
    top = root if root.exists() else oldest_new
    before = {Path(d) for d, _, _ in os.walk(top)} if top.exists() else set()
    try:
        yield
    except BaseException:
        _remove_empty_new(top, before)
        raise


def _meaningless(path: Path) -> bool:
    """A lock file (meaningless once its process is gone) or a writer's temporary."""
    return path.name.endswith(".lock") or (path.name.startswith(".") and path.suffix == ".tmp")


def _remove_empty_new(top: Path, before: set[Path]) -> None:
    from filelock import FileLock, Timeout

    if not top.exists():
        return
    for folder, subfolders, files in os.walk(top, topdown=False):
        folder = Path(folder)
        if folder in before or any((folder / s).exists() for s in subfolders):
            continue
        paths = [folder / f for f in files]
        if not all(_meaningless(p) for p in paths):
            continue
        try:
            for lock in (p for p in paths if p.name.endswith(".lock")):
                held = FileLock(lock)
                held.acquire(timeout=0)  # held elsewhere: that process is using the folder
                held.release()
            for p in paths:
                p.unlink(missing_ok=True)
            folder.rmdir()
        except (Timeout, OSError):
            continue  # in use, or something appeared meanwhile: it stays


def remove_stale_temporaries(folder: Path) -> int:
    """Delete the temporary files a killed writer left in ``folder`` (call it holding the
    folder's lock: nobody else writes there then). Returns how many were removed."""
    stale = list(Path(folder).rglob(".*.tmp")) if Path(folder).is_dir() else []
    for tmp in stale:
        tmp.unlink(missing_ok=True)
    return len(stale)


@contextmanager
def locked(lock_path: Path, what: str) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` for the block.

    Another wgan-repro process that wants the same lock says once that it waits, then waits:
    it goes on when the first is done, and then reuses what the first finished. The lock is
    the operating system's (flock), so a process that dies, even by kill -9, releases it;
    a lock file left behind means nothing.
    """
    from filelock import FileLock, Timeout

    lock_path = Path(lock_path)
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ResultsError(f"cannot create {lock_path.parent}: {err.strerror or err}") from err
    # One object per path in this process: a nested request for a lock we hold re-enters it
    # instead of waiting on ourselves.
    lock = FileLock(lock_path, is_singleton=True)
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            print(f"waiting: {what} is in use by another wgan-repro process; going on when it "
                  "is done", file=sys.stderr, flush=True)
            lock.acquire()
    except PermissionError as err:
        raise ResultsError(f"cannot lock {lock_path}: permission denied") from err
    try:
        yield
    finally:
        lock.release()


def experiment_lock(results_dir: Path, experiment: str):
    """The lock of one experiment's aggregated outputs (CSVs, figures, summary, config)."""
    folder = Path(results_dir) / experiment  # an experiment's folder is its name
    return locked(folder / f".{experiment}.lock", f"{folder} ({experiment})")


def write_text(path: Path, text: str) -> None:
    _atomic(path, lambda tmp: tmp.write_text(text))


def write_json(path: Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_jsonable) + "\n")


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_csv(path: Path, rows: Sequence[dict], columns: Sequence[str],
              float_format: str | None = None) -> None:
    """Write rows with exactly the declared columns (missing values are left empty);
    ``float_format`` (e.g. "%.6g") for tables too large to keep every digit of."""
    import pandas as pd

    frame = pd.DataFrame(list(rows), columns=list(columns))
    _atomic(path, lambda tmp: frame.to_csv(tmp, index=False, float_format=float_format))


def write_with(path: Path, save: Callable[[Path], None]) -> None:
    """Atomic write through a saver that takes a path (torch.save, savefig, save_image)."""
    _atomic(path, save)


def config_hash(container: dict) -> str:
    """Short content address of a resolved config."""
    text = json.dumps(container, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def check_writable(results_dir: Path) -> Path:
    results_dir = Path(results_dir)
    if results_dir.exists() and not results_dir.is_dir():
        raise ResultsError(f"--results {results_dir} is a file, not a folder")
    try:
        results_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ResultsError(f"cannot create results folder {results_dir}: {err.strerror}") from err
    if not os.access(results_dir, os.W_OK):
        raise ResultsError(f"results folder {results_dir} is not writable")
    return results_dir


def read_csv(path: Path, columns: Sequence[str]):
    """Read a CSV written by wgan-repro and check it has exactly the declared columns (a
    column renamed since, RENAMED_COLUMNS, is read under its new name)."""
    import pandas as pd

    frame = pd.read_csv(path)
    frame = frame.rename(columns={old: new for old, new in RENAMED_COLUMNS.items()
                                  if old in frame.columns and old not in columns})
    if tuple(frame.columns) != tuple(columns):
        raise ResultsError(f"{path} has columns {list(frame.columns)}, expected {list(columns)}")
    return frame


def update_claims(results_dir: Path, experiment: str, claims: Sequence[dict]) -> Path:
    """Replace this experiment's rows of results/claims.csv, keeping every other row (rows
    come from wgan_repro.claims, one per claim, with every CLAIMS_COLUMNS field)."""
    import pandas as pd

    path = Path(results_dir) / "claims.csv"
    rows = [{**c, "experiment": experiment} for c in claims]
    for row in rows:
        if row["verdict"] not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {row['verdict']!r}")
    with locked(path.with_name(".claims.csv.lock"), str(path)):  # read-modify-write
        kept = []
        if path.exists():
            old = pd.read_csv(path, keep_default_na=False, dtype=str)
            kept = old[old["experiment"] != experiment].to_dict("records")
        write_csv(path, kept + rows, CLAIMS_COLUMNS)
    return path


def update_claims_seeds(results_dir: Path, claim_ids: Sequence[str], rows: Sequence[dict]
                        ) -> Path:
    """Replace the rows of these claims in results/claims_seeds.csv, keeping every other row."""
    import pandas as pd

    path = Path(results_dir) / "claims_seeds.csv"
    with locked(path.with_name(".claims_seeds.csv.lock"), str(path)):  # read-modify-write
        kept = []
        if path.exists():
            old = pd.read_csv(path, keep_default_na=False, dtype=str)
            kept = old[~old["claim_id"].isin(list(claim_ids))].to_dict("records")
        write_csv(path, kept + list(rows), CLAIMS_SEEDS_COLUMNS)
    return path


def update_timings(results_dir: Path, row: dict) -> Path:
    """Replace this experiment's row of results/timings.csv, keeping every other row."""
    import pandas as pd

    path = Path(results_dir) / "timings.csv"
    with locked(path.with_name(".timings.csv.lock"), str(path)):  # read-modify-write
        kept = []
        if path.exists():
            old = pd.read_csv(path, keep_default_na=False, dtype=str)
            kept = old[old["experiment"] != row["experiment"]].to_dict("records")
        write_csv(path, [*kept, row], TIMINGS_COLUMNS)
    return path
