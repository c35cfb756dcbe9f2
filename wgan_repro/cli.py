"""wgan-repro: re-run the Wasserstein-GAN papers' figures and check their claims.

Each verb turns its options into Hydra overrides and hands them to
wgan_repro.hydra_runner; no torch import happens before a verb runs (fast --help).
"""

from __future__ import annotations

import sys
from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated

import typer

from wgan_repro.errors import EXIT_CODES, WganReproError

app = typer.Typer(
    name="wgan-repro",
    help="Re-run the figures of the two Wasserstein-GAN papers (Arjovsky & Bottou 2017; "
    "Arjovsky, Chintala & Bottou 2017) and report, with numbers, whether each claim holds. "
    "Results go to results/<experiment>/.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    epilog="Exit codes: " + "; ".join(f"{k} {v}" for k, v in EXIT_CODES.items()),
)


class Scale(StrEnum):
    smoke = "smoke"
    cpu = "cpu"
    paper = "paper"


OverridesArg = Annotated[
    list[str] | None,
    typer.Argument(help="Hydra overrides, KEY=VALUE or GROUP=OPTION "
                   "(e.g. objective=gan_nonsaturating optim.lr=1e-4).", show_default=False),
]
ResultsOpt = Annotated[
    Path | None, typer.Option("--results", help="Results folder (default: results).",
                                 show_default=False)]
ScaleOpt = Annotated[
    Scale | None, typer.Option("--scale", help="Scale tier: smoke (tests), cpu (a laptop, "
                                  "default), paper (a GPU).", show_default=False)]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Random seed (default: 0).",
                                                show_default=False)]
SeedsOpt = Annotated[str | None, typer.Option(
    "--seeds", help="Seeds to repeat the experiment over, e.g. 0,1,2 (default: by tier).",
    show_default=False)]
ShowConfigOpt = Annotated[bool, typer.Option("--show-config",
                                             help="Print the resolved config and exit.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")]

_debug = False


def _version(value: bool) -> None:
    if value:
        from wgan_repro import __version__

        typer.echo(f"wgan-repro {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Re-run the Wasserstein-GAN papers' figures and check their claims."""


def build_overrides(overrides: list[str] | None, results: Path | None, scale: Scale | None,
                    seed: int | None) -> list[str]:
    """Options become overrides; an option given twice (as --x and x=) is an error, never a
    silent precedence."""
    overrides = list(overrides or [])
    keys = {o.split("=", 1)[0].lstrip("+~") for o in overrides}
    for flag, key, value in (("--results", "results_dir", results), ("--scale", "scale", scale),
                             ("--seed", "seed", seed)):
        if value is None:
            continue
        if key in keys:
            raise typer.BadParameter(f"give {key} once: as {flag} or as {key}=..., not both")
        overrides.append(f"{key}={value.value if isinstance(value, Enum) else value}")
    for o in overrides:
        if "=" not in o:
            raise typer.BadParameter(f"override {o!r} is not KEY=VALUE")
    return overrides


@app.command(context_settings={"ignore_unknown_options": False})
def train(
    overrides: OverridesArg = None,
    results: ResultsOpt = None,
    scale: ScaleOpt = None,
    seed: SeedOpt = None,
    show_config: ShowConfigOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Train one GAN or WGAN from the config tree (P2 Algorithm 1 by default)."""
    global _debug
    _debug = _debug or debug
    from wgan_repro import hydra_runner

    cfg = hydra_runner.compose(build_overrides(overrides, results, scale, seed))
    if show_config:
        _show(cfg)
        return
    from wgan_repro.train import train as train_run

    summary = train_run(cfg)
    _print_summary(summary)


def parse_int_list(text: str | None, option: str) -> list[int] | None:
    """'1,20,25' -> [1, 20, 25]; anything else is a one-line usage error."""
    if text is None:
        return None
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        raise typer.BadParameter(f"{option} takes comma-separated integers, got {text!r}") from None
    return values


def seeds_from(seeds: str | None, seed: int | None) -> list[int] | None:
    """--seeds A,B,... or --seed N (a one-seed shorthand), never both."""
    seed_list = parse_int_list(seeds, "--seeds")
    if seed is not None:
        if seed_list is not None:
            raise typer.BadParameter("give --seed N or --seeds A,B,..., not both")
        seed_list = [seed]
    return seed_list


def _show(cfg) -> None:
    from omegaconf import OmegaConf

    typer.echo(OmegaConf.to_yaml(cfg))


def _list_override(key: str, values: list[int] | None) -> list[str]:
    return [] if values is None else [f"{key}=[{','.join(str(v) for v in values)}]"]


@app.command()
def fig2(
    overrides: OverridesArg = None,
    epochs: Annotated[str | None, typer.Option(
        "--epochs", help="Generator snapshots, in DCGAN training epochs, strictly increasing "
        "(default: 1,20,25).", show_default=False)] = None,
    d_iters: Annotated[int | None, typer.Option(
        "--d-iters", help="Discriminator iterations from scratch per snapshot (default: by "
        "tier; the paper's 4000 at --scale paper).", show_default=False)] = None,
    seeds: SeedsOpt = None,
    seed: SeedOpt = None,
    results: ResultsOpt = None,
    scale: ScaleOpt = None,
    show_config: ShowConfigOpt = False,
    debug: DebugOpt = False,
) -> None:
    """P1 Fig. 1-3: train a fresh discriminator against frozen DCGAN generators and watch the
    original cost's gradient vanish while the -log D cost's does not."""
    from wgan_repro import hydra_runner

    epoch_list = parse_int_list(epochs, "--epochs")
    seed_list = seeds_from(seeds, seed)
    base = ["experiment=fig2", *build_overrides(overrides, results, scale, None),
            *_list_override("fig2.epochs", epoch_list), *_list_override("fig2.seeds", seed_list)]
    if d_iters is not None:
        base.append(f"fig2.d_iters={d_iters}")
    cfg = hydra_runner.compose(base)
    from wgan_repro.experiments import fig2 as experiment
    from wgan_repro.schema import validate

    validate(cfg)
    experiment.validate_fig2(cfg)
    if show_config:
        _show(cfg)
        return
    runs = [hydra_runner.run(experiment.run_fig2, [*base, f"seed={seed}"])
            for seed in cfg.fig2.seeds]
    files = [f for run in runs for f in run["files"]]
    source = (f"fig2/grad_norms.csv (tier {cfg.tier}, seeds "
              f"{','.join(str(s) for s in cfg.fig2.seeds)}, {cfg.fig2.d_iters} D iterations)")
    summary = experiment.aggregate(Path(cfg.results_dir), files, source)
    _print_claims(summary["claims"], Path(cfg.results_dir) / "fig2")


@app.command()
def curve(
    overrides: OverridesArg = None,
    seeds: SeedsOpt = None,
    seed: SeedOpt = None,
    results: ResultsOpt = None,
    scale: ScaleOpt = None,
    show_config: ShowConfigOpt = False,
    debug: DebugOpt = False,
) -> None:
    """P2 Fig. 3-4: the WGAN critic's estimate vs sample quality (exact EMD, classifier
    FCD), next to the standard GAN's JS estimate."""
    from wgan_repro import hydra_runner

    seed_list = seeds_from(seeds, seed)
    user = [*build_overrides(overrides, results, scale, None),
            *_list_override("curve.seeds", seed_list)]
    cfg = hydra_runner.compose(["experiment=curve", *user])
    from wgan_repro.experiments import curve as experiment
    from wgan_repro.schema import validate

    experiment.validate_curve(cfg)
    # Each run's own overrides come first, so what the user typed wins over them.
    jobs = [["experiment=curve", *run_overrides, *user, f"curve.run={name}", f"seed={s}"]
            for name, run_overrides in cfg.curve.runs.items() for s in cfg.curve.seeds]
    configs = [hydra_runner.compose(job) for job in jobs]
    for job_cfg in configs:
        validate(job_cfg)
    if show_config:
        _show(cfg)
        return
    runs = [hydra_runner.run(experiment.run_curve, job) for job in jobs]
    source = (f"curve/curve.csv, curve/quality.csv (tier {cfg.tier}, seeds "
              f"{','.join(str(s) for s in cfg.curve.seeds)}, {cfg.train.iterations} generator "
              "iterations)")
    summary = experiment.aggregate(Path(cfg.results_dir), runs, source)
    _print_claims(summary["claims"], Path(cfg.results_dir) / "curve")


@app.command()
def ablate(
    overrides: OverridesArg = None,
    dcgan: Annotated[bool, typer.Option("--dcgan", help="P2 Fig. 5: the DCGAN generator "
                                        "(both WGAN and GAN should work).")] = False,
    no_bn: Annotated[bool, typer.Option("--no-bn", help="P2 Fig. 6: generator without batch "
                                        "norm and with a constant filter count.")] = False,
    mlp: Annotated[bool, typer.Option("--mlp", help="P2 Fig. 7: MLP generator, 4 hidden layers "
                                      "x 512 ReLU units.")] = False,
    all_variants: Annotated[bool, typer.Option("--all", help="All three variants (about 45 "
                                               "minutes at the cpu tier).")] = False,
    seeds: SeedsOpt = None,
    seed: SeedOpt = None,
    results: ResultsOpt = None,
    scale: ScaleOpt = None,
    show_config: ShowConfigOpt = False,
    debug: DebugOpt = False,
) -> None:
    """P2 Fig. 5-7: WGAN vs the standard GAN with the DCGAN, no-batch-norm and MLP
    generators; mode collapse measured by a digits classifier. Choose variants with --dcgan,
    --no-bn, --mlp (combinable) or --all."""
    from wgan_repro import hydra_runner

    chosen = [name for name, flag in (("dcgan", dcgan), ("no_bn", no_bn), ("mlp", mlp)) if flag]
    if all_variants and chosen:
        raise typer.BadParameter("give --all or a choice of --dcgan/--no-bn/--mlp, not both")
    if not all_variants and not chosen:
        raise typer.BadParameter("choose variants: --dcgan, --no-bn, --mlp (combinable) or --all")
    seed_list = seeds_from(seeds, seed)
    user = [*build_overrides(overrides, results, scale, None),
            *_list_override("ablate.seeds", seed_list)]
    cfg = hydra_runner.compose(["experiment=ablate", *user])
    from wgan_repro.experiments import ablate as experiment
    from wgan_repro.schema import validate

    experiment.validate_ablate(cfg)
    variants = list(cfg.ablate.variants) if all_variants else chosen
    unknown = [v for v in variants if v not in cfg.ablate.variants]
    if unknown:
        raise typer.BadParameter(f"ablate.variants has no {', '.join(unknown)}")
    # The variant's and the arm's own overrides come first, so what the user typed wins.
    jobs = {(v, arm, s): ["experiment=ablate", *cfg.ablate.variants[v], *cfg.ablate.objectives[arm],
                          *user, f"ablate.variant={v}", f"ablate.objective={arm}", f"seed={s}"]
            for v in variants for s in cfg.ablate.seeds for arm in experiment.ARMS}
    configs = {key: hydra_runner.compose(job) for key, job in jobs.items()}
    for job_cfg in configs.values():
        validate(job_cfg)
    if show_config:
        _show(cfg)
        return
    # Generator sizes of every variant (Fig. 6 is about ~10x fewer parameters than Fig. 5's).
    generator_cfgs = {v: hydra_runner.compose(["experiment=ablate", *cfg.ablate.variants[v], *user])
                      for v in cfg.ablate.variants}
    parameters = experiment.generator_parameters(generator_cfgs)
    for v in variants:
        line = f"{v}: generator with {parameters[v]:,} parameters"
        if v == "no_bn" and "dcgan" in parameters:  # P2 Fig. 6: ~10x fewer than DCGAN's
            line += (f", {parameters['dcgan'] / parameters[v]:.1f}x fewer than the DCGAN "
                     f"generator's {parameters['dcgan']:,}")
        typer.echo(line)
    runs = [hydra_runner.run(experiment.run_ablate, job) for job in jobs.values()]
    sources = {v: (f"ablate/metrics.csv (tier {cfg.tier}, seeds "
                   f"{','.join(str(s) for s in cfg.ablate.seeds)}, {cfg.train.iterations} "
                   "generator iterations)") for v in variants}
    summary = experiment.aggregate(Path(cfg.results_dir), runs, sources, parameters)
    _print_claims(summary["claims"], Path(cfg.results_dir) / "ablate")


@app.command()
def toy(
    overrides: OverridesArg = None,
    seed: SeedOpt = None,
    results: ResultsOpt = None,
    scale: ScaleOpt = None,
    show_config: ShowConfigOpt = False,
    debug: DebugOpt = False,
) -> None:
    """P2 Fig. 1-2: parallel lines (W, JS, KL, TV against theta, closed forms and trained
    estimates) and two 1-D Gaussians (saturated discriminator, near-linear critic)."""
    from wgan_repro import hydra_runner

    overrides_list = ["experiment=toy", *build_overrides(overrides, results, scale, seed)]
    cfg = hydra_runner.compose(overrides_list)
    from wgan_repro.experiments import toy as experiment

    experiment.validate_toy(cfg)
    if show_config:
        _show(cfg)
        return
    summary = hydra_runner.run(experiment.run_toy, overrides_list)
    _print_claims(summary["claims"], Path(cfg.results_dir) / "toy")


probe_app = typer.Typer(
    help="Probes of two claims the papers make in passing: `probe adam` (P2 section 4.2, the "
    "Adam step turning against the gradient) and `probe noise` (P1 section 3, instance noise).",
    no_args_is_help=True)
app.add_typer(probe_app, name="probe")


def _run_probe(kind: str, user: list[str], show_config: bool) -> None:
    """Compose every (arm, seed) job of probe ``kind``, run them, aggregate, print claims."""
    from wgan_repro import hydra_runner
    from wgan_repro.experiments import probe as experiment
    from wgan_repro.schema import validate

    spec = experiment.PROBES[kind]
    cfg = hydra_runner.compose([f"experiment=probe_{kind}", *user])
    experiment.validate_probe(cfg, spec.arms)
    # The arm's own overrides come first, so what the user typed wins over them.
    jobs = [[f"experiment=probe_{kind}", *cfg.probe.arms[arm], *user, f"probe.arm={arm}",
             f"seed={s}"] for arm in spec.arms for s in cfg.probe.seeds]
    for job in jobs:
        job_cfg = hydra_runner.compose(job)
        validate(job_cfg)
        spec.validate(job_cfg)
    if show_config:
        _show(cfg)
        return
    runs = [hydra_runner.run(spec.run, job) for job in jobs]
    summary = spec.aggregate(Path(cfg.results_dir), runs, cfg)
    _print_claims(summary["claims"], Path(cfg.results_dir) / "probe")


@probe_app.command("adam")
def probe_adam(
    overrides: OverridesArg = None,
    seeds: SeedsOpt = None,
    seed: SeedOpt = None,
    results: ResultsOpt = None,
    scale: ScaleOpt = None,
    show_config: ShowConfigOpt = False,
    debug: DebugOpt = False,
) -> None:
    """P2 section 4.2: Algorithm 1 with Adam (beta1 = 0.5) and with RMSProp at the same high
    learning rate; the cosine between each critic step and the negative gradient, and where
    the critic's loss blows up."""
    user = [*build_overrides(overrides, results, scale, None),
            *_list_override("probe.seeds", seeds_from(seeds, seed))]
    _run_probe("adam", user, show_config)


@probe_app.command("noise")
def probe_noise(
    overrides: OverridesArg = None,
    epochs: Annotated[str | None, typer.Option(
        "--epochs", help="Generator snapshots, in DCGAN training epochs, strictly increasing "
        "(default: fig2's 1,20,25).", show_default=False)] = None,
    seeds: SeedsOpt = None,
    seed: SeedOpt = None,
    results: ResultsOpt = None,
    scale: ScaleOpt = None,
    show_config: ShowConfigOpt = False,
    debug: DebugOpt = False,
) -> None:
    """P1 section 3: the fig2 protocol with and without annealed instance noise on the
    discriminator's inputs; does the original cost's gradient still vanish?"""
    user = [*build_overrides(overrides, results, scale, None),
            *_list_override("fig2.epochs", parse_int_list(epochs, "--epochs")),
            *_list_override("probe.seeds", seeds_from(seeds, seed))]
    _run_probe("noise", user, show_config)


def _print_claims(claims: list[dict], out_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("claim", "measured", "verdict", show_lines=True)
    colors = {"reproduced": "green", "not reproduced": "red", "inconclusive": "yellow"}
    for claim in claims:
        table.add_row(claim["claim"], claim["measured_value"],
                      f"[{colors[claim['verdict']]}]{claim['verdict']}[/]")
    console = Console()
    console.print(table)
    console.print(f"results: {out_dir}", highlight=False, soft_wrap=True)


def _print_summary(summary: dict) -> None:
    from rich.console import Console

    console = Console()
    status = summary["status"]
    line = f"[bold]{status}[/bold] after {summary['gen_iters']} generator iterations"
    for key in ("wasserstein_estimate", "js_estimate"):
        if f"{key}_filtered_first" in summary:
            line += (f"; {key} (median-filtered) {summary[f'{key}_filtered_first']:.4g} -> "
                     f"{summary[f'{key}_filtered_last']:.4g}")
    console.print(line, highlight=False)
    console.print(f"results: {summary['run_dir']}", highlight=False, soft_wrap=True)


def main() -> None:
    """Entry point: one line on stderr and a documented exit code for every known failure."""
    try:  # typer >= 0.2x vendors click; older typer raises click's own exceptions
        from typer import TyperException as CliError
    except ImportError:  # pragma: no cover - depends on the installed typer
        from click.exceptions import ClickException as CliError

    global _debug
    _debug = "--debug" in sys.argv[1:]
    if len(sys.argv) == 1:
        sys.argv.append("--help")
    try:
        code = app(prog_name="wgan-repro", standalone_mode=False)
    except CliError as err:
        if _debug:
            raise
        ctx = getattr(err, "ctx", None)
        hint = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
        print(f"error: {err.format_message()}{hint}", file=sys.stderr)
        sys.exit(getattr(err, "exit_code", 2) or 2)
    except WganReproError as err:
        if _debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        sys.exit(err.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        print("interrupted: rerun the same command to resume from the last checkpoint",
              file=sys.stderr)
        sys.exit(130)
    except Exception as err:  # noqa: BLE001 - last resort: still one line
        if _debug:
            raise
        print(f"error: unexpected {type(err).__name__}: {err} (rerun with --debug for the "
              "traceback)", file=sys.stderr)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
