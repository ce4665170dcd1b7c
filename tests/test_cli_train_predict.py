"""End to end through the command line: train, evaluate, predict and models.

A tiny run (16 synthetic faces at 32x32, a light U-Net with channels 4-8-8-8-8,
2 steps) is trained once per module; each command then takes well under a second.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from rgb2depth.cli.main import main

STEPS = 2


def run_cli(capsys, *argv: str | Path) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # argparse usage errors
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, command: str, *fragments: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"rgb2depth {command}: error: "), lines[0]
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def data(workdir: Path) -> Path:
    """16 faces at 32x32: 8 train, 4 val, 4 test (read-only for the tests)."""
    from rgb2depth.data.synthetic import generate

    root = workdir / "faces"
    generate("faces", root, n=16, size=32, seed=0, progress=False)
    return root


@pytest.fixture(scope="module")
def config_file(workdir: Path, data: Path) -> Path:
    config = {
        "data": {"root": str(data), "size": [32, 32], "preset": "light_unet"},
        "model": {"name": "light_unet", "kwargs": {"channels": [4, 8, 8, 8, 8]}},
        "method": {"name": "supervised", "loss": "light_unet"},
        "train": {"lr": 1.0e-3, "batch_size": 4, "device": "cpu"},
        "schedule": {"steps": STEPS},
        "log": {"out": str(workdir / "default-run"), "every": 1, "val_every": 0, "images": 1},
    }
    path = workdir / "tiny.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def run(workdir: Path, config_file: Path) -> Path:
    """A trained run folder (the module's model is ``run / "model"``)."""
    out = workdir / "run"
    assert main(["train", str(config_file), f"log.out={out}", "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def model_metrics(run: Path, data: Path, workdir: Path) -> dict[str, float]:
    """``evaluate --model`` on the test split (the reference for ``evaluate --pred``)."""
    target = workdir / "model-metrics.json"
    args = ["evaluate", "--model", str(run / "model"), "--data", str(data), "--json", str(target)]
    assert main([*args, "--quiet"]) == 0
    return json.loads(target.read_text())["metrics"]


@pytest.fixture
def photo(tmp_path: Path, data: Path) -> Path:
    """A test face resized to 56x40 (W x H), unlike the model's 32x32, in its own folder."""
    folder = tmp_path / "photos"
    folder.mkdir()
    src = sorted((data / "test" / "rgb").iterdir())[0]
    Image.open(src).convert("RGB").resize((56, 40), Image.BILINEAR).save(folder / "face.png")
    return folder / "face.png"


# ---------------------------------------------------------------- train


def test_train_writes_model_and_resumes(
    tmp_path: Path, config_file: Path, run: Path, capsys
) -> None:
    # (``run``, the module's own training, is asked for only to pay torch's one-off
    # optimizer imports before this test's timing)
    out = tmp_path / "run"
    before = torch.get_num_threads()
    torch.set_num_threads(3)  # not the machine's default, so the record is this run's
    try:
        code, stdout, err = run_cli(
            capsys, "train", config_file, f"log.out={out}", "train.lr=2e-3", "--quiet"
        )
    finally:
        torch.set_num_threads(before)
    assert code == 0, err
    assert f"trained {STEPS} steps" in stdout and "validation: abs_rel" in stdout
    assert files_in(out / "model") == ["config.json", "model.safetensors"]
    model_config = json.loads((out / "model" / "config.json").read_text())
    assert model_config["model"]["name"] == "light_unet"
    assert model_config["model"]["kwargs"]["channels"] == [4, 8, 8, 8, 8]
    assert model_config["depth"] == {"units": "mm", "range": [500.0, 1800.0]}
    assert model_config["input"]["size"] == [32, 32]
    assert model_config["trained"]["steps"] == STEPS
    assert model_config["trained"]["threads"] == 3
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["train"]["lr"] == pytest.approx(2e-3)  # 2e-4-style override is a float
    assert err == ""  # --quiet: no progress bar

    # overrides may follow options (the run's settings, train.lr included, stay the same)
    code, stdout, err = run_cli(
        capsys,
        "train",
        config_file,
        f"log.out={out}",
        "train.lr=2e-3",
        "--resume",
        f"schedule.steps={STEPS + 1}",
    )
    assert code == 0, err
    assert f"trained {STEPS + 1} steps" in stdout
    assert (out / "checkpoints" / f"step_{STEPS + 1:08d}").is_dir()
    assert json.loads((out / "model" / "config.json").read_text())["trained"]["steps"] == STEPS + 1
    code, stdout, err = run_cli(
        capsys,
        "train",
        config_file,
        "train.lr=2e-3",
        "--resume",
        f"schedule.steps={STEPS + 2}",
        f"log.out={out}",
    )
    assert code == 0, err
    assert f"trained {STEPS + 2} steps" in stdout


def test_train_into_existing_run_needs_resume(run: Path, config_file: Path, capsys) -> None:
    before = (run / "model" / "model.safetensors").read_bytes()
    code, _, err = run_cli(capsys, "train", config_file, f"log.out={run}", "--quiet")
    assert_one_line_error(code, err, "train", "already holds a run", "--resume")
    assert (run / "model" / "model.safetensors").read_bytes() == before


# ---------------------------------------------------------------- evaluate


def test_evaluate_model_table_and_json(run: Path, data: Path, tmp_path: Path, capsys) -> None:
    target = tmp_path / "m.json"
    code, stdout, err = run_cli(
        capsys, "evaluate", "--model", run / "model", "--data", data, "--json", target, "--quiet"
    )
    assert code == 0, err
    lines = stdout.splitlines()
    assert "4 images, depth in mm" in lines[0]
    header = lines[1].split()
    assert header[:3] == ["abs_rel", "sq_rel", "rmse"] and "delta1" in header
    values = [float(v) for v in lines[2].split()]
    assert len(values) == len(header) and all(np.isfinite(values))
    result = json.loads(target.read_text())
    assert result["units"] == "mm" and result["split"] == "test" and result["align"] == "none"
    metrics = result["metrics"]
    assert {"abs_rel", "sq_rel", "rmse", "rmse_log", "mae", "delta1", "delta2", "delta3"} <= set(
        metrics
    )
    assert metrics["n_images"] == 4 and metrics["n_files"] == 4
    assert values[header.index("rmse")] == pytest.approx(metrics["rmse"], rel=1e-3)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


# ---------------------------------------------------------------- predict


def test_predict_files_at_input_resolution(
    run: Path, photo: Path, tmp_path: Path, capsys, device_tolerance
) -> None:
    out = tmp_path / "out"
    code, stdout, err = run_cli(
        capsys, "predict", photo.parent, "--model", run / "model", "--out", out, "--npy"
    )
    assert code == 0, err
    assert "wrote depth for 1 image(s)" in stdout and "(mm)" in stdout
    assert files_in(out) == [
        "face_depth.json",
        "face_depth.npy",
        "face_depth.png",
        "face_depth_color.png",
    ]
    counts = np.array(Image.open(out / "face_depth.png"))
    assert counts.dtype == np.uint16 and counts.shape == (40, 56)
    assert counts.min() >= 1  # count 0 means "no depth"
    meta = json.loads((out / "face_depth.json").read_text())
    assert meta["units"] == "mm" and meta["size"] == [56, 40]
    scale, offset = meta["scale"], meta["offset"]
    color = np.array(Image.open(out / "face_depth_color.png"))
    assert color.dtype == np.uint8 and color.shape == (40, 56, 3)
    depth = np.load(out / "face_depth.npy", allow_pickle=False)
    assert depth.dtype == np.float32 and depth.shape == (40, 56)
    assert np.isfinite(depth).all()
    assert depth.min() >= 500.0 and depth.max() <= 1800.0
    decoded = offset + scale * counts.astype(np.float64)
    assert np.abs(decoded - depth).max() <= scale * (1 + 1e-6)  # within one count

    # the same as the Python API on the CPU: exactly when predict ran there too
    # (device auto), within float32 rounding when it ran on CUDA
    from rgb2depth import Predictor

    api = Predictor.from_pretrained(run / "model", device="cpu").predict(photo)
    np.testing.assert_allclose(depth, api, **device_tolerance("auto"))


def test_predict_tta_flip(run: Path, photo: Path, tmp_path: Path, capsys) -> None:
    plain, flip = tmp_path / "plain", tmp_path / "flip"
    for out, extra in ((plain, []), (flip, ["--tta", "flip"])):
        code, _, err = run_cli(
            capsys, "predict", photo, "--model", run / "model", "--out", out, "--npy", *extra
        )
        assert code == 0, err
    a, b = np.load(plain / "face_depth.npy"), np.load(flip / "face_depth.npy")
    assert b.shape == a.shape == (40, 56) and np.isfinite(b).all()
    assert not np.array_equal(a, b)


def test_evaluate_pred_matches_evaluate_model(
    run: Path, data: Path, model_metrics: dict, tmp_path: Path, capsys
) -> None:
    rgb = data / "test" / "rgb"
    png, npy = tmp_path / "png", tmp_path / "npy"
    for out, extra in ((png, []), (npy, ["--npy"])):
        code, _, err = run_cli(
            capsys, "predict", rgb, "--model", run / "model", "--out", out, "--quiet", *extra
        )
        assert code == 0, err
    assert len(files_in(png)) == 3 * 4 and len(files_in(npy)) == 4 * 4
    for pred, rel in ((png, 1e-3), (npy, 1e-5)):  # 16-bit PNG (decoded with its JSON) / float
        target = tmp_path / f"{pred.name}.json"
        code, _, err = run_cli(
            capsys, "evaluate", "--pred", pred, "--data", data, "--json", target, "--quiet"
        )
        assert code == 0, err
        metrics = json.loads(target.read_text())["metrics"]
        assert metrics["n_images"] == 4
        for key in ("rmse", "abs_rel", "mae"):
            assert metrics[key] == pytest.approx(model_metrics[key], rel=rel), (pred.name, key)


# ---------------------------------------------------------------- models, Python API


def test_models_json(capsys) -> None:
    from rgb2depth.models import list_models

    code, stdout, err = run_cli(capsys, "models", "--json", "--size", "32")
    assert code == 0, err
    listing = json.loads(stdout)
    networks = {r["name"]: r for r in listing["networks"]}
    assert set(networks) == set(list_models())
    assert networks["light_unet"]["parameters"] == 1218870
    assert networks["light_unet"]["paper_parameters"] == 1.22e6
    assert networks["light_unet"]["gflops"] > 0
    # pix2pix's U-Net needs multiples of 256: no GFLOPs at 32, and the reason
    unet = networks["pix2pix_unet"]
    assert unet["gflops"] is None and "multiples of 256" in unet["note"]
    assert unet["paper_settings"] == {"out_channels": 3}
    assert unet["parameters_with_paper_settings"] == unet["paper_parameters"] == 54_413_955
    assert networks["face_siamese"]["inputs"] == 2
    assert networks["face_siamese"]["gflops"] is None  # smaller than its 64-pixel minimum
    assert networks["face_cgan_discriminator"]["gflops"] > 0  # built for 32x32 to count
    assert isinstance(listing["bundled"], list)


def test_models_table(capsys) -> None:
    code, stdout, err = run_cli(capsys, "models")
    assert code == 0, err
    lines = stdout.splitlines()
    assert lines[0].split()[:4] == ["network", "parameters", "paper", "GFLOPs"]
    row = next(line for line in lines if line.startswith("resnet18_generator "))
    assert "19,837,409" in row and "19.8 M" in row
    assert any(
        line.startswith("* pix2pix_unet: the paper's figure is for out_channels=3")
        for line in lines
    )
    assert not any(line.startswith("- ") for line in lines)  # 256 suits every network


def test_python_api(run: Path) -> None:
    from rgb2depth import Predictor

    predictor = Predictor.from_pretrained(run / "model")
    depth = predictor.predict(np.zeros((50, 70, 3), np.uint8))
    assert depth.shape == (50, 70) and depth.dtype == np.float32
    assert np.isfinite(depth).all()
    lo, hi = predictor.depth_range
    assert (lo, hi) == (500.0, 1800.0) and predictor.units == "mm"
    assert depth.min() >= lo and depth.max() <= hi

    # flip TTA averages the image's prediction with its mirror's, mirrored back
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)  # the model's own size
    mirrored = predictor.predict(image[:, ::-1].copy())[:, ::-1]
    expected = 0.5 * (predictor.predict(image) + mirrored)
    np.testing.assert_allclose(predictor.predict(image, tta="flip"), expected, rtol=1e-5)


# ---------------------------------------------------------------- bad input


@pytest.fixture
def broken_models(run: Path, tmp_path: Path) -> dict[str, Path]:
    missing = tmp_path / "missing-weights"
    shutil.copytree(run / "model", missing)
    (missing / "model.safetensors").unlink()
    corrupt = tmp_path / "corrupt-weights"
    shutil.copytree(run / "model", corrupt)
    (corrupt / "model.safetensors").write_bytes(os.urandom(300))
    return {"missing": missing, "corrupt": corrupt}


@pytest.mark.parametrize(
    ("model", "fragments"),
    [
        ("no-such-model", ["unknown model 'no-such-model'", "bundled"]),
        ("{missing}", ["no model.safetensors"]),
        ("{corrupt}", ["corrupt or not a safetensors file"]),
    ],
)
def test_bad_model(
    model: str, fragments: list[str], broken_models: dict, photo: Path, data: Path, tmp_path, capsys
) -> None:
    model = model.format(**{k: str(v) for k, v in broken_models.items()})
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "predict", photo, "--model", model, "--out", out, "--quiet")
    assert_one_line_error(code, err, "predict", *fragments)
    assert files_in(out) == []  # the folder may be made (checked for writing), but stays empty
    target = tmp_path / "m.json"
    code, _, err = run_cli(
        capsys, "evaluate", "--model", model, "--data", data, "--json", target, "--quiet"
    )
    assert_one_line_error(code, err, "evaluate", *fragments)
    assert not target.exists()


def test_config_typo(config_file: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", config_file, f"log.out={out}", "trian.lr=1")
    assert_one_line_error(code, err, "train", "'trian'", "did you mean 'train'")
    code, _, err = run_cli(capsys, "train", config_file, f"log.out={out}", "train.lr=abc")
    assert_one_line_error(code, err, "train", "train.lr must be a number > 0")
    code, _, err = run_cli(capsys, "train", config_file, f"log.out={out}", "method.lss=mse")
    assert_one_line_error(code, err, "train", "'method.lss'", "valid keys: name, loss")
    assert not out.exists()


DENSENET_TINY = {"growth_rate": 4, "init_features": 8, "block_config": [1, 1, 1, 1]}


def test_train_loads_encoder_weights(config_file: Path, tmp_path: Path, capsys) -> None:
    """model.encoder_weights loads a torchvision-layout encoder file before training."""
    from safetensors.torch import save_file

    from rgb2depth.models import create_model, load_model_folder

    source = create_model("densenet_depth", **DENSENET_TINY, decoder_width=32)
    weights = {k: v for k, v in source.state_dict().items() if k.startswith("features.")}
    save_file(weights, str(tmp_path / "densenet121.safetensors"))
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    config["data"]["size"] = [64, 64]  # densenet_depth takes at least 64
    config["model"] = {
        "name": "densenet_depth",
        "kwargs": {**DENSENET_TINY, "decoder_width": 32},
        "encoder_weights": str(tmp_path / "densenet121.safetensors"),
    }
    path = tmp_path / "densenet.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    out = tmp_path / "run"
    code, _, err = run_cli(
        capsys, "train", path, f"log.out={out}", "train.lr=1e-12", "schedule.steps=1", "--quiet"
    )
    assert code == 0, err
    trained, _ = load_model_folder(out / "model")
    for key in ("features.conv0.weight", "features.denseblock4.denselayer1.conv2.weight"):
        torch.testing.assert_close(trained.state_dict()[key], weights[key], atol=1e-6, rtol=0)


def test_encoder_weights_for_a_network_without_an_encoder(
    config_file: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "run"
    code, _, err = run_cli(
        capsys, "train", config_file, f"log.out={out}", f"model.encoder_weights={tmp_path}/x.pth"
    )
    assert_one_line_error(
        code, err, "train", "light_unet has no pretrained encoder", "take one: densenet_depth"
    )
    assert not out.exists()


def test_train_starts_from_model_init(config_file: Path, run: Path, tmp_path: Path, capsys) -> None:
    """model.init: every weight starts from the named model (lr ~0 keeps them), and the
    saved model records where it started."""
    from rgb2depth.models import load_model_folder

    out = tmp_path / "finetuned"
    code, _, err = run_cli(
        capsys,
        "train",
        config_file,
        f"log.out={out}",
        f"model.init={run / 'model'}",
        "train.lr=1e-12",
        "schedule.steps=1",
        "--quiet",
    )
    assert code == 0, err
    start, _ = load_model_folder(run / "model")
    tuned, tuned_config = load_model_folder(out / "model")
    for key, value in start.state_dict().items():
        if value.is_floating_point() and "running" not in key:
            torch.testing.assert_close(tuned.state_dict()[key], value, atol=1e-6, rtol=0)
    assert tuned_config["trained"]["init"] == str(run / "model")


@pytest.mark.parametrize(
    ("init", "fragments"),
    [
        ("no-such-model", ["model.init: unknown model 'no-such-model'", "bundled:"]),
        ("faces-light", ["model.init: faces-light is light_unet with settings", "same network"]),
    ],
)
def test_train_refuses_a_model_init_that_does_not_fit(
    config_file: Path, tmp_path: Path, capsys, init: str, fragments: list[str]
) -> None:
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", config_file, f"log.out={out}", f"model.init={init}")
    assert_one_line_error(code, err, "train", *fragments)
    assert not out.exists()


@pytest.mark.parametrize(
    ("network", "fragments"),
    [
        ("dcgan_critic", ["model.name dcgan_critic: not an image-to-depth", "light_unet"]),
        ("face_siamese", ["face_siamese: not an image-to-depth", "pix2pix_unet"]),
        ("pix2pix_unet", ["data.size 32x32: pix2pix_unet needs", "multiples of 256"]),
    ],
)
def test_train_refuses_networks_that_cannot_serve(
    config_file: Path, tmp_path: Path, capsys, network: str, fragments: list[str]
) -> None:
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    config["model"] = {"name": network}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", path, f"log.out={out}")
    assert_one_line_error(code, err, "train", *fragments)
    assert not out.exists()


@pytest.mark.parametrize("others", [False, True])
def test_corrupt_image(run: Path, photo: Path, tmp_path: Path, capsys, others: bool) -> None:
    folder = photo.parent
    bad = folder / "x.png"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 500, dtype=np.uint8).tobytes())
    out = tmp_path / "out"
    inputs = [folder] if others else [bad]
    code, _, err = run_cli(
        capsys, "predict", *inputs, "--model", run / "model", "--out", out, "--quiet"
    )
    if others:  # the bad image is reported, the good one still predicted (tests/test_photos.py)
        assert code == 2 and "Traceback" not in err
        first, summary = err.strip().splitlines()
        assert first.startswith("rgb2depth predict: error: ") and "x.png" in first
        assert "1 of 2 input(s) failed" in summary
        assert "face_depth.png" in files_in(out)
    else:
        assert_one_line_error(code, err, "predict", "x.png")
    names = files_in(out)
    assert not [n for n in names if n.startswith("x")], names
    assert not [n for n in names if n.startswith(".")], names  # no temporary files


def test_output_folder_is_a_file(run: Path, photo: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    out.write_text("mine")
    code, _, err = run_cli(capsys, "predict", photo, "--model", run / "model", "--out", out)
    assert_one_line_error(code, err, "predict", "is a file")
    assert out.read_text() == "mine"
    code, _, err = run_cli(capsys, "predict", photo, "--model", run / "model", "--out", out / "sub")
    assert_one_line_error(code, err, "predict", "cannot write")
    assert out.read_text() == "mine"


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores permissions"
)
def test_output_folder_not_writable(run: Path, photo: Path, tmp_path: Path, capsys) -> None:
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        for out in (parent, parent / "out"):
            code, _, err = run_cli(capsys, "predict", photo, "--model", run / "model", "--out", out)
            assert_one_line_error(code, err, "predict", "cannot write")
        assert files_in(parent) == []
    finally:
        parent.chmod(0o700)


def test_output_folder_permission_denied(
    run: Path, photo: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    # what a read-only folder does for a user who is not root, simulated for root too
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    out = tmp_path / "out"
    code, _, err = run_cli(
        capsys, "predict", photo, "--model", run / "model", "--out", out, "--quiet"
    )
    assert_one_line_error(code, err, "predict", "cannot write", "Permission denied")
    assert files_in(out) == []


def test_evaluate_json_cannot_be_written(run: Path, data: Path, tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run_cli(
        capsys,
        "evaluate",
        "--model",
        run / "model",
        "--data",
        data,
        "--json",
        blocker / "m.json",
        "--quiet",
    )
    assert_one_line_error(code, err, "evaluate", "cannot write")


def test_evaluate_pred_missing_predictions(data: Path, tmp_path: Path, capsys) -> None:
    pred = tmp_path / "pred"
    pred.mkdir()
    code, _, err = run_cli(capsys, "evaluate", "--pred", pred, "--data", data, "--quiet")
    assert_one_line_error(code, err, "evaluate", "4 of 4 predictions missing")
    names = sorted(p.stem for p in (data / "test" / "depth").iterdir())
    np.save(pred / f"{names[0]}.npy", np.full((32, 32), 1000.0, np.float32))
    code, _, err = run_cli(capsys, "evaluate", "--pred", pred, "--data", data, "--quiet")
    assert_one_line_error(code, err, "evaluate", "3 of 4 predictions missing", names[1])
    code, _, err = run_cli(
        capsys, "evaluate", "--pred", tmp_path / "nope", "--data", data, "--quiet"
    )
    assert_one_line_error(code, err, "evaluate", "prediction folder not found")


def test_evaluate_pred_wrong_size(data: Path, tmp_path: Path, capsys) -> None:
    pred = tmp_path / "pred"
    pred.mkdir()
    for p in (data / "test" / "depth").iterdir():
        np.save(pred / f"{p.stem}.npy", np.full((16, 16), 1000.0, np.float32))
    code, _, err = run_cli(capsys, "evaluate", "--pred", pred, "--data", data, "--quiet")
    assert_one_line_error(code, err, "evaluate", "prediction is (16, 16)")


@pytest.mark.parametrize(
    ("argv", "command", "fragment"),
    [
        (
            ["predict", "{tmp}/nope.png", "--model", "{model}", "--out", "{tmp}/out"],
            "predict",
            "input not found",
        ),
        (["evaluate", "--model", "{model}", "--data", "{tmp}/nope"], "evaluate", "does not exist"),
        (["evaluate", "--pred", "{tmp}", "--data", "{tmp}/nope"], "evaluate", "does not exist"),
        (["train", "{tmp}/nope.yaml"], "train", "config file not found"),
    ],
)
def test_missing_input_path(
    argv: list[str], command: str, fragment: str, run: Path, tmp_path: Path, capsys
) -> None:
    argv = [a.format(tmp=tmp_path, model=run / "model") for a in argv]
    code, _, err = run_cli(capsys, *argv)
    assert_one_line_error(code, err, command, fragment)
    assert files_in(tmp_path / "out") == []


def test_empty_input_folder(run: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    out = tmp_path / "out"
    code, _, err = run_cli(
        capsys, "predict", tmp_path / "empty", "--model", run / "model", "--out", out
    )
    assert_one_line_error(code, err, "predict", "no images")
    assert not out.exists()


def test_demo_with_a_trained_model(run: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "demo"
    code, stdout, _ = run_cli(capsys, "demo", "--model", run / "model", "--out", out)
    assert code == 0, stdout
    assert "face" in stdout and "rmse" in stdout and "astronaut" in stdout
    for name, size in (("face", (256, 256)), ("astronaut", (512, 512))):
        depth = np.load(out / f"{name}_depth.npy")
        assert depth.shape == size and np.isfinite(depth).all()
        assert (out / f"{name}_depth.png").is_file() and (out / f"{name}_depth_color.png").is_file()
    assert (out / "demo.png").is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
