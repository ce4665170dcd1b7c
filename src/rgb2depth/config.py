"""Run configuration: YAML files with dotted command-line overrides.

A configuration is a nested ``dict`` with the sections of :data:`SCHEMA`. Every
config file in ``configs/`` states all five parts of a run: the **data**, the
**model**, the **method** (its losses), the **optimisation** (``train``) and the
**schedule**, plus where and how to log (``log``). Keys left out take the defaults
below, so a file can stay short, and the resolved configuration (every key) is
saved with each run.

Overrides are ``key=value`` strings with a dotted key, e.g. ``train.lr=2e-4`` or
``data.size=[96,96]``; the value is parsed as YAML (``2e-4`` is a float, ``[96,96]``
a list, ``null`` is None), the same YAML as a config file. Only ``true`` and
``false`` are booleans (YAML 1.2): ``on``, ``off``, ``yes`` and ``no`` stay text,
so ``train.amp=off`` means what it says. A misspelt key, in a file or an override,
is an error that names the valid keys of its section.

Every key has a :class:`Spec` in :data:`SPECS` (type, range or choices, list length
and item type, documented values); :func:`check_config` checks them all, in one
place, before anything is built or written, and its message names the key, the
value received and what is accepted (``train.batch_size must be an integer >= 1,
got 0``). The choices come from where they are defined (the trainer's optimizers,
schedulers, AMP modes and devices; :data:`rgb2depth.data.transforms.PRESETS`),
looked up when a config is checked, so importing this module does not import torch.

Two sections are open: ``model.kwargs`` holds the keyword settings of the chosen
network (checked by :func:`rgb2depth.models.create_model`), and ``method`` holds
``name`` plus the options of that method (each method declares its own defaults,
checked by :mod:`rgb2depth.methods`). ``data.generate`` optionally describes a
synthetic dataset to generate when ``data.root`` does not exist yet.
"""

from __future__ import annotations

import copy
import difflib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rgb2depth.errors import InputError

__all__ = [
    "OPEN_SECTIONS",
    "RESUME_MAY_CHANGE",
    "SCHEMA",
    "SPECS",
    "Spec",
    "apply_overrides",
    "check_config",
    "dump_config",
    "load_config",
    "merge",
]


# ---------------------------------------------------------------- what each key accepts


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:  # finite; an int counts (not a bool)
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Spec:
    """What one key accepts: its default, a type with a range or choices, its documented values.

    :meth:`check` raises :class:`InputError` naming the key, the value received and
    what is accepted. ``examples`` are documented values as a user types them (YAML
    text); :meth:`documented` adds the choices of a choice key and ``null`` where it
    is allowed. ``required`` keys refuse null with ``"<key> is required: <doc>"``.
    """

    default: Any
    doc: str = ""
    examples: tuple[str, ...] = ()
    nullable: bool = False
    required: bool = False

    def describe(self) -> str:  # what is accepted, in words
        raise NotImplementedError

    def valid(self, value: Any) -> bool:
        raise NotImplementedError

    def documented(self) -> tuple[str, ...]:
        return self.examples + (("null",) if self.nullable else ())

    def accepted(self) -> str:
        return self.describe() + (" or null" if self.nullable else "")

    def check(self, key: str, value: Any) -> None:
        if value is None:
            if self.required:
                raise InputError(f"{key} is required: {self.doc}")
            if self.nullable:
                return
        if not self.valid(value):
            raise InputError(f"{key} must be {self.accepted()}, got {value!r}")


def _bound(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class Int(Spec):
    min: int | None = None
    max: int | None = None

    def describe(self) -> str:
        if self.min is not None and self.max is not None:
            return f"an integer from {self.min} to {self.max}"
        if self.min is not None:
            return f"an integer >= {self.min}"
        return "an integer"

    def valid(self, value: Any) -> bool:
        return (
            _is_int(value)
            and (self.min is None or value >= self.min)
            and (self.max is None or value <= self.max)
        )


@dataclass(frozen=True)
class Float(Spec):
    """A finite number (an int is accepted where a float is expected) within a range."""

    above: float | None = None  # exclusive lower bound
    min: float | None = None  # inclusive lower bound
    below: float | None = None  # exclusive upper bound

    def describe(self) -> str:
        if self.min is not None and self.below is not None:
            return f"a number in [{_bound(self.min)}, {_bound(self.below)})"
        if self.above is not None:
            return f"a number > {_bound(self.above)}"
        if self.min is not None:
            return f"a number >= {_bound(self.min)}"
        return "a number"

    def valid(self, value: Any) -> bool:
        return (
            _is_number(value)
            and (self.above is None or value > self.above)
            and (self.min is None or value >= self.min)
            and (self.below is None or value < self.below)
        )


@dataclass(frozen=True)
class Bool(Spec):
    examples: tuple[str, ...] = ("true", "false")

    def describe(self) -> str:
        return "true or false"

    def valid(self, value: Any) -> bool:
        return isinstance(value, bool)


@dataclass(frozen=True)
class Text(Spec):
    what: str = "a non-empty string"

    def describe(self) -> str:
        return self.what

    def valid(self, value: Any) -> bool:
        return isinstance(value, str) and bool(value.strip())


@dataclass(frozen=True)
class Choice(Spec):
    """One of a list of names, read from where the names are defined when checked.

    ``source`` returns the names; a name ending in ``:N`` (``cuda:N``) stands for
    that prefix and any index.
    """

    source: Callable[[], Sequence[str]] = tuple

    def choices(self) -> tuple[str, ...]:
        return tuple(self.source())

    def describe(self) -> str:
        return "one of: " + ", ".join(self.choices())

    def documented(self) -> tuple[str, ...]:
        names = [c.replace(":N", ":0") for c in self.choices()]
        return tuple(dict.fromkeys([*names, *self.examples]))

    def valid(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        for c in self.choices():
            if c.endswith(":N"):
                if re.fullmatch(re.escape(c[:-1]) + r"[0-9]+", value):
                    return True
            elif value == c:
                return True
        return False


@dataclass(frozen=True)
class List(Spec):
    """A list of ``length`` items, each checked by ``item`` (``names``: what each means)."""

    item: Spec = field(default_factory=lambda: Int(None))
    length: int = 2
    names: tuple[str, ...] = ()

    def describe(self) -> str:
        what = self.item.describe().removeprefix("an ").removeprefix("a ")
        what = what.replace("integer", "integers", 1).replace("number", "numbers", 1)
        names = f" [{', '.join(self.names)}]" if self.names else ""
        return f"a list of {self.length} {what}{names}"

    def valid(self, value: Any) -> bool:
        return (
            isinstance(value, list)
            and len(value) == self.length
            and all(self.item.valid(v) for v in value)
        )

    def check(self, key: str, value: Any) -> None:
        if isinstance(value, list) and len(value) == self.length:
            for i, v in enumerate(value):  # name the element that is wrong
                if not self.item.valid(v):
                    what = f" ({self.names[i]})" if i < len(self.names) else ""
                    raise InputError(
                        f"{key}[{i}]{what} must be {self.item.describe()}, got {v!r} "
                        f"(in {key}={value!r})"
                    )
        super().check(key, value)


@dataclass(frozen=True)
class Map(Spec):
    """A free mapping, checked by the component that uses it (see :data:`OPEN_SECTIONS`)."""

    def describe(self) -> str:
        return "a mapping ({key: value, ...})"

    def valid(self, value: Any) -> bool:
        return isinstance(value, Mapping)


def _optimizers() -> Sequence[str]:
    from rgb2depth.engine.trainer import OPTIMIZERS

    return OPTIMIZERS


def _schedulers() -> Sequence[str]:
    from rgb2depth.engine.trainer import SCHEDULERS

    return SCHEDULERS


def _amp_modes() -> Sequence[str]:
    from rgb2depth.engine.trainer import AMP_MODES

    return AMP_MODES


def _devices() -> Sequence[str]:
    from rgb2depth.devices import DEVICES

    return DEVICES


def _presets() -> Sequence[str]:
    from rgb2depth.data.transforms import PRESETS

    return list(PRESETS)


_STEPS = "an interval in steps (0: never)"

SPECS: dict[str, dict[str, Spec]] = {
    "data": {
        "root": Text(
            None,
            "the dataset folder (holding dataset.json)",
            ("data/faces", "outputs/data/faces-64"),
            required=True,
            what="a folder path",
        ),
        "train_split": Text("train", "split to train on", ("train",)),
        "val_split": Text("val", "split to validate on", ("val", "test")),
        "size": List(
            [64, 64],
            "(H, W) the network sees",
            ("[64, 64]", "[96, 128]", "[32, 32]"),
            item=Int(None, min=1),
            names=("H", "W"),
        ),
        "preset": Choice(
            "light_unet",
            "augmentation preset of rgb2depth.data.transforms.PRESETS",
            source=_presets,
        ),
        "grayscale": Bool(False, "convert the images to one channel"),
        "workers": Int(0, "DataLoader worker processes", ("0", "4"), min=0),
        "generate": Map(
            None,
            "{kind, n, size, seed, unpaired, framing, faces_version}: generate data.root "
            "if it is missing",
            ("{kind: faces, n: 100, size: 64, seed: 0}",),
            nullable=True,
        ),
    },
    "model": {
        "name": Text(
            "light_unet", "a network of rgb2depth.models", ("light_unet", "unet_baseline")
        ),
        "kwargs": Map({}, "the network's keyword settings", ("{}", "{channels: [4, 8, 8, 8, 8]}")),
        # local file of ImageNet weights for the network's encoder, loaded before
        # training (densenet_depth: a torchvision densenet121 state dict); null: none
        "encoder_weights": Text(
            None,
            "local file of ImageNet encoder weights (null: none)",
            ("weights/densenet121.safetensors",),
            nullable=True,
            what="a file path",
        ),
        # fine-tuning: every weight of the network starts from a trained model of the
        # same network and settings (a bundled name or a saved model folder)
        "init": Text(
            None,
            "start from a trained model's weights: a bundled name or model folder (null: none)",
            ("faces-light", "runs/mine/model"),
            nullable=True,
            what="a model name or folder",
        ),
    },
    "method": {
        "name": Text(
            "supervised",
            "the training method (e.g. supervised)",
            ("supervised", "depth_autoencoder"),
            required=True,
        ),
    },
    "train": {  # optimisation
        "optimizer": Choice("adam", "optimiser", source=_optimizers),
        "lr": Float(1e-4, "learning rate", ("1e-4", "2e-4", "5.0e-4", "0.001", "1"), above=0),
        "betas": List(
            [0.9, 0.999],
            "Adam's (beta1, beta2)",
            ("[0.9, 0.999]", "[0.5, 0.999]", "[0, 0.9]"),
            item=Float(None, min=0, below=1),
        ),
        "weight_decay": Float(0.0, "weight decay", ("0", "0.0", "1e-5"), min=0),
        "batch_size": Int(8, "samples per batch", ("8", "1", "32"), min=1),
        "grad_clip": Float(
            1.0,
            "max gradient norm; 0 or null turns clipping off",
            ("1.0", "0.5", "0"),
            nullable=True,
            min=0,
        ),
        # auto: bf16 or fp16 on CUDA, off on CPU
        "amp": Choice("auto", "mixed precision", source=_amp_modes),
        "device": Choice("auto", "where to train", ("cuda:1",), source=_devices),
        "seed": Int(
            0, "seeds the initial weights and the data order", ("0", "42"), min=0, max=2**32 - 1
        ),
    },
    "schedule": {
        # optimisation steps of the method (one step runs all its updates)
        "steps": Int(1000, "training steps", ("1000", "1", "6000"), min=1),
        "scheduler": Choice("constant", "learning-rate schedule", source=_schedulers),
        "warmup_steps": Int(0, "linear warm-up steps", ("0", "100"), min=0),
        # for scheduler=step: multiply lr by decay_factor every N steps
        "decay_every": Int(
            0, "for scheduler=step: decay every N steps (0: never)", ("0", "500"), min=0
        ),
        "decay_factor": Float(0.5, "for scheduler=step: lr multiplier", ("0.5", "0.1"), above=0),
    },
    "log": {
        "out": Text(
            "runs/run",
            "run folder: config, logs, checkpoints, exported model",
            ("runs/run", "runs/mine"),
            what="a folder path",
        ),
        "every": Int(10, f"scalars: {_STEPS}", ("10", "1", "0"), min=0),
        "val_every": Int(200, f"validation: {_STEPS}; always at the end", ("200", "0"), min=0),
        "ckpt_every": Int(200, f"checkpoints: {_STEPS}; always at the end", ("200", "0"), min=0),
        "keep_checkpoints": Int(2, "how many checkpoints to keep (0: all)", ("2", "0"), min=0),
        "images": Int(4, "validation samples written to TensorBoard", ("4", "0"), min=0),
        "val_max_images": Int(
            0, "cap on validation images (0: the whole split)", ("0", "100"), min=0
        ),
        "progress": Bool(True, "show a progress bar"),
    },
}
"""What every key accepts: type, range or choices, list length and item type, documented values."""

SCHEMA: dict[str, dict[str, Any]] = {
    section: {key: spec.default for key, spec in specs.items()} for section, specs in SPECS.items()
}
"""Every section and key, with its default (from :data:`SPECS`)."""

OPEN_SECTIONS = {("model", "kwargs"), ("data", "generate")}
"""Keys whose value is a free mapping (checked by the component that uses it)."""

RESUME_MAY_CHANGE = (
    "schedule.steps",
    "log.*",
    "data.workers",
    "train.device",
)
"""Keys that ``--resume`` lets change (``log.*``: every key of ``log``). Every other
key of the resolved config must equal the run's ``config.yaml``; ``schedule.steps``
may change only when the schedule does not depend on it (not ``cosine``) and not to
fewer steps than the checkpoint has done."""


_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


class _Loader(yaml.SafeLoader):
    """``yaml.safe_load`` with YAML 1.2 booleans and floats without a dot.

    Only ``true``/``false`` are booleans (YAML 1.1 also reads ``on``, ``off``, ``yes``,
    ``no``, ``y``, ``n`` as booleans, so ``train.amp=off`` would not be text), and
    ``2e-4`` is a float (YAML 1.1 reads it as text).
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """A mapping, refusing a key written twice (plain YAML keeps the last silently)."""
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, str) and key != "<<" and key in seen:
                raise InputError(
                    f"key {key!r} is given twice in one mapping (lines {seen[key]} and "
                    f"{line}); YAML would keep only the last: give it once"
                )
            if isinstance(key, str):
                seen[key] = line
        return super().construct_mapping(node, deep)


_Loader.yaml_implicit_resolvers = {  # SafeLoader's, less its YAML 1.1 booleans
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))
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
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise InputError(f"override {text!r}: the value is not valid YAML ({problem})") from None
    except InputError as e:
        raise InputError(f"override {text!r}: {e}") from None
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


def check_config(config: Mapping[str, Any]) -> None:
    """Check every key of :data:`SCHEMA` against its :data:`SPECS` entry (in schema order).

    Raises:
        InputError: the first key whose value is not accepted, e.g.
            ``"train.batch_size must be an integer >= 1, got 0"``.
    """
    for section, specs in SPECS.items():
        if not isinstance(config.get(section), Mapping):
            raise InputError(f"config section {section!r} must be a mapping")
        for key, spec in specs.items():
            spec.check(f"{section}.{key}", config[section].get(key))


def load_config(path: str | Path | None, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Read a YAML config, fill in the defaults, apply the overrides and check it.

    Args:
        path: a YAML file, or None for the defaults alone.
        overrides: ``key=value`` strings.

    Relative paths in a config (``data.root``, ``log.out``) are relative to the
    directory the command runs in, like every other path given to the CLI.

    Raises:
        InputError: a missing or malformed file, an unknown key, a value of the wrong
            type or out of range (:func:`check_config`).
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
        except InputError as e:
            raise InputError(f"{p}: {e}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, Mapping):
            raise InputError(f"{p}: expected a mapping of sections, got {type(loaded).__name__}")
        config = merge(config, loaded)
    config = apply_overrides(config, overrides)
    check_config(config)
    return config


def dump_config(config: Mapping[str, Any]) -> str:
    """The config as YAML text, sections in schema order."""
    return yaml.safe_dump(dict(config), sort_keys=False, default_flow_style=None)


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"lr": 1}}`` -> ``{"train.lr": 1}``: dotted keys of a nested config
    (an empty mapping stays a value)."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten_config(value, f"{path}."))
        else:
            out[path] = value
    return out
