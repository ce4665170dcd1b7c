"""Seed 000's critics and generators (Appendix B, Tables 4-8): counts and layout."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from rgb2depth.errors import InputError
from rgb2depth.models import count_parameters, create_model, get_entry, output_shape

SEED000 = ["dcgan_critic", "patchgan_critic", "resnet18_generator", "unet_generator"]
SEED000 += ["style_generator"]
GENERATORS = ["resnet18_generator", "unet_generator", "style_generator"]
SMALL = {
    "dcgan_critic": {"base_width": 2},
    "patchgan_critic": {"base_width": 2},
    "resnet18_generator": {"base_width": 4},
    "unet_generator": {"base_width": 4},
    "style_generator": {"base_width": 4, "n_blocks": 2},
}


def _meta(name: str, **settings) -> nn.Module:
    with torch.device("meta"):
        return create_model(name, **settings)


@pytest.mark.parametrize(
    ("name", "settings", "expected"),
    [
        ("dcgan_critic", {}, 15_347_009),
        ("dcgan_critic", {"in_channels": 1}, 15_344_961),
        ("patchgan_critic", {}, 15_362_369),
        ("resnet18_generator", {}, 19_837_409),
        ("unet_generator", {}, 21_189_313),
        ("style_generator", {"out_channels": 3}, 11_378_179),
        ("style_generator", {}, 11_371_905),
        ("style_generator", {"in_channels": 1, "out_channels": 3}, 11_371_907),
    ],
)
def test_exact_parameter_counts(name, settings, expected):
    assert count_parameters(_meta(name, **settings)) == expected


@pytest.mark.parametrize(
    ("name", "paper"),
    [
        ("dcgan_critic", 15.3e6),
        ("patchgan_critic", 15.3e6),
        ("resnet18_generator", 19.8e6),
        ("unet_generator", 21.2e6),
        ("style_generator", 11.4e6),
    ],
)
def test_counts_within_one_percent_of_the_paper(name, paper):
    entry = get_entry(name)
    assert entry.paper_params == paper
    assert entry.paper == "Unsupervised perceptual reconstruction (seed 000)"
    n = count_parameters(_meta(name, **entry.paper_settings))
    assert abs(n - paper) / paper < 0.01


# --------------------------------------------------------------------------- critics
def test_dcgan_critic_features_and_head():
    torch.manual_seed(0)
    model = create_model("dcgan_critic", **SMALL["dcgan_critic"]).eval()
    assert model.feature_channels == 32
    convs = [m for m in model.trunk if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [2, 4, 8, 16, 16, 32]
    assert [c.stride for c in convs] == [(2, 2)] * 4 + [(1, 1)] * 2
    assert all(c.kernel_size == (4, 4) and c.bias is not None for c in convs)
    assert sum(isinstance(m, nn.GroupNorm) and m.num_groups == 1 for m in model.trunk) == 6
    x = torch.randn(2, 3, 32, 48)
    with torch.no_grad():
        feats = model.features(x)
        y = model(x)
    assert feats.shape == (2, 32, 2, 3)
    assert y.shape == (2, 1) == (2, *output_shape(model, 32, 48))
    torch.testing.assert_close(y, model.dense(feats.mean(dim=(2, 3))))


def test_patchgan_critic_features_and_patch_scores():
    torch.manual_seed(0)
    model = create_model("patchgan_critic", **SMALL["patchgan_critic"]).eval()
    x = torch.randn(1, 3, 64, 32)
    with torch.no_grad():
        feats = model.features(x)
        y = model(x)
    assert feats.shape == (1, 32, 4, 2)
    assert y.shape == (1, 1, 4, 2) == (1, *output_shape(model, 64, 32))
    torch.testing.assert_close(y, model.head(feats))
    assert model.head.kernel_size == (4, 4) and model.head.stride == (1, 1)


def test_critics_share_the_trunk_layout():
    dcgan, patch = _meta("dcgan_critic"), _meta("patchgan_critic")
    shapes = [tuple(p.shape) for p in dcgan.trunk.parameters()]
    assert shapes == [tuple(p.shape) for p in patch.trunk.parameters()]
    assert count_parameters(dcgan.trunk) == 15_345_984
    assert dcgan.feature_channels == patch.feature_channels == 1024


def test_critic_with_instance_norm_needs_32_pixels():
    model = create_model("dcgan_critic", base_width=2, norm="instance")
    with pytest.raises(InputError, match="multiples of 16 and at least 32, got 16x16"):
        model(torch.zeros(1, 3, 16, 16))
    assert model(torch.zeros(1, 3, 32, 32)).shape == (1, 1)
    assert create_model("dcgan_critic", base_width=2)(torch.zeros(1, 3, 16, 16)).shape == (1, 1)


# --------------------------------------------------------------------------- generators
def test_resnet18_skip_convs_only_on_the_strided_blocks():
    model = _meta("resnet18_generator")
    strided = [i for i, b in enumerate(model.res) if not isinstance(b.skip, nn.Identity)]
    assert strided == [2, 4, 6]
    assert [b.con1[0].stride[0] for b in model.res] == [1, 1, 2, 1, 2, 1, 2, 1]
    assert all(b.con2[0].stride == (1, 1) for b in model.res)
    assert [b.con2[0].out_channels for b in model.res] == [64, 64, 128, 128, 256, 256, 512, 512]


def test_resnet18_encoder_norms_affine_decoder_norms_not():
    model = _meta("resnet18_generator")
    enc = [m for part in (model.con1, model.res) for m in part.modules()]
    dec = [m for i in range(2, 12) for m in getattr(model, f"con{i}").modules()]
    enc_norms = [m for m in enc if isinstance(m, nn.InstanceNorm2d)]
    dec_norms = [m for m in dec if isinstance(m, nn.InstanceNorm2d)]
    assert len(enc_norms) == 1 + 16 + 3 and all(m.affine for m in enc_norms)
    assert len(dec_norms) == 10 and not any(m.affine for m in dec_norms)
    assert [model.con3[0].in_channels, model.con5[0].in_channels] == [768, 384]
    assert [model.con7[0].in_channels, model.con9[0].in_channels] == [192, 128]
    assert model.con11[0].out_channels == 32 and isinstance(model.con11[2], nn.ELU)


def test_unet_generator_layout():
    model = _meta("unet_generator")
    assert [d[0].stride for d in model.down] == [(2, 2)] * 4
    assert [d[0].out_channels for d in model.down] == [48, 96, 192, 384]
    assert model.bottom[1][0].out_channels == 768
    assert [u[0].out_channels for u in model.ups] == [384, 192, 96, 48]
    assert all(isinstance(u[0], nn.ConvTranspose2d) and len(u) == 2 for u in model.ups)
    assert [d[0][0].in_channels for d in model.dec] == [768, 384, 192, 96]


def test_style_generator_layout_and_cyclegan_rules():
    model = _meta("style_generator")
    assert len(model.blocks) == 9
    assert not any(isinstance(m, nn.Dropout) for m in model.modules())
    norms = [m for m in model.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert len(norms) == 3 + 18 + 2 and not any(m.affine for m in norms)
    assert all(m.bias is not None for m in model.modules() if isinstance(m, nn.Conv2d))
    bn = _meta("style_generator", norm="batch", dropout=True, n_blocks=3)
    convs = [m for m in bn.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert all(c.bias is None for c in convs[:-1]) and convs[-1].bias is not None
    assert sum(isinstance(m, nn.Dropout) for m in bn.modules()) == 3


@pytest.mark.parametrize("name", GENERATORS)
def test_generators_depth_to_rgb_in_tanh_range(name):
    torch.manual_seed(0)
    model = create_model(name, in_channels=1, out_channels=3, **SMALL[name]).eval()
    s = get_entry(name).smallest_size()
    with torch.no_grad():
        y = model(10 * torch.randn(1, 1, s, s + model.stride))
    assert y.shape == (1, 3, s, s + model.stride)
    assert y.abs().max() <= 1


@pytest.mark.parametrize("name", SEED000)
def test_bad_norm_name_lists_the_accepted_ones(name):
    with pytest.raises(InputError, match=rf"^{name}: unknown norm 'group'; accepted: 'batch', "):
        create_model(name, norm="group")
    with pytest.raises(InputError, match="base_width must be a positive integer"):
        create_model(name, base_width=0)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("dcgan_critic", "multiples of 16, got 40x32"),
        ("resnet18_generator", "multiples of 32 and at least 64, got 40x32"),
        ("unet_generator", "multiples of 16 and at least 32, got 40x32"),
        ("style_generator", "multiples of 4 and at least 8, got 40x30"),
    ],
)
def test_wrong_sizes_are_refused_naming_the_multiple(name, message):
    model = create_model(name, **SMALL[name])
    h, w = (int(v) for v in message.rsplit(" ", 1)[1].split("x"))
    with pytest.raises(InputError, match=rf"^{name} needs height and width that are {message}$"):
        model(torch.zeros(1, model.in_channels, h, w))


@pytest.mark.parametrize("name", GENERATORS)
def test_generators_refuse_inputs_below_twice_the_stride(name):
    model = create_model(name, **SMALL[name])
    s = model.stride
    assert get_entry(name).min_size == 2 * s
    with pytest.raises(InputError, match=rf"at least {2 * s}, got {s}x{2 * s}"):
        model(torch.zeros(1, 3, s, 2 * s))


def test_same_conv4_matches_torch_same_padding():
    from rgb2depth.models.critics import SameConv4

    torch.manual_seed(0)
    conv = SameConv4(2, 3)
    x = torch.randn(1, 2, 5, 6)
    with warnings.catch_warnings():  # torch warns about even kernels with "same"
        warnings.simplefilter("ignore")
        ref = nn.functional.conv2d(x, conv.weight, conv.bias, padding="same")
    torch.testing.assert_close(conv(x), ref)
    assert conv(x).shape == (1, 3, 5, 6)
