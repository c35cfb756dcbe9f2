"""wgan-repro: re-run the Wasserstein-GAN papers' figures and check their claims.

Each verb turns its options into Hydra overrides and hands them to
wgan_repro.hydra_runner; no torch import happens before a verb runs (fast --help).
"""

from __future__ import annotations

import functools
import inspect
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated

import typer

from wgan_repro import hydra_runner, registry
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
    quick = "quick"
    cpu = "cpu"
    paper = "paper"


OverridesArg = Annotated[
    list[str] | None,
    typer.Argument(help="Hydra overrides, KEY=VALUE or GROUP=OPTION "
                   "(e.g. objective=gan_nonsaturating optim.lr=1e-4).", show_default=False),
]
# A string, not a Path: click turns '' into Path('.'), and `--results ''` would then write
# into the current directory instead of being refused.
ResultsOpt = Annotated[
    str | None, typer.Option("--results", metavar="PATH",
                                help="Results folder (default: results).", show_default=False)]
ScaleOpt = Annotated[
    Scale | None, typer.Option("--scale", help="Scale tier: smoke (tests), quick (a preview, "
                                  "not long enough for the verdicts), cpu (a laptop, default: "
                                  "the reproduction), paper (a GPU).", show_default=False)]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Random seed (default: 0).",
                                                show_default=False)]
SeedsOpt = Annotated[str | None, typer.Option(
    "--seeds", help="Seeds to repeat the experiment over, e.g. 0,1,2 (default: by tier).",
    show_default=False)]
ShowConfigOpt = Annotated[bool, typer.Option("--show-config",
                                             help="Print the resolved config and exit.")]
_debug = False  # set by --debug's callback while the command line is parsed; read by main()


def _set_debug(value: bool) -> bool:
    global _debug
    _debug = _debug or value
    return value


DebugOpt = Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.",
                                        callback=_set_debug, is_eager=True)]


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


def results_folder(results: str | None) -> Path | None:
    """--results as a folder; an empty or blank value is a usage error, not the current
    directory."""
    if results is None:
        return None
    if not results.strip():
        raise typer.BadParameter("--results needs a folder path, got an empty string")
    return Path(results)


def build_overrides(overrides: list[str] | None, results: str | None, scale: Scale | None,
                    seed: int | None) -> list[str]:
    """Options become overrides; an option given twice (as --x and x=) is an error, never a
    silent precedence."""
    overrides = list(overrides or [])
    results = results_folder(results)
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
    return hydra_runner.quoted_paths(overrides)


class Launcher(StrEnum):
    auto = "auto"
    basic = "basic"
    joblib = "joblib"
    submitit_local = "submitit_local"
    submitit_slurm = "submitit_slurm"


LauncherOpt = Annotated[Launcher, typer.Option(
    "--launcher", help="Where the jobs run: auto (the default: joblib for several jobs at the cpu "
    "tier on a CPU with several cores, measured 1.2-1.3x the jobs an hour of basic on 2 cores; "
    "basic otherwise), basic (one after another in this process), joblib "
    "(parallel local processes, cores shared out), submitit_local (local processes via "
    "submitit), submitit_slurm (a SLURM cluster; set hydra.launcher.partition=... etc.).")]


def _execute(experiment: registry.Experiment, user: list[str], launcher: Launcher,
             show_config: bool, **options) -> list:
    """Hand the overrides to wgan_repro.plans (sweeps, launch, aggregation), print claims."""
    from wgan_repro import plans

    results = plans.execute(experiment, user, launcher.value, show_config, echo=typer.echo,
                            **options)
    for result in results:
        if result.summary is None:
            continue
        if result.label:
            typer.echo(f"sweep point {result.label}:")
        _print_result(experiment, result)
    return results


def _print_result(experiment: registry.Experiment, result) -> None:
    plan, summary = result.plan, result.summary
    if experiment.judge is None:  # train: its runs, no claims
        for run in summary["runs"]:
            _print_summary(run)
        return
    if experiment.name == "ablate":
        _print_parameters(summary)
    _print_claims(summary["claims"], plan.results_dir / experiment.folder)


def _print_parameters(summary: dict) -> None:
    everything = summary["all_parameters"]
    for variant, count in summary["parameters"].items():
        line = f"{variant}: generator with {count:,} parameters"
        # P2 Fig. 6: ~10x fewer than the DCGAN generator's, at the same image size
        dcgan = everything.get("dcgan_at_no_bn_size") or everything.get("dcgan")
        if variant == "no_bn" and dcgan:
            line += f", {dcgan / count:.1f}x fewer than the DCGAN generator's {dcgan:,}"
        typer.echo(line)


@dataclass(frozen=True)
class Shared:
    """The options every experiment verb takes, parsed once (--debug is read by main())."""

    seeds: list[int] | None  # --seeds A,B,... or --seed N; None: the tier's
    launcher: Launcher
    results: str | None
    scale: Scale | None
    show_config: bool


# name, type with its typer.Option, default: appended to every verb's own parameters
SHARED_OPTIONS = (("seeds", SeedsOpt, None), ("seed", SeedOpt, None),
                  ("launcher", LauncherOpt, Launcher.auto), ("results", ResultsOpt, None),
                  ("scale", ScaleOpt, None), ("show_config", ShowConfigOpt, False),
                  ("debug", DebugOpt, False))


def verb(group: typer.Typer, name: str | None = None) -> Callable[[Callable], Callable]:
    """Register ``command(shared, **own)`` as the verb ``name`` of ``group`` with its own
    options plus SHARED_OPTIONS, declared once here instead of in every signature."""

    def register(command: Callable) -> Callable:
        own = inspect.signature(command, eval_str=True)
        params = [p for p in own.parameters.values() if p.name != "shared"]
        params += [inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, annotation=kind,
                                     default=default) for key, kind, default in SHARED_OPTIONS]

        @functools.wraps(command)
        def with_shared(**options):
            options.pop("debug")  # already acted on by its callback
            shared = Shared(seeds_from(options.pop("seeds"), options.pop("seed")),
                            options.pop("launcher"), options.pop("results"),
                            options.pop("scale"), options.pop("show_config"))
            return command(shared, **options)

        with_shared.__signature__ = own.replace(parameters=params)
        with_shared.__annotations__ = {p.name: p.annotation for p in params}
        return group.command(name)(with_shared)

    return register


def common_overrides(overrides: list[str] | None, shared: Shared,
                     seeds_key: str | None = None) -> list[str]:
    """The verb's overrides plus --results/--scale, and the seeds as ``seeds_key``."""
    seeds = _list_override(seeds_key, shared.seeds) if seeds_key else []
    return [*build_overrides(overrides, shared.results, shared.scale, None), *seeds]


def _run(name: str, user: list[str], shared: Shared, **options) -> list:
    """Run the registry's experiment ``name`` (or ``train``) with the shared options."""
    from wgan_repro import plans

    experiment = plans.TRAIN if name == "train" else registry.get(name)
    return _execute(experiment, user, shared.launcher, shared.show_config, **options)


@verb(app)
def train(shared: Shared, overrides: OverridesArg = None) -> None:
    """Train one GAN or WGAN from the config tree (P2 Algorithm 1 by default)."""
    from wgan_repro import plans

    user = build_overrides(overrides, shared.results, shared.scale, None)
    if shared.seeds is not None and plans.has_key(user, "seed"):
        raise typer.BadParameter("give seed once: as --seed/--seeds or as seed=..., not both")
    _run("train", user, shared, seeds=shared.seeds)


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
    """--seeds A,B,... (each seed once) or --seed N (a one-seed shorthand), never both."""
    seed_list = parse_int_list(seeds, "--seeds")
    if seed_list is not None:
        repeated = sorted({s for s in seed_list if seed_list.count(s) > 1})
        if repeated:
            raise typer.BadParameter(f"--seeds names seed {', '.join(map(str, repeated))} more "
                                     "than once: each seed runs once (a repeat would count "
                                     "twice in the medians)")
    if seed is not None:
        if seed_list is not None:
            raise typer.BadParameter("give --seed N or --seeds A,B,..., not both")
        seed_list = [seed]
    return seed_list


def _list_override(key: str, values: list[int] | None) -> list[str]:
    return [] if values is None else [f"{key}=[{','.join(str(v) for v in values)}]"]


EpochsOpt = Annotated[str | None, typer.Option(
    "--epochs", help="Generator snapshots, in DCGAN training epochs, strictly increasing "
    "(default: 1,20,25).", show_default=False)]


@verb(app)
def fig2(
    shared: Shared,
    overrides: OverridesArg = None,
    epochs: EpochsOpt = None,
    d_iters: Annotated[int | None, typer.Option(
        "--d-iters", help="Discriminator iterations from scratch per snapshot (default: by "
        "tier; the paper's 4000 at --scale paper).", show_default=False)] = None,
) -> None:
    """P1 Fig. 1-3: train a fresh discriminator against frozen DCGAN generators and watch the
    original cost's gradient vanish while the -log D cost's does not (cpu tier, 2 seeds:
    about 8 minutes on 2 cores)."""
    user = [*common_overrides(overrides, shared, "fig2.seeds"),
            *_list_override("fig2.epochs", parse_int_list(epochs, "--epochs"))]
    if d_iters is not None:
        user.append(f"fig2.d_iters={d_iters}")
    _run("fig2", user, shared)


@verb(app)
def curve(shared: Shared, overrides: OverridesArg = None) -> None:
    """P2 Fig. 3-4: the WGAN critic's estimate vs sample quality (exact EMD, classifier
    FCD), next to the standard GAN's JS estimate (cpu tier: about 17 minutes on 2 cores)."""
    _run("curve", common_overrides(overrides, shared, "curve.seeds"), shared)


@verb(app)
def ablate(
    shared: Shared,
    overrides: OverridesArg = None,
    dcgan: Annotated[bool, typer.Option("--dcgan", help="P2 Fig. 5: the DCGAN generator "
                                        "(both WGAN and GAN should work).")] = False,
    no_bn: Annotated[bool, typer.Option("--no-bn", help="P2 Fig. 6: generator without batch "
                                        "norm and with a constant filter count.")] = False,
    mlp: Annotated[bool, typer.Option("--mlp", help="P2 Fig. 7: MLP generator, 4 hidden layers "
                                      "x 512 ReLU units.")] = False,
    all_variants: Annotated[bool, typer.Option("--all", help="All three variants (cpu tier: "
                                               "about 60 minutes).")] = False,
    gp: Annotated[bool, typer.Option("--gp", help="Also train a third arm, WGAN-GP (Adam 1e-4, "
                                     "beta (0, 0.9), lambda 10, no batch norm in the critic), "
                                     "and judge WGAN-GP Fig. 2's claim over the variants run. "
                                     "Its critic steps take 2.0-2.7x the clipped WGAN's (the "
                                     "penalty's second backward pass, AMD EPYC): at the cpu "
                                     "tier the arm takes 2-2.7x the WGAN arm, about 1-1.5 h a "
                                     "variant for 3 seeds on 2 cores; the verb prints its "
                                     "estimate first.")] = False,
) -> None:
    """P2 Fig. 5-7: WGAN vs the standard GAN with the DCGAN, no-batch-norm and MLP
    generators; mode collapse measured by a digits classifier. Choose variants with --dcgan,
    --no-bn, --mlp (combinable) or --all. Cpu tier, 3 seeds, 2 cores: --dcgan ~19, --no-bn ~17,
    --mlp ~24 minutes."""
    chosen = [name for name, flag in (("dcgan", dcgan), ("no_bn", no_bn), ("mlp", mlp)) if flag]
    if all_variants and chosen:
        raise typer.BadParameter("give --all or a choice of --dcgan/--no-bn/--mlp, not both")
    if not all_variants and not chosen:
        raise typer.BadParameter("choose variants: --dcgan, --no-bn, --mlp (combinable) or --all")
    user = common_overrides(overrides, shared, "ablate.seeds") + (["ablate.gp=true"] if gp else [])
    _run("ablate", user, shared, variants=None if all_variants else chosen)


@verb(app)
def toy(shared: Shared, overrides: OverridesArg = None) -> None:
    """P2 Fig. 1-2: parallel lines (W, JS, KL, TV against theta, closed forms and trained
    estimates) and two 1-D Gaussians (saturated discriminator, near-linear critic); one run per
    seed, each claim judged on every seed (cpu tier, 3 seeds: about 1.5 minutes on 2 cores)."""
    _run("toy", common_overrides(overrides, shared, "toy.seeds"), shared)


@verb(app)
def clip(shared: Shared, overrides: OverridesArg = None) -> None:
    """P2 section 3's warning about weight clipping, measured as WGAN-GP's Fig. 1: per-layer
    gradient norms and weights of 12-layer MLP critics on Swiss Roll at c = 0.1, 0.01, 0.001
    against the gradient penalty, and critics' value surfaces on 8 Gaussians, 25 Gaussians and
    Swiss Roll (cpu tier, 3 seeds, 39 jobs: 15 minutes on 2 busy cores, AMD EPYC; the verb
    prints its estimate for your machine first)."""
    _run("clip", common_overrides(overrides, shared, "clip.seeds"), shared)


probe_app = typer.Typer(
    help="Probes of two claims the papers make in passing: `probe adam` (P2 section 4.2, the "
    "Adam step turning against the gradient) and `probe noise` (P1 section 3, instance noise).",
    no_args_is_help=True)
app.add_typer(probe_app, name="probe")


@verb(probe_app, "adam")
def probe_adam(shared: Shared, overrides: OverridesArg = None) -> None:
    """P2 section 4.2: Algorithm 1 with Adam (beta1 = 0.5) and with RMSProp at the same high
    learning rate; the cosine between each critic step and the negative gradient, and where
    the critic's loss blows up (cpu tier: about 2 minutes on 2 cores)."""
    _run("probe_adam", common_overrides(overrides, shared, "probe.seeds"), shared)


@verb(probe_app, "noise")
def probe_noise(
    shared: Shared,
    overrides: OverridesArg = None,
    epochs: Annotated[str | None, typer.Option(
        "--epochs", help="Generator snapshots, in DCGAN training epochs, strictly increasing "
        "(default: fig2's 1,20,25).", show_default=False)] = None,
) -> None:
    """P1 section 3: the fig2 protocol without instance noise on the discriminator's inputs
    and with it at each fixed std of probe.arms (0.5 and 1.0); does the original cost's
    gradient still vanish? (cpu tier: about 14 minutes on 2 cores after fig2)"""
    user = [*common_overrides(overrides, shared, "probe.seeds"),
            *_list_override("fig2.epochs", parse_int_list(epochs, "--epochs"))]
    _run("probe_noise", user, shared)


@verb(app, "all")
def all_experiments(shared: Shared, overrides: OverridesArg = None) -> None:
    """Every experiment in turn: fig2, curve, ablate --all, toy, clip, probe adam, probe noise
    (cpu tier: several hours on 2 cores; each verb prints its expected time first). --seeds
    applies to every experiment. Then run `wgan-repro report`."""
    common = build_overrides(overrides, shared.results, shared.scale, None)
    for experiment in registry.EXPERIMENTS.values():
        user = list(common)
        if shared.seeds is not None:
            user += (_list_override(experiment.seeds_key, shared.seeds) if experiment.seeds_key
                     else [f"seed={shared.seeds[0]}"])
        typer.echo(f"== {experiment.verb} ==")
        _execute(experiment, user, shared.launcher, shared.show_config)
    if not shared.show_config:
        typer.echo("all experiments done; build the report with: wgan-repro report"
                   + (f" --results {shared.results}" if shared.results else ""))


def add_registry_verbs(rows) -> None:
    """A verb for every registry row that has none above (one with no options of its own):
    the shared options and overrides, seeds as the row's seeds_key."""
    taken = {c.name or c.callback.__name__ for c in app.registered_commands} | {"probe"}
    for row in rows:
        if row.verb.split()[0] in taken:
            continue

        def command(shared: Shared, overrides: OverridesArg = None, row=row) -> None:
            _run(row.name, common_overrides(overrides, shared, row.seeds_key), shared)

        command.__doc__ = row.title
        verb(app, row.verb)(command)


@app.command()
def report(
    results: ResultsOpt = None,
    rejudge: Annotated[bool, typer.Option(
        "--rejudge", help="First recompute every verdict in claims.csv from the experiments' "
        "CSVs with this version's rules (results of an older version; never trains).")] = False,
    debug: DebugOpt = False,
) -> None:
    """Build results/REPORT.md and results/report.pdf from what the experiments wrote: every
    figure, the claims table, versions, configs and times. Reads files only, never trains."""
    from wgan_repro.report import build_report

    folder = results_folder(results) or Path("results")
    if rejudge:
        from wgan_repro.claims import rejudge as rejudge_claims
        from wgan_repro.results import check_writable

        check_writable(folder)
        judged = rejudge_claims(folder)
        rows = [row for experiment_rows in judged.values() for row in experiment_rows]
        counts = {v: sum(r["verdict"] == v for r in rows)
                  for v in ("reproduced", "not reproduced", "inconclusive")}
        typer.echo(f"rejudged {len(rows)} claims of {', '.join(judged) or 'no experiment'}: "
                   + ", ".join(f"{n} {v}" for v, n in counts.items()))
    built = build_report(folder)
    typer.echo(f"{built['claims']} claims, {len(built['experiments'])} experiments, "
               f"{len(built['figures'])} figure pages")
    typer.echo(f"report: {built['markdown']}")
    typer.echo(f"report: {built['pdf']}")


def _print_claims(claims: list[dict], out_dir: Path) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table("claim", "measured", "verdict", show_lines=True)
    colors = {"reproduced": "green", "not reproduced": "red", "inconclusive": "yellow"}
    for claim in claims:
        verdict = f"[{colors[claim['verdict']]}]{claim['verdict']}[/]"
        if claim.get("reason"):
            verdict += f"\n{escape(claim['reason'])}"
        table.add_row(f"{escape(claim['claim'])}\n[dim]{claim['claim_id']}[/]",
                      escape(claim["measured_value"]), verdict)
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
    _debug = False
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
        code = 130
    except Exception as err:  # noqa: BLE001 - last resort: still one line
        if _debug:
            raise
        print(f"error: unexpected {type(err).__name__}: {err} (rerun with --debug for the "
              "traceback)", file=sys.stderr)
        sys.exit(1)
    if code == 130:  # typer >= 0.2x turns Ctrl-C into a silent exit 130 itself
        _interrupted()
    sys.exit(code if isinstance(code, int) else 0)


def _interrupted() -> None:
    """Ctrl-C: say how to resume, exit 130. Each run's work up to its last checkpoint is on
    disk (written atomically), and the same command finds it and resumes."""
    command = shlex.join(["wgan-repro", *sys.argv[1:]])
    print(f"interrupted: finished work and checkpoints are kept; to resume, rerun: {command}",
          file=sys.stderr)
    sys.exit(130)


add_registry_verbs(registry.EXPERIMENTS.values())

if __name__ == "__main__":
    main()
