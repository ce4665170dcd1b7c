"""Tests generated from the model registry, plus the seed papers' parameter counts."""

from __future__ import annotations

import pytest
import torch

from rgb2depth.errors import InputError
from rgb2depth.models import (
    check_input_size,
    count_parameters,
    create_model,
    get_entry,
    gflops,
    list_models,
    output_shape,
    register_model,
)

NAMES = list_models()
# Small settings per model for the fast generic tests; the full-size defaults are
# checked by the parameter-count tests.
SMALL: dict[str, dict] = {
    "light_unet": {"channels": (4, 6, 8, 8, 10)},
    "fast_unet": {"channels": (4, 6, 8)},
    "unet_baseline": {"base_width": 4},
    "face_cgan_generator": {"encoder_widths": (4, 6, 8, 10), "decoder_widths": (8, 6, 4, 4)},
    "depth_autoencoder": {"widths": (4, 6, 8)},
    # seed 000 (critics, generators)
    "dcgan_critic": {"base_width": 2},
    "patchgan_critic": {"base_width": 2},
    "resnet18_generator": {"base_width": 4},
    "unet_generator": {"base_width": 4},
    "style_generator": {"base_width": 4, "n_blocks": 2},
    # seed 001 (discriminator, siamese) and seed 002 (pix2pix)
    "face_cgan_discriminator": {"widths": (4, 6, 8, 10), "image_size": 32},
    "face_siamese": {"widths": (4, 6, 8, 8, 8), "image_size": 64},
    "pix2pix_unet": {"base_width": 2},
    "pix2pix_patchgan": {"base_width": 4},
    # seed 003 (densenet)
    "densenet_depth": {
        "growth_rate": 4,
        "init_features": 8,
        "block_config": (1, 1, 1, 1),
        "decoder_width": 32,
    },
}


def _sizes(name: str) -> list[tuple[int, int]]:
    """Two input sizes the model accepts: the smallest square, and a larger non-square."""
    entry = get_entry(name)
    m, s = entry.smallest_size(), entry.stride
    return [(m, m), (m + s, m + 2 * s)]


def _build(name: str, size: tuple[int, int] | None = None, **settings) -> torch.nn.Module:
    """The model with its SMALL settings; a fixed-size model is built for ``size``."""
    settings = {**SMALL.get(name, {}), **settings}
    if get_entry(name).fixed_size:
        settings["image_size"] = size or _sizes(name)[0]
    return create_model(name, **settings)


def _inputs(name: str, model, h: int, w: int, batch: int = 2, channels: int | None = None):
    """The ``inputs`` tensors ``forward`` takes, each (batch, C, h, w)."""
    c = model.in_channels if channels is None else channels
    return [torch.randn(batch, c, h, w) for _ in range(get_entry(name).inputs)]


@pytest.fixture(scope="module", params=NAMES)
def small(request):
    name = request.param
    torch.manual_seed(0)
    return name, _build(name)


def test_registry_lists_the_seed_models():
    expected = {
        "light_unet", "unet_baseline", "face_cgan_generator", "depth_autoencoder",  # spine
        "dcgan_critic", "patchgan_critic", "resnet18_generator", "unet_generator",
        "style_generator",  # seed 000
        "face_cgan_discriminator", "face_siamese",  # seed 001
        "pix2pix_unet", "pix2pix_patchgan",  # seed 002
        "densenet_depth",  # seed 003
    }  # fmt: skip
    assert expected <= set(NAMES)
    assert NAMES == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_entry_and_attributes(name):
    entry = get_entry(name)
    assert entry.name == name and entry.paper and entry.description
    assert {"in_channels", "out_channels"} <= set(entry.defaults)
    assert entry.inputs >= 1 and entry.smallest_size() % entry.stride == 0
    model = _build(name)
    assert model.stride == entry.stride
    assert model.in_channels == entry.defaults["in_channels"]
    assert model.out_channels == entry.defaults["out_channels"]


@pytest.mark.parametrize("name", NAMES)
def test_every_registered_model_has_small_test_settings(name):
    assert name in SMALL, f"add small settings for {name} to SMALL"


@pytest.mark.parametrize("name", NAMES)
def test_forward_shapes_and_finite_at_two_sizes(name):
    torch.manual_seed(0)
    for h, w in _sizes(name):
        model = _build(name, (h, w)).train()
        y = model(*_inputs(name, model, h, w))
        assert y.shape == (2, *output_shape(model, h, w)), (name, h, w)
        assert torch.isfinite(y).all(), (name, h, w)
    model.eval()
    with torch.no_grad():
        y = model(*_inputs(name, model, h, w, batch=1))
    assert y.shape == (1, *output_shape(model, h, w))
    assert torch.isfinite(y).all()


PAPER = [n for n in NAMES if get_entry(n).paper_params is not None]


@pytest.mark.parametrize("name", PAPER)
def test_parameter_count_matches_the_paper(name):
    entry = get_entry(name)
    with torch.device("meta"):  # no memory, no init time
        model = create_model(name, **entry.paper_settings)
    n = count_parameters(model)
    if entry.params_tolerance == 0:
        assert n == entry.paper_params, name
    else:
        assert abs(n - entry.paper_params) / entry.paper_params <= entry.params_tolerance, (name, n)


def test_the_seed_papers_give_counts_for_their_main_networks():
    assert {
        "light_unet", "unet_baseline", "dcgan_critic", "patchgan_critic", "resnet18_generator",
        "unet_generator", "style_generator", "pix2pix_unet", "pix2pix_patchgan", "densenet_depth",
    } <= set(PAPER)  # fmt: skip


BIG = {
    "unet_baseline", "face_cgan_generator", "face_cgan_discriminator", "dcgan_critic",
    "patchgan_critic", "resnet18_generator", "unet_generator", "style_generator",
    "pix2pix_unet", "densenet_depth",
}  # fmt: skip


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in BIG else n for n in NAMES]
)
def test_default_settings_forward(name):
    entry = get_entry(name)
    m = entry.smallest_size()
    model = create_model(name).eval()  # fixed-size models keep their default image_size
    h, w = model.image_size if entry.fixed_size else (m, m)
    with torch.no_grad():
        y = model(*_inputs(name, model, h, w, batch=1))
    assert y.shape == (1, *output_shape(model, h, w))
    assert torch.isfinite(y).all()


def test_backward_reaches_every_parameter(small):
    name, model = small
    model.train()
    model.zero_grad(set_to_none=True)
    h, w = _sizes(name)[0]
    y = model(*_inputs(name, model, h, w))
    (y**2).mean().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{name}.{pname} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{name}.{pname} has a non-finite gradient"


def test_refuses_a_size_that_is_not_a_multiple_of_the_stride(small):
    name, model = small
    s = model.stride
    h, w = _sizes(name)[0]
    if get_entry(name).fixed_size:  # built for one size: that is what the message says
        expected = rf"{name} was built for {h}x{w} inputs \(setting image_size\), got {h + 1}x{w}"
    else:
        expected = rf"{name} needs height and width that are multiples of {s}.*, got {h + 1}x{w}"
    with pytest.raises(InputError, match=expected):
        model(*_inputs(name, model, h + 1, w))


def test_refuses_wrong_ndim_and_channels(small):
    name, model = small
    h, w = _sizes(name)[0]
    with pytest.raises(InputError, match=r"expected a \(B, C, H, W\) tensor, got \("):
        model(*[x[0] for x in _inputs(name, model, h, w)])
    with pytest.raises(InputError, match=rf"expects {model.in_channels} input channel"):
        model(*_inputs(name, model, h, w, channels=model.in_channels + 1))


@pytest.mark.parametrize("name", [n for n in NAMES if get_entry(n).fixed_size])
def test_fixed_size_models_refuse_other_sizes(name):
    entry = get_entry(name)
    m, s = entry.smallest_size(), entry.stride
    model = _build(name, (m + s, m + s))
    match = rf"built for {m + s}x{m + s} inputs \(setting image_size\), got {m}x{m}"
    with pytest.raises(InputError, match=match):
        model(*_inputs(name, model, m, m))
    with pytest.raises(
        InputError, match=rf"image_size needs a height and width that are multiples of {s}"
    ):
        _build(name, (m + 1, m))


@pytest.mark.parametrize("name", [n for n in NAMES if get_entry(n).min_size > get_entry(n).stride])
def test_min_size_models_refuse_small_inputs(name):
    entry = get_entry(name)
    s, least = entry.stride, entry.smallest_size()
    if entry.fixed_size:  # the size is refused when the model is built
        with pytest.raises(
            InputError,
            match=rf"image_size needs a height and width that are multiples of {s} and at least",
        ):
            _build(name, (s, s))
        return
    model = _build(name)
    with pytest.raises(InputError, match=rf"multiples of {s} and at least {least}, got {s}x{s}"):
        model(*_inputs(name, model, s, s))


def test_encode_of_the_autoencoders():
    for name, stride in (("depth_autoencoder", 8), ("face_cgan_generator", 16)):
        model = create_model(name, **SMALL[name]).eval()
        feats = model.encode(torch.zeros(1, 1, 2 * stride, 3 * stride))
        assert feats.shape[-2:] == (2, 3)
        assert isinstance(model.encoder, torch.nn.Module)
    ae = create_model("depth_autoencoder")
    assert count_parameters(ae) < 1_000_000
    y = ae.eval()(torch.zeros(1, 1, 16, 16))
    assert y.abs().max() <= 1


# --------------------------------------------------------------------------- parameter counts
def test_light_unet_has_the_seed_parameter_count():
    model = create_model("light_unet")
    n = count_parameters(model)
    assert n == 1_218_870
    assert abs(n - 1.22e6) / 1.22e6 < 0.01


def test_unet_baseline_has_the_seed_parameter_count():
    with torch.device("meta"):  # no memory, no init time
        model = create_model("unet_baseline")
    n = count_parameters(model)
    assert n == 17_262_977
    assert abs(n - 17.26e6) / 17.26e6 < 0.01


def test_face_cgan_generator_layout():
    with torch.device("meta"):
        model = create_model("face_cgan_generator")
        bn_model = create_model("face_cgan_generator", first_norm=True)
    assert count_parameters(model) == 34_621_633
    convs = [m for m in model.encoder if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [128, 256, 512, 1024]
    assert all(c.kernel_size == (5, 5) and c.stride == (2, 2) for c in convs)
    assert not isinstance(model.encoder[1], torch.nn.BatchNorm2d)
    assert isinstance(bn_model.encoder[1], torch.nn.BatchNorm2d)
    assert isinstance(model.decoder[-1], torch.nn.Tanh)


def test_count_parameters_counts_frozen_parameters_not_buffers():
    model = create_model("depth_autoencoder", widths=(2, 2, 2))
    n = count_parameters(model)
    for p in model.parameters():
        p.requires_grad_(False)
    assert count_parameters(model) == n
    assert n < sum(p.numel() for p in model.parameters()) + sum(b.numel() for b in model.buffers())


# --------------------------------------------------------------------------- registry errors
def test_unknown_name_lists_the_known_models():
    with pytest.raises(InputError) as info:
        create_model("xyz")
    msg = str(info.value)
    assert msg.startswith("unknown model 'xyz'; known models: ")
    assert ", ".join(NAMES) in msg and "\n" not in msg


def test_unknown_setting_lists_the_accepted_ones():
    with pytest.raises(InputError, match=r"unknown setting\(s\) 'widht'.*accepted settings: "):
        create_model("light_unet", widht=3)
    with pytest.raises(InputError, match="channels"):
        create_model("light_unet", channels=(1, 2, 3))
    with pytest.raises(InputError, match="in_channels must be a positive integer"):
        create_model("unet_baseline", in_channels=0)


def test_register_model_refuses_bad_builders():
    with pytest.raises(TypeError, match="already registered"):
        register_model("light_unet", paper="p", description="d", stride=16)(lambda **k: None)

    def positional(in_channels=3, out_channels=1):  # not keyword-only
        return torch.nn.Identity()

    with pytest.raises(TypeError, match="keyword-only"):
        register_model("_bad_test_model", paper="p", description="d", stride=1)(positional)
    assert "_bad_test_model" not in list_models()


def test_check_input_size_messages():
    with pytest.raises(InputError, match=r"^light_unet needs .* multiples of 16, got 100x128$"):
        check_input_size(torch.zeros(1, 3, 100, 128), 16, "light_unet")
    with pytest.raises(InputError, match=r"got \(3, 64, 64\)"):
        check_input_size(torch.zeros(3, 64, 64), 16, "light_unet")
    with pytest.raises(InputError, match=r"torch\.Tensor"):
        check_input_size([[1.0]], 16, "light_unet")
    with pytest.raises(InputError, match="got 0x16"):
        check_input_size(torch.zeros(1, 3, 0, 16), 16, "light_unet")
    check_input_size(torch.zeros(1, 3, 32, 48), 16, "light_unet")


# --------------------------------------------------------------------------- gflops
@pytest.mark.slow  # FlopCounterMode's first use in a process takes ~1.5 s
def test_gflops_positive_and_scales_with_area():
    model = create_model("light_unet", **SMALL["light_unet"])
    model.train()
    small_cost = gflops(model, 32, 32, 3)
    big_cost = gflops(model, 64, 64, 3)
    assert isinstance(small_cost, float) and small_cost > 0
    assert big_cost / small_cost == pytest.approx(4.0, rel=0.02)
    assert model.training  # restored
    assert gflops(model, 32, 32) == small_cost  # in_channels from the model


@pytest.mark.slow
def test_gflops_counts_two_flops_per_multiply_add():
    conv = torch.nn.Conv2d(3, 8, 3, padding=1, bias=False)
    assert gflops(conv, 16, 16, 3) == pytest.approx(2 * 3 * 8 * 9 * 16 * 16 / 1e9)
    assert gflops(conv, 16, 16) == gflops(conv, 16, 16, 3)  # Conv2d has .in_channels
    with pytest.raises(InputError, match="in_channels"):
        gflops(torch.nn.Sequential(conv), 16, 16)


def test_image_to_depth_networks():
    from rgb2depth.models import image_to_depth_models, image_to_depth_probe

    critics = {"dcgan_critic", "patchgan_critic", "pix2pix_patchgan"}
    others = {"face_cgan_discriminator", "face_siamese"}
    assert set(image_to_depth_models()) == set(NAMES) - critics - others
    probe = image_to_depth_probe("light_unet", in_channels=1)
    assert probe is not None and probe.in_channels == 1 and not probe.training
    assert next(probe.parameters()).is_meta


@pytest.mark.parametrize("r", [1, 2, 4, 8, 16])
def test_fast_unet_space_to_depth_factors(r):
    """Every factor builds with one width per level from 1/r to 1/16 and keeps the size."""
    from rgb2depth.models.fast_depth import levels

    widths = tuple(4 + 2 * i for i in range(levels(r)))
    net = create_model("fast_unet", space_to_depth=r, channels=widths).eval()
    assert len(net.down) == levels(r) - 1
    assert net(torch.zeros(1, 3, 32, 48)).shape == (1, 1, 32, 48)


def test_fast_unet_output_is_per_pixel_not_upsampled():
    """With r = 4 the head's 16 channels are the 16 pixels of each 4x4 block: a head
    whose only non-zero output is channel 5 (its bias) lights pixel (1, 1) of every
    block and nothing else (an upsampled 1/4 map would spread it)."""
    net = create_model("fast_unet", channels=(4, 6, 8)).eval()
    with torch.no_grad():
        net.head.weight.zero_()
        net.head.bias.zero_()
        net.head.bias[5] = 1.0
        y = net(torch.randn(1, 3, 32, 32))[0, 0]
    expected = torch.zeros(32, 32)
    expected[1::4, 1::4] = 1.0
    assert torch.equal(y, expected)


@pytest.mark.parametrize(
    "settings, fragment",
    [
        ({"space_to_depth": 3}, "space_to_depth must be one of 1, 2, 4, 8, 16"),
        ({"space_to_depth": 4, "channels": (4, 6)}, "sequence of 3 positive integers"),
        ({"space_to_depth": 2, "channels": (4, 6, 8)}, "sequence of 4 positive integers"),
        ({"extra": -1}, "extra must be an integer >= 0"),
    ],
)
def test_fast_unet_refuses_bad_settings(settings, fragment):
    with pytest.raises(InputError, match=fragment):
        create_model("fast_unet", **settings)


@pytest.mark.parametrize("r, stem", [(2, (3,)), (4, ()), (4, (3,)), (4, (3, 5)), (8, (3, 5, 7))])
def test_fast_unet_stem_keeps_the_size(r, stem):
    """Strided stem convolutions replace part of the space-to-depth factor: the
    first 3x3 convolution after the stem sees its last width times (r / 2^len)^2."""
    from rgb2depth.models.fast_depth import levels

    widths = tuple(4 + 2 * i for i in range(levels(r)))
    net = create_model("fast_unet", space_to_depth=r, channels=widths, stem=stem).eval()
    assert len(net.stem) == len(stem)
    rest = r >> len(stem)
    assert net.inp[0][0].in_channels == (stem[-1] if stem else 3) * rest**2
    assert net(torch.randn(2, 3, 32, 48)).shape == (2, 1, 32, 48)


@pytest.mark.parametrize("r, expected", [(1, ()), (2, (16,)), (4, (16, 32)), (16, (16, 32))])
def test_fast_unet_default_stem_follows_the_factor(r, expected):
    from rgb2depth.models.fast_depth import levels

    net = create_model("fast_unet", space_to_depth=r, channels=(4,) * levels(r))
    assert tuple(conv[0].out_channels for conv in net.stem) == expected
    assert all(conv[0].stride == (2, 2) for conv in net.stem)


def test_fast_unet_without_stem_is_the_first_design():
    """``stem: []`` is the first version (space-to-depth on the raw pixels), kept so
    that its figures in the README can be reproduced: 757,520 parameters."""
    assert count_parameters(create_model("fast_unet", stem=[])) == 757_520
    assert count_parameters(create_model("fast_unet")) == 753_440


@pytest.mark.parametrize(
    "settings, fragment",
    [
        ({"space_to_depth": 8, "stem": (3, 5, 7, 9)}, "halve the size more than space_to_depth 8"),
        ({"stem": "16"}, "stem must be a list of positive integers"),
        ({"stem": (16, 0)}, "stem must be a positive integer, got 0"),
    ],
)
def test_fast_unet_refuses_bad_stem(settings, fragment):
    from rgb2depth.models.fast_depth import levels

    widths = tuple(4 + 2 * i for i in range(levels(settings.get("space_to_depth", 4))))
    with pytest.raises(InputError, match=fragment):
        create_model("fast_unet", channels=widths, **settings)


@pytest.mark.parametrize("context", [False, True])
def test_fast_unet_context_reaches_beyond_the_receptive_field(context):
    """``context: true`` adds the image's mean deepest feature at every position:
    a change in one corner of a 384x384 image then moves the prediction in the
    opposite corner, which the convolutions alone cannot see that far."""
    torch.manual_seed(0)
    net = create_model("fast_unet", channels=(4, 6, 8), context=context).eval()
    x = torch.randn(1, 3, 384, 384)
    changed = x.clone()
    changed[..., -32:, -32:] += 2.0
    with torch.no_grad():
        a, b = net(x)[..., :32, :32], net(changed)[..., :32, :32]
    assert torch.equal(a, b) is not context
    assert count_parameters(net) == count_parameters(
        create_model("fast_unet", channels=(4, 6, 8))
    ) + context * (8 * 8 + 8)


def test_fast_unet_refuses_a_context_that_is_not_a_bool():
    with pytest.raises(InputError, match="context must be true or false, got 'yes'"):
        create_model("fast_unet", context="yes")
