"""A training run from a configuration: data, model, method, trainer, exported model.

:func:`train` is what ``rgb2depth train CONFIG`` calls. The run folder
(``log.out``) receives ``config.yaml`` (the resolved configuration, every key),
``log.csv``, ``tensorboard/``, ``checkpoints/`` and, at the end, ``model/``: the
deployable network as a saved model folder (``config.json`` + ``model.safetensors``)
that ``rgb2depth predict --model`` and :class:`rgb2depth.Predictor` load.

``--resume`` (``train(config, resume=True)``) continues the run in ``log.out`` from
its last checkpoint with the settings it was started with: the resolved config
(:func:`resolve_config`) must equal the run's ``config.yaml`` except for the keys of
:data:`rgb2depth.config.RESUME_MAY_CHANGE` (``schedule.steps``, ``log.*``,
``data.workers``, ``train.device``), which take their new values, so ``config.yaml``
always states the settings the run goes on with. Any other difference is refused
with one line naming each key with its old and new value.

Started by ``torchrun --nproc_per_node=N -m rgb2depth train CONFIG``, :func:`train`
runs the same training data-parallel over N processes
(:mod:`rgb2depth.engine.distributed`, docs/distributed.md): every process checks the
configuration alike, rank 0 generates missing data, writes the run folder and the
model, and ``train.batch_size`` is the global batch.
"""

from __future__ import annotations

import contextlib
import copy
import fnmatch
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from torch.utils.data import Dataset

from rgb2depth.config import (
    RESUME_MAY_CHANGE,
    check_config,
    dump_config,
    flatten_config,
    load_config,
)
from rgb2depth.data.format import DatasetInfo
from rgb2depth.data.io import atomic_path, check_writable
from rgb2depth.errors import InputError, check_keywords

if TYPE_CHECKING:
    from rgb2depth.data.transforms import Compose
    from rgb2depth.engine.distributed import Distributed
    from rgb2depth.methods import Method

__all__ = ["build_evaluator", "check_resume", "prepare_data", "resolve_config", "train"]


GENERATE_KEYS = ("kind", "n", "size", "seed", "unpaired", "framing", "faces_version")
"""What ``data.generate`` may set (the arguments of :func:`rgb2depth.data.synthetic.generate`
a config decides; where, progress and workers the run decides)."""


def will_generate(config: dict[str, Any]) -> bool:
    """Whether :func:`prepare_data` will generate ``data.root`` (it is missing, and
    ``data.generate`` says how)."""
    data = config["data"]
    return not (Path(data["root"]) / "dataset.json").is_file() and bool(data.get("generate"))


def build_method_and_transform(
    config: dict[str, Any],
    depth_units: str,
    depth_range: tuple[float, float],
    prepare_model: Callable[[torch.nn.Module], None] | None = None,
) -> tuple[Method, Compose]:
    """The run's network (``prepare_model`` loads weights into it), its method, and the
    training transform, each setting checked on the way (one-line InputErrors)."""
    from rgb2depth.data.transforms import build_transforms
    from rgb2depth.methods import MethodContext, build_method
    from rgb2depth.models import create_model

    data = config["data"]
    kwargs = config["model"]["kwargs"]
    check_image_to_depth(config["model"]["name"], kwargs, tuple(data["size"]))
    model = create_model(config["model"]["name"], **kwargs)
    if prepare_model is not None:
        prepare_model(model)
    context = MethodContext(
        in_channels=1 if data["grayscale"] else 3,
        depth_units=depth_units,
        depth_range=(float(depth_range[0]), float(depth_range[1])),
    )
    method = build_method(config["method"], model, context)
    method.check_size(*data["size"])
    transform = build_transforms(
        data["preset"], size=data["size"], depth_range=depth_range, grayscale=data["grayscale"]
    )
    return method, transform


def check_before_data(config: dict[str, Any]) -> None:
    """Build network, method and transform once with a provisional depth range, so that
    a bad setting among them fails in one line before minutes of data generation rather
    than after (no method or transform looks at the range when built)."""
    build_method_and_transform(config, "", (0.0, 1.0))


def prepare_data(config: dict[str, Any], *, progress: bool = True) -> DatasetInfo:
    """Make sure ``data.root`` exists (generating it if ``data.generate`` says how)."""
    from rgb2depth.data.format import read_info

    data = config["data"]
    root = Path(data["root"])
    if will_generate(config):
        from rgb2depth.data.synthetic import generate
        from rgb2depth.data.synthetic.generate import default_workers

        gen = dict(data["generate"])
        # what a config may set; the rest (where, progress, workers) the run decides
        check_keywords(gen, GENERATE_KEYS, "data.generate")
        kind = gen.pop("kind", None)
        if kind is None:
            raise InputError("data.generate needs a kind (faces, surfaces or rooms)")
        generate(kind, root, progress=progress, workers=default_workers(), **gen)
    info = read_info(root)
    _check_faces_version(data, info)
    return info


def _check_faces_version(data: dict[str, Any], info: DatasetInfo) -> None:
    """Refuse a ``data.root`` of synthetic faces of another version than ``data.generate``
    asks for (the folder exists, so it is not generated again: training would quietly use
    other faces). Folders written before versions were recorded hold version 1."""
    gen = data.get("generate") or {}
    made = info.extra.get("generator") or {}
    if gen.get("kind") != "faces" or made.get("kind") != "faces":
        return
    from rgb2depth.data.synthetic.faces import FACES_VERSION, check_faces_version

    want = check_faces_version(gen.get("faces_version", FACES_VERSION))
    have = made.get("faces_version", 1)
    if want != have:
        raise InputError(
            f"data.root {data['root']} holds faces of version {have}, but data.generate asks "
            f"for faces_version {want}; set data.generate.faces_version: {have}, or move that "
            "folder away so that the run generates the other version (or point data.root "
            "elsewhere)"
        )


def resolve_config(config: dict[str, Any]) -> dict[str, Any]:
    """The configuration as a run saves it: ``model.kwargs`` with ``in_channels`` (for a
    network that takes the image) and ``method`` with every option of the method (its
    defaults filled in).

    Resolving a resolved config changes nothing. An unknown method is left as it is
    (building the method reports it).
    """
    from rgb2depth.methods import METHODS, method_defaults

    out = copy.deepcopy(config)
    channels = 1 if out["data"]["grayscale"] else 3
    given = out["model"]["kwargs"].get("in_channels", channels)
    name = out["method"].get("name")
    takes_rgb = name not in METHODS or METHODS[name].predicts_depth_from_rgb
    if given != channels and takes_rgb:  # (a depth autoencoder's network takes depth)
        raise InputError(
            f"model.kwargs.in_channels={given} disagrees with data.grayscale="
            f"{str(out['data']['grayscale']).lower()} ({channels} channel(s)); set "
            f"model.kwargs.in_channels={channels} too, or leave it out (it follows data.grayscale)"
        )
    if takes_rgb:
        out["model"]["kwargs"] = {"in_channels": channels, **out["model"]["kwargs"]}
    if name in METHODS:
        out["method"] = {"name": name, **method_defaults(name), **out["method"]}
    return out


def _same(a: Any, b: Any) -> bool:
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def _show(value: Any) -> str:
    return "null" if value is None else repr(value)


_UNSET = object()


def check_resume(config: dict[str, Any], run_dir: Path) -> None:
    """Check that the resolved ``config`` may continue the run in ``run_dir``.

    Raises:
        InputError: no checkpoint or ``config.yaml`` to resume; keys other than those of
            :data:`~rgb2depth.config.RESUME_MAY_CHANGE` differ from ``config.yaml`` (the
            message names each with its old and new value); ``schedule.steps`` changed
            under a cosine schedule, or is below the checkpoint's step.
    """
    from rgb2depth.engine.checkpoint import latest_checkpoint

    last = latest_checkpoint(run_dir)
    if last is None:
        raise InputError(f"--resume: no checkpoint in {run_dir / 'checkpoints'}")
    saved_path = run_dir / "config.yaml"
    if not saved_path.is_file():
        raise InputError(
            f"--resume: {saved_path} is missing, so the run's settings cannot be checked"
        )
    try:
        saved = resolve_config(load_config(saved_path))
    except InputError as e:
        raise InputError(f"--resume: the run's {saved_path}: {e}") from None
    old, new = flatten_config(saved), flatten_config(config)
    changed = []
    for key in dict.fromkeys([*old, *new]):
        a, b = old.get(key, _UNSET), new.get(key, _UNSET)
        if _same(a, b):
            continue
        if key == "schedule.steps" and config["schedule"]["scheduler"] == "cosine":
            changed.append(f"{key} {_show(a)} -> {_show(b)} (the cosine schedule depends on it)")
        elif not any(fnmatch.fnmatchcase(key, pattern) for pattern in RESUME_MAY_CHANGE):
            shown = ["(unset)" if v is _UNSET else _show(v) for v in (a, b)]
            changed.append(f"{key} {shown[0]} -> {shown[1]}")
    if changed:
        raise InputError(
            f"--resume: {run_dir} continues with the settings it was started with, "
            f"but these differ from its config.yaml: {'; '.join(changed)} (on resume only "
            f"{', '.join(RESUME_MAY_CHANGE)} may change; start a new run in another "
            "log.out to change the others)"
        )
    match = re.fullmatch(r"step_(\d+)", last.name)
    done = int(match.group(1)) if match else 0
    if config["schedule"]["steps"] < done:
        raise InputError(
            f"--resume: schedule.steps={config['schedule']['steps']} is below the step of "
            f"the last checkpoint, {done} ({last}); give schedule.steps >= {done}"
        )


def check_data_kind(config: dict[str, Any], info: DatasetInfo) -> None:
    """Refuse a training split the method cannot use (an unpaired split for a paired
    method), naming the methods that can."""
    from rgb2depth.methods import METHODS

    split, name = config["data"]["train_split"], config["method"]["name"]
    if name not in METHODS or split not in info.splits or info.is_paired(split):
        return  # (an unpaired method takes a paired split too: it ignores the pairing)
    if METHODS[name].data == "paired":
        able = sorted(n for n, m in METHODS.items() if m.data == "unpaired")
        raise InputError(
            f"data.train_split {split!r} of {config['data']['root']} is unpaired (RGB and "
            f"depth of different samples), but method {name} trains on pairs; methods "
            f"for unpaired data: {', '.join(able) or 'none yet'}"
        )


def build_train_data(kind: str, root: str | Path, split: str, transform: Any) -> Dataset:
    """The training dataset a method declares: ``paired`` or ``unpaired`` samples."""
    from rgb2depth.data import PairedDepthDataset, UnpairedDepthDataset

    if kind == "paired":
        return PairedDepthDataset(root, split, transform=transform)
    if kind == "unpaired":
        return UnpairedDepthDataset(root, split, transform=transform)
    raise InputError(f"unknown method data kind {kind!r}; known: paired, unpaired")


def _rgb_uint8(rgb: torch.Tensor) -> np.ndarray:
    """(C, H, W) in [-1, 1] -> (H, W, 3) uint8."""
    x = ((rgb.float().clamp(-1, 1) + 1) * 127.5).round().byte().cpu()
    if x.shape[0] == 1:
        x = x.expand(3, -1, -1)
    return x.permute(1, 2, 0).numpy()


def build_evaluator(config: dict[str, Any], info: DatasetInfo):
    """Validation on ``data.val_split`` at the training size, in the dataset's units."""
    from torch.utils.data import DataLoader, Subset

    from rgb2depth.data import PairedDepthDataset
    from rgb2depth.data.transforms import build_transforms, depth_from_model_range
    from rgb2depth.evaluation import metric_settings
    from rgb2depth.metrics import DepthMetricAccumulator
    from rgb2depth.viz import colorize_depth

    data = config["data"]
    if not info.is_paired(data["val_split"]):
        return None
    transform = build_transforms(
        data["preset"],
        size=data["size"],
        depth_range=info.depth_range,
        grayscale=data["grayscale"],
        train=False,
    )
    ds: PairedDepthDataset | Subset = PairedDepthDataset(
        data["root"], data["val_split"], transform=transform
    )
    cap = config["log"]["val_max_images"]
    if cap:
        ds = Subset(ds, range(min(cap, len(ds))))
    if len(ds) == 0:
        return None
    loader = DataLoader(
        ds,
        batch_size=config["train"]["batch_size"],
        shuffle=False,
        generator=torch.Generator().manual_seed(0),  # leave the global RNG alone
    )
    n_images = config["log"]["images"]
    lo, hi = info.depth_range

    def evaluate(method, device):
        acc = DepthMetricAccumulator(**metric_settings(info.depth_range))
        images: dict[str, np.ndarray] = {}
        for batch in loader:
            batch = {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
            pred = method.predict(batch).float().clamp(-1, 1)
            pred_units = depth_from_model_range(pred, info.depth_range)
            gt_units = depth_from_model_range(batch["depth"].float(), info.depth_range)
            acc.update(pred_units, gt_units, mask=batch["mask"])
            for j in range(pred.shape[0]):
                if len(images) >= n_images:
                    break
                valid = batch["mask"][j, 0].cpu().numpy()
                gt = gt_units[j, 0].cpu().numpy()
                p = pred_units[j, 0].cpu().numpy()
                row = np.concatenate(
                    [
                        _rgb_uint8(batch["rgb"][j]),
                        colorize_depth(gt, valid, vmin=lo, vmax=hi),
                        colorize_depth(p, np.ones_like(valid), vmin=lo, vmax=hi),
                    ],
                    axis=1,
                )
                images[f"{batch['name'][j]} (rgb | gt | pred)"] = row
        return acc.compute(), images

    return evaluate


def check_image_to_depth(name: str, kwargs: dict[str, Any], size: tuple[int, int]) -> None:
    """Check, before anything is written, that the network ``name`` built with ``kwargs``
    maps one image of ``size`` (data.size, H x W) to a depth map of the same size, as
    the training methods and the Predictor need. The network runs on the meta device.

    Raises:
        InputError: the network is not image-to-depth (a critic, a discriminator, the
            Siamese network; the message lists those that are), or it refuses ``size``
            (the message names the valid multiple).
    """
    from rgb2depth.models import image_to_depth_models, image_to_depth_probe

    probe = image_to_depth_probe(name, **kwargs)
    if probe is None:
        raise InputError(
            f"model.name {name}: not an image-to-depth network (it does not map one image "
            f"to a depth map of the image's size); training needs one of: "
            + ", ".join(image_to_depth_models())
        )
    h, w = size
    try:
        probe(torch.empty(1, cast(int, probe.in_channels), h, w, device="meta"))
    except InputError as exc:
        raise InputError(f"data.size {h}x{w}: {exc}") from None


def load_encoder_weights(model: torch.nn.Module, name: str, path: str | Path) -> None:
    """Load pretrained encoder weights from the local file ``path`` into ``model``.

    Raises:
        InputError: the network has no pretrained encoder to load (the message names
            those that have one), or the file is missing or not of the expected layout.
    """
    from rgb2depth.models import get_entry, list_models

    loader = getattr(model, "load_imagenet_encoder", None)
    if loader is None:
        able = [n for n in list_models() if hasattr(get_entry(n).builder, "load_imagenet_encoder")]
        raise InputError(
            f"model.encoder_weights: {name} has no pretrained encoder to load; "
            f"networks that take one: {', '.join(able) or 'none'}"
        )
    loader(path)


def initial_weights(config: dict[str, Any]) -> dict[str, torch.Tensor] | None:
    """The weights ``model.init`` names, checked against ``model.name`` and ``model.kwargs``.

    Returns:
        The state dict to start from, or None when ``model.init`` is null.

    Raises:
        InputError: an unknown model or broken folder, or a model of another network or
            other settings (the message shows both).
    """
    from rgb2depth.inference.predictor import find_model_folder
    from rgb2depth.models import get_entry, load_model_folder
    from rgb2depth.models.pretrained import saved_settings

    init = config["model"]["init"]
    if init is None:
        return None
    try:
        folder = find_model_folder(init)
    except InputError as e:
        raise InputError(f"model.init: {e}") from None
    net, saved = load_model_folder(folder)

    def settings(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:  # defaults filled in
        return cast(dict[str, Any], json.loads(json.dumps({**get_entry(name).defaults, **kwargs})))

    want = (config["model"]["name"], settings(config["model"]["name"], config["model"]["kwargs"]))
    name = saved["model"]["name"]
    got = (name, settings(name, saved_settings(saved["model"])))
    if got != want:
        raise InputError(
            f"model.init: {init} is {got[0]} with settings {got[1]}, but this run trains "
            f"{want[0]} with settings {want[1]}; they must be the same network"
        )
    return net.state_dict()


def _write_config(run_dir: Path, config: dict[str, Any]) -> None:
    """Create the run folder and write ``config.yaml``; a refusal is the user's to fix."""
    created = not run_dir.exists()
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(run_dir / "config.yaml") as tmp:
            tmp.write_text(dump_config(config), encoding="utf-8")
    except OSError as e:
        if created:
            with contextlib.suppress(OSError):
                run_dir.rmdir()
        raise InputError(f"cannot write log.out {run_dir}: {e.strerror or e}") from None


def train(config: dict[str, Any], *, resume: bool = False, progress: bool = True) -> dict[str, Any]:
    """Run the training that ``config`` describes; return a summary.

    In a process started by ``torchrun`` (``WORLD_SIZE`` > 1 in the environment) the
    run is distributed over its processes (see the module docstring).

    Returns:
        ``{"run_dir", "model_dir", "metrics", "steps", "predicts_depth_from_rgb",
        "rank", "world_size"}`` (``metrics`` on rank 0 only; the others' are empty).

    Raises:
        InputError: any problem with the configuration, data, checkpoint or run folder
            (all found before the run folder is created or changed).
        FloatingPointError: training diverged (the message says what to change).
    """
    from rgb2depth.engine.distributed import session

    check_config(config)  # (load_config did; a config built in Python is checked here)
    # The resolved configuration: every key, including the method's defaults.
    config = resolve_config(config)
    with session(config["train"]["device"]) as (ctx, device):
        return _train(config, ctx, device, resume=resume, progress=progress)


def _train(
    config: dict[str, Any], ctx: Distributed, device: str, *, resume: bool, progress: bool
) -> dict[str, Any]:
    """:func:`train` in one process of ``ctx`` (a resolved config), on ``device``."""
    from rgb2depth.engine.distributed import barrier
    from rgb2depth.engine.settings import TrainSettings
    from rgb2depth.engine.trainer import Trainer
    from rgb2depth.models import count_parameters, save_model_folder

    main = ctx.is_main
    progress = progress and main
    run_dir = Path(config["log"]["out"])
    check_writable(run_dir, what="log.out", hint="log.out must be a folder that can be created")
    ckpts = run_dir / "checkpoints"
    if resume:
        check_resume(config, run_dir)
    elif ckpts.is_dir() and any(ckpts.iterdir()):
        raise InputError(
            f"{run_dir} already holds a run; use --resume to continue it, or choose another log.out"
        )
    init_state = None if resume else initial_weights(config)
    if will_generate(config):
        check_before_data(config)
    if main:  # rank 0 generates missing data; the others wait, then read it
        info = prepare_data(config, progress=progress)
    barrier(ctx)
    if not main:
        info = prepare_data(config, progress=False)
    check_data_kind(config, info)
    data = config["data"]
    channels = 1 if data["grayscale"] else 3
    torch.manual_seed(config["train"]["seed"])
    kwargs = config["model"]["kwargs"]

    def prepare_model(model: torch.nn.Module) -> None:
        if config["model"]["encoder_weights"] and not resume:
            load_encoder_weights(model, config["model"]["name"], config["model"]["encoder_weights"])
        if init_state is not None:
            model.load_state_dict(init_state)

    method, transform = build_method_and_transform(
        config, info.depth_units, info.depth_range, prepare_model
    )
    train_ds = method.train_data(data["root"], data["train_split"], transform)
    t = config["train"]
    trainer = Trainer(
        method,
        train_ds,
        run_dir,
        settings=TrainSettings.from_config(
            config, progress=progress and config["log"]["progress"], device=device
        ),
        evaluator=build_evaluator(config, info),  # (checked everywhere, run on rank 0)
        dist=ctx,
    )
    # Everything is checked (on resume, the checkpoint has loaded too); only then does
    # the run folder appear, or its config.yaml change.
    metrics = trainer.fit(resume=resume, on_start=lambda: _write_config(run_dir, config))
    model_dir = run_dir / "model"
    summary = {
        "run_dir": run_dir,
        "model_dir": model_dir,
        "metrics": metrics,
        "steps": trainer.step,
        "predicts_depth_from_rgb": method.predicts_depth_from_rgb,
        "rank": ctx.rank,
        "world_size": ctx.world_size,
    }
    if not main:
        barrier(ctx)  # until rank 0 has written the model
        return summary
    save_model_folder(
        model_dir,
        method.model.cpu(),
        name=config["model"]["name"],
        kwargs=kwargs,
        meta={
            "depth": {"units": info.depth_units, "range": list(info.depth_range)},
            "input": {
                "size": list(data["size"]),
                "channels": channels,
                "grayscale": bool(data["grayscale"]),
                "framing": info.extra.get("generator", {}).get("framing", "full"),
            },
            "trained": {
                "method": config["method"],
                "init": config["model"]["init"],
                "dataset": info.name,
                "dataset_kind": info.kind,
                "steps": trainer.step,
                "batch_size": t["batch_size"],
                "processes": ctx.world_size,
                # CPU threads per process (of the process that finished the run): the
                # thread count changes the trained weights; on one thread a run repeats
                "threads": torch.get_num_threads(),
                "parameters": count_parameters(method.model),
                "val_metrics": metrics,
            },
        },
        overwrite=True,
    )
    barrier(ctx)
    return summary
