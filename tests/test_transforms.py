"""Tests of rgb2depth.data.transforms on tiny samples that follow the sample contract."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from rgb2depth.data.transforms import (
    PRESETS,
    AutoGamma,
    CenterCrop,
    Compose,
    Grayscale,
    RandomAlbedoDecals,
    RandomChannelSwap,
    RandomCrop,
    RandomGamma,
    RandomGaussianBlur,
    RandomHistogramEqualization,
    RandomHorizontalFlip,
    RandomJitterCrop,
    RandomRotation,
    Resize,
    ToModelRange,
    build_transforms,
    depth_from_model_range,
    depth_to_model_range,
    rgb_from_model_range,
    rgb_to_model_range,
)
from rgb2depth.errors import InputError

H, W = 16, 20
LO, HI = 5.0, 6.0  # every valid depth of the test samples lies in [LO, HI]
TOL = 1e-5


def _ramp(h: int = H, w: int = W) -> torch.Tensor:
    """(h, w) ramp in [0, 1] increasing to the right and downwards."""
    y = torch.arange(h, dtype=torch.float32)[:, None]
    x = torch.arange(w, dtype=torch.float32)[None, :]
    return (x + y) / (h + w - 2)


def make_sample(*, holes: bool = True, seed: int = 0) -> dict:
    """Paired sample: depth = 5 + ramp in [5, 6] with holes (0), rgb channel 0 = ramp."""
    g = torch.Generator().manual_seed(seed)
    ramp = _ramp()
    mask = torch.ones(1, H, W, dtype=torch.bool)
    if holes:
        mask[:, 4:9, 6:11] = False  # a block hole
        mask &= torch.rand(1, H, W, generator=g) > 0.05  # scattered invalid pixels
    depth = torch.where(mask, LO + ramp[None], torch.zeros(1, H, W))
    rgb = torch.rand(3, H, W, generator=g)
    rgb[0] = ramp
    return {"rgb": rgb, "depth": depth, "mask": mask, "name": "a"}


def rgb_half(sample: dict) -> dict:
    return {"rgb": sample["rgb"], "rgb_name": "r"}


def depth_half(sample: dict) -> dict:
    return {"depth": sample["depth"], "mask": sample["mask"], "depth_name": "d"}


def assert_contract(out: dict, size: tuple[int, int] | None = None, channels: int = 3) -> None:
    """Shapes, dtypes, depth 0 where invalid, no blended depth: valid depth in [LO, HI]."""
    if "rgb" in out:
        rgb = out["rgb"]
        assert rgb.dtype == torch.float32 and rgb.ndim == 3 and rgb.shape[0] == channels
        if size is not None:
            assert tuple(rgb.shape[1:]) == size
    if "depth" in out:
        depth, mask = out["depth"], out["mask"]
        assert depth.dtype == torch.float32 and mask.dtype == torch.bool
        assert depth.shape == mask.shape and depth.shape[0] == 1
        if size is not None:
            assert tuple(depth.shape[1:]) == size
        if "rgb" in out:
            assert depth.shape[1:] == out["rgb"].shape[1:]
        assert mask.any()
        assert torch.all(depth[~mask] == 0)
        valid = depth[mask]
        assert valid.min() >= LO - TOL and valid.max() <= HI + TOL


def _eroded(mask: torch.Tensor) -> torch.Tensor:
    """Mask pixels whose 3x3 neighbourhood is entirely valid (and not on the border)."""
    invalid = (~mask).float()[None]
    grown = F.max_pool2d(F.pad(invalid, (1, 1, 1, 1), value=1.0), 3, stride=1)[0] > 0
    return mask & ~grown


GEOMETRIC = [
    Resize((8, 10)),
    Resize((24, 30)),
    Resize((11, 13)),
    Resize((7, 9), depth_mode="nearest"),
    Resize((11, 29), depth_mode="nearest"),
    Resize((8, 10), min_valid_weight=1.0),
    RandomJitterCrop(load_size=(18, 22), crop_size=(H, W)),
    RandomJitterCrop(load_size=12, crop_size=10),
    RandomCrop((10, 12)),
    CenterCrop(9),
    RandomHorizontalFlip(p=1.0),
    RandomRotation(max_degrees=30.0),
    RandomRotation(max_degrees=30.0, depth_mode="nearest"),
]

PHOTOMETRIC = [
    RandomGamma(p=1.0),
    AutoGamma(),
    RandomHistogramEqualization(p=1.0),
    RandomGaussianBlur(p=1.0),
    RandomChannelSwap(p=1.0),
    RandomAlbedoDecals(p=1.0),
]


def _out_size(t) -> tuple[int, int]:
    if isinstance(t, Resize):
        return t.size
    if isinstance(t, (RandomCrop, CenterCrop)):
        return t.size
    if isinstance(t, RandomJitterCrop):
        return t.crop.size
    return (H, W)


# --------------------------------------------------------------------------- geometric


@pytest.mark.parametrize("transform", GEOMETRIC, ids=repr)
def test_geometric_keeps_contract_and_never_blends(transform):
    torch.manual_seed(1)
    sample = make_sample()
    out = transform(sample)
    assert_contract(out, _out_size(transform))
    assert out["name"] == "a"
    # the input sample is untouched
    ref = make_sample()
    for key in ("rgb", "depth", "mask"):
        assert torch.equal(sample[key], ref[key])


@pytest.mark.parametrize("transform", GEOMETRIC, ids=repr)
def test_geometric_aligns_rgb_and_depth(transform):
    """rgb channel 0 equals depth - 5 before; it still does (where both are defined) after."""
    torch.manual_seed(2)
    out = transform(make_sample(holes=False))
    rgb0, depth, mask = out["rgb"][0], out["depth"][0], out["mask"][0]
    nearest = getattr(transform, "depth_mode", "masked") == "nearest"
    if isinstance(transform, RandomRotation):
        inner = _eroded(mask)  # rgb is blended with the 0 fill next to the border
        tol = 1.0 / (H + W - 2) + TOL if nearest else TOL
        assert inner.sum() > 20
        assert torch.allclose(rgb0[inner], depth[inner] - LO, atol=tol)
    elif nearest:
        # nearest samples ramp values; bilinear rgb differs by at most one ramp step
        assert mask.all()
        assert torch.allclose(rgb0, depth - LO, atol=1.0 / (H + W - 2) * 2)
    else:
        assert mask.all()
        assert torch.allclose(rgb0, depth - LO, atol=TOL)


def test_resize_masked_does_not_blend_where_naive_bilinear_would():
    sample = make_sample()
    naive = F.interpolate(sample["depth"][None], size=(8, 10), mode="bilinear", antialias=True)[0]
    assert ((naive > 0.1) & (naive < LO - 0.1)).any()  # the sample would catch blending
    out = Resize((8, 10))(sample)
    assert_contract(out, (8, 10))
    # where every contributing pixel is valid, depth is exactly the plain bilinear resize
    full = Resize((8, 10))(make_sample(holes=False))
    weight_one = Resize((8, 10), min_valid_weight=1.0)(sample)["mask"]
    assert weight_one.any() and not weight_one.all()
    assert torch.all(out["mask"][weight_one])  # a stricter threshold keeps fewer pixels
    assert torch.allclose(out["depth"][weight_one], full["depth"][weight_one], atol=TOL)


def test_resize_nearest_copies_input_depth_values():
    sample = make_sample()
    out = Resize((11, 29), depth_mode="nearest")(sample)
    values = set(sample["depth"][sample["mask"]].tolist())
    assert set(out["depth"][out["mask"]].tolist()) <= values


def test_resize_same_size_returns_identical_tensors():
    sample = make_sample()
    out = Resize((H, W))(sample)
    assert out is not sample
    for key in ("rgb", "depth", "mask"):
        assert out[key] is sample[key]


def test_resize_int_means_square():
    out = Resize(12)(make_sample())
    assert out["rgb"].shape == (3, 12, 12) and out["depth"].shape == (1, 12, 12)


def test_flip_identical_and_involutive():
    sample = make_sample()
    out = RandomHorizontalFlip(p=1.0)(sample)
    m = out["mask"]
    assert torch.allclose(out["rgb"][0][m[0]], out["depth"][m] - LO, atol=1e-6)
    assert torch.equal(out["depth"], sample["depth"].flip(-1))
    assert torch.equal(out["mask"], sample["mask"].flip(-1))
    assert torch.equal(out["rgb"], sample["rgb"].flip(-1))
    back = RandomHorizontalFlip(p=1.0)(out)
    for key in ("rgb", "depth", "mask"):
        assert torch.equal(back[key], sample[key])
    same = RandomHorizontalFlip(p=0.0)(sample)
    for key in ("rgb", "depth", "mask"):
        assert torch.equal(same[key], sample[key])


def test_crops_cut_the_same_window():
    sample = make_sample()
    out = CenterCrop((10, 12))(sample)
    for key in ("rgb", "depth", "mask"):
        assert torch.equal(out[key], sample[key][:, 3:13, 4:16])
    torch.manual_seed(3)
    out = RandomCrop((10, 12))(sample)
    # find the window from the ramp: its top-left value is (left + top) / (H + W - 2)
    top_left = round(float(out["rgb"][0, 0, 0]) * (H + W - 2))
    matches = [
        (t, left)
        for t in range(H - 10 + 1)
        for left in range(W - 12 + 1)
        if t + left == top_left
        and torch.equal(out["rgb"], sample["rgb"][:, t : t + 10, left : left + 12])
    ]
    assert len(matches) == 1
    t, left = matches[0]
    assert torch.equal(out["depth"], sample["depth"][:, t : t + 10, left : left + 12])
    assert torch.equal(out["mask"], sample["mask"][:, t : t + 10, left : left + 12])


def test_rotation_invalidates_pixels_from_outside_and_fills_rgb_with_zero():
    torch.manual_seed(0)
    sample = make_sample(holes=False)
    out = RandomRotation(max_degrees=30.0, depth_mode="nearest")(sample)
    assert not out["mask"].all()
    corners = [(0, 0), (0, W - 1), (H - 1, 0), (H - 1, W - 1)]
    assert any(not out["mask"][0, r, c] for r, c in corners)
    for r, c in corners:
        if not out["mask"][0, r, c]:
            assert out["depth"][0, r, c] == 0
    assert (out["rgb"][:, ~out["mask"][0]] <= 0.5).all()  # the fill is 0; edges blend toward 0
    assert torch.equal(RandomRotation(p=0.0)(sample)["depth"], sample["depth"])
    zero = RandomRotation(max_degrees=0.0, depth_mode="nearest")(sample)
    assert torch.equal(zero["depth"], sample["depth"]) and zero["mask"].all()


@pytest.mark.parametrize("transform", GEOMETRIC + PHOTOMETRIC + [Grayscale()], ids=repr)
def test_unpaired_halves(transform):
    sample = make_sample()
    torch.manual_seed(4)
    rgb_out = transform(rgb_half(sample))
    assert set(rgb_out) == {"rgb", "rgb_name"}
    channels = 1 if isinstance(transform, Grayscale) else 3
    assert_contract(rgb_out, _out_size(transform), channels=channels)
    depth_out = transform(depth_half(sample))
    assert set(depth_out) == {"depth", "mask", "depth_name"}
    assert_contract(depth_out, _out_size(transform))
    assert transform({"name": "x"}) == {"name": "x"}


# --------------------------------------------------------------------------- photometric


@pytest.mark.parametrize("transform", [*PHOTOMETRIC, Grayscale()], ids=repr)
def test_photometric_touches_rgb_only(transform):
    torch.manual_seed(5)
    sample = make_sample()
    out = transform(sample)
    assert out["depth"] is sample["depth"] and out["mask"] is sample["mask"]
    assert not torch.equal(out["rgb"], sample["rgb"][: out["rgb"].shape[0]])
    assert out["rgb"].min() >= -TOL and out["rgb"].max() <= 1 + TOL
    channels = 1 if isinstance(transform, Grayscale) else 3
    assert_contract(out, (H, W), channels=channels)


@pytest.mark.parametrize(
    "transform",
    [
        RandomGamma(p=0.0),
        RandomHistogramEqualization(p=0.0),
        RandomGaussianBlur(p=0.0),
        RandomChannelSwap(p=0.0),
        RandomAlbedoDecals(p=0.0),
    ],
    ids=repr,
)
def test_photometric_p0_is_identity(transform):
    sample = make_sample()
    assert transform(sample)["rgb"] is sample["rgb"]


def test_grayscale_weights():
    rgb = torch.zeros(3, 2, 3)
    rgb[0, 0, 0] = 1.0
    rgb[1, 0, 1] = 1.0
    rgb[2, 0, 2] = 1.0
    rgb[:, 1, :] = 0.5
    out = Grayscale()({"rgb": rgb})["rgb"]
    assert out.shape == (1, 2, 3)
    expected = torch.tensor([[0.299, 0.587, 0.114], [0.5, 0.5, 0.5]])
    assert torch.allclose(out[0], expected, atol=1e-6)
    gray = torch.rand(1, 4, 4)
    assert torch.equal(Grayscale()({"rgb": gray})["rgb"], gray)


@pytest.mark.parametrize("value", [0.01, 0.1, 0.25, 0.5, 0.8, 0.95])
def test_auto_gamma_formula(value):
    rgb = torch.full((3, 4, 5), value)
    out = AutoGamma()({"rgb": rgb})["rgb"]
    m = min(max(value, 0.032), 0.871)
    gamma = -0.3 * 2.303 / math.log(m)
    assert 0.19 < gamma < 5.1
    assert torch.allclose(out, torch.full_like(rgb, value**gamma), rtol=1e-5)
    if 0.032 <= value <= 0.871:
        assert abs(float(out.mean()) - 0.501) < 1e-3  # the mean moves to about 0.5


def test_random_gamma_draws_in_range():
    torch.manual_seed(6)
    rgb = torch.full((3, 2, 2), 0.5)
    for _ in range(20):
        out = RandomGamma(gamma_range=(0.7, 1.5), p=1.0)({"rgb": rgb})["rgb"]
        gamma = math.log(float(out[0, 0, 0])) / math.log(0.5)
        assert 0.7 - 1e-4 <= gamma <= 1.5 + 1e-4
        assert torch.all(out == out[0, 0, 0])


def test_blur_smooths_and_keeps_constants():
    torch.manual_seed(7)
    flat = torch.full((3, H, W), 0.3)
    assert torch.allclose(RandomGaussianBlur(p=1.0)({"rgb": flat})["rgb"], flat, atol=1e-6)
    noise = torch.rand(3, H, W)
    out = RandomGaussianBlur(sigma=(1.5, 2.0), p=1.0)({"rgb": noise})["rgb"]
    assert out.var() < noise.var() * 0.5


def test_equalize_spreads_histogram():
    rgb = 0.4 + 0.1 * torch.rand(3, H, W)
    out = RandomHistogramEqualization(p=1.0)({"rgb": rgb})["rgb"]
    assert out.max() - out.min() > 0.9


def test_channel_swap_is_a_non_identity_permutation():
    torch.manual_seed(8)
    rgb = torch.stack([torch.full((2, 2), v) for v in (0.1, 0.2, 0.3)])
    seen = set()
    for _ in range(60):
        out = RandomChannelSwap(p=1.0)({"rgb": rgb})["rgb"]
        perm = tuple(round(float(c) * 10) - 1 for c in out[:, 0, 0])
        assert sorted(perm) == [0, 1, 2] and perm != (0, 1, 2)
        seen.add(perm)
    assert len(seen) == 5
    gray = torch.rand(1, 2, 2)
    assert RandomChannelSwap(p=1.0)({"rgb": gray})["rgb"] is gray


def test_albedo_decals_change_colour_by_gains_only_and_land_on_the_subject():
    torch.manual_seed(3)
    size = 48
    rgb = 0.25 + 0.5 * torch.rand(3, size, size)
    depth = torch.full((1, size, size), 700.0)
    mask = torch.zeros(1, size, size, dtype=torch.bool)
    mask[:, 16:32, 16:32] = True  # the subject: a square in the middle
    sample = {"rgb": rgb, "depth": depth, "mask": mask}
    changed = torch.zeros(size, size, dtype=torch.bool)
    for _ in range(20):
        out = RandomAlbedoDecals(p=1.0, max_count=1, gain_range=(0.2, 0.2))(sample)
        assert out["depth"] is depth and out["mask"] is mask
        gain = out["rgb"] / rgb  # multiplicative: the shading under a mark is kept
        assert gain.min() >= 0.2 * 0.85 - 1e-5 and gain.max() <= 1.0 + 1e-5
        changed |= (gain < 0.999).any(0)
    # centred on the subject: it is marked more densely than the rest of the image
    inside = changed[16:32, 16:32].float().mean()
    outside = changed[~mask[0]].float().mean()
    assert inside > 0.5 and inside > 2 * outside
    assert "faces-decals" in PRESETS


# --------------------------------------------------------------------------- model range


def test_to_model_range_maps_and_fills():
    sample = make_sample()
    sample["depth"][0, 0, 0] = LO  # exact ends of the range (pixel (0, 0) is valid or set so)
    sample["mask"][0, 0, 0] = True
    sample["depth"][0, -1, -1] = HI
    sample["mask"][0, -1, -1] = True
    out = ToModelRange((LO, HI), fill=0.75)(sample)
    assert out["mask"] is sample["mask"]
    assert torch.allclose(out["rgb"], sample["rgb"] * 2 - 1)
    assert out["depth"][0, 0, 0] == -1.0 and out["depth"][0, -1, -1] == 1.0
    assert torch.all(out["depth"][~out["mask"]] == 0.75)
    valid = out["depth"][out["mask"]]
    assert valid.min() >= -1 and valid.max() <= 1
    back = depth_from_model_range(out["depth"], (LO, HI))
    torch.testing.assert_close(back[out["mask"]], sample["depth"][sample["mask"]])
    default = ToModelRange((LO, HI))(sample)
    assert torch.all(default["depth"][~default["mask"]] == 1.0)


def test_to_model_range_clips_valid_depth():
    depth = torch.tensor([[[4.0, 5.5, 7.0]]])
    mask = torch.ones_like(depth, dtype=torch.bool)
    out = ToModelRange((LO, HI))({"depth": depth, "mask": mask})["depth"]
    assert torch.equal(out, torch.tensor([[[-1.0, 0.0, 1.0]]]))
    raw = ToModelRange((LO, HI), clip=False)({"depth": depth, "mask": mask})["depth"]
    assert torch.allclose(raw, torch.tensor([[[-3.0, 0.0, 3.0]]]))


@pytest.mark.parametrize("depth_range", [(0.001, 10.0), (300.0, 1200.0), (-2.0, 3.5)])
def test_model_range_roundtrip(depth_range):
    lo, hi = depth_range
    g = torch.Generator().manual_seed(9)
    depth = lo + (hi - lo) * torch.rand(2, 1, 7, 9, generator=g)
    x = depth_to_model_range(depth, depth_range)
    assert x.dtype == torch.float32 and x.min() >= -1 - TOL and x.max() <= 1 + TOL
    torch.testing.assert_close(depth_from_model_range(x, depth_range), depth)
    y = torch.rand(5, 5, generator=g) * 2 - 1
    torch.testing.assert_close(
        depth_to_model_range(depth_from_model_range(y, depth_range), depth_range), y
    )
    ends = depth_to_model_range(torch.tensor([lo, hi]), depth_range)
    torch.testing.assert_close(ends, torch.tensor([-1.0, 1.0]))
    rgb = torch.rand(3, 4, 4, generator=g)
    torch.testing.assert_close(rgb_from_model_range(rgb_to_model_range(rgb)), rgb)
    torch.testing.assert_close(
        rgb_to_model_range(torch.tensor([0.0, 1.0])), torch.tensor([-1.0, 1.0])
    )


# --------------------------------------------------------------------------- presets


def test_presets_dict_is_the_source_of_truth():
    assert {"none", "pix2pix", "light_unet", "densedepth", "unsupervised"} <= set(PRESETS)
    for preset in PRESETS.values():
        assert preset.description


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("grayscale", [False, True])
def test_presets_run_end_to_end(preset, train, grayscale):
    torch.manual_seed(10)
    pipeline = build_transforms(
        preset, size=(12, 16), depth_range=(LO, HI), grayscale=grayscale, train=train
    )
    assert isinstance(pipeline, Compose)
    assert isinstance(pipeline.transforms[-1], ToModelRange)
    assert isinstance(pipeline.transforms[-2], Grayscale) == grayscale
    if not train:
        assert isinstance(pipeline.transforms[0], Resize) and len(pipeline) == 2 + grayscale
    sample = make_sample()
    out = pipeline(sample)
    c = 1 if grayscale else 3
    assert out["rgb"].shape == (c, 12, 16) and out["rgb"].dtype == torch.float32
    assert out["depth"].shape == (1, 12, 16) and out["mask"].shape == (1, 12, 16)
    assert out["mask"].dtype == torch.bool and out["mask"].any()
    assert out["rgb"].min() >= -1 - TOL and out["rgb"].max() <= 1 + TOL
    assert out["depth"].min() >= -1 and out["depth"].max() <= 1
    assert torch.all(out["depth"][~out["mask"]] == 1.0)
    # both unpaired halves too
    assert pipeline(rgb_half(sample))["rgb"].shape == (c, 12, 16)
    assert pipeline(depth_half(sample))["depth"].shape == (1, 12, 16)


def test_pix2pix_preset_scales_load_size():
    pipeline = build_transforms("pix2pix", size=256, depth_range=(LO, HI))
    jitter = pipeline.transforms[0]
    assert isinstance(jitter, RandomJitterCrop)
    assert jitter.resize.size == (286, 286) and jitter.crop.size == (256, 256)


def test_determinism_under_manual_seed():
    pipeline = build_transforms("unsupervised", size=(12, 16), depth_range=(LO, HI))
    rotation = Compose([RandomRotation(max_degrees=40.0), RandomCrop(10)])

    def run(seed):
        torch.manual_seed(seed)
        return [pipeline(make_sample()) for _ in range(4)] + [rotation(make_sample())]

    a, b, c = run(11), run(11), run(12)
    for x, y in zip(a, b, strict=True):
        for key in ("rgb", "depth", "mask"):
            assert torch.equal(x[key], y[key])
    assert any(not torch.equal(x["rgb"], z["rgb"]) for x, z in zip(a, c, strict=True))


def test_reprs_are_readable():
    assert (
        repr(Resize((8, 10))) == "Resize(size=(8, 10), depth_mode='masked', min_valid_weight=0.5)"
    )
    assert repr(RandomHorizontalFlip()) == "RandomHorizontalFlip(p=0.5)"
    assert "fill=1.0" in repr(ToModelRange((0.0, 10.0)))
    text = repr(build_transforms("light_unet", size=8, depth_range=(0.0, 1.0)))
    for name in ("Compose", "Resize", "RandomHorizontalFlip", "RandomRotation", "ToModelRange"):
        assert name in text


# --------------------------------------------------------------------------- errors


def test_unknown_preset_lists_known():
    with pytest.raises(InputError, match="known presets") as info:
        build_transforms("nope", size=8, depth_range=(0.0, 1.0))
    for name in PRESETS:
        assert name in str(info.value)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Resize(0),
        lambda: Resize((8, 0)),
        lambda: Resize((8, 8, 8)),
        lambda: Resize(8.5),
        lambda: Resize(8, depth_mode="cubic"),
        lambda: Resize(8, min_valid_weight=0.0),
        lambda: RandomJitterCrop(load_size=256, crop_size=286),
        lambda: RandomJitterCrop(load_size=(300, 200), crop_size=256),
        lambda: RandomCrop(-1),
        lambda: RandomHorizontalFlip(p=-0.1),
        lambda: RandomHorizontalFlip(p=1.5),
        lambda: RandomRotation(max_degrees=-1.0),
        lambda: RandomRotation(p=2.0),
        lambda: RandomGamma(gamma_range=(0.0, 1.0)),
        lambda: RandomGamma(gamma_range=(1.5, 0.7)),
        lambda: RandomGaussianBlur(kernel_size=4),
        lambda: RandomGaussianBlur(sigma=(-1.0, 1.0)),
        lambda: RandomChannelSwap(p=-0.25),
        lambda: RandomAlbedoDecals(max_count=0),
        lambda: RandomAlbedoDecals(gain_range=(0.0, 1.0)),
        lambda: RandomHistogramEqualization(p=True),
        lambda: ToModelRange((1.0, 1.0)),
        lambda: ToModelRange((0.0, 1.0), fill=2.0),
        lambda: ToModelRange((0.0, float("inf"))),
        lambda: Compose(RandomHorizontalFlip()),
        lambda: build_transforms("none", size=0, depth_range=(0.0, 1.0)),
        lambda: build_transforms("none", size=8, depth_range=(2.0, 1.0)),
        lambda: depth_to_model_range(torch.zeros(1), (3.0, 3.0)),
    ],
)
def test_bad_settings_raise(make):
    with pytest.raises(InputError):
        make()


def test_crop_larger_than_sample_raises():
    with pytest.raises(InputError, match="larger"):
        RandomCrop((H + 1, W))(make_sample())
    with pytest.raises(InputError, match="larger"):
        CenterCrop((H, W + 1))(make_sample())


def test_bad_samples_raise():
    sample = make_sample()
    mismatched = dict(sample, rgb=torch.rand(3, H, W + 2))
    with pytest.raises(InputError) as info:
        RandomHorizontalFlip()(mismatched)
    assert "(3, 16, 22)" in str(info.value) and "(1, 16, 20)" in str(info.value)
    with pytest.raises(InputError, match="mask"):
        Resize(8)({"depth": sample["depth"]})
    with pytest.raises(InputError, match="bool"):
        Resize(8)(dict(sample, mask=sample["mask"].float()))
    with pytest.raises(InputError, match="rgb"):
        Resize(8)({"rgb": torch.rand(H, W)})
    with pytest.raises(InputError, match="rgb"):
        Resize(8)({"rgb": torch.rand(4, H, W)})
    with pytest.raises(InputError, match="depth"):
        Resize(8)({"depth": torch.rand(2, H, W), "mask": torch.ones(2, H, W, dtype=torch.bool)})
