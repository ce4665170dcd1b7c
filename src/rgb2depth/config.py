"""Run configuration: YAML files with dotted command-line overrides.

A configuration is a nested ``dict`` with the sections of :data:`SCHEMA`. Every
config file in ``configs/`` states all five parts of a run: the **data**, the
**model**, the **method** (its losses), the **optimisation** (``train``) and the
**schedule**, plus where and how to log (``log``). Keys left out take the defaults
below, so a file can stay short, and the resolved configuration (every key) is
saved with each run.

Overrides are ``key=value`` strings with a dotted key, e.g. ``train.lr=2e-4`` or
``data.size=[96,96]``; the value is parsed as YAML (``2e-4`` is a float, ``[96,96]``
a list, ``null`` is None). A misspelt key, in a file or an override, is an error
that names the valid keys of its section.

Two sections are open: ``model.kwargs`` holds the keyword settings of the chosen
network (checked by :func:`rgb2depth.models.create_model`), and ``method`` holds
``name`` plus the options of that method (each method declares its own defaults,
checked by :mod:`rgb2depth.methods`). ``data.generate`` optionally describes a
synthetic dataset to generate when ``data.root`` does not exist yet.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from rgb2depth.errors import InputError

__all__ = ["OPEN_SECTIONS", "SCHEMA", "apply_overrides", "dump_config", "load_config", "merge"]

SCHEMA: dict[str, dict[str, Any]] = {
    "data": {
        "root": None,  # dataset folder holding dataset.json (required)
        "train_split": "train",
        "val_split": "val",
        "size": [64, 64],  # (H, W) the network sees
        "preset": "light_unet",  # augmentation preset of rgb2depth.data.transforms.PRESETS
        "grayscale": False,
        "workers": 0,  # DataLoader worker processes
        "generate": None,  # {kind, n, size, seed}: generate data.root if it is missing
    },
    "model": {
        "name": "light_unet",
        "kwargs": {},
        # local file of ImageNet weights for the network's encoder, loaded before
        # training (densenet_depth: a torchvision densenet121 state dict); null: none
        "encoder_weights": None,
    },
    "method": {
        "name": "supervised",
    },
    "train": {  # optimisation
        "optimizer": "adam",
        "lr": 1e-4,
        "betas": [0.9, 0.999],
        "weight_decay": 0.0,
        "batch_size": 8,
        "grad_clip": 1.0,  # max gradient norm; 0 or null turns clipping off
        "amp": "auto",  # auto | off | bf16 | fp16 (auto: bf16 or fp16 on CUDA, off on CPU)
        "device": "auto",  # auto | cpu | cuda | cuda:N
        "seed": 0,
    },
    "schedule": {
        "steps": 1000,  # optimisation steps of the method (one step runs all its updates)
        "scheduler": "constant",  # constant | cosine | step
        "warmup_steps": 0,
        "decay_every": 0,  # for scheduler=step: multiply lr by decay_factor every N steps
        "decay_factor": 0.5,
    },
    "log": {
        "out": "runs/run",  # run folder: config, logs, checkpoints, exported model
        "every": 10,  # scalars every N steps
        "val_every": 200,  # validation every N steps (0: only at the end)
        "ckpt_every": 200,  # checkpoint every N steps (and always at the end)
        "keep_checkpoints": 2,
        "images": 4,  # validation samples written to TensorBoard as images
        "val_max_images": 0,  # cap on validation images (0: the whole split)
        "progress": True,
    },
}
"""Every section and key, with its default."""

OPEN_SECTIONS = {("model", "kwargs"), ("data", "generate")}
"""Keys whose value is a free mapping (checked by the component that uses it)."""


class _Loader(yaml.SafeLoader):
    """``yaml.safe_load``, plus floats without a dot (``2e-4``), which YAML 1.1 reads as text."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _suggest(key: str, valid: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"valid keys: {', '.join(valid)}{hint}"


def merge(base: dict[str, Any], update: Mapping[str, Any], *, where: str = "") -> dict[str, Any]:
    """Return ``base`` updated recursively by ``update``, refusing keys ``base`` lacks.

    ``method`` (beyond ``name``) and the open sections of :data:`OPEN_SECTIONS` accept
    any key; everything else must exist in :data:`SCHEMA`.
    """
    out = copy.deepcopy(base)
    for key, value in update.items():
        path = f"{where}.{key}" if where else str(key)
        parts = tuple(path.split("."))
        open_key = parts[0] == "method" or any(
            parts[: len(o)] == o for o in OPEN_SECTIONS if len(parts) > len(o)
        )
        if key not in out and not open_key:
            section = f"section {where!r}" if where else "the config"
            raise InputError(f"unknown key {path!r} in {section}; {_suggest(str(key), list(out))}")
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(dict(out[key]), value, where=path)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _parse_override(text: str) -> tuple[list[str], Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise InputError(f"override {text!r} is not KEY=VALUE (e.g. train.lr=2e-4)")
    try:
        value = yaml.load(raw, Loader=_Loader) if raw.strip() else None
    except yaml.YAMLError as e:
        raise InputError(f"override {text!r}: the value is not valid YAML ({e.problem})") from None
    return key.strip().split("."), value


def apply_overrides(config: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides (values parsed as YAML) to a resolved config."""
    out = config
    for text in overrides:
        keys, value = _parse_override(text)
        update: Any = value
        for k in reversed(keys):
            update = {k: update}
        out = merge(out, update)
    return out


def _check_types(config: dict[str, Any]) -> None:
    for section, defaults in SCHEMA.items():
        if not isinstance(config.get(section), Mapping):
            raise InputError(f"config section {section!r} must be a mapping")
        for key, default in defaults.items():
            value = config[section].get(key)
            if default is None or value is None:
                continue
            is_bool = isinstance(value, bool)
            if isinstance(default, float) and isinstance(value, int) and not is_bool:
                continue  # an int where a float is expected; not the reverse (batch_size=4.0)
            if not isinstance(value, type(default)) or (is_bool and not isinstance(default, bool)):
                raise InputError(
                    f"{section}.{key} must be {type(default).__name__} "
                    f"(e.g. {default!r}), got {value!r}"
                )
    if not config["data"].get("root"):
        raise InputError("data.root is required: the dataset folder (holding dataset.json)")
    if not isinstance(config["method"].get("name"), str):
        raise InputError("method.name is required (e.g. supervised)")


def load_config(path: str | Path | None, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Read a YAML config, fill in the defaults, apply the overrides and check it.

    Args:
        path: a YAML file, or None for the defaults alone.
        overrides: ``key=value`` strings.

    Relative paths in a config (``data.root``, ``log.out``) are relative to the
    directory the command runs in, like every other path given to the CLI.

    Raises:
        InputError: a missing or malformed file, an unknown key, a wrong type.
    """
    config = copy.deepcopy(SCHEMA)
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise InputError(f"config file not found: {p}")
        try:
            loaded = yaml.load(p.read_text(encoding="utf-8"), Loader=_Loader)
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            raise InputError(f"{p} is not valid YAML: {str(e).splitlines()[0]}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, Mapping):
            raise InputError(f"{p}: expected a mapping of sections, got {type(loaded).__name__}")
        config = merge(config, loaded)
    config = apply_overrides(config, overrides)
    _check_types(config)
    return config


def dump_config(config: Mapping[str, Any]) -> str:
    """The config as YAML text, sections in schema order."""
    return yaml.safe_dump(dict(config), sort_keys=False, default_flow_style=None)
