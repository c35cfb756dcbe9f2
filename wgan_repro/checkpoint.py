"""Checkpoints: one self-describing file per run, safe to load (weights_only=True)."""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from wgan_repro.errors import CheckpointError
from wgan_repro.results import write_with

FORMAT = "wgan-repro-checkpoint"
VERSION = 1


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    payload = {"format": FORMAT, "version": VERSION, **state}
    write_with(path, lambda tmp: torch.save(payload, tmp))


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for key, value in obj.items():
            out.update(_flatten(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: obj}


def config_differences(saved: dict, current: dict) -> list[str]:
    a, b = _flatten(saved), _flatten(current)
    return sorted(k for k in a.keys() | b.keys() if a.get(k, "<absent>") != b.get(k, "<absent>"))


def _first_sentence(text: str, limit: int = 100) -> str:
    sentence = text.strip().splitlines()[0].split(". ")[0] if text.strip() else ""
    return sentence if len(sentence) <= limit else sentence[:limit].rsplit(" ", 1)[0] + " ..."


def verified_load(path: Path, what: str = "checkpoint",
                  map_location: str | torch.device = "cpu") -> Any:
    """``torch.load(path, weights_only=True)`` of a file whose every byte is checked first.

    torch.save writes a zip archive with a CRC-32 per member, which torch's loader never
    checks: a flipped byte in a tensor loads silently as a wrong weight. Here anything not a
    zip (text, zeros, a truncated file, whose central directory is gone) or failing a CRC is
    refused with one line (CheckpointError) before torch's loader sees it.
    """
    def refuse(reason: str) -> CheckpointError:
        return CheckpointError(f"{what} {path} is corrupted or not a checkpoint ({reason}); "
                               "delete it to start over")

    if not zipfile.is_zipfile(path):
        raise refuse("not a torch zip archive")
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise refuse(_first_sentence(str(err)) or type(err).__name__) from err
    if damaged is not None:  # members are <archive name>/data/N: the name says nothing here
        raise refuse(f"member {damaged.split('/', 1)[-1]} fails its CRC check")
    try:
        with warnings.catch_warnings():  # torch warns about odd pickles: the error says it all
            warnings.simplefilter("ignore")
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - any failure to read it means it is damaged
        raise refuse(_first_sentence(str(err)) or type(err).__name__) from err


def load_checkpoint(path: Path, config: dict, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint of ours made with ``config``; refuse anything else with one line."""
    state = verified_load(path, "checkpoint", map_location)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path} was not written by wgan-repro; refusing to load it")
    if state.get("version") != VERSION:
        raise CheckpointError(f"checkpoint {path} has format version {state.get('version')}, "
                              f"this wgan-repro reads version {VERSION}")
    diff = config_differences(state.get("config", {}), config)
    if diff:
        shown = ", ".join(diff[:8]) + (" ..." if len(diff) > 8 else "")
        raise CheckpointError(f"checkpoint {path} was made with another config (differs in: "
                              f"{shown}); choose another run_name or delete {path.parent.parent}")
    return state
