"""Method ``adapt``: the supervised loss plus a WGAN-GP depth critic on unpaired real photos.

Checks its options, that the critic's loss is the Wasserstein estimate between the
real (synthetic depth) and fake (depth of photos) maps it is given, that the generator's
loss is exactly the supervised loss plus lambda_adv times the adversarial term, that its
batches depend only on (seed, step), and a run through ``rgb2depth train`` whose model
predicts. The generated tests (test_methods.py, test_kill_resume.py) run its example too.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from rgb2depth.errors import InputError
from rgb2depth.methods import METHODS, MethodContext, build_method
from rgb2depth.methods.adapt import Adapt, PhotoPairs, example_photos

CONTEXT = MethodContext(in_channels=3, depth_units="mm", depth_range=(500.0, 1800.0))
SIZE = 32


class _Net(torch.nn.Module):
    """A depth "network": a fixed function of the image plus a learnable constant."""

    out_channels = 1

    def __init__(self) -> None:
        super().__init__()
        self.offset = torch.nn.Parameter(torch.zeros(()))

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return 0.3 * rgb[:, :1] - 0.2 * rgb[:, 2:3] + self.offset


def write_photos(folder: Path, n: int = 3, seed: int = 0) -> Path:
    """``n`` small photos of different sizes, PNG and JPEG, one in a sub-folder."""
    rng = np.random.default_rng(seed)
    (folder / "more").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img = rng.integers(0, 256, size=(20 + 4 * i, 24, 3), dtype=np.uint8)
        where = folder / "more" if i == 0 else folder
        Image.fromarray(img).save(where / f"p{i}.{'jpg' if i % 2 else 'png'}")
    (folder / "notes.txt").write_text("not a photo", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_photos(tmp_path_factory.mktemp("photos") / "real")


def make(photos: Path, model: torch.nn.Module | None = None, **options: Any) -> Adapt:
    torch.manual_seed(0)
    section = {
        "name": "adapt",
        "extra_rgb": str(photos),
        "critic_kwargs": {"base_width": 2},
        **options,
    }
    method = build_method(section, model if model is not None else _Net(), CONTEXT)
    assert isinstance(method, Adapt)
    return method


def batch(seed: int = 0, b: int = 2) -> dict[str, Any]:
    """A batch of the contract plus ``photo``: face-like depth valid in a disc."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(SIZE), torch.arange(SIZE), indexing="ij")
    disc = ((yy - 15.5) ** 2 + (xx - 15.5) ** 2 < 100)[None, None].expand(b, 1, -1, -1)
    depth = torch.rand(b, 1, SIZE, SIZE, generator=g) * 0.3 - 0.6
    return {
        "rgb": torch.rand(b, 3, SIZE, SIZE, generator=g) * 2 - 1,
        "depth": torch.where(disc, depth, torch.ones_like(depth)),
        "mask": disc.clone(),
        "photo": torch.rand(b, 3, SIZE, SIZE, generator=g) * 2 - 1,
    }


# ------------------------------------------------------------------ options


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"extra_rgb": None}, "method.extra_rgb is required for method adapt"),
        ({"extra_rgb": 3}, "method.extra_rgb must be a folder path"),
        ({"lambda_adv": -1}, "method.lambda_adv must be a number >= 0"),
        ({"lambda_adv": "big"}, "method.lambda_adv must be a number >= 0"),
        ({"n_critic": 0}, "method.n_critic must be an integer >= 1"),
        ({"gp_weight": -1.0}, "method.gp_weight must be a number >= 0"),
        ({"gp_two_sided": "yes"}, "method.gp_two_sided must be true or false"),
        ({"lr_critic": 0}, "method.lr_critic must be a number > 0"),
        ({"critic_betas": [0.5]}, "method.critic_betas must be two numbers in [0, 1)"),
        ({"critic_grad_clip": -1}, "method.critic_grad_clip must be a number >= 0"),
        ({"critic_align": "mean"}, "method.critic_align must be one of median, none"),
        ({"critic_background": "zero"}, "method.critic_background must be one of prediction"),
        ({"critic": "resnet"}, "unknown method.critic 'resnet'; known critics: dcgan_critic"),
        ({"critic_kwargs": {"in_channels": 3}}, "critic_kwargs.in_channels is set by the method"),
        ({"critic_kwargs": {"widht": 3}}, "method.critic_kwargs"),
        ({"lambda": 0.1}, "unknown key 'method.lambda' for method 'adapt'; valid keys: name"),
        ({"align": "mean"}, "method.align must be one of none, median"),  # (supervised's)
        ({"loss": "l2"}, "unknown method.loss 'l2'"),
    ],
)
def test_bad_options_are_one_line_errors(photos: Path, options: dict, fragment: str) -> None:
    with pytest.raises(InputError) as e:
        make(photos, **options)
    assert fragment in str(e.value)
    assert "\n" not in str(e.value)


def test_extra_rgb_must_be_a_folder_with_photos(photos: Path, tmp_path: Path) -> None:
    hint = r"not a folder \(face crops of photos: scripts/crop_faces.py\)"
    with pytest.raises(InputError, match=r"method\.extra_rgb .*missing: " + hint):
        make(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "a.txt").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match=r"no image \(.png, .jpg, .jpeg\) in it"):
        make(tmp_path / "empty")
    found = make(photos).extra_files
    assert [p.relative_to(photos).as_posix() for p in found] == ["more/p0.png", "p1.jpg", "p2.png"]


def test_defaults_and_networks(photos: Path) -> None:
    method = make(photos)
    o = method.options
    assert (o.lambda_adv, o.n_critic, o.gp_weight) == (0.005, 2, 100.0)
    assert (o.critic_align, o.critic_background, o.critic_betas) == (
        "median",
        "prediction",
        [0.0, 0.9],
    )
    assert Adapt.Options().critic_kwargs == {"base_width": 16}
    assert set(method.networks()) == {"model", "critic"}
    steps = method.optim_steps()
    assert [s.name for s in steps] == ["critic", "model"]
    assert steps[0].repeats == 2 and steps[0].betas == (0.0, 0.9)
    assert {id(p) for p in steps[0].parameters} == {id(p) for p in method.critic.parameters()}
    assert {id(p) for p in steps[1].parameters} == {id(p) for p in method.model.parameters()}


# ------------------------------------------------------------------ the critic


def critic_input(depth: torch.Tensor) -> torch.Tensor:
    """Each map minus its median over all its pixels (the test's own computation)."""
    return torch.stack([d - d.flatten().median() for d in depth])


def test_critic_loss_is_the_wasserstein_estimate_of_its_real_and_fake_maps(photos: Path) -> None:
    method = make(photos, gp_weight=0.0, critic_background="fill", critic_align="none")
    b = batch()
    loss, logs = method.critic_loss(b)
    with torch.no_grad():
        fake = method.critic(method.model(b["photo"])).mean()
        real = method.critic(b["depth"]).mean()
    assert float(loss.detach()) == pytest.approx(float(fake - real), rel=1e-6, abs=1e-7)
    assert logs["depth/wasserstein"] == pytest.approx(float(real - fake), rel=1e-6, abs=1e-7)
    # other photos: another fake side, another loss; the critic is not blind to them
    other = dict(b, photo=batch(seed=5)["photo"])
    assert float(method.critic_loss(other)[0].detach()) != pytest.approx(
        float(loss.detach()), abs=1e-7
    )


def test_critic_learns_to_tell_real_from_fake(photos: Path) -> None:
    """A few critic updates on one batch raise the Wasserstein estimate (real above fake)."""
    method = make(photos, gp_weight=10.0)
    b = batch()
    opt = torch.optim.Adam(method.critic.parameters(), lr=1e-3, betas=(0.0, 0.9))
    start = method.critic_loss(b)[1]["depth/wasserstein"]
    for _ in range(15):
        opt.zero_grad()
        loss, logs = method.critic_loss(b)
        loss.backward()
        opt.step()
    assert logs["depth/gp"] >= 0 and logs["depth/grad_norm"] > 0
    assert method.critic_loss(b)[1]["depth/wasserstein"] > start + 0.05
    assert method.model.offset.grad is None  # the critic step leaves the model alone


def test_critic_sees_relief_not_distance(photos: Path) -> None:
    """critic_align median: shifting every prediction by a constant changes nothing the
    critic sees; with none, it does."""
    for align, blind in (("median", True), ("none", False)):
        method = make(photos, gp_weight=0.0, critic_align=align)
        b = batch()
        losses = []
        for offset in (0.0, 0.4):
            method.model.offset.data.fill_(offset)
            losses.append(float(method.critic_loss(b)[0].detach()))
        assert (losses[0] == pytest.approx(losses[1], abs=1e-6)) is blind, (align, losses)


def test_real_maps_hold_the_truth_and_the_models_background(photos: Path) -> None:
    b = batch()
    method = make(photos, critic_background="prediction")
    real = method.real_view(b)
    mask = b["mask"]
    with torch.no_grad():
        pred = method.model(b["rgb"])
    for i in range(2):
        m = mask[i]
        composite = torch.where(
            m, b["depth"][i], pred[i] - pred[i][m].median() + b["depth"][i][m].median()
        )
        assert torch.allclose(real[i], composite - composite.median(), atol=1e-6)
    filled = make(photos, critic_background="fill").real_view(b)
    assert torch.equal(filled[~mask], b["depth"][~mask])  # the fill (+1) as stored
    for i in range(2):
        m = mask[i]
        assert torch.allclose(filled[i][m], b["depth"][i][m] - b["depth"][i][m].median())


# ------------------------------------------------------------------ the generator


def test_generator_loss_is_the_supervised_loss_plus_lambda_adv_times_the_adversarial_term(
    photos: Path,
) -> None:
    b = batch()
    options = {"align": "median", "anchor_weight": 0.1, "weights": {"alpha": 2.0, "gamma": 5.0}}
    supervised = build_method({"name": "supervised", **options}, _Net(), CONTEXT)
    supervised.model.offset.data.fill_(0.25)
    want, want_terms = supervised.loss("model", b)
    off = make(photos, lambda_adv=0.0, **options)
    off.model.offset.data.fill_(0.25)
    got, terms = off.loss("model", b)
    assert torch.equal(got, want)  # bit for bit: lambda_adv 0 is the supervised loss
    assert "depth/adv" not in terms and terms["supervised"] == float(want.detach())
    assert {k: terms[k] for k in want_terms} == want_terms

    on = make(photos, lambda_adv=0.5, **options)
    on.model.offset.data.fill_(0.25)
    total, terms = on.loss("model", b)
    with torch.no_grad():
        adv = -on.critic(critic_input(on.model(b["photo"]))).mean()
    assert terms["supervised"] == float(want.detach())
    assert terms["depth/adv"] == pytest.approx(float(adv), rel=1e-6, abs=1e-7)
    assert float(total.detach()) == pytest.approx(
        float(want.detach()) + 0.5 * float(adv), rel=1e-6, abs=1e-7
    )
    total.backward()  # the adversarial term reaches the model
    assert on.model.offset.grad is not None


def test_adversarial_term_is_blind_to_the_predictions_distance(photos: Path) -> None:
    """With align median the supervised loss gives the offset (the distance) only the
    anchor's gradient; the critic sees median-shifted maps, so lambda_adv adds nothing
    to it."""
    b = batch()
    grads = []
    for weight in (0.0, 1.0):
        method = make(photos, lambda_adv=weight, align="median", anchor_weight=0.1)
        method.model.offset.data.fill_(0.3)
        method.loss("model", b)[0].backward()
        grads.append(float(method.model.offset.grad))
    assert grads[0] == pytest.approx(grads[1], abs=1e-6)
    assert grads[0] > 0  # the anchor pulls the too-far offset back


# ------------------------------------------------------------------ data


def test_batches_depend_only_on_seed_and_step(tiny_faces: Path, photos: Path) -> None:
    from rgb2depth.data.transforms import build_transforms
    from rgb2depth.engine.data import infinite_loader

    method = make(photos)
    transform = build_transforms("faces", size=[SIZE, SIZE], depth_range=(500.0, 1800.0))
    data = method.train_data(tiny_faces, "train", transform)
    assert isinstance(data, PhotoPairs) and len(data) == 8

    def batches(seed: int, start: int, n: int) -> list[dict[str, Any]]:
        it = infinite_loader(data, batch_size=4, seed=seed, start=start)
        return [next(it) for _ in range(n)]

    whole = batches(seed=3, start=0, n=4)
    later = batches(seed=3, start=2, n=2)
    for a, b in zip(whole[2:], later, strict=True):
        assert a["name"] == b["name"] and a["photo_name"] == b["photo_name"]
        for key in ("rgb", "depth", "mask", "photo"):
            assert torch.equal(a[key], b[key]), key
    first = whole[0]
    assert first["photo"].shape == (4, 3, SIZE, SIZE)
    assert float(first["photo"].min()) >= -1 and float(first["photo"].max()) <= 1
    names = {n for b in whole for n in b["photo_name"]}
    assert names <= {"more/p0", "p1", "p2"} and len(names) > 1
    other = batches(seed=4, start=0, n=4)
    assert [b["photo_name"] for b in other] != [b["photo_name"] for b in whole]


def test_example_photos_exist_when_the_example_is_read() -> None:
    example = METHODS["adapt"].example
    folder = Path(example["method"]["extra_rgb"])
    assert folder == example_photos() and len(list(folder.glob("*.png"))) == 4


# ------------------------------------------------------------------ end to end


def test_train_through_the_cli_writes_a_model_that_predicts(
    tiny_faces: Path, photos: Path, tmp_path: Path, capsys
) -> None:
    from rgb2depth import Predictor
    from rgb2depth.cli.main import main

    config = {
        "data": {"root": str(tiny_faces), "size": [SIZE, SIZE], "preset": "faces"},
        "model": {"name": "light_unet", "kwargs": {"channels": [4, 8, 8, 8, 8]}},
        "method": {
            "name": "adapt",
            "extra_rgb": str(photos),
            "align": "median",
            "critic_kwargs": {"base_width": 2},
            "lambda_adv": 0.1,
        },
        "train": {"lr": 1.0e-3, "batch_size": 4, "device": "cpu"},
        "schedule": {"steps": 2},
        "log": {"every": 1, "val_every": 0, "images": 1, "progress": False},
    }
    path = tmp_path / "adapt.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    run = tmp_path / "run"
    assert main(["train", str(path), f"log.out={run}", "--quiet"]) == 0, capsys.readouterr()
    saved = json.loads((run / "model" / "config.json").read_text(encoding="utf-8"))
    assert saved["trained"]["method"]["name"] == "adapt"
    assert saved["trained"]["method"]["lambda_adv"] == 0.1
    with (run / "log.csv").open(encoding="utf-8") as f:
        logged = {r["name"] for r in csv.DictReader(f) if r["step"] == "2"}
    assert {"critic/depth/wasserstein", "critic/depth/gp", "model/depth/adv"} <= logged
    assert {"model/supervised", "critic/grad_norm", "model/grad_norm"} <= logged
    depth = Predictor.from_pretrained(run / "model", device="cpu").predict(
        photos / "p1.jpg", tta=None
    )
    assert depth.shape == (24, 24) and np.isfinite(depth).all()
