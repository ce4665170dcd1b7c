"""A training run from a configuration: data, model, method, trainer, exported model.

:func:`train` is what ``rgb2depth train CONFIG`` calls. The run folder
(``log.out``) receives ``config.yaml`` (the resolved configuration, every key),
``log.csv``, ``tensorboard/``, ``checkpoints/`` and, at the end, ``model/``: the
deployable network as a saved model folder (``config.json`` + ``model.safetensors``)
that ``rgb2depth predict --model`` and :class:`rgb2depth.Predictor` load.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rgb2depth.config import dump_config
from rgb2depth.data.format import DatasetInfo
from rgb2depth.data.io import atomic_path
from rgb2depth.errors import InputError, check_keywords

__all__ = ["build_evaluator", "prepare_data", "train"]


def prepare_data(config: dict[str, Any], *, progress: bool = True) -> DatasetInfo:
    """Make sure ``data.root`` exists (generating it if ``data.generate`` says how)."""
    from rgb2depth.data.format import read_info

    data = config["data"]
    root = Path(data["root"])
    if not (root / "dataset.json").is_file() and data.get("generate"):
        from rgb2depth.data.synthetic import generate
        from rgb2depth.data.synthetic.generate import default_workers

        gen = dict(data["generate"])
        kind = gen.pop("kind", None)
        if kind is None:
            raise InputError("data.generate needs a kind (faces, surfaces or rooms)")
        # what a config may set; the rest (where, progress, workers) the run decides
        check_keywords(gen, ("n", "size", "seed", "unpaired"), "data.generate")
        generate(kind, root, progress=progress, workers=default_workers(), **gen)
    return read_info(root)


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
    ds = PairedDepthDataset(data["root"], data["val_split"], transform=transform)
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
        probe(torch.empty(1, probe.in_channels, h, w, device="meta"))
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


def train(config: dict[str, Any], *, resume: bool = False, progress: bool = True) -> dict[str, Any]:
    """Run the training that ``config`` describes; return a summary.

    Returns:
        ``{"run_dir", "model_dir", "metrics", "steps", "predicts_depth_from_rgb"}``.

    Raises:
        InputError: any problem with the configuration, data or checkpoint.
    """
    from rgb2depth.data import PairedDepthDataset
    from rgb2depth.data.transforms import build_transforms
    from rgb2depth.engine.trainer import Trainer
    from rgb2depth.methods import MethodContext, build_method, method_defaults
    from rgb2depth.models import count_parameters, create_model, save_model_folder

    config = copy.deepcopy(config)
    run_dir = Path(config["log"]["out"])
    ckpts = run_dir / "checkpoints"
    if not resume and ckpts.is_dir() and any(ckpts.iterdir()):
        raise InputError(
            f"{run_dir} already holds a run; use --resume to continue it, or choose another log.out"
        )
    info = prepare_data(config, progress=progress)
    data = config["data"]
    channels = 1 if data["grayscale"] else 3
    torch.manual_seed(config["train"]["seed"])
    kwargs = {"in_channels": channels, **config["model"]["kwargs"]}
    check_image_to_depth(config["model"]["name"], kwargs, tuple(data["size"]))
    model = create_model(config["model"]["name"], **kwargs)
    if config["model"]["encoder_weights"] and not resume:
        load_encoder_weights(model, config["model"]["name"], config["model"]["encoder_weights"])
    context = MethodContext(
        in_channels=channels, depth_units=info.depth_units, depth_range=tuple(info.depth_range)
    )
    method = build_method(config["method"], model, context)
    # The resolved configuration: every key, including the method's defaults.
    config["method"] = {"name": method.name, **method_defaults(method.name), **config["method"]}
    config["model"]["kwargs"] = kwargs
    transform = build_transforms(
        data["preset"],
        size=data["size"],
        depth_range=info.depth_range,
        grayscale=data["grayscale"],
    )
    train_ds = PairedDepthDataset(data["root"], data["train_split"], transform=transform)

    t, s, lg = config["train"], config["schedule"], config["log"]
    trainer = Trainer(
        method,
        train_ds,
        run_dir,
        evaluator=build_evaluator(config, info),
        steps=s["steps"],
        batch_size=t["batch_size"],
        lr=t["lr"],
        betas=tuple(t["betas"]),
        weight_decay=t["weight_decay"],
        optimizer=t["optimizer"],
        grad_clip=t["grad_clip"],
        amp=t["amp"],
        device=t["device"],
        seed=t["seed"],
        scheduler=s["scheduler"],
        warmup_steps=s["warmup_steps"],
        decay_every=s["decay_every"],
        decay_factor=s["decay_factor"],
        log_every=lg["every"],
        val_every=lg["val_every"],
        ckpt_every=lg["ckpt_every"],
        keep_checkpoints=lg["keep_checkpoints"],
        workers=data["workers"],
        progress=progress and lg["progress"],
    )
    # Everything is checked; only now does the run folder appear.
    run_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(run_dir / "config.yaml") as tmp:
        tmp.write_text(dump_config(config), encoding="utf-8")
    metrics = trainer.fit(resume=resume)
    model_dir = run_dir / "model"
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
            },
            "trained": {
                "method": config["method"],
                "dataset": info.name,
                "dataset_kind": info.kind,
                "steps": trainer.step,
                "batch_size": t["batch_size"],
                "parameters": count_parameters(method.model),
                "val_metrics": metrics,
            },
        },
        overwrite=True,
    )
    return {
        "run_dir": run_dir,
        "model_dir": model_dir,
        "metrics": metrics,
        "steps": trainer.step,
        "predicts_depth_from_rgb": method.predicts_depth_from_rgb,
    }
