"""The only module that talks to Hydra: find the config tree, compose, expand sweeps, launch.

Hydra and OmegaConf errors are turned into one-line ConfigErrors here, so no caller has to
know Hydra's exception types.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from wgan_repro.errors import ConfigError

CONFIG_NAME = "config"


def conf_dir() -> Path:
    """The config tree: inside the package in an installed wheel, at the repository root in a
    source checkout or editable install."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "conf", package.parent / "conf"):
        if (candidate / f"{CONFIG_NAME}.yaml").is_file():
            return candidate
    raise ConfigError(f"cannot find the config tree (looked in {package / 'conf'} and "
                      f"{package.parent / 'conf'}); reinstall wgan-repro")


def _one_line(err: BaseException) -> str:
    """Hydra/OmegaConf messages span lines (full_key, object_type, available options): fold
    them into one line, innermost cause first where it is the informative part."""
    from omegaconf.errors import OmegaConfBaseException

    cause = err
    while cause.__cause__ is not None:
        cause = cause.__cause__
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError

    if isinstance(cause, (ConfigKeyError, ConfigAttributeError)) and getattr(cause, "full_key", None):
        return f"unknown config key '{cause.full_key}'"
    if isinstance(cause, OmegaConfBaseException) and getattr(cause, "full_key", None):
        first = str(cause).strip().splitlines()[0]
        first = re.sub(r"\s+", " ", first)
        return f"{cause.full_key}: {first}"
    text = str(err).strip()
    options = re.findall(r"^\t(\S+)$", text, flags=re.M)
    head = re.sub(r"\s+", " ", text.split("\n\n")[0]).strip()
    head = head.replace("In 'config': ", "")
    if options:
        head += f" (choose from: {', '.join(options)})"
    return head


def compose(overrides: Sequence[str] = ()) -> Any:
    """Compose the resolved config for ``overrides`` (Hydra's command-line syntax)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from wgan_repro.schema import register

    register()
    try:
        with initialize_config_dir(str(conf_dir()), version_base="1.3", job_name="wgan_repro"):
            cfg = hydra_compose(CONFIG_NAME, overrides=list(overrides))
        missing = sorted(OmegaConf.missing_keys(cfg))
        if missing:
            raise ConfigError(f"{', '.join(missing)} must be set (add e.g. {missing[0]}=...)")
        OmegaConf.resolve(cfg)
    except (HydraException, OmegaConfBaseException) as err:
        raise ConfigError(_one_line(err)) from err
    return cfg


# Free-form paths: their spaces, quotes, ',' and '=' belong to the path, not to Hydra's grammar.
PATH_KEYS = ("results_dir", "data.root")


def quote(value: str) -> str:
    """``value`` as an override value Hydra parses back to exactly ``value``: single quotes,
    a quote inside escaped, and the backslashes right before a quote or the end doubled
    (Hydra's rule for quoted strings; other backslashes stay as they are)."""
    escaped = re.sub(r"(\\*)('|$)",
                     lambda m: m.group(1) * 2 + ("\\'" if m.group(2) else ""), value)
    return f"'{escaped}'"


def quoted_paths(overrides: Sequence[str]) -> list[str]:
    """``overrides`` with the value of every PATH_KEYS override quoted, unless the user
    quoted it already: ``results_dir=/Users/Jane Doe/r`` would not parse."""
    out = []
    for override in overrides:
        key, eq, value = override.partition("=")
        if eq and key.lstrip("+~") in PATH_KEYS and value and value[0] not in "'\"":
            override = f"{key}={quote(value)}"
        out.append(override)
    return out


def run(task: Callable[[Any], Any], overrides: Sequence[str] = ()) -> Any:
    """Compose and call ``task(cfg)`` in this process; return what it returns."""
    return task(compose(overrides))


LAUNCHERS = ("basic", "joblib", "submitit_local", "submitit_slurm")
# The Hydra plugin each launcher needs (basic is Hydra's own) and the pip package with it.
LAUNCHER_PLUGINS = {
    "joblib": ("hydra_plugins.hydra_joblib_launcher", "hydra-joblib-launcher"),
    "submitit_local": ("hydra_plugins.hydra_submitit_launcher", "hydra-submitit-launcher"),
    "submitit_slurm": ("hydra_plugins.hydra_submitit_launcher", "hydra-submitit-launcher"),
}


def plugin_installed(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # hydra_plugins itself absent
        return False


def check_launcher(launcher: str) -> None:
    """An unknown launcher, or one whose Hydra plugin is not installed, is a config error that
    names the install that fixes it (Hydra alone would say "Could not find
    'hydra/launcher/joblib'")."""
    if launcher not in LAUNCHERS:
        raise ConfigError(f"unknown launcher {launcher!r} (choose from: {', '.join(LAUNCHERS)})")
    if launcher in LAUNCHER_PLUGINS:
        module, package = LAUNCHER_PLUGINS[launcher]
        if not plugin_installed(module):
            extra = "" if launcher == "joblib" else " (or pip install 'wgan-repro[launchers]')"
            raise ConfigError(f"the {launcher} launcher needs the {package} plugin, which is not "
                              f"installed: pip install {package}{extra}")


def is_hydra_override(override: str) -> bool:
    """Overrides of Hydra itself (hydra.launcher.partition=gpu, hydra/launcher=joblib) configure
    the launch, not a job."""
    return override.lstrip("+~").startswith(("hydra.", "hydra/"))


def expand_sweeps(overrides: Sequence[str]) -> list[list[str]]:
    """Hydra's sweep syntax (``optim.lr=1e-4,2e-4``, ``range(1,4)``, ``choice(a,b)``) expanded
    to the cartesian product, in Hydra's order: one fixed override list per sweep point.
    Overrides without a sweep appear unchanged in every point."""
    import itertools

    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except HydraException as err:
        raise ConfigError(_one_line(err)) from err
    choices: list[list[str]] = []
    for override, text in zip(parsed, overrides):
        if not override.is_sweep_override():
            choices.append([text])
            continue
        key = override.get_key_element()
        try:
            values = list(override.sweep_string_iterator())
        except HydraException as err:
            raise ConfigError(f"cannot sweep {text!r}: {_one_line(err)}") from err
        choices.append([f"{key}={value}" for value in values])
    return [list(point) for point in itertools.product(*choices)]


def launch(task: Callable[[Any], Any], jobs: Sequence[Sequence[str]], launcher: str = "basic",
           launch_overrides: Sequence[str] = ()) -> list[Any]:
    """Run ``task(cfg)`` once per override list in ``jobs`` through a Hydra launcher and return
    the results in job order.

    This is Hydra multirun without its sweeper: the jobs are already expanded (experiments
    pair seeds with arms and variants, which is not a cartesian product). It uses Hydra's
    internal API (Hydra.compose_config, Plugins.instantiate_launcher), hence the pin on
    hydra-core 1.3 in pyproject.toml; tests/test_launchers.py covers it. ``launch_overrides``
    configure the launcher and the sweep folder (hydra.*, results_dir); ``task`` must be an
    importable module-level function because submitit pickles it.
    """
    from hydra import initialize_config_dir
    from hydra._internal.callbacks import Callbacks
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.plugins import Plugins
    from hydra.core.utils import JobStatus
    from hydra.errors import HydraException
    from hydra.types import HydraContext, RunMode
    from omegaconf.errors import OmegaConfBaseException

    from wgan_repro.schema import register

    check_launcher(launcher)
    register()
    master_overrides = [f"hydra/launcher={launcher}",
                        # logging stays the user's: our tasks print their own progress
                        "hydra/job_logging=none", "hydra/hydra_logging=none",
                        *launch_overrides]
    try:
        with initialize_config_dir(str(conf_dir()), version_base="1.3", job_name="wgan_repro"):
            hydra = GlobalHydra.instance().hydra
            master = hydra.compose_config(CONFIG_NAME, overrides=master_overrides,
                                          run_mode=RunMode.MULTIRUN, with_log_configuration=False)
            context = HydraContext(config_loader=hydra.config_loader, callbacks=Callbacks(master))
            runner = Plugins.instance().instantiate_launcher(
                config=master, hydra_context=context, task_function=task)
            returns = runner.launch([list(job) for job in jobs], initial_job_idx=0)
    except (HydraException, OmegaConfBaseException) as err:
        raise ConfigError(_one_line(err)) from err
    failed = [r for r in returns if r.status != JobStatus.COMPLETED]
    if failed:
        # JobReturn.return_value would print Hydra's own banner first; keep to one line.
        raise failed[0]._return_value
    return [r.return_value for r in returns]
