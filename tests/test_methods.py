"""Tests generated from the method registry: every method trains on tiny data.

For each registered method, its ``example`` (a tiny network and options) runs a few
steps with the real trainer on 32x32 synthetic faces (paired, or unpaired for the
methods that declare it): every loss is finite, every network it trains changes, and
a run resumed from a checkpoint ends bit-identical to the uninterrupted one.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from rgb2depth.engine.run import resolve_config
from rgb2depth.engine.trainer import Trainer
from rgb2depth.methods import METHODS, MethodContext, build_method, example_sections

NAMES = sorted(METHODS)


@pytest.fixture(scope="module")
def unpaired_faces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from rgb2depth.data.synthetic import generate

    root = tmp_path_factory.mktemp("unpaired") / "faces"
    generate("faces", root, n=24, size=32, seed=0, unpaired=True, progress=False)
    return root


def build(name: str, root: Path, run_dir: Path, **settings: Any) -> Trainer:
    """The method's example run on ``root``, built as ``rgb2depth train`` builds it."""
    from rgb2depth.config import SCHEMA
    from rgb2depth.data.format import read_info
    from rgb2depth.data.transforms import build_transforms
    from rgb2depth.models import create_model

    sections = example_sections(name, root)
    config: dict[str, Any] = {k: dict(v) for k, v in SCHEMA.items()}
    config["data"].update(sections["data"])
    config["model"] = {"encoder_weights": None, **sections["model"]}
    config["method"] = sections["method"]
    config = resolve_config(config)
    info = read_info(root)
    torch.manual_seed(0)
    model = create_model(config["model"]["name"], **config["model"]["kwargs"])
    context = MethodContext(
        in_channels=1 if config["data"]["grayscale"] else 3,
        depth_units=info.depth_units,
        depth_range=(float(info.depth_range[0]), float(info.depth_range[1])),
    )
    method = build_method(config["method"], model, context)
    transform = build_transforms(
        config["data"]["preset"],
        size=config["data"]["size"],
        depth_range=info.depth_range,
        grayscale=config["data"]["grayscale"],
    )
    data = method.train_data(root, "train", transform)
    return Trainer(
        method,
        data,
        run_dir,
        batch_size=2,
        lr=1e-3,
        device="cpu",
        log_every=1,
        val_every=0,
        progress=False,
        tensorboard=False,
        **settings,
    )


def data_for(name: str, tiny_faces: Path, unpaired_faces: Path) -> Path:
    return unpaired_faces if METHODS[name].data == "unpaired" else tiny_faces


def test_every_method_has_an_example_and_a_data_kind() -> None:
    for name, cls in METHODS.items():
        assert cls.data in ("paired", "unpaired"), name
        assert "model" in cls.example, f"{name} has no example network for these tests"


@pytest.mark.parametrize("name", NAMES)
def test_method_trains_every_network_with_finite_losses(
    name: str, tiny_faces: Path, unpaired_faces: Path, tmp_path: Path
) -> None:
    trainer = build(name, data_for(name, tiny_faces, unpaired_faces), tmp_path, steps=3)
    before = {
        net: {k: v.detach().clone() for k, v in module.state_dict().items()}
        for net, module in trainer.method.networks().items()
    }
    trainer.fit()
    for net, module in trainer.method.networks().items():
        after = module.state_dict()
        changed = [k for k, v in before[net].items() if not torch.equal(v, after[k])]
        assert changed, f"{name}: network {net!r} did not change"
    with (tmp_path / "log.csv").open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["phase"] == "train"]
    assert {int(r["step"]) for r in rows} == {1, 2, 3}
    assert any(r["name"].endswith("loss") for r in rows)
    for r in rows:
        assert math.isfinite(float(r["value"])), (name, r)


@pytest.mark.parametrize("name", NAMES)
def test_method_resumes_to_the_uninterrupted_result(
    name: str, tiny_faces: Path, unpaired_faces: Path, tmp_path: Path
) -> None:
    root = data_for(name, tiny_faces, unpaired_faces)
    whole = build(name, root, tmp_path / "whole", steps=4)
    whole.fit()
    first = build(name, root, tmp_path / "cut", steps=2, ckpt_every=2)
    first.fit()
    resumed = build(name, root, tmp_path / "cut", steps=4, ckpt_every=2)
    resumed.fit(resume=True)
    a, b = whole.method.state_dict(), resumed.method.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), (name, k)


@pytest.mark.parametrize("name", NAMES)
def test_every_optimisation_step_logs_its_gradient_norm(
    name: str, tiny_faces: Path, unpaired_faces: Path, tmp_path: Path
) -> None:
    trainer = build(name, data_for(name, tiny_faces, unpaired_faces), tmp_path, steps=2)
    trainer.fit()
    with (tmp_path / "log.csv").open(encoding="utf-8") as f:
        rows = {(int(r["step"]), r["name"]): float(r["value"]) for r in csv.DictReader(f)}
    steps = trainer.method.optim_steps()
    names = ["grad_norm"] if len(steps) == 1 else [f"{s.name}/grad_norm" for s in steps]
    for step in (1, 2):
        for key in names:
            value = rows[(step, key)]
            assert math.isfinite(value) and value > 0, (name, step, key, value)


def test_logged_gradient_norm_is_taken_before_clipping(tiny_faces: Path, tmp_path: Path) -> None:
    norms = []
    for clip in (0.0, 1e-6):
        build("supervised", tiny_faces, tmp_path / str(clip), steps=1, grad_clip=clip).fit()
        with (tmp_path / str(clip) / "log.csv").open(encoding="utf-8") as f:
            norms += [float(r["value"]) for r in csv.DictReader(f) if r["name"] == "grad_norm"]
    assert len(norms) == 2 and norms[0] > 1e-3
    assert norms[0] == pytest.approx(norms[1], rel=1e-6)


class _Offset(torch.nn.Module):
    """A depth "network": a fixed function of the image plus a learnable constant."""

    def __init__(self) -> None:
        super().__init__()
        self.offset = torch.nn.Parameter(torch.zeros(()))

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return 0.3 * rgb[:, :1] + self.offset


def _supervised(**options: Any) -> Any:
    context = MethodContext(in_channels=3, depth_units="mm", depth_range=(500.0, 1800.0))
    return build_method({"name": "supervised", **options}, _Offset(), context)


def test_supervised_align_median_sees_the_relief_not_the_distance() -> None:
    """align: median makes the loss blind to the prediction's distance (a shift), so only
    the anchor term moves the offset; without it, the offset takes the L1 gradient."""
    g = torch.Generator().manual_seed(0)
    batch = {
        "rgb": torch.rand(2, 3, 16, 16, generator=g) * 2 - 1,
        "depth": torch.rand(2, 1, 16, 16, generator=g) * 0.4 - 0.5,
        "mask": torch.rand(2, 1, 16, 16, generator=g) > 0.2,
    }
    method = _supervised(align="median", anchor_weight=0.0)
    losses = []
    for offset in (0.0, 0.7):
        method.model.offset.data.fill_(offset)
        total, _ = method.loss("model", batch)
        losses.append(float(total.detach()))
    assert losses[0] == pytest.approx(losses[1], abs=1e-6)
    total, _ = method.loss("model", batch)
    total.backward()
    assert abs(float(method.model.offset.grad)) < 1e-6
    anchored = _supervised(align="median", anchor_weight=0.1)
    anchored.model.offset.data.fill_(0.7)
    total, terms = anchored.loss("model", batch)
    total.backward()
    assert anchored.model.offset.grad > 0 and terms["anchor_l1"] > 0
    plain = _supervised()
    plain.model.offset.data.fill_(0.7)
    assert float(plain.loss("model", batch)[0].detach()) > losses[1]


def test_behind_loss_pushes_only_the_background_behind_the_subject() -> None:
    """behind_loss is the mean shortfall of the pixels without depth from the farthest
    valid depth of their own sample; background already behind costs nothing."""
    from rgb2depth.methods.supervised import behind_loss

    target = torch.zeros(2, 1, 4, 4)
    mask = torch.zeros(2, 1, 4, 4, dtype=torch.bool)
    target[0, 0, :2], mask[0, 0, :2] = 0.5, True  # sample 0: far 0.5, 8 pixels outside
    target[1, 0, :, :2], mask[1, 0, :, :2] = -0.2, True  # sample 1: far -0.2
    pred = torch.zeros(2, 1, 4, 4, requires_grad=True)
    loss = behind_loss(pred, target, mask)
    loss.backward()
    assert float(loss.detach()) == pytest.approx(
        0.5 * 8 / 16
    )  # only sample 0's background falls short
    grad = pred.grad
    assert grad is not None
    assert torch.all(grad[mask] == 0) and torch.all(grad[1] == 0)
    assert torch.all(grad[0][~mask[0]] < 0)  # raising the prediction lowers the loss
    assert float(behind_loss(pred.detach() + 1.0, target, mask)) == 0.0
    assert float(behind_loss(pred.detach(), target, torch.ones_like(mask))) == 0.0
    no_subject = mask.clone()
    no_subject[1] = False  # sample 1 has no valid pixel: its background is not counted
    assert float(behind_loss(pred.detach(), target, no_subject)) == pytest.approx(0.5)


def test_supervised_behind_weight_adds_the_term() -> None:
    g = torch.Generator().manual_seed(0)
    batch = {
        "rgb": torch.rand(2, 3, 16, 16, generator=g) * 2 - 1,
        "depth": torch.rand(2, 1, 16, 16, generator=g) * 0.4 + 0.5,
        "mask": torch.rand(2, 1, 16, 16, generator=g) > 0.5,
    }
    for align in ("none", "median"):
        plain, _ = _supervised(align=align).loss("model", batch)
        total, terms = _supervised(align=align, behind_weight=2.0).loss("model", batch)
        assert terms["behind"] > 0
        assert float(total.detach()) == pytest.approx(
            float(plain.detach()) + 2.0 * terms["behind"], rel=1e-5
        )


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"align": "mean"}, "method.align must be one of none, median"),
        ({"anchor_weight": -1}, "method.anchor_weight must be a number >= 0"),
        ({"behind_weight": "yes"}, "method.behind_weight must be a number >= 0"),
        ({"anchor_weight": float("inf")}, "method.anchor_weight must be a number >= 0"),
    ],
)
def test_supervised_refuses_bad_alignment_options(options: dict, fragment: str) -> None:
    from rgb2depth.errors import InputError

    with pytest.raises(InputError, match=fragment):
        _supervised(**options)


@pytest.mark.parametrize("name", NAMES)
def test_example_sections_keep_the_examples_size_and_channels(name: str, tmp_path: Path) -> None:
    from rgb2depth.config import load_config

    example = METHODS[name].example
    sections = example_sections(name, tmp_path)
    assert sections["data"]["root"] == str(tmp_path)
    assert sections["data"]["size"] == list(example.get("size", [32, 32]))
    assert sections["data"]["grayscale"] is bool(example.get("grayscale", False))
    assert sections["model"]["name"] == example["model"]["name"]
    assert sections["method"]["name"] == name
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(sections), encoding="utf-8")
    assert load_config(path)["data"]["grayscale"] == sections["data"]["grayscale"]
    # seed 001's cGAN is the gray-faces method
    if name == "cgan":
        assert sections["data"]["grayscale"] is True
