"""The only module that talks to Hydra: find the config tree, compose, run.

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


def run(task: Callable[[Any], Any], overrides: Sequence[str] = ()) -> Any:
    """Compose and call ``task(cfg)`` in this process; return what it returns."""
    return task(compose(overrides))
