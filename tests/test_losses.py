"""Tests of rgb2depth.losses: hand-made values, masking, gradients, the frozen extractors."""

from __future__ import annotations

import logging
import math
import sys
import types
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from rgb2depth.errors import InputError
from rgb2depth.losses import (
    EncoderFeatures,
    L1Loss,
    LightUNetLoss,
    MSELoss,
    MSEOnlyLoss,
    PerceptualAlignmentLoss,
    PerceptualLoss,
    ResNet50Stage1,
    SSIMLoss,
    autoencoder_encoder,
    build_feature_extractor,
    edge_aware_l1,
    edge_weights,
    gradient_loss,
    image_gradients,
    l1_loss,
    mse_loss,
    perceptual_loss,
    resnet50_stage1,
    ssim_loss,
)
from rgb2depth.models import create_model, save_model_folder

B, H, W = 2, 16, 20


def rand_depth(seed: int, shape: tuple[int, ...] = (B, 1, H, W)) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g) * 2 - 1


def rand_rgb(seed: int) -> torch.Tensor:
    return rand_depth(seed, (B, 3, H, W))


class TinyAutoencoder(nn.Module):
    """Stands in for the project's depth_autoencoder: anything with encode(x)."""

    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Sequential(
            nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.Dropout(0.5)
        )
        self.dec = nn.ConvTranspose2d(4, 1, 2, stride=2)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.enc(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dec(self.encode(x))


def tiny_perceptual() -> PerceptualLoss:
    return PerceptualLoss(EncoderFeatures(TinyAutoencoder()))


def all_terms(pred, target, rgb, mask=None) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return {
        "l1": l1_loss(pred, target, mask),
        "mse": mse_loss(pred, target, mask),
        "ssim": ssim_loss(pred, target, mask),
        "grad": gradient_loss(pred, target, mask),
        "edge": edge_aware_l1(pred, target, rgb, mask),
        "perceptual": perceptual_loss(pred, target, ResNet50Stage1(), mask),
    }


# -- known values ------------------------------------------------------------------------------


def test_identical_maps_give_zero_for_every_term() -> None:
    target = rand_depth(0)
    for name, value in all_terms(target.clone(), target, rand_rgb(1)).items():
        assert value.item() == pytest.approx(0.0, abs=1e-6), name


def test_constant_offset() -> None:
    target = rand_depth(0)
    c = 0.25
    pred = target + c
    assert l1_loss(pred, target).item() == pytest.approx(c)
    assert mse_loss(pred, target).item() == pytest.approx(c * c)
    assert gradient_loss(pred, target).item() == pytest.approx(0.0, abs=1e-6)
    assert L1Loss()(pred, target).item() == pytest.approx(c)
    assert MSELoss()(pred, target).item() == pytest.approx(c * c)


def test_image_gradients_forward_differences() -> None:
    x = torch.tensor([[1.0, 2.0, 4.0], [3.0, 7.0, 5.0]]).view(1, 1, 2, 3)
    gx, gy = image_gradients(x)
    assert gx.shape == gy.shape == x.shape
    assert gx[0, 0].tolist() == [[1.0, 2.0, 0.0], [4.0, -2.0, 0.0]]
    assert gy[0, 0].tolist() == [[2.0, 5.0, 1.0], [0.0, 0.0, 0.0]]


@pytest.mark.parametrize("axis", ["x", "y"])
def test_gradient_loss_of_ramp_is_slope(axis: str) -> None:
    slope = 0.05
    idx = torch.arange(W if axis == "x" else H, dtype=torch.float32) * slope
    ramp = idx.view(1, 1, 1, W) if axis == "x" else idx.view(1, 1, H, 1)
    pred = ramp.expand(B, 1, H, W).contiguous() - 0.5
    target = torch.zeros_like(pred)
    assert gradient_loss(pred, target).item() == pytest.approx(slope, rel=1e-5)


def step_rgb(step: float, col: int) -> torch.Tensor:
    """A (B, 3, H, W) image in [-1, 1]: 0 left of ``col``, ``step`` from ``col`` on (in [0, 1])."""
    img01 = torch.zeros(B, 3, H, W)
    img01[..., col:] = step
    return img01 * 2 - 1


def test_edge_aware_flat_image_is_zero() -> None:
    target = rand_depth(0)
    flat = torch.full((B, 3, H, W), 0.3)
    assert edge_aware_l1(target + 0.5, target, flat).item() == 0.0


def test_edge_aware_step_image() -> None:
    step, col, diff = 0.6, 7, 0.4
    rgb = step_rgb(step, col)
    wx, wy = edge_weights(rgb)
    weight = 1 - math.exp(-step)
    # forward differences put the step on the column before it, and nowhere else
    expected_wx = torch.zeros(B, 1, H, W)
    expected_wx[..., col - 1] = weight
    assert torch.allclose(wx, expected_wx, atol=1e-6)
    assert wy.abs().max().item() == 0.0

    target = rand_depth(0)
    pred = target + diff
    # averaged over all pixels: one column in W carries weight * diff
    assert edge_aware_l1(pred, target, rgb).item() == pytest.approx(weight * diff / W, rel=1e-5)
    only_step = torch.zeros(B, 1, H, W, dtype=torch.bool)
    only_step[..., col - 1] = True
    got = edge_aware_l1(pred, target, rgb, only_step).item()
    assert got == pytest.approx(weight * diff, rel=1e-5)


def test_edge_aware_averages_channels() -> None:
    rgb = step_rgb(0.6, 5)
    rgb[:, 1:] = -1.0  # step in the red channel only: the gradient is 0.6 / 3
    wx, _ = edge_weights(rgb)
    assert wx[0, 0, 0, 4].item() == pytest.approx(1 - math.exp(-0.2), rel=1e-5)


def test_ssim_identical_and_uncorrelated() -> None:
    target = rand_depth(0, (B, 1, 64, 64))
    assert ssim_loss(target.clone(), target).item() == pytest.approx(0.0, abs=1e-6)
    flat = torch.full((B, 1, 32, 32), 0.7)
    assert ssim_loss(flat.clone(), flat).item() == pytest.approx(0.0, abs=1e-6)
    noise = rand_depth(1, (B, 1, 64, 64))
    assert ssim_loss(noise, target).item() == pytest.approx(1.0, abs=0.05)
    assert SSIMLoss()(noise, target).item() == pytest.approx(ssim_loss(noise, target).item())


def test_ssim_checks_window_and_size() -> None:
    x = rand_depth(0, (1, 1, 5, 5))
    with pytest.raises(InputError, match="larger than 5 pixels"):
        ssim_loss(x, x)
    with pytest.raises(InputError, match="odd positive"):
        ssim_loss(x, x, window_size=4)
    assert ssim_loss(x, x, window_size=3).item() == pytest.approx(0.0, abs=1e-6)


# -- masks ------------------------------------------------------------------------------------


def hole_mask() -> torch.Tensor:
    mask = torch.ones(B, 1, H, W, dtype=torch.bool)
    mask[:, :, 3:8, 4:11] = False
    mask[1, :, :, -3:] = False
    return mask


def test_masked_pixels_do_not_affect_the_value() -> None:
    target, pred, rgb, mask = rand_depth(0), rand_depth(1), rand_rgb(2), hole_mask()
    reference = all_terms(pred, target, rgb, mask)
    garbage = pred.where(mask, torch.full_like(pred, 1e3))
    changed = all_terms(garbage, target, rgb, mask)
    for name in reference:
        assert changed[name].item() == pytest.approx(reference[name].item(), rel=1e-5), name


def test_mask_restricts_the_mean() -> None:
    target = torch.zeros(B, 1, H, W)
    pred = torch.zeros(B, 1, H, W)
    mask = hole_mask()
    pred[~mask] = 5.0  # large errors, all on invalid pixels
    pred[mask] = 0.1
    assert l1_loss(pred, target, mask).item() == pytest.approx(0.1)
    assert mse_loss(pred, target, mask).item() == pytest.approx(0.01)
    assert gradient_loss(pred, target, mask).item() == pytest.approx(0.0, abs=1e-7)


def test_no_valid_pixel_gives_zero_with_a_gradient_path() -> None:
    target, rgb = rand_depth(0), rand_rgb(2)
    pred = rand_depth(1).requires_grad_(True)
    none_valid = torch.zeros(B, 1, H, W, dtype=torch.bool)
    terms = all_terms(pred, target, rgb, none_valid)
    for name, value in terms.items():
        assert value.item() == 0.0, name
        assert value.requires_grad, name
    sum(terms.values()).backward()
    assert pred.grad is not None and torch.all(pred.grad == 0)


# -- gradients --------------------------------------------------------------------------------


def test_gradients_flow_to_the_prediction() -> None:
    target, rgb, mask = rand_depth(0), rand_rgb(2), hole_mask()
    for name in ("l1", "mse", "ssim", "grad", "edge", "perceptual"):
        pred = rand_depth(1).requires_grad_(True)
        all_terms(pred, target, rgb, mask)[name].backward()
        assert pred.grad is not None, name
        assert torch.isfinite(pred.grad).all(), name
        assert pred.grad.abs().sum() > 0, name
        # no gradient reaches invalid pixels
        assert torch.all(pred.grad[~mask] == 0), name


# -- input checks -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn", [l1_loss, mse_loss, ssim_loss, gradient_loss, lambda p, t: edge_aware_l1(p, t, p)]
)
def test_shape_mismatch_message(fn) -> None:
    pred = torch.zeros(2, 1, 16, 16)
    with pytest.raises(InputError, match=r"same \(B, 1, H, W\) shape, got \(2, 1, 16, 16\) and"):
        fn(pred, torch.zeros(2, 1, 16, 15))
    with pytest.raises(InputError, match=r"got \(2, 3, 16, 16\) and \(2, 3, 16, 16\)"):
        fn(torch.zeros(2, 3, 16, 16), torch.zeros(2, 3, 16, 16))


def test_mask_and_rgb_checks() -> None:
    x = torch.zeros(2, 1, 16, 16)
    with pytest.raises(InputError, match="bool mask"):
        l1_loss(x, x, torch.ones(2, 1, 16, 16))
    with pytest.raises(InputError, match="bool mask"):
        l1_loss(x, x, torch.ones(2, 1, 8, 8, dtype=torch.bool))
    with pytest.raises(InputError, match=r"rgb image of shape \(2, C, 16, 16\), got"):
        edge_aware_l1(x, x, torch.zeros(2, 3, 8, 8))


# -- combined losses --------------------------------------------------------------------------


def test_light_unet_loss_normalises_the_weights() -> None:
    target, pred, rgb, mask = rand_depth(0), rand_depth(1), rand_rgb(2), hole_mask()
    total, logs = LightUNetLoss()(pred, target, rgb, mask)
    assert set(logs) == {"l1", "ssim", "edge"}
    l1 = l1_loss(pred, target, mask)
    ss = ssim_loss(pred, target, mask)
    edge = edge_aware_l1(pred, target, rgb, mask)
    manual = (2.0 * l1 + 1.0 * ss + 5.0 * edge) / 8.0
    assert total.item() == pytest.approx(manual.item(), rel=1e-6)
    assert logs["l1"] == pytest.approx(l1.item())
    assert logs["ssim"] == pytest.approx(ss.item())
    assert logs["edge"] == pytest.approx(edge.item())
    # scaling every weight leaves the total unchanged
    total3, _ = LightUNetLoss(alpha=6.0, beta=3.0, gamma=15.0)(pred, target, rgb, mask)
    assert total3.item() == pytest.approx(total.item(), rel=1e-6)
    with pytest.raises(InputError, match="rgb"):
        LightUNetLoss()(pred, target)


def test_perceptual_alignment_loss_sum() -> None:
    torch.manual_seed(0)
    target, pred, mask = rand_depth(0), rand_depth(1), hole_mask()
    perc = tiny_perceptual()
    total, logs = PerceptualAlignmentLoss(perceptual=perc)(pred, target, None, mask)
    assert set(logs) == {"l1", "grad", "ssim", "perceptual"}
    manual = (
        0.1 * l1_loss(pred, target, mask)
        + gradient_loss(pred, target, mask)
        + ssim_loss(pred, target, mask) / 2
        + 0.5 * perc(pred, target, mask)
    )
    assert total.item() == pytest.approx(manual.item(), rel=1e-6)
    assert logs["perceptual"] > 0


def test_perceptual_alignment_without_perceptual(caplog: pytest.LogCaptureFixture) -> None:
    target, pred = rand_depth(0), rand_depth(1)
    with caplog.at_level(logging.WARNING, logger="rgb2depth.losses.combined"):
        loss = PerceptualAlignmentLoss(lam=0.2)
    assert "perceptual term of seed 003 is left out" in caplog.text
    assert "perceptual=off" in repr(loss)
    total, logs = loss(pred, target)
    assert tuple(logs) == loss.term_names == ("l1", "grad", "ssim")
    manual = 0.2 * logs["l1"] + logs["grad"] + logs["ssim"] / 2
    assert total.item() == pytest.approx(manual, rel=1e-6)


def test_mse_only_loss() -> None:
    target = rand_depth(0)
    total, logs = MSEOnlyLoss()(target + 0.5, target)
    assert total.item() == pytest.approx(0.25)
    assert logs == {"mse": pytest.approx(0.25)}


@pytest.mark.parametrize(
    "make",
    [
        lambda: LightUNetLoss(alpha=-1.0),
        lambda: LightUNetLoss(gamma=float("nan")),
        lambda: LightUNetLoss(alpha=0.0, beta=0.0, gamma=0.0),
        lambda: PerceptualAlignmentLoss(lam=-0.1),
        lambda: PerceptualAlignmentLoss(gamma=-2.0),
    ],
)
def test_bad_weights(make) -> None:
    with pytest.raises(InputError, match=r"weight|alpha"):
        make()


def test_combined_losses_backward() -> None:
    target, rgb = rand_depth(0), rand_rgb(2)
    losses = [
        LightUNetLoss(),
        PerceptualAlignmentLoss(perceptual=tiny_perceptual()),
        MSEOnlyLoss(),
    ]
    for loss in losses:
        pred = rand_depth(1).requires_grad_(True)
        total, _ = loss(pred, target, rgb)
        total.backward()
        assert pred.grad is not None and torch.isfinite(pred.grad).all()
        assert pred.grad.abs().sum() > 0


# -- ResNet-50 stage 1 ------------------------------------------------------------------------


def random_resnet_state() -> dict[str, torch.Tensor]:
    """A torchvision-like resnet50 state dict: our keys with random values, plus other layers."""
    torch.manual_seed(3)
    state = {}
    for k, v in ResNet50Stage1().state_dict().items():
        if k.endswith("running_var"):
            state[k] = torch.rand_like(v) + 0.5
        elif v.is_floating_point():
            state[k] = torch.randn_like(v) * 0.1
        else:
            state[k] = v.clone()
    state["layer2.0.conv1.weight"] = torch.randn(128, 256, 1, 1)
    state["fc.weight"] = torch.randn(10, 2048)
    state["fc.bias"] = torch.randn(10)
    return state


@pytest.mark.parametrize("suffix", [".safetensors", ".pth", ".pt"])
def test_resnet50_stage1_round_trip(tmp_path: Path, suffix: str) -> None:
    state = random_resnet_state()
    path = tmp_path / f"resnet50{suffix}"
    if suffix == ".safetensors":
        save_file(state, str(path))
    else:
        torch.save(state, path)
    model = resnet50_stage1(path)
    loaded = model.state_dict()
    assert set(loaded) == {k for k in state if not k.startswith(("layer2", "fc"))}
    for k, v in loaded.items():
        assert torch.equal(v, state[k]), k
    assert "layer1.0.downsample.0.weight" in loaded
    assert "layer1.2.bn3.running_mean" in loaded
    features = model(rand_depth(0, (2, 1, 32, 48)))
    assert features.shape == (2, 256, 8, 12)
    assert not model.training
    assert not any(p.requires_grad for p in model.parameters())


def test_resnet50_stage1_same_through_build(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    save_file(random_resnet_state(), str(path))
    a = resnet50_stage1(path)
    b = build_feature_extractor("resnet50", str(path))
    x = rand_depth(0, (1, 1, 32, 32))
    assert torch.equal(a(x), b(x))


def test_resnet50_missing_file_message(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        resnet50_stage1(tmp_path / "nope.safetensors")
    msg = str(info.value)
    assert "nope.safetensors" in msg and "no such file" in msg
    assert "nothing is downloaded" in msg
    assert 'resnet50(weights="IMAGENET1K_V2")' in msg
    assert "method.perceptual=autoencoder" in msg
    assert "\n" not in msg


def test_resnet50_missing_keys_and_bad_files(tmp_path: Path) -> None:
    state = random_resnet_state()
    del state["layer1.1.conv2.weight"]
    path = tmp_path / "partial.safetensors"
    save_file(state, str(path))
    with pytest.raises(InputError, match=r"missing layer1\.1\.conv2\.weight"):
        resnet50_stage1(path)

    state = random_resnet_state()
    state["conv1.weight"] = torch.zeros(64, 1, 7, 7)
    path = tmp_path / "wrong.pth"
    torch.save(state, path)
    with pytest.raises(InputError, match=r"conv1\.weight should have shape \(64, 3, 7, 7\)"):
        resnet50_stage1(path)

    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"not a safetensors file")
    with pytest.raises(InputError, match="cannot read it"):
        resnet50_stage1(corrupt)

    other = tmp_path / "weights.npz"
    other.write_bytes(b"x")
    with pytest.raises(InputError, match=r"\.safetensors, \.pth or \.pt"):
        resnet50_stage1(other)


class NotATensor:
    """Something weights_only unpickling must refuse."""


def test_resnet50_pth_is_never_plainly_unpickled(tmp_path: Path) -> None:
    path = tmp_path / "pickle.pth"
    torch.save({"conv1.weight": NotATensor()}, path)
    with pytest.raises(
        InputError,
        match=r"^ResNet-50 weights .*pickle\.pth: it holds pickled Python objects, which are never",
    ):
        resnet50_stage1(path)


def test_unknown_source() -> None:
    with pytest.raises(InputError, match="expected one of resnet50, autoencoder"):
        build_feature_extractor("vgg16", "x")
    with pytest.raises(InputError, match="needs a path to its weights file"):
        build_feature_extractor("resnet50", None)


# -- frozen extractors ------------------------------------------------------------------------


def test_extractor_stays_frozen_and_in_eval_mode() -> None:
    extractor = EncoderFeatures(TinyAutoencoder())
    parent = nn.ModuleDict({"head": nn.Conv2d(1, 1, 1), "perc": PerceptualLoss(extractor)})
    parent.train()
    assert parent.training and parent["head"].training
    assert not extractor.training
    assert not any(m.training for m in extractor.modules())
    assert not any(p.requires_grad for p in extractor.parameters())

    bn = extractor.model.enc[1]
    before = bn.running_mean.clone()
    pred = rand_depth(1, (2, 1, 16, 16)).requires_grad_(True)
    loss = parent["perc"](pred, rand_depth(0, (2, 1, 16, 16)))
    loss.backward()
    assert torch.equal(bn.running_mean, before)  # eval mode: statistics untouched
    assert all(p.grad is None for p in extractor.parameters())
    assert pred.grad is not None and pred.grad.abs().sum() > 0

    resnet = ResNet50Stage1()
    resnet.train(True)
    assert not any(m.training for m in resnet.modules())


def test_encoder_features_needs_encode() -> None:
    with pytest.raises(InputError, match="encode"):
        EncoderFeatures(nn.Conv2d(1, 1, 1))


def test_autoencoder_encoder_loads_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def load_model_folder(folder):
        calls.append(Path(folder))
        return TinyAutoencoder(), {"model": {"name": "depth_autoencoder"}}

    fake = types.ModuleType("rgb2depth.models")
    fake.load_model_folder = load_model_folder  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "rgb2depth.models", fake)
    extractor = build_feature_extractor("autoencoder", tmp_path)
    assert calls == [tmp_path]
    assert isinstance(extractor, EncoderFeatures)
    assert extractor(rand_depth(0, (1, 1, 16, 16))).shape == (1, 4, 8, 8)
    assert not extractor.training

    with pytest.raises(InputError, match="no such folder"):
        autoencoder_encoder(tmp_path / "missing")


def test_autoencoder_encoder_with_a_saved_depth_autoencoder(tmp_path: Path) -> None:
    kwargs = {"widths": (4, 8, 16)}
    model = create_model("depth_autoencoder", **kwargs)
    folder = save_model_folder(tmp_path / "ae", model, name="depth_autoencoder", kwargs=kwargs)
    extractor = build_feature_extractor("autoencoder", folder)
    x = rand_depth(0, (2, 1, 16, 24))
    features = extractor(x)
    assert features.shape == (2, 16, 2, 3)
    model.eval()
    assert torch.allclose(features, model.encode(x))
    extractor.train()
    assert not any(m.training for m in extractor.modules())
    assert not any(p.requires_grad for p in extractor.parameters())
