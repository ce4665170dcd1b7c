"""Seed 000's unsupervised methods: unsupervised, cycle, semisupervised.

Tiny networks on 32x32 tensors; every expected value is computed by hand from the
same networks, so a changed weight, ramp, schedule or masking rule fails a test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from rgb2depth.errors import InputError
from rgb2depth.methods import MethodContext, build_method
from rgb2depth.methods.unsupervised import Cycle, SemiSupervised, Unsupervised
from rgb2depth.models import count_parameters, create_model

CONTEXT = MethodContext(in_channels=3, depth_units="m", depth_range=(0.0, 1.0))
TINY_G = {"base_width": 4, "n_blocks": 1}
TINY_CRITIC = {"base_width": 2}


def make(name: str = "unsupervised", model: torch.nn.Module | None = None, **options: Any):
    torch.manual_seed(0)
    if model is None:
        model = create_model("style_generator", **TINY_G)
    section = {"name": name, "critic_kwargs": dict(TINY_CRITIC), **options}
    return build_method(section, model, CONTEXT)


def batch(seed: int = 1) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    rgb = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    depth = torch.rand(2, 1, 32, 32, generator=g) * 2 - 1
    mask = torch.ones(2, 1, 32, 32, dtype=torch.bool)
    mask[:, :, :8, :8] = False  # an invalid corner, filled with +1 as the contract says
    depth[~mask] = 1.0
    return {"rgb": rgb, "depth": depth, "mask": mask}


def by_hand(method: Unsupervised, b: dict[str, torch.Tensor], *, cycle: bool = False):
    """(adversarial sum, perceptual sum, psi-or-pixel RGB term, depth pixel term)."""
    from rgb2depth.losses import psi_loss

    x, y, m = b["rgb"], b["depth"], b["mask"]
    gy, gx, fy, fx = method.model, method.generator_x, method.critic_y, method.critic_x
    fake_y, fake_x = gy(x), gx(y)
    rec_x, rec_y = gx(fake_y), gy(fake_x)
    adv = -fy(fake_y).mean() - fx(fake_x).mean()
    perc = (fx.features(rec_x) - fx.features(x)).abs().mean() + (
        fy.features(rec_y) - fy.features(y)
    ).abs().mean()
    rgb_term = (rec_x - x).abs().mean() if cycle else psi_loss(x, rec_x)
    depth_term = (rec_y - y).abs()[m].mean()
    return adv, perc, rgb_term, depth_term


# ------------------------------------------------------------------ networks and steps


def test_networks_and_steps_cover_the_four_networks_without_overlap() -> None:
    method = make()
    nets = method.networks()
    assert list(nets) == ["model", "generator_x", "critic_y", "critic_x"]
    assert nets["model"] is method.model
    critics, generators = method.optim_steps()
    assert (critics.name, generators.name) == ("critics", "generators")
    ids = lambda *mods: {id(p) for m in mods for p in m.parameters()}  # noqa: E731
    assert {id(p) for p in critics.parameters} == ids(nets["critic_y"], nets["critic_x"])
    assert {id(p) for p in generators.parameters} == ids(nets["model"], nets["generator_x"])
    assert critics.betas == generators.betas == (0.0, 0.9)
    assert (critics.repeats, generators.repeats) == (24, 1)
    assert critics.grad_clip == generators.grad_clip == 0.0  # the paper clips nothing


def test_generator_x_defaults_to_the_models_architecture_with_swapped_channels() -> None:
    for name, kwargs in [
        ("style_generator", TINY_G),
        ("unet_generator", {"base_width": 4}),
        ("resnet18_generator", {"base_width": 4, "norm": "batch"}),
    ]:
        method = make(model=create_model(name, **kwargs))
        expected = create_model(name, **kwargs, in_channels=1, out_channels=3)
        assert type(method.generator_x) is type(expected)
        assert count_parameters(method.generator_x) == count_parameters(expected)
        assert method.generator_x(torch.zeros(1, 1, 64, 64)).shape == (1, 3, 64, 64)
    # the critics: depth (1 channel) and RGB (3 channels)
    method = make(critic="patchgan_critic")
    assert method.critic_y.in_channels == 1 and method.critic_x.in_channels == 3
    assert type(method.critic_y).__name__ == "PatchGANCritic"


def test_generator_x_from_the_option() -> None:
    method = make(generator_x={"name": "unet_generator", "kwargs": {"base_width": 2}})
    assert type(method.generator_x).__name__ == "UNetGenerator"
    assert (method.generator_x.in_channels, method.generator_x.out_channels) == (1, 3)


def test_critic_step_changes_only_the_critics_and_generator_step_only_the_generators(
    unpaired_32: Path, tmp_path: Path
) -> None:
    """Through the real trainer: a snapshot at each loss call shows what the step before
    it changed (2 critic repeats, then the generator step)."""
    from rgb2depth.data import UnpairedDepthDataset
    from rgb2depth.data.transforms import build_transforms
    from rgb2depth.engine.trainer import Trainer

    method = make(n_critic=2)
    snaps: list[tuple[str, dict[str, dict[str, torch.Tensor]]]] = []
    inner = method.loss

    def snap() -> dict[str, dict[str, torch.Tensor]]:
        return {
            n: {k: v.detach().clone() for k, v in m.state_dict().items()}
            for n, m in method.networks().items()
        }

    def recording(step: str, b: Any):
        snaps.append((step, snap()))
        return inner(step, b)

    method.loss = recording  # type: ignore[method-assign]
    transform = build_transforms("none", size=32, depth_range=(0.0, 1.0))
    data = UnpairedDepthDataset(unpaired_32, "train", transform=transform)
    trainer = Trainer(
        method, data, tmp_path, steps=1, batch_size=2, lr=1e-3, device="cpu",
        log_every=0, val_every=0, ckpt_every=0, progress=False, tensorboard=False,
    )  # fmt: skip
    trainer.fit()
    assert [s for s, _ in snaps] == ["critics", "critics", "generators"]
    start, before_gen, end = snaps[0][1], snaps[2][1], snap()

    def changed(a, b) -> set[str]:
        return {n for n in a if any(not torch.equal(a[n][k], b[n][k]) for k in a[n])}

    assert changed(start, before_gen) == {"critic_y", "critic_x"}
    assert changed(before_gen, end) == {"model", "generator_x"}


# ------------------------------------------------------------------ schedules


def test_n_critic_is_24_then_12_after_1000_generator_updates() -> None:
    method = make()
    critics, _ = method.optim_steps()
    method.on_step(999)
    assert method.n_critic == critics.repeats == 24
    method.on_step(1000)
    assert method.n_critic == critics.repeats == 12
    method.on_step(5)  # follows the step alone (a resumed run sets it the same way)
    assert critics.repeats == 24
    never = make(n_critic_halve_after=0)
    never_critics, _ = never.optim_steps()
    never.on_step(10**6)
    assert never_critics.repeats == 24
    odd = make(n_critic=3, n_critic_halve_after=2)
    odd.on_step(2)
    assert odd.n_critic == 1
    one = make(n_critic=1, n_critic_halve_after=2)
    one.on_step(2)
    assert one.n_critic == 1  # never 0


@pytest.mark.parametrize(
    ("ramp", "expected"),
    [
        ("paper", {0: (0.0, 1.0), 2500: (0.25, 0.75), 5000: (0.5, 0.5), 10000: (1.0, 0.0)}),
        ("code", {0: (0.0, 1.0), 2500: (0.25, 1.0), 5000: (0.5, 1.0), 10000: (1.0, 1.0)}),
    ],
)
def test_gamma_ramp(ramp: str, expected: dict[int, tuple[float, float]]) -> None:
    method = make(ramp=ramp)
    assert method.options.gamma_steps == 10000  # the paper's n_G
    for step, weights in expected.items():
        method.on_step(step)
        assert method.gamma == pytest.approx(weights[0])
        assert method.weights() == pytest.approx(weights)
    method.on_step(30000)
    assert method.gamma == 1.0


# ------------------------------------------------------------------ losses by hand


@pytest.mark.parametrize("ramp", ["paper", "code"])
def test_generator_loss_equals_eq5_by_hand(ramp: str) -> None:
    method = make(ramp=ramp, gamma_steps=4, lambda_rec=7.0)
    method.on_step(1)  # gamma 0.25
    b = batch()
    with torch.no_grad():
        loss, logs = method.loss("generators", b)
        adv, perc, psi_term, pixel = by_hand(method, b)
    w_pix = 0.75 if ramp == "paper" else 1.0
    rec = 0.25 * perc + w_pix * (psi_term + pixel)
    assert float(perc) > 0 and float(psi_term) > 0 and float(pixel) > 0
    torch.testing.assert_close(loss, adv + 7.0 * rec, rtol=1e-5, atol=1e-6)
    assert logs["rec"] == pytest.approx(float(rec), rel=1e-5)
    assert logs["gamma"] == 0.25
    assert logs["depth/rec_pixel"] == pytest.approx(float(pixel), rel=1e-5)
    assert logs["rgb/rec_psi"] == pytest.approx(float(psi_term), rel=1e-5)
    assert logs["depth/adv"] + logs["rgb/adv"] == pytest.approx(float(adv), rel=1e-5)


def test_psi_normalise_uses_the_codes_normalised_psi_loss() -> None:
    from rgb2depth.losses import psi_loss

    method = make(psi_normalise=True, lambda_rec=1.0)
    method.on_step(0)
    b = batch()
    with torch.no_grad():
        _, logs = method.loss("generators", b)
        rec_x = method.generator_x(method.model(b["rgb"]))
        expected = psi_loss(b["rgb"], rec_x, normalise=True)
    assert logs["rgb/rec_psi"] == pytest.approx(float(expected), rel=1e-5)


def test_at_gamma_zero_the_critic_features_do_not_enter_the_loss(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    method = make(lambda_rec=3.0)
    method.on_step(0)
    b = batch()

    def refuse(x: torch.Tensor) -> torch.Tensor:
        raise AssertionError("critic features computed at gamma 0")

    with torch.no_grad():
        adv, _, psi_term, pixel = by_hand(method, b)
        monkeypatch.setattr(method.critic_x, "features", refuse)
        monkeypatch.setattr(method.critic_y, "features", refuse)
        loss, logs = method.loss("generators", b)
    torch.testing.assert_close(loss, adv + 3.0 * (psi_term + pixel), rtol=1e-5, atol=1e-6)
    assert "rgb/rec_perceptual" not in logs and "depth/rec_perceptual" not in logs


def test_cycle_loss_is_adversarial_plus_plain_mae(monkeypatch: pytest.MonkeyPatch) -> None:
    import rgb2depth.losses

    method = make("cycle", lambda_rec=5.0)
    assert isinstance(method, Cycle) and method.options.lambda_rec == 5.0
    assert make("cycle").options.lambda_rec == 20.0
    method.on_step(123)
    b = batch()

    def refuse(*args: Any, **kwargs: Any) -> torch.Tensor:
        raise AssertionError("psi or critic features in the cycle loss")

    with torch.no_grad():
        adv, _, rgb_mae, depth_mae = by_hand(method, b, cycle=True)
        monkeypatch.setattr(rgb2depth.losses, "psi_loss", refuse)
        monkeypatch.setattr(method.critic_x, "features", refuse)
        monkeypatch.setattr(method.critic_y, "features", refuse)
        loss, logs = method.loss("generators", b)
    torch.testing.assert_close(loss, adv + 5.0 * (rgb_mae + depth_mae), rtol=1e-5, atol=1e-6)
    assert logs["rgb/rec_pixel"] == pytest.approx(float(rgb_mae), rel=1e-5)


def test_depth_pixel_term_counts_valid_pixels_only() -> None:
    method = make()
    method.on_step(0)
    b = batch()
    x, y, m = b["rgb"], b["depth"], b["mask"]
    rec_y = torch.where(m, y, torch.full_like(y, -1.0))  # wrong only where invalid
    _, logs = method.reconstruction_terms(x, y, m, x.clone(), rec_y)
    assert logs["depth/rec_pixel"] == 0.0
    rec_y = torch.where(m, y - 0.5, y)  # off by 0.5 where valid
    _, logs = method.reconstruction_terms(x, y, m, x.clone(), rec_y)
    assert logs["depth/rec_pixel"] == pytest.approx(0.5)


def _boost(method: Unsupervised) -> None:
    """Scale the critics' heads so that their gradient norms exceed 1 (one-sided GP > 0)."""
    with torch.no_grad():
        for critic in (method.critic_y, method.critic_x):
            critic.dense.weight.mul_(40.0)


def test_critic_loss_is_wasserstein_plus_gradient_penalty() -> None:
    b = batch()
    losses = {}
    for weight in (100.0, 0.0):
        method = make(gp_weight=weight)
        _boost(method)
        torch.manual_seed(5)
        loss, logs = method.loss("critics", b)
        losses[weight] = (float(loss.detach()), logs)
        with torch.no_grad():  # the Wasserstein part by hand
            fy, fx = method.critic_y, method.critic_x
            w = (fy(method.model(b["rgb"])).mean() - fy(b["depth"]).mean()) + (
                fx(method.generator_x(b["depth"])).mean() - fx(b["rgb"]).mean()
            )
        gp = logs.get("depth/gp", 0.0) + logs.get("rgb/gp", 0.0)
        assert float(loss.detach()) == pytest.approx(float(w) + gp, rel=1e-5)
    with_gp, logs = losses[100.0]
    assert logs["depth/gp"] > 0 and logs["rgb/gp"] > 0
    assert with_gp - losses[0.0][0] == pytest.approx(logs["depth/gp"] + logs["rgb/gp"], rel=1e-4)
    assert "depth/gp" not in losses[0.0][1]
    assert logs["depth/wasserstein"] == pytest.approx(
        -(logs["depth/critic"] - logs["depth/gp"]), abs=1e-2
    )


def test_two_sided_penalty_and_drift_enter_the_critic_loss() -> None:
    b = batch()
    plain = make()  # untouched critics: gradient norms below 1, one-sided GP is 0
    torch.manual_seed(5)
    _, logs = plain.loss("critics", b)
    assert logs["depth/gp"] == 0.0 and logs["depth/grad_norm"] < 1
    two = make(gp_two_sided=True)
    torch.manual_seed(5)
    _, logs = two.loss("critics", b)
    # two-sided: 100 * mean((|g_n| - 1)^2) >= 100 * (mean |g_n| - 1)^2 > 0 (Jensen)
    assert logs["depth/gp"] >= 100 * (1 - logs["depth/grad_norm"]) ** 2 * (1 - 1e-5) > 0
    drift = make(drift=0.5, gp_weight=0.0)
    base = make(gp_weight=0.0)
    loss_d, logs_d = drift.loss("critics", b)
    loss_b, _ = base.loss("critics", b)
    assert logs_d["depth/drift"] > 0
    assert float((loss_d - loss_b).detach()) == pytest.approx(
        logs_d["depth/drift"] + logs_d["rgb/drift"]
    )


def test_every_generator_term_reaches_the_returned_loss(monkeypatch: pytest.MonkeyPatch) -> None:
    """A NaN in any term makes the returned loss NaN, so the trainer stops the run."""
    import rgb2depth.losses

    nan = torch.tensor(float("nan"))
    for target in ("feature_mae", "psi_loss", "l1_loss", "wasserstein_generator_loss"):
        method = make(gamma_steps=2)
        method.on_step(1)
        with monkeypatch.context() as mp:
            mp.setattr(rgb2depth.losses, target, lambda *a, **k: nan)
            loss, _ = method.loss("generators", batch())
        assert torch.isnan(loss), target


# ------------------------------------------------------------------ options


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"critic": "wgan"}, "unknown method.critic 'wgan'; known critics: dcgan_critic"),
        ({"ramp": "linear"}, "unknown method.ramp 'linear'; known ramps: paper, code"),
        ({"n_critic": 0}, "method.n_critic must be an integer >= 1, got 0"),
        ({"n_critic": True}, "method.n_critic must be an integer >= 1"),
        ({"gamma_steps": 0}, "method.gamma_steps must be an integer >= 1"),
        ({"gp_weight": -1}, "method.gp_weight must be a number >= 0"),
        ({"lr_critic": 0}, "method.lr_critic must be a number > 0"),
        ({"betas": [0.5]}, "method.betas must be two numbers in [0, 1)"),
        ({"gp_two_sided": "yes"}, "method.gp_two_sided must be true or false"),
        ({"n_critics": 4}, "unknown key 'method.n_critics' for method 'unsupervised'"),
        ({"critic_kwargs": {"widht": 2}}, "method.critic_kwargs: dcgan_critic got unknown"),
        ({"critic_kwargs": {"in_channels": 2}}, "critic_kwargs.in_channels is set by the method"),
        ({"generator_x": {"name": "nope"}}, "method.generator_x: unknown model 'nope'"),
        ({"generator_x": "unet_generator"}, "method.generator_x must be a mapping"),
        (
            {"generator_x": {"name": "unet_generator", "kwargs": {"out_channels": 3}}},
            "method.generator_x.kwargs.out_channels is set by the method",
        ),
    ],
)
def test_bad_options_are_one_line_input_errors(options: dict[str, Any], needle: str) -> None:
    with pytest.raises(InputError) as info:
        make(**{"critic_kwargs": dict(TINY_CRITIC), **options})
    message = str(info.value)
    assert needle in message and "\n" not in message


def test_cycle_takes_no_ramp_options() -> None:
    for key, value in [("ramp", "code"), ("gamma_steps", 5), ("psi_normalise", True)]:
        with pytest.raises(InputError, match=f"unknown key 'method.{key}' for method 'cycle'"):
            make("cycle", **{key: value})


def test_generator_x_of_an_unregistered_model_asks_for_the_option() -> None:
    class Net(torch.nn.Module):
        out_channels = 1

    with pytest.raises(InputError, match=r"set method\.generator_x"):
        make(model=Net())


# ------------------------------------------------------------------ semisupervised


def test_semisupervised_starts_from_the_pretrained_weights(tmp_path: Path) -> None:
    from rgb2depth.models import save_model_folder

    torch.manual_seed(7)
    trained = create_model("style_generator", **TINY_G)
    save_model_folder(tmp_path / "sup", trained, name="style_generator", kwargs=TINY_G)
    method = make("semisupervised", pretrained=str(tmp_path / "sup"))
    assert isinstance(method, SemiSupervised)
    for k, v in trained.state_dict().items():
        assert torch.equal(method.model.state_dict()[k], v), k
    fresh = make("semisupervised")  # no pretrained folder: the initial weights
    assert any(
        not torch.equal(v, trained.state_dict()[k]) for k, v in fresh.model.state_dict().items()
    )
    other = {"base_width": 2, "n_blocks": 1}
    save_model_folder(
        tmp_path / "other", create_model("style_generator", **other), name="style_generator",
        kwargs=other,
    )  # fmt: skip
    with pytest.raises(InputError, match="differs from this run's model") as info:
        make("semisupervised", pretrained=str(tmp_path / "other"))
    assert "\n" not in str(info.value)
    with pytest.raises(InputError):
        make("semisupervised", pretrained=str(tmp_path / "missing"))


def test_semisupervised_adds_the_extra_rgb_folder(unpaired_32: Path, tmp_path: Path) -> None:
    from rgb2depth.data import UnpairedDepthDataset
    from rgb2depth.data.transforms import build_transforms

    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate([(40, 50), (64, 64)]):
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(photos / f"{i}.png")
    Image.fromarray(rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)).save(photos / "sub/a.JPG")
    (photos / "notes.txt").write_text("not an image")
    transform = build_transforms("unsupervised", size=32, depth_range=(0.0, 1.0))
    plain = UnpairedDepthDataset(unpaired_32, "train", transform=transform)
    method = make("semisupervised", extra_rgb=str(photos))
    ds = method.train_data(unpaired_32, "train", transform)
    assert len(ds.rgb_files) == len(plain.rgb_files) + 3  # type: ignore[attr-defined]
    names = ds.rgb_names[-3:]  # type: ignore[attr-defined]
    assert names == ["extra/0", "extra/1", "extra/sub/a"]
    n = len(plain.rgb_files)
    sample = ds[n + 1]
    assert sample["rgb_name"] == "extra/1" and sample["rgb"].shape == (3, 32, 32)
    assert sample["depth"].shape == (1, 32, 32)
    (tmp_path / "empty").mkdir()
    for folder, needle in [(tmp_path / "empty", "no image"), (tmp_path / "nope", "not a folder")]:
        with pytest.raises(InputError, match=needle):
            make("semisupervised", extra_rgb=str(folder))


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def unpaired_32(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from rgb2depth.data.synthetic import generate

    root = tmp_path_factory.mktemp("unpaired32") / "faces"
    generate("faces", root, n=24, size=32, seed=0, unpaired=True, progress=False)
    return root


def test_domains_alternate_groups_on_a_paired_split(tiny_faces: Path, tmp_path: Path) -> None:
    """Seed 000's protocol on paired data: no identity in both domains."""
    import json

    from test_methods import build

    trainer = build("unsupervised", tiny_faces, tmp_path, steps=1)
    method = trainer.method
    method.options.domains = "alternate_groups"
    ds = method.train_data(tiny_faces, "train", None)
    groups = {}
    for line in (tiny_faces / "train" / "meta.jsonl").read_text().splitlines():
        row = json.loads(line)
        groups[row["name"]] = row["group"]
    rgb = {groups[n] for n in ds.rgb_names}
    depth = {groups[n] for n in ds.depth_names}
    assert rgb and depth and not rgb & depth
    method.options.domains = "all"
    every = method.train_data(tiny_faces, "train", None)
    assert set(every.rgb_names) == set(every.depth_names) == set(groups)


def test_unknown_domains_is_one_line(tiny_faces: Path, tmp_path: Path) -> None:
    from rgb2depth.methods import MethodContext, build_method
    from rgb2depth.models import create_model

    model = create_model("style_generator", base_width=4, n_blocks=1)
    ctx = MethodContext(in_channels=3, depth_units="mm", depth_range=(500.0, 1800.0))
    with pytest.raises(InputError, match=r"method\.domains must be one of: all, alternate_groups"):
        build_method({"name": "unsupervised", "domains": "halves"}, model, ctx)
