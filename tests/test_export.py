"""ONNX export, the inference backends and batched prediction.

The parity tests are generated from the model registry (as tests/test_models.py is):
every registered network is exported with its small test settings and ONNX Runtime
must reproduce PyTorch's output within 1e-4 at two sizes and batch 2.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from rgb2depth.cli.main import main
from rgb2depth.errors import InputError
from rgb2depth.inference import Predictor
from rgb2depth.inference.backends import bf16_support, parse_backend
from rgb2depth.inference.predictor import BatchedPredictions
from rgb2depth.models import create_model, get_entry, list_models, save_model_folder
from test_models import _build, _inputs, _sizes

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")
onnx = pytest.importorskip("onnx")

PARITY = 1e-4  # max abs difference, ONNX Runtime vs PyTorch float32, network output
SMALL_UNET = {"channels": (4, 6, 8, 8, 10)}
CONFIG_META = {
    "depth": {"units": "mm", "range": [500.0, 1800.0]},
    "input": {"size": [32, 48], "channels": 3, "grayscale": False, "framing": "face"},
}


def _model_folder(root: Path) -> Path:
    torch.manual_seed(0)
    model = create_model("light_unet", **SMALL_UNET)
    # BatchNorm statistics that are not the identity, so that they matter
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    return save_model_folder(
        root / "tiny", model, name="light_unet", kwargs=SMALL_UNET, meta=CONFIG_META
    )


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """A tiny saved model folder and its export by ``rgb2depth export`` (the one export
    the fast tests share), with the command's stdout."""
    root = tmp_path_factory.mktemp("export")
    folder = _model_folder(root)
    out = root / "tiny.onnx"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["export", "--model", str(folder), "--format", "onnx", "--out", str(out)])
    assert rc == 0
    return folder, out, buf.getvalue()


def _image(h: int = 40, w: int = 56, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


# --------------------------------------------------------------------------- the file
def test_export_command_writes_a_checked_onnx_file(exported) -> None:
    _, out, stdout = exported
    assert out.is_file() and out.stat().st_size > 1000
    assert "opset 18" in stdout and "dynamic batch, height, width" in stdout
    model = onnx.load(str(out))
    onnx.checker.check_model(model, full_check=True)
    assert any(o.domain in ("", "ai.onnx") and o.version == 18 for o in model.opset_import)
    assert [i.name for i in model.graph.input] == ["rgb"]
    assert [o.name for o in model.graph.output] == ["depth"]
    assert not list(out.parent.glob(".*.tmp"))  # atomic: no temporary left behind


def test_export_has_dynamic_batch_and_size(exported) -> None:
    _, out, _ = exported
    dims = onnx.load(str(out)).graph.input[0].type.tensor_type.shape.dim
    assert dims[1].dim_value == 3
    for i in (0, 2, 3):  # batch, height, width: symbolic, not fixed numbers
        assert dims[i].dim_param and not dims[i].dim_value, dims


def test_metadata_round_trip(exported) -> None:
    from rgb2depth.inference.export import read_onnx_config

    folder, out, _ = exported
    saved = json.loads((folder / "config.json").read_text())
    assert read_onnx_config(out) == saved
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert meta["rgb2depth.opset"] == "18" and meta["rgb2depth.stride"] == "16"
    p = Predictor.from_pretrained(out, device="cpu")  # an .onnx runs on onnx by default
    assert p.backend.name == "onnx" and p.model is None
    assert (p.units, p.depth_range, p.input_size, p.framing) == (
        "mm",
        (500.0, 1800.0),
        (32, 48),
        "face",
    )


def test_onnx_matches_torch_on_the_saved_model_at_two_sizes_batch_2(exported) -> None:
    from rgb2depth.inference.backends import OnnxRunner
    from rgb2depth.models import load_model_folder

    folder, out, _ = exported
    model, _ = load_model_folder(folder)
    runner = OnnxRunner(out, torch.device("cpu"))
    for h, w in ((32, 48), (64, 32)):  # the traced size and another one
        x = torch.rand(2, 3, h, w) * 2 - 1
        with torch.no_grad():
            want = model(x)
        got = runner(x)
        assert got.shape == want.shape == (2, 1, h, w)
        assert float((got - want).abs().max()) < PARITY


def test_predictor_onnx_file_matches_torch(exported) -> None:
    folder, out, _ = exported
    image = _image()
    a = Predictor.from_pretrained(folder, device="cpu").predict(image, tta="flip")
    b = Predictor.from_pretrained(out, device="cpu").predict(image, tta="flip")
    assert a.shape == b.shape == image.shape[:2]
    assert float(np.abs(a - b).max()) < PARITY * 1300 / 2  # model range -> mm


def test_onnx_backend_uses_the_cache(exported, tmp_path, monkeypatch) -> None:
    """A model folder on --backend onnx runs the file cached for its weights and config."""
    from rgb2depth.inference import export as export_module
    from rgb2depth.models import load_model_folder

    folder, out, _ = exported
    monkeypatch.setenv("RGB2DEPTH_CACHE", str(tmp_path / "cache"))
    model, config = load_model_folder(folder)
    cached = (
        tmp_path / "cache" / "onnx" / f"light_unet-{export_module._fingerprint(model, config)}.onnx"
    )
    cached.parent.mkdir(parents=True)
    shutil.copy(out, cached)

    def no_export(*args, **kwargs):
        raise AssertionError("exported again although the cache holds the file")

    monkeypatch.setattr(export_module, "export_loaded", no_export)
    p = Predictor.from_pretrained(folder, device="cpu", backend="onnx")
    assert p.onnx_path == cached and p.backend.name == "onnx"
    want = Predictor.from_pretrained(folder, device="cpu").predict(_image())
    assert float(np.abs(p.predict(_image()) - want).max()) < PARITY * 650


@pytest.mark.slow
def test_onnx_backend_exports_into_the_cache_once(tmp_path, monkeypatch) -> None:
    folder = _model_folder(tmp_path)
    monkeypatch.setenv("RGB2DEPTH_CACHE", str(tmp_path / "cache"))
    p = Predictor.from_pretrained(folder, device="cpu", backend="onnx")
    assert p.onnx_path is not None and p.onnx_path.parent == tmp_path / "cache" / "onnx"
    stamp = p.onnx_path.stat().st_mtime_ns
    again = Predictor.from_pretrained(folder, device="cpu", backend="onnx")
    assert again.onnx_path == p.onnx_path and p.onnx_path.stat().st_mtime_ns == stamp


# --------------------------------------------------------------------------- registry parity
# every registered network; slow: each export takes 5-30 s on a busy 2-core machine
PARITY_PARAMS = [pytest.param(name, marks=pytest.mark.slow) for name in list_models()]


@pytest.mark.parametrize("name", PARITY_PARAMS)
def test_every_registered_network_exports_with_parity(name: str, tmp_path: Path) -> None:
    from rgb2depth.inference.backends import OnnxRunner
    from rgb2depth.inference.export import export_network

    entry = get_entry(name)
    sizes = _sizes(name)[:1] if entry.fixed_size else _sizes(name)
    torch.manual_seed(0)
    model = _build(name, sizes[0]).eval()
    # traced at the larger size (a 1x1 output at the smallest could be taken for a constant)
    info = export_network(
        model,
        tmp_path / f"{name}.onnx",
        size=sizes[-1],
        inputs=entry.inputs,
        dynamic_size=not entry.fixed_size,
    )
    assert info.dynamic == (("batch",) if entry.fixed_size else ("batch", "height", "width"))
    runner = OnnxRunner(info.path, torch.device("cpu"))
    for h, w in sizes:
        torch.manual_seed(1)
        xs = _inputs(name, model, h, w, batch=2)
        with torch.no_grad():
            want = model(*xs)
        got = runner(*xs)
        assert got.shape == want.shape, (name, h, w)
        assert float((got - want).abs().max()) < PARITY, (name, h, w)


# --------------------------------------------------------------------------- torch backends
def test_parse_backend_names() -> None:
    assert parse_backend(None).name == "torch"
    spec = parse_backend("torch-bf16-cl")
    assert spec.channels_last and spec.autocast == "bf16" and spec.name == "torch-cl-bf16"
    assert parse_backend("ONNX").engine == "onnx"
    assert parse_backend(parse_backend("torch-compile").name).compile
    for bad, fragment in (
        ("tensorrt", "unknown backend 'tensorrt'"),
        ("torch-fast", "modifier 'fast'"),
        ("torch-cl-cl", "repeats a modifier"),
        ("torch-bf16-fp16", "bf16 or fp16"),
    ):
        with pytest.raises(InputError, match=fragment):
            parse_backend(bad)


def test_fp16_on_cpu_is_refused() -> None:
    from rgb2depth.inference.backends import check_backend

    with pytest.raises(InputError, match="needs a CUDA device"):
        check_backend(parse_backend("torch-fp16"), torch.device("cpu"))


def _torch_predictions(folder: Path, backend: str) -> tuple[np.ndarray, np.ndarray]:
    image = _image()
    a = Predictor.from_pretrained(folder, device="cpu").predict(image)
    b = Predictor.from_pretrained(folder, device="cpu", backend=backend).predict(image)
    return a, b


def test_channels_last_matches(exported) -> None:
    a, b = _torch_predictions(exported[0], "torch-cl")
    assert float(np.abs(a - b).max()) < 1e-5 * 1300


@pytest.mark.skipif(
    bf16_support(torch.device("cpu")) is not None, reason="no native bfloat16 on this CPU"
)
def test_bf16_autocast_within_tolerance(exported) -> None:
    """bfloat16 keeps 8 bits of mantissa: the depth may move by up to 0.05 in model range."""
    a, b = _torch_predictions(exported[0], "torch-cl-bf16")
    lo, hi = CONFIG_META["depth"]["range"]
    assert float(np.abs(a - b).max()) < 0.05 * (hi - lo) / 2
    assert float(np.abs(a - b).max()) > 0  # it did run in reduced precision


def test_bf16_refused_without_native_support(monkeypatch) -> None:
    from rgb2depth.inference import backends

    monkeypatch.setattr(backends, "cpu_flags", lambda: frozenset({"avx2"}))
    with pytest.raises(InputError, match="no native bfloat16"):
        backends.check_backend(parse_backend("torch-bf16"), torch.device("cpu"))


@pytest.mark.slow
def test_torch_compile_matches(exported) -> None:
    a, b = _torch_predictions(exported[0], "torch-compile")
    assert float(np.abs(a - b).max()) < 1e-4 * 1300


# --------------------------------------------------------------------------- batching
def test_predict_batch_equals_one_at_a_time(exported) -> None:
    """Up to float rounding: the CPU's convolution kernels block by batch."""
    p = Predictor.from_pretrained(exported[0], device="cpu")
    images = [_image(40, 56, 0), _image(70, 30, 1), _image(32, 48, 2)]
    batched = p.predict_batch(images, tta="flip")
    for image, got in zip(images, batched, strict=True):
        want = p.predict(image, tta="flip")
        assert got.shape == want.shape == image.shape[:2]
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * 1300)


def test_batched_predictions_skip_a_bad_image(exported, tmp_path) -> None:
    from PIL import Image

    p = Predictor.from_pretrained(exported[0], device="cpu")
    paths = []
    for i in range(4):
        path = tmp_path / f"im{i}.png"
        Image.fromarray(_image(30 + 4 * i, 40, i)).save(path)
        paths.append(path)
    paths[1].write_bytes(b"not an image")
    batches = BatchedPredictions(p, paths, batch_size=3)
    np.testing.assert_allclose(batches.get(paths[0]), p.predict(paths[0]), atol=1e-5 * 1300)
    with pytest.raises(InputError, match="im1"):
        batches.get(paths[1])
    for path in paths[2:]:
        np.testing.assert_allclose(batches.get(path), p.predict(path), atol=1e-5 * 1300)


def test_predict_command_batch_size_gives_the_same_outputs(exported, tmp_path) -> None:
    from PIL import Image

    folder = exported[0]
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(5):
        Image.fromarray(_image(30 + 6 * i, 44, i)).save(photos / f"p{i}.png")
    for n in (1, 3):
        rc = main(
            [
                *("predict", str(photos), "--model", str(folder)),
                *("--out", str(tmp_path / f"b{n}"), "--no-face", "--npy"),
                *("--batch-size", str(n), "--quiet"),
            ]
        )
        assert rc == 0
    for i in range(5):
        one = np.load(tmp_path / "b1" / f"p{i}_depth.npy")
        three = np.load(tmp_path / "b3" / f"p{i}_depth.npy")
        np.testing.assert_allclose(three, one, rtol=0, atol=1e-5 * 1300)


def test_predict_command_on_the_onnx_backend(exported, tmp_path, capsys) -> None:
    folder, out, _ = exported
    photo = tmp_path / "p.png"
    from PIL import Image

    Image.fromarray(_image()).save(photo)
    for model, where in ((out, "o"), (folder, "t")):
        argv = ["predict", str(photo), "--model", str(model), "--out", str(tmp_path / where)]
        assert main([*argv, "--no-face", "--npy"]) == 0
        shown = capsys.readouterr().out
        assert ("on backend onnx" in shown) == (model == out), shown
    a, b = np.load(tmp_path / "o" / "p_depth.npy"), np.load(tmp_path / "t" / "p_depth.npy")
    assert float(np.abs(a - b).max()) < PARITY * 650


# --------------------------------------------------------------------------- bad input
def _one_line_error(capsys, argv: list[str], fragment: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    assert fragment in err, err


def test_bad_model_format_and_out_are_one_line_errors(exported, tmp_path, capsys) -> None:
    folder = str(exported[0])
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cases = [
        (
            ["export", "--model", "no-such-model", "--out", str(tmp_path / "a.onnx")],
            "unknown model 'no-such-model'",
        ),
        (
            ["export", "--model", folder, "--format", "tflite", "--out", str(tmp_path / "a.onnx")],
            "unknown export format 'tflite'; supported: onnx",
        ),
        (["export", "--model", folder, "--out", str(blocker / "a.onnx")], "is a file"),
        (["export", "--model", folder, "--out", str(tmp_path / "a.txt")], "must end in .onnx"),
        (["export", "--model", folder, "--out", str(tmp_path)], "it is a folder"),
    ]
    for argv, fragment in cases:
        _one_line_error(capsys, argv, fragment)
    assert not list(tmp_path.glob("a.*"))


def test_predict_backend_errors_are_one_line(exported, tmp_path, capsys) -> None:
    folder, out, _ = exported
    photo = tmp_path / "p.png"
    from PIL import Image

    Image.fromarray(_image()).save(photo)
    base = ["predict", str(photo), "--out", str(tmp_path / "o"), "--no-face"]
    _one_line_error(
        capsys,
        [*base, "--model", str(folder), "--backend", "tensorrt"],
        "unknown backend 'tensorrt'",
    )
    _one_line_error(
        capsys, [*base, "--model", str(out), "--backend", "torch"], "runs on --backend onnx"
    )
    _one_line_error(
        capsys, [*base, "--model", str(folder), "--backend", "torch-fp16"], "needs a CUDA device"
    )
    assert not (tmp_path / "o").exists()


def test_onnx_file_without_rgb2depth_metadata_is_refused(exported, tmp_path) -> None:
    _, out, _ = exported
    model = onnx.load(str(out))
    del model.metadata_props[:]
    bare = tmp_path / "bare.onnx"
    onnx.save(model, str(bare))
    with pytest.raises(InputError, match=r"no rgb2depth\.config metadata"):
        Predictor.from_pretrained(bare, device="cpu")
    (tmp_path / "junk.onnx").write_bytes(b"junk")
    with pytest.raises(InputError, match=r"junk\.onnx: onnxruntime cannot load it"):
        Predictor.from_pretrained(tmp_path / "junk.onnx", device="cpu")


def test_fast_unet_context_exports_with_parity(tmp_path: Path) -> None:
    """The image-level context (a mean over the whole image) stays dynamic in ONNX:
    parity at a size other than the traced one."""
    from rgb2depth.inference.backends import OnnxRunner
    from rgb2depth.inference.export import export_network

    torch.manual_seed(0)
    model = create_model("fast_unet", channels=(4, 6, 8), context=True).eval()
    info = export_network(model, tmp_path / "ctx.onnx", size=(48, 64))
    runner = OnnxRunner(info.path, torch.device("cpu"))
    for h, w in [(48, 64), (80, 32)]:
        x = torch.rand(2, 3, h, w) * 2 - 1
        with torch.no_grad():
            want = model(x)
        assert float((runner(x) - want).abs().max()) < PARITY, (h, w)
