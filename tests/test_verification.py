"""Face verification (seed 001): pairs, the verifier, scoring generated depth, the command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from rgb2depth.cli.main import main
from rgb2depth.errors import InputError
from rgb2depth.metrics import verification as V

SIZE = 64  # the verifier's smallest input; the seed's 96 is the default
SMALL = {"widths": (8, 16, 16, 16, 16)}  # a narrow face_siamese: seconds on one thread
RANGE = (500.0, 1800.0)


# --------------------------------------------------------------------------- toy faces


def toy_depth(identity: int, view: int, size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """A toy "face": the same disc outline for everyone (so the outline says nothing),
    a dome with a bump whose place is the identity; each view is at its own distance
    (+-80 mm) and tilt (+-40 mm across the disc), with sensor noise, so that two views
    of one identity are not near-identical images.
    -> ((H, W) depth in mm, 0 outside the disc; (H, W) bool mask)."""
    rng = np.random.default_rng(1000 * identity + view)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    r2 = xx**2 + yy**2
    mask = r2 < 0.4**2
    angle = 2 * np.pi * identity / 7.3 + 0.4 * (identity // 7)
    by, bx = 0.22 * np.sin(angle), 0.22 * np.cos(angle)
    bump = 120.0 * np.exp(-((xx - bx) ** 2 + (yy - by) ** 2) / (2 * 0.08**2))
    tilt = rng.uniform(-50, 50, 2)
    pose = rng.uniform(-80, 80) + tilt[0] * xx + tilt[1] * yy
    depth = 1000.0 + 300.0 * r2 - bump + pose + rng.normal(0, 2, r2.shape)
    return np.where(mask, depth, 0.0).astype(np.float32), mask


def toy_faces(identities: range, views: int = 4, size: int = SIZE) -> V.FaceSet:
    names, images, ids = [], [], []
    for i in identities:
        for v in range(views):
            d, m = toy_depth(i, v, size)
            names.append(f"{i:03d}_{v}")
            images.append(V.prepare_depth(d, m, RANGE, size=size))
            ids.append(str(i))
    return V.FaceSet(names, torch.stack(images), ids)


def write_toy_dataset(
    root: Path, *, groups: bool = True, split_ids: dict[str, range] | None = None
) -> Path:
    """A dataset folder in the published format: dataset.json, rgb/*.png, depth/*.npy
    (mm, 0 invalid), meta.jsonl with each sample's ``group``."""
    split_ids = split_ids or {"train": range(0, 8), "val": range(8, 11), "test": range(11, 15)}
    for split, ids in split_ids.items():
        (root / split / "rgb").mkdir(parents=True)
        (root / split / "depth").mkdir()
        rows = []
        for i in ids:
            for v in range(3):
                name = f"{i:03d}_{v}"
                d, _ = toy_depth(i, v)
                np.save(root / split / "depth" / f"{name}.npy", d)
                gray = np.clip((d - 900) / 2, 0, 255).astype(np.uint8)
                Image.fromarray(np.stack([gray] * 3, -1)).save(root / split / "rgb" / f"{name}.png")
                rows.append({"name": name, "group": i, "identity": i})
        if groups:
            with (root / split / "meta.jsonl").open("w") as f:
                f.writelines(json.dumps(r) + "\n" for r in rows)
    info = {
        "name": "toy-faces",
        "kind": "faces",
        "depth_units": "mm",
        "depth_range": list(RANGE),
        "splits": list(split_ids),
    }
    (root / "dataset.json").write_text(json.dumps(info))
    return root


# --------------------------------------------------------------------------- pairs


def test_pairs_balanced_deterministic_and_unordered() -> None:
    ids = {f"s{k:02d}": k // 4 for k in range(40)}  # 10 identities x 4 views
    pairs = V.make_pairs(ids, seed=3)
    genuine = [p for p in pairs if p.same]
    assert len(genuine) == 10 * 6  # every two views of each identity
    assert len(pairs) == 2 * len(genuine)  # balanced
    assert all((ids[p.a] == ids[p.b]) == p.same and p.a != p.b for p in pairs)
    assert len({(p.a, p.b) for p in pairs} | {(p.b, p.a) for p in pairs}) == 2 * len(pairs)
    assert V.make_pairs(ids, seed=3) == pairs
    assert V.make_pairs(ids, seed=4) != pairs
    some = V.make_pairs(ids, n_pairs=20, seed=3)
    assert sum(p.same for p in some) == 10 and len(some) == 20


def test_pairs_refuse_too_few_identities() -> None:
    with pytest.raises(InputError, match="too few identities"):
        V.make_pairs({"a": 1, "b": 1, "c": 1})  # one identity: no impostor
    with pytest.raises(InputError, match="too few identities"):
        V.make_pairs({"a": 1, "b": 2, "c": 3})  # one view each: no genuine pair


def test_pairs_file_round_trips(tmp_path: Path) -> None:
    pairs = V.make_pairs({f"s{k}": k % 3 for k in range(12)}, seed=0)
    V.write_pairs(tmp_path / "p.json", pairs, split="test", seed=0)
    back, meta = V.read_pairs(tmp_path / "p.json")
    assert back == pairs and meta["split"] == "test"
    assert meta["n_genuine"] == meta["n_impostor"] == sum(p.same for p in pairs)
    (tmp_path / "bad.json").write_text('{"format": "other"}')
    with pytest.raises(InputError, match="not a pairs file"):
        V.read_pairs(tmp_path / "bad.json")


def test_run_pairs_have_no_identity_leak(tmp_path: Path) -> None:
    root = write_toy_dataset(tmp_path / "toy")
    val, test = V.make_run_pairs(root, seed=0)
    ids = {s: set(V.read_identities(root, s).values()) for s in V.SPLITS}
    test_ids = {V.read_identities(root, "test")[x] for p in test for x in (p.a, p.b)}
    val_ids = {V.read_identities(root, "val")[x] for p in val for x in (p.a, p.b)}
    assert test_ids and not test_ids & ids["train"] and not val_ids & ids["train"]
    assert not test_ids & val_ids
    assert V.make_run_pairs(root, seed=0) == (val, test)


# --------------------------------------------------------------------------- preprocessing


def test_prepare_depth_range_and_centered() -> None:
    d, m = toy_depth(0, 0)
    x = V.prepare_depth(d, m, RANGE, size=SIZE)
    assert x.shape == (1, SIZE, SIZE)
    assert torch.all(x[0][~torch.from_numpy(m)] == V.FILL)
    inside = x[0][torch.from_numpy(m)]
    expected = (torch.from_numpy(d[m]) - 500.0) / 650.0 - 1.0  # depth_range -> [-1, 1]
    assert torch.allclose(inside, expected, atol=1e-5)
    c = V.prepare_depth(d + 300.0 * m, m, RANGE, size=SIZE, normalize="centered")
    c0 = V.prepare_depth(d, m, RANGE, size=SIZE, normalize="centered")
    assert torch.allclose(c, c0, atol=1e-5)  # distance removed, relief kept
    assert V.prepare_depth(d, m, RANGE, size=96).shape == (1, 96, 96)


def write_frames(root: Path) -> Path:
    """Whole frames with a head centre: a 100 mm disc at 700 mm or 1400 mm, somewhere in a
    96x96 frame of a camera with f = 100 px (dataset.json intrinsics, meta head_center)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:96, 0:96].astype(np.float32) + 0.5
    for split in V.SPLITS:
        (root / split / "rgb").mkdir(parents=True)
        (root / split / "depth").mkdir()
        rows = []
        for i in range(2):
            for v, dist in enumerate((700.0, 1400.0)):
                name = f"{split}{i}{v}"
                cx, cy = rng.uniform(35, 61, 2)
                r = 100.0 * 100.0 / dist  # f * 100 mm / D pixels
                disc = (xx - cx) ** 2 + (yy - cy) ** 2 < r**2
                np.save(root / split / "depth" / f"{name}.npy", np.where(disc, dist, 0.0))
                Image.fromarray(np.zeros((96, 96, 3), np.uint8)).save(
                    root / split / "rgb" / f"{name}.png"
                )
                rows.append({"name": name, "group": i, "head_center": [cx, cy]})
        (root / split / "meta.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    camera = {"fx": 100.0, "fy": 100.0, "cx": 48.0, "cy": 48.0}
    info = {"name": "frames", "kind": "faces", "depth_units": "mm", "depth_range": list(RANGE),
            "intrinsics": camera, "image_size": [96, 96]}  # fmt: skip
    (root / "dataset.json").write_text(json.dumps(info))
    return root


def test_seed_crop_is_metric(tmp_path: Path) -> None:
    """Seed 001's box is f * 320 mm / D wide: a 100 mm disc fills the same part of the
    crop at 700 mm and at 1400 mm (radius 96 * 100 / 320 = 30 px), wherever it is."""
    root = write_frames(tmp_path / "frames")
    assert V.resolve_crop(root) == "seed"
    assert V.resolve_crop(write_toy_dataset(tmp_path / "toy")) == "none"
    with pytest.raises(InputError, match="head centre"):
        V.resolve_crop(tmp_path / "toy", "seed")
    faces = V.load_face_set(root, "test", crop="seed")
    areas = (faces.images[:, 0] < V.FILL).sum((1, 2)).float()
    assert torch.allclose(areas, torch.full_like(areas, np.pi * 30**2), rtol=0.08), areas
    whole = V.load_face_set(root, "test", crop="none")
    areas = (whole.images[:, 0] < V.FILL).sum((1, 2)).float()
    assert areas[0] > 3 * areas[1]  # as framed: the near disc is four times the far one


def test_face_region_hides_the_outline() -> None:
    """Two heads with one face but different outlines give the same face-region input."""
    d, m = toy_depth(3, 0)
    wider = m.copy()
    wider[:, :12] = True  # the same face, another outline
    a = V.face_region(V.prepare_depth(d, m, RANGE, size=SIZE))
    b = V.face_region(V.prepare_depth(np.where(m, d, 700.0), wider, RANGE, size=SIZE))
    assert torch.equal(a, b)
    inside = V.face_region_mask(SIZE)
    assert inside.sum() > 0.1 * SIZE**2
    assert torch.all(a[0][~inside] == a[0][inside].median())  # no edge, no outline
    assert a[0][inside].std() > 0.01  # the face's relief


# --------------------------------------------------------------------------- the verifier


def _train(train: V.FaceSet, val: V.FaceSet) -> torch.nn.Module:
    val_pairs = V.make_pairs(dict(zip(val.names, val.identities, strict=True)), seed=1)
    model, history = V.train_verifier(
        train, val, val_pairs, steps=160, identities_per_step=8, lr=3e-3, seed=0,
        eval_every=20, model_kwargs=SMALL,
    )  # fmt: skip
    assert history["best_step"] % 20 == 0 and len(history["log"]) == 8
    return model


def _test_accuracy(model: torch.nn.Module) -> float:
    test = toy_faces(range(60, 76))
    pairs = V.make_pairs(dict(zip(test.names, test.identities, strict=True)), seed=2)
    scores = V.pair_scores(model, test, pairs)
    return V.verification_metrics(scores, V.pair_labels(pairs))["accuracy"]


def _shuffled(faces: V.FaceSet, rng: np.random.Generator) -> V.FaceSet:
    return V.FaceSet(faces.names, faces.images, list(rng.permutation(faces.identities)))


@pytest.mark.slow
def test_verifier_learns_unseen_toy_identities_and_shuffled_labels_do_not() -> None:
    train, val = toy_faces(range(0, 24)), toy_faces(range(40, 46))
    learned = _test_accuracy(_train(train, val))
    rng = np.random.default_rng(0)  # the control: every training label shuffled
    control = _test_accuracy(_train(_shuffled(train, rng), _shuffled(val, rng)))
    # random convolutional features already rank some toy pairs, so the control's
    # accuracy lands anywhere in about 0.45-0.65 depending on the seed: near chance
    assert learned >= 0.8, learned
    assert control <= 0.7 and learned - control >= 0.2, (learned, control)


def test_pair_scores_match_the_network_and_metrics() -> None:
    from rgb2depth.models import create_model

    torch.manual_seed(0)
    model = create_model("face_siamese", image_size=SIZE, **SMALL).eval()
    faces = toy_faces(range(3), views=2)
    pairs = V.make_pairs(dict(zip(faces.names, faces.identities, strict=True)), seed=0)
    s = V.pair_scores(model, faces, pairs)
    a = faces.images[[faces.index[p.a] for p in pairs]]
    b = faces.images[[faces.index[p.b] for p in pairs]]
    with torch.no_grad():
        direct = torch.sigmoid(model(a, b))[:, 0].numpy()
    np.testing.assert_allclose(s, direct, rtol=1e-5, atol=1e-6)
    y = np.array([1, 1, 0, 0], np.float32)
    m = V.verification_metrics(np.array([0.9, 0.4, 0.6, 0.1]), y)
    assert m["accuracy"] == 0.5 and m["genuine_accepted"] == 0.5 and m["auc"] == 0.75
    assert m["chance"] == 0.5


@pytest.mark.slow
def test_ground_truth_beats_noise_and_the_silhouette(tmp_path: Path) -> None:
    root = write_toy_dataset(
        tmp_path / "toy",
        split_ids={"train": range(0, 24), "val": range(40, 46), "test": range(60, 68)},
    )
    val_pairs, test_pairs = V.make_run_pairs(root, seed=0)
    train = V.load_face_set(root, "train", size=SIZE)
    val = V.load_face_set(root, "val", size=SIZE)
    model, _ = V.train_verifier(
        train, val, val_pairs, steps=160, identities_per_step=8, lr=3e-3, eval_every=20,
        model_kwargs=SMALL,
    )  # fmt: skip
    y = V.pair_labels(test_pairs)
    rng = np.random.default_rng(0)

    def noise(rgb: np.ndarray) -> np.ndarray:
        return rng.uniform(900, 1100, rgb.shape[:2]).astype(np.float32)

    def acc(**kw) -> float:
        faces = V.load_face_set(root, "test", size=SIZE, **kw)
        return V.verification_metrics(V.pair_scores(model, faces, test_pairs), y)["accuracy"]

    gt, noisy, outline = acc(), acc(depth_fn=noise), acc(control="silhouette")
    assert gt >= 0.75, gt
    assert gt - noisy >= 0.25, (gt, noisy)
    assert gt - outline >= 0.25, (gt, outline)


# --------------------------------------------------------------------------- the command


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_trains_then_reuses_and_scores_models_and_files(tmp_path: Path, capsys) -> None:
    root = write_toy_dataset(tmp_path / "toy")
    run = tmp_path / "run"
    base = ["verify", "--data", str(root), "--out", str(run), "--quiet"]
    code, out, err = run_cli(capsys, *base, "--steps", "2", "--model", "faces-light")
    assert code == 0, err
    assert "verifier trained" in out and "faces-light" in out and "ground truth" in out
    for f in ("verifier.safetensors", "verifier.json", "pairs-val.json", "pairs-test.json"):
        assert (run / f).is_file(), f
    first = json.loads((run / "verify.json").read_text())
    sources = [r["source"] for r in first["rows"]]
    assert sources == ["ground truth", "silhouette", "faces-light", "chance"]
    assert first["rows"][-1]["accuracy"] == 0.5

    pred = tmp_path / "pred"  # the ground truth as prediction files: scores as the ground truth
    pred.mkdir()
    for f in (root / "test" / "depth").iterdir():
        np.save(pred / f.name, np.load(f))
    code, out, err = run_cli(capsys, *base, "--pred", str(pred), "--json", str(tmp_path / "r.json"))
    assert code == 0, err
    assert "verifier reused" in out
    again = json.loads((tmp_path / "r.json").read_text())
    gt, files = again["rows"][0], again["rows"][2]
    assert files["source"] == str(pred) and files["accuracy"] == gt["accuracy"]
    assert again["rows"][0]["accuracy"] == first["rows"][0]["accuracy"]  # the same verifier
    assert first["verifier"]["region"] == "face" and first["verifier"]["normalize"] == "centered"
    code, _, err = run_cli(capsys, *base, "--normalize", "range")
    assert code == 2 and "normalize centered" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda p: write_toy_dataset(p, groups=False), "needs each sample's identity"),
        (
            lambda p: write_toy_dataset(
                p, split_ids={"train": range(4), "val": range(4, 6), "test": range(6, 7)}
            ),
            "too few identities",
        ),
    ],
)
def test_cli_refuses_data_without_enough_identities(tmp_path: Path, capsys, make, fragment) -> None:
    root = make(tmp_path / "toy")
    code, _out, err = run_cli(
        capsys, "verify", "--data", str(root), "--out", str(tmp_path / "run"), "--quiet"
    )
    assert code == 2 and fragment in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "run").exists()  # nothing written


def test_cli_seed_crop_gives_each_model_its_framing(tmp_path: Path, capsys) -> None:
    """With the seed crop, a model trained on face crops (faces) gets the seed crop of the
    RGB image, a whole-frame model (faces-light) the whole image, its depth then cut."""
    root = write_frames(tmp_path / "frames")
    argv = ["verify", "--data", str(root), "--out", str(tmp_path / "run"), "--quiet"]
    code, out, err = run_cli(
        capsys, *argv, "--steps", "1", "--model", "faces", "--model", "faces-light"
    )
    assert code == 0, err
    assert "crop seed" in out and "faces (given the seed crop)" in out
    rows = json.loads((tmp_path / "run" / "verify.json").read_text())["rows"]
    given = {r["source"]: r.get("model_input") for r in rows}
    assert given["faces"] == "seed crop" and given["faces-light"] == "image"
    code, _, err = run_cli(capsys, *argv, "--crop", "none")
    assert code == 2 and "crop seed, not none" in err
