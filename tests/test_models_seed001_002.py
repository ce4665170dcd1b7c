"""The seed-001 discriminator and Siamese network, and the seed-002 pix2pix networks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rgb2depth.errors import InputError
from rgb2depth.models import count_parameters, create_model, get_entry, output_shape


def _meta(name: str, **settings) -> torch.nn.Module:
    with torch.device("meta"):  # shapes only: no memory, no init time
        return create_model(name, **settings)


# --------------------------------------------------------------------------- parameter counts
@pytest.mark.parametrize(
    ("name", "settings", "count"),
    [
        ("pix2pix_unet", {"out_channels": 3}, 54_413_955),  # the reference's unet_256
        ("pix2pix_unet", {}, 54_409_857),  # 3 -> 1
        ("pix2pix_patchgan", {"in_channels": 6}, 2_768_705),  # the reference's 70x70
        ("pix2pix_patchgan", {}, 2_766_657),  # RGB + depth
        ("face_cgan_discriminator", {}, 17_246_977),
        ("face_siamese", {}, 1_587_841),
    ],
)
def test_parameter_counts(name, settings, count):
    assert count_parameters(_meta(name, **settings)) == count


@pytest.mark.parametrize("name", ["pix2pix_unet", "pix2pix_patchgan"])
def test_registered_paper_counts_are_exact(name):
    entry = get_entry(name)
    assert entry.params_tolerance == 0.0
    assert count_parameters(_meta(name, **entry.paper_settings)) == entry.paper_params


def test_discriminator_count_by_hand():
    convs = 1 * 128 * 25 + 128 + (128 * 256 + 256 * 512 + 512 * 1024) * 25
    bn = 2 * (256 + 512 + 1024)
    fc = 1024 * 6 * 6 + 1
    assert count_parameters(_meta("face_cgan_discriminator")) == convs + bn + fc


# --------------------------------------------------------------------------- layouts
def test_discriminator_shares_the_generator_encoder_layout():
    gen = _meta("face_cgan_generator")
    disc = _meta("face_cgan_discriminator")
    layout = [(type(m), getattr(m, "weight", torch.empty(0)).shape) for m in disc.encoder]
    assert layout == [(type(m), getattr(m, "weight", torch.empty(0)).shape) for m in gen.encoder]
    assert disc.fc.in_features == 1024 * 6 * 6 and disc.fc.out_features == 1
    assert output_shape(disc, 96, 96) == (1,)
    assert _meta("face_cgan_discriminator", image_size=(64, 128)).fc.in_features == 1024 * 4 * 8


def test_patchgan_output_is_30x30_for_256():
    model = _meta("pix2pix_patchgan")
    y = model(torch.zeros(1, 4, 256, 256, device="meta"))
    assert y.shape == (1, 1, 30, 30)
    assert output_shape(model, 256, 256) == (1, 30, 30)
    assert output_shape(model, 24, 40) == (1, 1, 3)
    assert get_entry("pix2pix_patchgan").smallest_size() == 24


def test_unet_has_three_dropouts_and_a_tanh_output():
    model = _meta("pix2pix_unet")
    assert sum(isinstance(m, torch.nn.Dropout) for m in model.modules()) == 3
    assert not any(
        isinstance(m, torch.nn.Dropout) for m in _meta("pix2pix_unet", dropout=False).modules()
    )
    assert isinstance(model.model.up[-1], torch.nn.Tanh)
    norms = [m for m in _meta("pix2pix_unet", norm="instance").modules()]
    assert all(not m.affine for m in norms if isinstance(m, torch.nn.InstanceNorm2d))


# --------------------------------------------------------------------------- behaviour
def test_siamese_is_symmetric_and_embeds_to_32():
    torch.manual_seed(0)
    model = create_model("face_siamese", widths=(4, 6, 8, 8, 8), image_size=64)
    a, b = torch.randn(3, 1, 64, 64), torch.randn(3, 1, 64, 64)
    model.train()  # both inputs share one batch, so the statistics are the same too
    assert torch.allclose(model(a, b), model(b, a), atol=1e-5)
    model.eval()
    with torch.no_grad():
        s = model(a, b)
        assert s.shape == (3, 1)
        assert torch.allclose(s, model(b, a), atol=1e-6)
        assert model.embed(a).shape == (3, 32)
        same = model(a, a)
    # identical inputs: zero distance, so the score is the head's bias alone
    assert torch.allclose(same, model.head.bias.expand(3, 1))


def test_siamese_refuses_mismatched_inputs():
    model = create_model("face_siamese", widths=(4, 6, 8, 8, 8), image_size=64)
    with pytest.raises(InputError, match="same shape"):
        model(torch.zeros(2, 1, 64, 64), torch.zeros(3, 1, 64, 64))
    with pytest.raises(InputError, match=r"face_siamese expects 1 input channel"):
        model(torch.zeros(2, 1, 64, 64), torch.zeros(2, 3, 64, 64))
    with pytest.raises(
        InputError,
        match=r"image_size needs a height and width that are multiples of 32 and at least 64, "
        r"got 32x32",
    ):
        create_model("face_siamese", image_size=32)


@pytest.mark.parametrize(
    ("name", "settings", "shape", "message"),
    [
        (
            "face_cgan_discriminator",
            {"widths": (4, 4, 4, 4)},
            (1, 1, 64, 64),
            r"^face_cgan_discriminator was built for 96x96 inputs \(setting image_size\), "
            r"got 64x64$",
        ),
        (
            "face_siamese",
            {"widths": (4, 4, 4, 4, 4)},
            (1, 1, 128, 96),
            r"^face_siamese was built for 96x96 inputs \(setting image_size\), got 128x96$",
        ),
    ],
)
def test_fixed_size_networks_refuse_other_sizes(name, settings, shape, message):
    model = create_model(name, **settings)
    x = torch.zeros(shape)
    with pytest.raises(InputError, match=message):
        model(*([x] * get_entry(name).inputs))


def test_image_size_setting_is_checked():
    with pytest.raises(
        InputError, match=r"image_size needs a height and width that are multiples of 16, got 90x90"
    ):
        create_model("face_cgan_discriminator", image_size=90)
    with pytest.raises(InputError, match="positive integer or a pair"):
        create_model("face_cgan_discriminator", image_size="96")


def test_discriminator_returns_logits():
    torch.manual_seed(0)
    model = create_model("face_cgan_discriminator", widths=(4, 6, 8, 10), image_size=(32, 48))
    y = model(torch.randn(2, 1, 32, 48))
    assert y.shape == (2, 1) and torch.isfinite(y).all()


def test_unet_dropout_in_training_only():
    torch.manual_seed(0)
    model = create_model("pix2pix_unet", base_width=2)
    x = torch.randn(2, 3, 256, 256)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), model(x))
    model.train()
    with torch.no_grad():
        y1, y2 = model(x), model(x)
    assert y1.shape == (2, 1, 256, 256) and not torch.equal(y1, y2)
    assert y1.abs().max() <= 1
    plain = create_model("pix2pix_unet", base_width=2, dropout=False).train()
    with torch.no_grad():
        assert torch.equal(plain(x), plain(x))
    with pytest.raises(InputError, match="dropout must be true or false"):
        create_model("pix2pix_unet", dropout=0.5)


def test_unet_trains_with_batch_one():
    model = create_model("pix2pix_unet", base_width=2).train()
    model(torch.randn(1, 3, 256, 256)).mean().backward()


def test_patchgan_concatenates_the_condition():
    torch.manual_seed(0)
    model = create_model("pix2pix_patchgan", base_width=4).eval()
    rgb, depth = torch.randn(2, 3, 32, 40), torch.randn(2, 1, 32, 40)
    with torch.no_grad():
        joint = model(torch.cat([rgb, depth], dim=1))
        assert joint.shape == (2, 1, 2, 3)
        assert torch.equal(model(rgb, depth), joint)
    with pytest.raises(InputError, match="same batch size, height and width"):
        model(rgb, torch.randn(2, 1, 32, 48))
    with pytest.raises(InputError, match="expects 4 input channel"):
        model(rgb, torch.randn(2, 3, 32, 40))


def test_patchgan_refuses_inputs_below_24():
    model = create_model("pix2pix_patchgan", base_width=4)
    with pytest.raises(
        InputError,
        match=r"^pix2pix_patchgan needs height and width that are multiples of 8 "
        r"and at least 24, got 16x16$",
    ):
        model(torch.zeros(1, 4, 16, 16))
    with pytest.raises(InputError, match="at least 24, got 16x32"):
        model(torch.zeros(1, 3, 16, 32), torch.zeros(1, 1, 16, 32))
    assert model(torch.zeros(1, 4, 24, 24)).shape == (1, 1, 1, 1)


@pytest.mark.parametrize("norm", ["instance", "none"])
def test_pix2pix_other_norms_have_biases(norm):
    unet = _meta("pix2pix_unet", norm=norm)
    patch = _meta("pix2pix_patchgan", norm=norm)
    for model in (unet, patch):
        convs = [
            m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))
        ]
        assert all(c.bias is not None for c in convs)
    with pytest.raises(InputError, match="unknown norm 'layer'"):
        create_model("pix2pix_patchgan", norm="layer")


@pytest.mark.parametrize("name", ["face_cgan_generator", "face_cgan_discriminator"])
def test_face_cgan_norm_setting(name):
    small = {"face_cgan_generator": {"encoder_widths": (4, 6, 8, 10)}}.get(name, {})
    plain = create_model(name, norm="none", **small)
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) for m in plain.modules())
    assert all(m.bias is not None for m in plain.modules() if isinstance(m, nn.Conv2d))
    inst = create_model(name, norm="instance", **small)
    assert any(isinstance(m, nn.InstanceNorm2d) for m in inst.modules())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in inst.modules())
    with pytest.raises(InputError, match=rf"{name}: unknown norm 'group'; accepted: 'batch'"):
        create_model(name, norm="group")
