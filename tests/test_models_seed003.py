"""Seed 003's DenseNet-121 encoder-decoder: layout, counts, ImageNet weight loading."""

from __future__ import annotations

import re

import pytest
import torch
from safetensors.torch import save_file

from rgb2depth.errors import InputError
from rgb2depth.models import count_parameters, create_model, get_entry
from rgb2depth.models.densenet_depth import DenseNetDepth, load_imagenet_encoder

NAME = "densenet_depth"
TINY = {"growth_rate": 4, "init_features": 8, "block_config": (1, 1, 1, 1), "decoder_width": 32}


def _tiny(**kwargs) -> DenseNetDepth:
    return create_model(NAME, **{**TINY, **kwargs})


def _old_style(key: str) -> str:
    """``denselayer1.norm1.weight`` -> ``denselayer1.norm.1.weight`` (torchvision's file)."""
    return re.sub(r"(denselayer\d+\.(?:norm|conv))([12])\.", r"\1.\2.", key)


def _torchvision_state(model: DenseNetDepth, *, old: bool) -> dict[str, torch.Tensor]:
    """The encoder as a torchvision densenet121 file would hold it, with a classifier."""
    state = {}
    for k, v in model.features.state_dict().items():
        if old and k.endswith("num_batches_tracked"):
            continue  # the released file predates num_batches_tracked
        key = f"features.{k}"
        state[_old_style(key) if old else key] = v.clone()
    n = model.features.norm5.num_features
    state["classifier.weight"] = torch.randn(1000, n)
    state["classifier.bias"] = torch.zeros(1000)
    return state


class NotATensor:
    """A pickled object that torch.load(weights_only=True) must refuse."""

    def __init__(self) -> None:
        self.value = 1


# --------------------------------------------------------------------------- layout and counts
def test_default_counts_encoder_and_total():
    with torch.device("meta"):
        model = create_model(NAME)
    assert not any(not p.is_meta for p in model.parameters())
    assert count_parameters(model.features) == 6_953_856
    assert count_parameters(model) == 15_187_837
    entry = get_entry(NAME)
    assert entry.stride == 32 and entry.paper_params == 15e6
    assert abs(count_parameters(model) - 15e6) / 15e6 <= entry.params_tolerance == 0.02


def test_decoder_width_is_the_value_nearest_15m():
    def total(width: int) -> int:
        with torch.device("meta"):
            return count_parameters(create_model(NAME, decoder_width=width))

    assert total(608) < 15e6 < total(640) < total(672)
    assert abs(total(640) - 15e6) < abs(total(608) - 15e6)


def test_torchvision_layout_and_skip_widths():
    with torch.device("meta"):
        model = create_model(NAME)
    names = [n for n, _ in model.features.named_children()]
    assert names == [
        "conv0", "norm0", "relu0", "pool0",
        "denseblock1", "transition1", "denseblock2", "transition2",
        "denseblock3", "transition3", "denseblock4", "norm5",
    ]  # fmt: skip
    keys = model.state_dict()
    assert tuple(keys["features.conv0.weight"].shape) == (64, 3, 7, 7)
    assert "features.conv0.bias" not in keys
    assert tuple(keys["features.denseblock1.denselayer1.conv1.weight"].shape) == (128, 64, 1, 1)
    assert tuple(keys["features.denseblock1.denselayer6.conv2.weight"].shape) == (32, 128, 3, 3)
    assert tuple(keys["features.transition3.conv.weight"].shape) == (512, 1024, 1, 1)
    assert "features.denseblock4.denselayer16.norm2.running_var" in keys
    assert tuple(keys["features.norm5.weight"].shape) == (1024,)
    dec = model.decoder
    assert (dec.conv_in.in_channels, dec.conv_in.out_channels) == (1024, 640)
    # bridge input = upsampled decoder features + skip of the same resolution
    ins = [(b.conv1.in_channels, b.conv1.out_channels) for b in dec.bridges]
    assert ins == [(640 + 1024, 320), (320 + 512, 160), (160 + 256, 80), (80 + 64, 40), (40, 20)]
    assert all(b.conv1.kernel_size == (3, 3) and b.conv1.bias is not None for b in dec.bridges)
    assert (dec.conv_out.in_channels, dec.conv_out.out_channels) == (20, 1)


def test_decoder_he_init_and_zero_biases():
    torch.manual_seed(0)
    model = create_model(NAME, decoder_width=64)
    conv = model.decoder.bridges[0].conv1  # 64 + 1024 inputs, 3x3
    fan_in = conv.in_channels * 9
    expected = (2.0 / (1 + 0.2**2)) ** 0.5 / fan_in**0.5
    assert conv.weight.std().item() == pytest.approx(expected, rel=0.05)
    biases = [b.conv2.bias for b in model.decoder.bridges] + [model.decoder.conv_out.bias]
    assert all(int(torch.count_nonzero(b)) == 0 for b in biases)


def test_settings_are_checked():
    with pytest.raises(InputError, match="decoder_width must be a multiple of 32"):
        create_model(NAME, decoder_width=48)
    with pytest.raises(InputError, match="block_config must be a sequence of 4"):
        create_model(NAME, block_config=(6, 12, 24))
    with pytest.raises(InputError, match="growth_rate must be a positive integer"):
        create_model(NAME, growth_rate=0)
    with pytest.raises(InputError, match="init_features must be a positive integer"):
        create_model(NAME, init_features=2.5)


# --------------------------------------------------------------------------- forward
def test_forward_two_sizes_finite_and_refuses_other_sizes():
    torch.manual_seed(0)
    model = _tiny(out_channels=2)
    for h, w in ((64, 64), (64, 96)):
        y = model(torch.rand(2, 3, h, w) * 2 - 1)
        assert y.shape == (2, 2, h, w)
        assert torch.isfinite(y).all()
    with pytest.raises(
        InputError, match=r"densenet_depth needs .*multiples of 32 and at least 64, got 80x64"
    ):
        model(torch.zeros(1, 3, 80, 64))
    with pytest.raises(InputError, match=r"at least 64, got 32x64"):
        model(torch.zeros(1, 3, 32, 64))
    one = _tiny(in_channels=1).eval()
    with torch.no_grad():
        assert one(torch.zeros(1, 1, 64, 128)).shape == (1, 1, 64, 128)


def test_input_is_mapped_to_imagenet_normalisation():
    model = _tiny()
    x = torch.tensor([-1.0, 0.0, 1.0]).view(1, 1, 1, 3).expand(1, 3, 1, 3)
    got = model.normalize_input(x)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    assert torch.allclose(got, ((x + 1) / 2 - mean) / std, atol=1e-6)
    # constants, not state: only the encoder and decoder tensors are saved
    assert all(k.startswith(("features.", "decoder.")) for k in model.state_dict())
    one = _tiny(in_channels=1)
    assert torch.equal(one.normalize_input(x[:, :1]), x[:, :1])


# --------------------------------------------------------------------------- ImageNet weights
def _fill(model: DenseNetDepth) -> None:
    """Distinct values in every encoder tensor, BN statistics included."""
    torch.manual_seed(1)
    with torch.no_grad():
        for k, v in model.features.state_dict().items():
            if v.is_floating_point():
                v.copy_(torch.rand_like(v) + 0.5 if "running_var" in k else torch.randn_like(v))


def _assert_same_encoder(a: DenseNetDepth, b: DenseNetDepth) -> None:
    sa, sb = a.features.state_dict(), b.features.state_dict()
    for k, v in sa.items():
        if not k.endswith("num_batches_tracked"):
            assert torch.equal(v, sb[k]), k


def test_loads_old_style_pth_and_new_style_safetensors(tmp_path):
    source = _tiny()
    _fill(source)
    pth = tmp_path / "densenet121.pth"
    old = _torchvision_state(source, old=True)
    assert "features.denseblock1.denselayer1.norm.1.weight" in old
    torch.save(old, pth)
    st = tmp_path / "densenet121.safetensors"
    save_file(_torchvision_state(source, old=False), str(st))

    first = _tiny()
    n = first.load_imagenet_encoder(pth)
    assert n == len(old) - 2  # all features.* tensors, not the classifier
    _assert_same_encoder(source, first)

    second = _tiny()
    decoder_before = {k: v.clone() for k, v in second.decoder.state_dict().items()}
    assert load_imagenet_encoder(second, st) == len(source.features.state_dict())
    _assert_same_encoder(source, second)
    for k, v in second.decoder.state_dict().items():
        assert torch.equal(v, decoder_before[k])  # the decoder is untouched

    # DataParallel prefix
    torch.save({f"module.{k}": v for k, v in old.items()}, tmp_path / "dp.pth")
    third = _tiny()
    third.load_imagenet_encoder(tmp_path / "dp.pth")
    _assert_same_encoder(source, third)


def test_wrong_files_are_refused_with_one_line(tmp_path):
    source = _tiny()
    state = _torchvision_state(source, old=False)

    missing = dict(state)
    del missing["features.norm5.weight"]
    torch.save(missing, tmp_path / "missing.pth")
    with pytest.raises(InputError, match=r"missing key.*features\.norm5\.weight.*torchvision "):
        _tiny().load_imagenet_encoder(tmp_path / "missing.pth")

    extra = {**state, "features.denseblock9.weight": torch.zeros(1)}
    torch.save(extra, tmp_path / "extra.pth")
    with pytest.raises(InputError, match=r"unexpected key.*denseblock9.*densenet121"):
        _tiny().load_imagenet_encoder(tmp_path / "extra.pth")

    other = {**state, "fc.weight": torch.zeros(1)}
    torch.save(other, tmp_path / "resnet.pth")
    with pytest.raises(InputError, match=r"unexpected key.*fc\.weight.*densenet121"):
        _tiny().load_imagenet_encoder(tmp_path / "resnet.pth")

    torch.save(state, tmp_path / "tiny.pth")  # another growth rate: shapes differ
    with pytest.raises(InputError, match=r"shape mismatch.*densenet121") as info:
        _tiny(growth_rate=6).load_imagenet_encoder(tmp_path / "tiny.pth")
    assert "\n" not in str(info.value)

    with pytest.raises(InputError, match=r"no such file.*densenet121\(weights='IMAGENET1K_V1'\)"):
        _tiny().load_imagenet_encoder(tmp_path / "nowhere.pth")

    torch.save({"features.conv0.weight": NotATensor()}, tmp_path / "pickle.pth")
    with pytest.raises(
        InputError, match=r"^DenseNet-121 weights .*pickle\.pth: it holds pickled Python objects"
    ) as info:
        _tiny().load_imagenet_encoder(tmp_path / "pickle.pth")
    assert "\n" not in str(info.value)

    (tmp_path / "w.bin").write_bytes(b"x")
    with pytest.raises(InputError, match=r"DenseNet-121 weights .*\.safetensors, \.pth or \.pt"):
        _tiny().load_imagenet_encoder(tmp_path / "w.bin")

    with pytest.raises(InputError, match=r"in_channels=1.*conv0"):
        _tiny(in_channels=1).load_imagenet_encoder(tmp_path / "tiny.pth")
