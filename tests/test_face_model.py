"""The Surrey Face Model (shipped as a numpy archive) and how it shapes the synthetic faces."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

from rgb2depth.data.synthetic import faces as F
from rgb2depth.data.synthetic.face_model import (
    EXPRESSIONS,
    JAW_OPEN_MM,
    N_VERTICES,
    FaceModel,
    load_face_model,
)


@pytest.fixture(scope="module")
def model() -> FaceModel:
    return load_face_model()


def _identities(model: FaceModel, n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [model.neutral(model.sample_identity(rng)) for _ in range(n)]


def _protrusion(model: FaceModel, v: np.ndarray) -> float:
    """How far the nose tip stands in front of the cheeks below the pupils, at its height (mm)."""
    lm = model.landmarks(v)
    tip = lm[31]
    pupils = 0.5 * (abs(lm[37][0] + lm[40][0]) + abs(lm[43][0] + lm[46][0])) / 2
    cheek = (np.abs(np.abs(v[:, 0]) - pupils) < 3.0) & (np.abs(v[:, 1] - tip[1]) < 3.0)
    return float(v[cheek, 2].mean() - tip[2])


def test_archive_matches_the_documented_shapes() -> None:
    ref = resources.files("rgb2depth.data.synthetic") / "assets" / "sfm_3448.npz"
    with resources.as_file(ref) as path, np.load(path, allow_pickle=False) as z:
        assert z["mean"].shape == (N_VERTICES, 3) and z["mean"].dtype == np.float32
        assert z["basis"].shape == (63, N_VERTICES, 3)
        assert z["eigenvalues"].shape == (63,) and (np.diff(z["eigenvalues"]) <= 0).all()
        tris = z["triangles"]
        assert tris.shape == (6736, 3) and tris.min() == 0 and tris.max() == N_VERTICES - 1
        assert z["expressions"].shape == (6, N_VERTICES, 3)
        assert tuple(z["expression_names"]) == EXPRESSIONS[:6]
        assert z["ibug_ids"].shape == z["ibug_vertices"].shape == (50,)
        assert z["symmetry"].shape == (845,) and z["contour_left"].shape == (17,)
        # the basis is rescaled by the standard deviations: its norms are sqrt(eigenvalues)
        norms = np.linalg.norm(z["basis"].astype(np.float64).reshape(63, -1), axis=1)
        assert np.allclose(norms, np.sqrt(z["eigenvalues"]), rtol=1e-3)
    licence = resources.files("rgb2depth.data.synthetic") / "assets" / "LICENSE"
    assert "Apache License" in licence.read_text()


def test_mean_face_frame_and_symmetry(model: FaceModel) -> None:
    v = model.neutral(np.zeros(model.n_components))
    lm = model.landmarks(v)
    # origin between the eyes, y down, z away from the camera: the nose tip is in front,
    # the chin below, the subject's right eye on the image left
    assert np.allclose(np.mean([lm[i] for i in (37, 40, 43, 46)], axis=0), 0.0, atol=1e-6)
    assert lm[31][2] < -25.0 and lm[9][1] > 90.0 and lm[37][0] < -30.0 < 30.0 < lm[46][0]
    # the nose tip is the nearest point (up to the landmark's placement on the mesh)
    assert np.linalg.norm(v[np.argmin(v[:, 2])] - lm[31]) < 3.0
    # mirror pairs: x flips, y and z agree
    mirrored = v[model.symmetry] * np.array([-1.0, 1.0, 1.0])
    err = np.linalg.norm(mirrored - v[: len(model.symmetry)], axis=1)
    assert np.median(err) < 0.5 and err.max() < 3.0
    assert np.abs(lm[31][0]) < 1.0 and np.abs(lm[9][0]) < 1.0


def test_identities_differ_with_realistic_noses_and_chins(model: FaceModel) -> None:
    faces = _identities(model, 60)
    prot = np.array([_protrusion(model, v) for v in faces])
    chin = np.array([model.landmarks(v)[9][1] for v in faces])  # eyes to chin, mm
    # the nose stands 15 to 45 mm in front of the cheeks, about 30 mm on average, and
    # varies by several mm between people; so does the face's length
    assert 15.0 < prot.min() and prot.max() < 45.0 and 25.0 < np.median(prot) < 36.0
    assert prot.std() > 2.0 and chin.std() > 3.0 and 95.0 < np.median(chin) < 125.0
    # truncation: no coefficient beyond 2.5 standard deviations
    c = model.sample_identity(np.random.default_rng(1), truncation=1.0)
    assert np.abs(c).max() <= 1.0


def test_expressions_move_the_mouth(model: FaceModel) -> None:
    c = model.sample_identity(np.random.default_rng(3))
    neutral = model.neutral(c)
    lm = model.ibug
    for name in ("happiness", "surprise", "jaw"):
        moved = np.linalg.norm(model.vertices(c, {name: 1.0}) - neutral, axis=1)
        assert moved[[lm[49], lm[55], lm[58]]].max() > 15.0, name  # mouth corners, lower lip
        assert moved[[lm[i] for i in (37, 40, 43, 46)]].max() < 3.0, name  # the eyes stay
    # the jaw alone parts the lips by JAW_OPEN_MM at the centre and leaves the brows
    jaw = model.vertices(c, {"jaw": 1.0})
    iu, il = model.lip_upper[len(model.lip_upper) // 2], model.lip_lower[len(model.lip_lower) // 2]
    assert (jaw[il, 1] - jaw[iu, 1]) - (neutral[il, 1] - neutral[iu, 1]) == pytest.approx(
        JAW_OPEN_MM, abs=0.01
    )
    assert np.abs(jaw[[lm[20], lm[25]]] - neutral[[lm[20], lm[25]]]).max() < 1e-6
    assert (model.lip_gap[:6] > 0).all()  # every expression of the model parts the lips


def test_bad_input_is_a_clear_error(model: FaceModel) -> None:
    with pytest.raises(ValueError, match="expected 63 coefficients"):
        model.neutral(np.zeros(5))
    with pytest.raises(ValueError, match="unknown expressions"):
        model.vertices(np.zeros(63), {"joy": 1.0})


# ------------------------------------------------------------------ the rendered faces
def _front_depth(group: dict, **expression: float) -> np.ndarray:
    k = F.Faces()
    params = k.sample_view(np.random.default_rng(0))
    params.update(
        yaw_deg=0.0,
        pitch_deg=0.0,
        roll_deg=0.0,
        body_yaw_deg=0.0,
        offset_x=0.0,
        offset_y=0.0,
        distance_mm=500.0,
    )
    params.update(dict.fromkeys(F._EXPRESSION_KEYS, 0.0), mouth_open=0.0)
    params.update(expression)
    return k.render_view(group, params, 96, 96).depth


def test_rendered_faces_have_the_models_noses() -> None:
    k = F.Faces()
    f = k.intrinsics(96, 96)["fx"]
    profiles = []
    for seed in range(3):
        group = k.sample_group(np.random.default_rng([seed, 0]))
        d = _front_depth(group)
        r, c = np.unravel_index(np.argmin(np.where(d > 0, d, np.inf)), d.shape)
        # the nose tip is the nearest point, near the middle of the face; the cheeks below
        # the pupils stand 15 to 45 mm behind it
        assert abs(c - 47.5) <= 2
        px = group["eye_spacing"] * f / d[r, c]
        cheeks = d[r, [round(c - px), round(c + px)]]
        assert (cheeks > 0).all()
        assert 15.0 < cheeks.mean() - d[r, c] < 45.0
        profiles.append(d[:, c] - d[r, c])
    # different people: different vertical profiles (forehead, nose, lips, chin)
    diff = np.abs(profiles[0] - profiles[1])[(profiles[0] > 0) & (profiles[1] > 0)]
    assert np.median(diff) > 1.0


def test_expression_changes_the_mouth_not_the_forehead() -> None:
    k = F.Faces()
    group = k.sample_group(np.random.default_rng(7))
    rest = _front_depth(group)
    wide = _front_depth(group, surprise=1.0, mouth_open=1.0)
    r, _ = np.unravel_index(np.argmin(np.where(rest > 0, rest, np.inf)), rest.shape)
    both = (rest > 0) & (wide > 0)
    change = np.where(both, np.abs(wide - rest), 0.0)
    rows = np.arange(96)[:, None]
    assert change[(rows > r + 4) & both].max() > 10.0  # the open mouth, the dropped jaw
    # the forehead: the brows rise and it wrinkles a little
    assert np.median(change[(rows < r - 20) & both]) < 3.0


def test_identity_features_come_from_the_face(model: FaceModel) -> None:
    group = F.Faces().sample_group(np.random.default_rng(11))
    coeffs = np.array([group[f"sfm_{k:02d}"] for k in range(model.n_components)])
    lm = model.landmarks(model.neutral(coeffs))
    y_tip, y_base, y_mouth = F._mouth_line(group)
    assert y_tip == pytest.approx(lm[31][1]) and y_base == pytest.approx(lm[34][1])
    assert y_mouth == pytest.approx(0.5 * (lm[63][1] + lm[67][1]))
    assert group["eye_spacing"] == pytest.approx(
        0.25 * (abs(lm[37][0] + lm[40][0]) + abs(lm[43][0] + lm[46][0]))
    )
    assert 0 < y_tip < y_base < y_mouth < y_mouth + group["chin_height"]


def test_views_draw_expressions(model: FaceModel) -> None:
    k = F.Faces()
    views = [k.sample_view(np.random.default_rng(i)) for i in range(300)]
    keys = list(F._EXPRESSION_KEYS)
    neutral = [v for v in views if not any(v[n] for n in keys if n != "jaw_open")]
    assert 0.3 < len(neutral) / len(views) < 0.5
    for name in keys:  # every expression shows up, strongly at times
        assert max(v[name] for v in views) > 0.8, name
    # mouth_open: the lips' parting that the weights make, / 18 mm, clipped
    for v in views[:40]:
        gap = sum(model.lip_gap[EXPRESSIONS.index(e)] * v[n] for n, e in F._EXPRESSION_KEYS.items())
        assert v["mouth_open"] == pytest.approx(min(gap / JAW_OPEN_MM, 1.0))
    assert 0.1 < np.mean([v["mouth_open"] > 0.3 for v in views]) < 0.6
