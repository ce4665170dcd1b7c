"""The adversarial methods ``cgan`` (seed 001) and ``pix2pix`` (seed 002).

What tests/test_methods.py does not check: which step updates which network, the
generator loss as ``BCE + lambda * pixel`` term by term, the label convention (1 = real),
what the discriminator sees at invalid pixels, and the one-line errors for bad options.
Networks are tiny (16x16 gray for cgan; 256x256 with base width 2 for pix2pix, the
smallest size its fixed 8-level U-Net accepts), so each test takes well under a second.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from rgb2depth.engine.trainer import Trainer
from rgb2depth.errors import InputError
from rgb2depth.methods import MethodContext, build_method
from rgb2depth.methods.adversarial import D_STEP, G_STEP
from rgb2depth.models import create_model

GEN = {
    "cgan": (
        "face_cgan_generator",
        {"encoder_widths": [4, 8, 8, 8], "decoder_widths": [8, 8, 4, 4]},
    ),
    "pix2pix": ("pix2pix_unet", {"base_width": 2}),
}
DISC_KWARGS = {
    "cgan": {"widths": [4, 8, 8, 8], "image_size": 16},
    "pix2pix": {"base_width": 2},
}
SIZE = {"cgan": 16, "pix2pix": 256}
CHANNELS = {"cgan": 1, "pix2pix": 3}
PIXEL = {"cgan": ("mse", "lambda_mse"), "pix2pix": ("l1", "lambda_l1")}
NAMES = sorted(GEN)


def context(name: str) -> MethodContext:
    return MethodContext(in_channels=CHANNELS[name], depth_units="m", depth_range=(0.5, 10.0))


def make(name: str, **options: Any):
    torch.manual_seed(0)
    model_name, kwargs = GEN[name]
    model = create_model(model_name, in_channels=CHANNELS[name], **kwargs)
    section = {"name": name, "discriminator_kwargs": DISC_KWARGS[name], **options}
    return build_method(section, model, context(name))


def batch(name: str, n: int = 2, seed: int = 1) -> dict[str, Any]:
    """A batch by the data contract: depth in [-1, 1], +1 at invalid pixels."""
    g = torch.Generator().manual_seed(seed)
    s = SIZE[name]
    rgb = torch.rand(n, CHANNELS[name], s, s, generator=g) * 2 - 1
    mask = torch.rand(n, 1, s, s, generator=g) > 0.25
    depth = torch.where(mask, torch.rand(n, 1, s, s, generator=g) * 2 - 1, torch.ones(()))
    return {"rgb": rgb, "depth": depth, "mask": mask}


class Samples(torch.utils.data.Dataset):
    def __init__(self, name: str) -> None:
        b = batch(name, n=4)
        self.items = [{k: v[i] for k, v in b.items()} for i in range(4)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.items[i]


class Fixed(nn.Module):
    """A stand-in discriminator: constant logits, or +/- ``level`` for the real depth map,
    recording what it was given."""

    def __init__(self, value: float = 0.0, *, real: torch.Tensor | None = None, level=0.0):
        super().__init__()
        self.value, self.real, self.level = value, real, level
        self.seen: list[torch.Tensor] = []
        self.weight = nn.Parameter(torch.zeros(()))  # something to freeze

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        depth = x if y is None else y
        self.seen.append(depth.detach().clone())
        value = self.value
        if self.real is not None:
            value = self.level if torch.equal(depth, self.real) else -self.level
        return torch.full((depth.shape[0], 1), float(value)) + 0 * self.weight


def params(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def unchanged(before: dict[str, torch.Tensor], module: nn.Module) -> bool:
    return all(torch.equal(before[k], v) for k, v in module.named_parameters())


# ---------------------------------------------------------------- which step updates what


@pytest.mark.parametrize("name", NAMES)
def test_steps_are_discriminator_then_generator_with_their_own_parameters(name: str) -> None:
    method = make(name)
    d, g = method.optim_steps()
    assert (d.name, g.name) == (D_STEP, G_STEP)
    assert {id(p) for p in d.parameters} == {id(p) for p in method.discriminator.parameters()}
    assert {id(p) for p in g.parameters} == {id(p) for p in method.model.parameters()}
    assert set(method.networks()) == {"model", "discriminator"}


@pytest.mark.parametrize("name", NAMES)
def test_discriminator_loss_gives_the_generator_no_gradient(name: str) -> None:
    method = make(name)
    method.train()
    loss, _ = method.loss(D_STEP, batch(name))  # every parameter requires grad here
    loss.backward()
    assert all(p.grad is None for p in method.model.parameters())
    assert any(
        p.grad is not None and p.grad.abs().sum() > 0 for p in method.discriminator.parameters()
    )


@pytest.mark.parametrize("name", NAMES)
def test_adversarial_term_alone_reaches_the_generator(name: str) -> None:
    method = make(name, **{PIXEL[name][1]: 0.0})
    method.train()
    loss, _ = method.loss(G_STEP, batch(name))
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in method.model.parameters())


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("frozen", [0, 1])  # 0: the discriminator's optimizer has lr 0
def test_one_trainer_step_changes_only_the_network_of_each_step(
    name: str, frozen: int, tmp_path
) -> None:
    """With one step's learning rate at 0, its network ends the training step with exactly
    the weights it started with (parameters; BatchNorm running statistics do move in any
    forward pass) while the other network changes: no step updates the other's weights."""
    method = make(name)
    trainer = Trainer(
        method,
        Samples(name),
        tmp_path,
        steps=1,
        batch_size=2,
        lr=1e-3,
        device="cpu",
        log_every=0,
        val_every=0,
        ckpt_every=0,
        progress=False,
        tensorboard=False,
    )
    for group in trainer.optimizers[frozen].param_groups:
        group["lr"] = 0.0
    nets = [method.discriminator, method.model]
    before = [params(n) for n in nets]
    trainer._train_step(iter(torch.utils.data.DataLoader(Samples(name), batch_size=2)))
    assert unchanged(before[frozen], nets[frozen])
    assert not unchanged(before[1 - frozen], nets[1 - frozen])


# ---------------------------------------------------------------- the generator's loss


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("logit", [-1.5, 0.0, 2.0])
def test_generator_loss_is_bce_plus_lambda_times_pixel_term(name: str, logit: float) -> None:
    weight = 7.0
    pixel_name, key = PIXEL[name]
    method = make(name, **{key: weight})
    method.discriminator = Fixed(logit)
    method.eval()  # deterministic generator (no dropout), so G(x) can be recomputed
    b = batch(name)
    loss, terms = method.loss(G_STEP, b)
    pred = method.model(b["rgb"]).detach()
    err = (pred - b["depth"])[b["mask"]]
    pixel = err.square().mean() if pixel_name == "mse" else err.abs().mean()
    bce = math.log1p(math.exp(-logit))  # -log sigmoid(logit): the label 1 = real
    assert float(loss.detach()) == pytest.approx(bce + weight * float(pixel), abs=1e-6, rel=1e-6)
    assert terms["adv"] == pytest.approx(bce, abs=1e-6)
    assert terms[pixel_name] == pytest.approx(float(pixel), abs=1e-6)
    assert terms["d_fake"] == pytest.approx(1 / (1 + math.exp(-logit)), abs=1e-6)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("fill", [True, False])
def test_discriminator_sees_invalid_pixels_as_the_real_maps_hold_them(
    name: str, fill: bool
) -> None:
    method = make(name, fill_invalid=fill)
    method.discriminator = Fixed(0.0)
    method.eval()
    b = batch(name)
    method.loss(G_STEP, b)
    seen = method.discriminator.seen[-1]
    pred = method.model(b["rgb"]).detach()
    assert torch.equal(seen[b["mask"]], pred[b["mask"]])
    if fill:
        assert torch.all(seen[~b["mask"]] == 1.0)  # as the real depth: +1 where invalid
    else:
        assert torch.equal(seen, pred)


# ---------------------------------------------------------------- labels


@pytest.mark.parametrize("name", NAMES)
def test_discriminator_loss_is_low_when_it_scores_real_high_and_fake_low(name: str) -> None:
    b = batch(name)
    losses = {}
    for level in (4.0, -4.0):  # +4: real maps get logit +4, generated ones -4
        method = make(name)
        method.discriminator = Fixed(real=b["depth"], level=level)
        loss, terms = method.loss(D_STEP, b)
        losses[level] = float(loss.detach())
        assert terms["d_real"] == pytest.approx(1 / (1 + math.exp(-level)), abs=1e-6)
        assert terms["d_fake"] == pytest.approx(1 / (1 + math.exp(level)), abs=1e-6)
    assert losses[4.0] < 0.05 < 3.0 < losses[-4.0]
    # and the generator's adversarial term is low when its fakes are scored as real
    method = make(name)
    method.discriminator = Fixed(4.0)
    low = method.loss(G_STEP, b)[1]["adv"]
    method.discriminator = Fixed(-4.0)
    assert low < 0.05 < 3.0 < method.loss(G_STEP, b)[1]["adv"]


def test_discriminator_loss_starts_near_ln2_with_the_real_networks() -> None:
    """Fresh networks score about 0 for everything: 0.5 (BCE real + BCE fake) ~ ln 2."""
    method = make("pix2pix")
    loss, terms = method.loss(D_STEP, batch("pix2pix"))
    assert float(loss.detach()) == pytest.approx(math.log(2), abs=0.1)
    assert 0.3 < terms["d_real"] < 0.7 and 0.3 < terms["d_fake"] < 0.7


# ---------------------------------------------------------------- construction and errors


def test_pix2pix_networks_start_from_normal_0_002() -> None:
    torch.manual_seed(0)
    method = build_method(
        {"name": "pix2pix"},
        create_model("pix2pix_unet", base_width=16),
        context("pix2pix"),
    )
    for net in (method.model, method.discriminator):
        weights = torch.cat(
            [
                m.weight.detach().flatten()
                for m in net.modules()
                if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))
            ]
        )
        assert float(weights.mean()) == pytest.approx(0.0, abs=1e-3)
        assert float(weights.std()) == pytest.approx(0.02, rel=0.05)


def test_the_discriminators_take_what_the_seeds_say() -> None:
    assert make("cgan").discriminator.in_channels == 1  # depth only (seed 001)
    assert make("pix2pix").discriminator.in_channels == 4  # RGB + depth (seed 002)


@pytest.mark.parametrize(
    ("name", "options", "expected"),
    [
        ("cgan", {"bogus": 1}, "unknown key 'method.bogus'"),
        ("pix2pix", {"lambda_L1": 100}, "unknown key 'method.lambda_L1'"),
        ("cgan", {"discriminator": "nope"}, "method.discriminator: unknown model 'nope'"),
        ("pix2pix", {"discriminator": "nope"}, "method.discriminator: unknown model 'nope'"),
        ("pix2pix", {"discriminator_kwargs": {"widht": 3}}, "unknown setting(s) 'widht'"),
        ("pix2pix", {"discriminator_kwargs": [1]}, "method.discriminator_kwargs must be a mapping"),
        (
            "pix2pix",
            {
                "discriminator": "face_cgan_discriminator",
                "discriminator_kwargs": {"image_size": 256},
            },
            "needs a conditional",
        ),
        ("cgan", {"lambda_mse": -1}, "method.lambda_mse must be a number >= 0"),
        ("pix2pix", {"lambda_l1": "100"}, "method.lambda_l1 must be a number >= 0"),
        ("cgan", {"fill_invalid": "yes"}, "method.fill_invalid must be true or false"),
    ],
)
def test_bad_options_are_one_input_error_line(name: str, options: dict, expected: str) -> None:
    model_name, kwargs = GEN[name]
    model = create_model(model_name, in_channels=CHANNELS[name], **kwargs)
    with pytest.raises(InputError) as info:
        build_method({"name": name, **options}, model, context(name))
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


def test_cgan_discriminator_size_must_match_the_data() -> None:
    method = make("cgan", discriminator_kwargs={"widths": [4, 8, 8, 8], "image_size": 32})
    with pytest.raises(
        InputError, match=r"image_size is 32x32, but the training depth maps are 16x16"
    ):
        method.loss(D_STEP, batch("cgan"))


def test_unknown_step_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown step 'critic'"):
        make("cgan").loss("critic", batch("cgan"))


@pytest.mark.parametrize("name", ["cgan", "pix2pix"])
def test_one_generator_pass_and_one_batch_per_training_step(
    name: str, tiny_faces: Path, tmp_path: Path
) -> None:
    """As the pix2pix reference: D then G update on one batch and one fake."""
    from test_methods import build

    trainer = build(name, tiny_faces, tmp_path, steps=2)
    calls = []
    trainer.method.model.register_forward_hook(lambda m, i, o: calls.append(i[0]))
    trainer.fit()
    assert len(calls) == 2  # one generator forward per training step
    assert trainer.batches == 2  # one batch per training step
