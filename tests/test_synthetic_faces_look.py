"""The faces' photographic look: lights and shadows, skin and overlays, backgrounds, camera.

Every effect must change the image and never the depth map.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from rgb2depth.data.synthetic import faces as faces_module
from rgb2depth.data.synthetic import lighting, photo
from rgb2depth.data.synthetic._raster import grid_triangles
from rgb2depth.data.synthetic.faces import Faces

NEUTRAL_CAMERA = photo.NEUTRAL_CAMERA


@pytest.fixture(scope="module")
def faces() -> Faces:
    return Faces()


def _view(faces: Faces, seed: int = 0, **overrides: Any) -> tuple[dict, dict]:
    """An identity and a near, nearly frontal view of it with a neutral camera."""
    group = faces.sample_group(np.random.default_rng([seed, 0]))
    params = faces.sample_view(np.random.default_rng([seed, 1]))
    params.update(
        yaw_deg=10.0,
        pitch_deg=0.0,
        roll_deg=0.0,
        body_yaw_deg=0.0,
        offset_x=0.0,
        offset_y=0.0,
        distance_mm=550.0,
        background="flat",
        camera=dict(NEUTRAL_CAMERA),
    )
    params.update(overrides)
    return group, params


def _light(az: float, el: float, size: float = 0.5, intensity: float = 1.0) -> dict[str, Any]:
    return {
        "direction": lighting.direction(az, el),
        "colour": [1.0, 1.0, 1.0],
        "intensity": intensity,
        "size_deg": size,
    }


# ------------------------------------------------------------------ nothing reaches the depth
def _variations(group: dict, params: dict) -> dict[str, tuple[dict, dict]]:
    cam = params["camera"]
    return {
        "window light": (group, {**params, "lights": [_light(70, 20, 20.0)]}),
        "hard sun": (group, {**params, "lights": [_light(-40, 50, 0.3)]}),
        "coloured ambient": (group, {**params, "ambient": 0.6, "ambient_sky": [0.6, 0.8, 1.3]}),
        "photo background": (
            group,
            {**params, "background": "photo", "background_photo": "coffee.png"},
        ),
        "room background": (group, {**params, "background": "room"}),
        "wall background": (group, {**params, "background": "wall"}),
        "dark background": (group, {**params, "background": "dark"}),
        "white balance": (group, {**params, "camera": {**cam, "white_balance": [1.3, 1, 0.7]}}),
        "noise": (group, {**params, "camera": {**cam, "read_noise": 0.01, "shot_noise": 0.01}}),
        "jpeg": (group, {**params, "camera": {**cam, "jpeg_quality": 40}}),
        "blur": (group, {**params, "camera": {**cam, "blur": 0.02, "motion": 0.03}}),
        "vignetting": (group, {**params, "camera": {**cam, "vignetting": 0.5}}),
        "glasses": ({**group, "glasses": 1.0 - group["glasses"]}, params),
        "make-up": ({**group, "makeup": 1.0, "beard": 0.0, "stubble": 0.0}, params),
        "stubble": ({**group, "beard": 0.0, "stubble": 1.0, "makeup": 0.0}, params),
        "freckles and moles": ({**group, "freckles": 1.0, "moles": 4.0}, params),
        "hair texture": ({**group, "hair_frizz": 1.0, "hair_wave": 1.0, "hair_shine": 1.0}, params),
    }


@pytest.mark.parametrize("seed", [0, 3])
def test_each_effect_changes_the_image_never_the_depth(faces: Faces, seed: int) -> None:
    group, params = _view(faces, seed)
    ref = faces.render_view(group, params, 64, 64)
    for name, (g, p) in _variations(group, params).items():
        s = faces.render_view(g, p, 64, 64)
        assert s.depth.tobytes() == ref.depth.tobytes(), f"{name} changed the depth"
        assert s.rgb.tobytes() != ref.rgb.tobytes(), f"{name} left the image unchanged"
        assert s.rgb.shape == ref.rgb.shape and s.rgb.dtype == np.uint8


def test_looks_are_deterministic_and_json(faces: Faces) -> None:
    for seed in range(6):
        group, params = _view(faces, seed)
        params = faces.sample_view(np.random.default_rng([seed, 5]))  # drawn look, any kind
        a = faces.render_view(group, params, 40, 40)
        b = faces.render_view(group, json.loads(json.dumps(params)), 40, 40)
        assert a.rgb.tobytes() == b.rgb.tobytes() and a.depth.tobytes() == b.depth.tobytes()
    assert json.loads(json.dumps(group)) == group


def test_look_draws_leave_the_geometry_of_a_view(faces: Faces) -> None:
    # the lights, background and camera come from a stream of their own: geometry keys
    # of a view are the same whatever the look draws
    params = faces.sample_view(np.random.default_rng(11))
    look = faces_module._sample_look(int(params["noise_seed"]))
    assert {k: params[k] for k in look} == look
    assert params["light_preset"] in lighting.PRESETS
    assert params["background"] in photo.BACKGROUNDS


# ------------------------------------------------------------------ shadows
def test_key_light_shadow_darkens_what_the_shadow_map_occludes(
    faces: Faces, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a hard key light from the side and above: the nose and brows cast shadows. The same
    # light as a second light (after a dark key) casts none. Where the shadow map says a
    # pixel is occluded it must be darker than without shadows, beyond the change of the
    # auto-exposure seen on the lit pixels.
    group, params = _view(faces, 2, ambient=0.1, exposure=0.4)
    seen: dict[str, np.ndarray] = {}
    original = faces_module._key_shadow

    def spy(*args: Any) -> np.ndarray:
        vis = original(*args)
        seen["vis"] = vis
        return vis

    monkeypatch.setattr(faces_module, "_key_shadow", spy)
    key = _light(65, 35, 0.5)
    shadowed = faces.render_view(group, {**params, "lights": [key]}, 96, 96)
    vis = np.zeros(96 * 96)
    vis[np.flatnonzero(shadowed.depth.ravel() > 0)] = seen["vis"]
    free = faces.render_view(
        group, {**params, "lights": [_light(0, 0, intensity=0.0), key]}, 96, 96
    )
    assert shadowed.depth.tobytes() == free.depth.tobytes()
    a = shadowed.rgb.reshape(-1, 3).astype(float).sum(axis=1)
    b = free.rgb.reshape(-1, 3).astype(float).sum(axis=1)
    # pixels that the key light clearly lights when nothing casts shadows (not past the
    # terminator, where only wrapped light arrives and shadows fade out)
    valid = (shadowed.depth.ravel() > 0) & (b > np.percentile(b[shadowed.depth.ravel() > 0], 40))
    dark, lit = valid & (vis < 0.1), valid & (vis > 0.99)
    assert dark.sum() > 20 and lit.sum() > 200
    assert np.median(a[dark] / b[dark]) < 0.75 * np.median(a[lit] / b[lit])


def _sphere_and_wall() -> tuple[np.ndarray, np.ndarray]:
    rows, cols = 40, 64
    phi = np.linspace(0.0, np.pi, rows)[:, None]
    th = np.linspace(-np.pi, np.pi, cols, endpoint=False)[None, :]
    x = 50.0 * np.sin(phi) * np.sin(th)
    y = -50.0 * np.cos(phi) * np.ones_like(th)
    z = 500.0 - 50.0 * np.sin(phi) * np.cos(th)
    sphere = np.stack([x, y, z], -1).reshape(-1, 3)
    gx, gy = np.meshgrid(np.linspace(-200, 200, 21), np.linspace(-200, 200, 21))
    wall = np.stack([gx, gy, np.full_like(gx, 600.0)], -1).reshape(-1, 3)
    tris = np.concatenate(
        [grid_triangles(rows, cols, wrap_cols=True), grid_triangles(21, 21) + 2560]
    )
    return np.concatenate([sphere, wall]), tris


def test_shadow_map_sphere_on_a_wall() -> None:
    verts, tris = _sphere_and_wall()
    to_light = np.array(lighting.direction(0.0, 0.0))  # from the camera
    pts = np.array(
        [
            [0.0, 0.0, 600.0],  # on the wall right behind the sphere: shadow
            [0.0, 80.0, 600.0],  # on the wall beside it: lit
            [0.0, 0.0, 450.0],  # the sphere's lit front: no self-shadow
            [30.0, 0.0, 460.0],
            [0.0, 49.0, 600.0],  # at the shadow's edge
        ]
    )
    smap = lighting.ShadowMap(verts, tris, None, to_light, pts, texel=2.0, margin=10.0)
    hard = smap.visibility(pts, 0.3)
    assert hard.tolist()[:4] == [0.0, 1.0, 1.0, 1.0]
    soft = smap.visibility(pts, 10.0)
    assert 0.0 < soft[4] < 1.0  # a wide source: a penumbra at the edge
    assert hard.dtype == np.float32


# ------------------------------------------------------------------ backgrounds
@pytest.mark.parametrize("kind", photo.BACKGROUNDS)
def test_backgrounds(kind: str) -> None:
    source = "rocket.jpg" if kind == "photo" else ""
    a = photo.background(kind, source, 3, 24, 40, defocus=0.02)
    b = photo.background(kind, source, 3, 24, 40, defocus=0.02)
    assert a.shape == (24, 40, 3) and a.dtype == np.float32
    assert np.isfinite(a).all() and a.min() >= 0.0
    assert a.tobytes() == b.tobytes()
    if kind not in ("flat", "dark"):
        assert a.std() > 1e-3  # a picture, not a colour
        assert photo.background(kind, source, 4, 24, 40).tobytes() != a.tobytes()


def test_background_photos_are_installed_with_their_licences() -> None:
    for name, licence in photo.PHOTOS.items():
        assert photo.photo_available(name), f"{name} is not in scikit-image's data folder"
        assert "CC0" in licence or "public domain" in licence


def test_background_never_leaks_into_depth(faces: Faces) -> None:
    group, params = _view(faces, 4)
    masks = []
    for kind in photo.BACKGROUNDS:
        p = {**params, "background": kind, "background_photo": "brick.png"}
        s = faces.render_view(group, p, 48, 48)
        masks.append(s.depth)
        assert (s.depth[[0, 0, -1], [0, -1, 0]] == 0).all()
    assert all(m.tobytes() == masks[0].tobytes() for m in masks)


# ------------------------------------------------------------------ camera
def _scene(h: int = 32, w: int = 48) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.float32)
    img[..., 0] = 0.1 + 0.5 * xx / w
    img[..., 1] = 0.3
    img[..., 2] = 0.1 + 0.5 * yy / h
    img[8:20, 10:30] = 0.8  # a bright square with sharp edges
    return img


def _gradient_energy(img: np.ndarray) -> float:
    g = img.astype(float).mean(axis=2)
    return float((np.diff(g, axis=0) ** 2).sum() + (np.diff(g, axis=1) ** 2).sum())


@pytest.mark.parametrize(
    "effect",
    ["white_balance", "exposure_ev", "vignetting", "blur", "motion", "noise", "jpeg", "sharpen"],
)
def test_camera_effect(effect: str) -> None:
    lin = _scene()
    ref = photo.develop(lin, NEUTRAL_CAMERA, 0)
    cam = dict(NEUTRAL_CAMERA)
    cam.update(
        {
            "white_balance": {"white_balance": [1.4, 1.0, 0.6]},
            "exposure_ev": {"exposure_ev": -1.0},
            "vignetting": {"vignetting": 0.6},
            "blur": {"blur": 0.05},
            "motion": {"motion": 0.15, "motion_deg": 30.0},
            "noise": {"read_noise": 0.02, "shot_noise": 0.01},
            "jpeg": {"jpeg_quality": 30},
            "sharpen": {"sharpen": 1.0},
        }[effect]
    )
    out = photo.develop(lin, cam, 0)
    assert out.shape == ref.shape and out.dtype == np.uint8
    assert out.tobytes() != ref.tobytes()
    assert out.tobytes() == photo.develop(lin, cam, 0).tobytes()  # deterministic
    diff = out.astype(float) - ref.astype(float)
    if effect == "white_balance":  # warmer: more red, less blue
        assert diff[..., 0].mean() > 5 and diff[..., 2].mean() < -5
    elif effect == "exposure_ev":
        assert diff.mean() < -10
    elif effect == "vignetting":  # corners darker, centre kept
        assert diff[0, 0].mean() < -10 and abs(diff[16, 24].mean()) < 2
    elif effect in ("blur", "motion"):
        assert _gradient_energy(out) < 0.8 * _gradient_energy(ref)
    elif effect == "noise":
        assert np.abs(diff).mean() > 1 and abs(diff.mean()) < 3  # zero-mean
    elif effect == "jpeg":  # small, local changes
        assert np.abs(diff).mean() < 6
    elif effect == "sharpen":
        assert _gradient_energy(out) > _gradient_energy(ref)


def test_sampled_cameras_are_in_range() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        cam = photo.sample_camera(rng, lighting.kelvin_rgb(3000))
        assert set(cam) == set(NEUTRAL_CAMERA)
        assert cam["jpeg_quality"] == 0 or 35 <= cam["jpeg_quality"] <= 95
        assert cam["white_balance"][1] == pytest.approx(1.0)
        assert cam["white_balance"][2] > cam["white_balance"][0]  # corrects warm light
        json.dumps(cam)


def test_lighting_presets() -> None:
    rng = np.random.default_rng(1)
    seen = set()
    for _ in range(200):
        light = lighting.sample_lighting(rng)
        seen.add(light["preset"])
        assert 1 <= len(light["lights"]) <= 3
        for lt in light["lights"]:
            assert np.linalg.norm(lt["direction"]) == pytest.approx(1.0)
            assert lt["size_deg"] > 0 and lt["intensity"] > 0
        json.dumps(light)
    assert seen == set(lighting.PRESETS)
    warm, cool = lighting.kelvin_rgb(2700), lighting.kelvin_rgb(9000)
    assert warm[0] > 1.0 > warm[2] and cool[0] < 1.0 < cool[2]
