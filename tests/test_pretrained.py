"""Saving and loading model folders (config.json + model.safetensors)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from rgb2depth.errors import InputError
from rgb2depth.models import (
    create_model,
    get_entry,
    list_models,
    load_model_folder,
    save_model_folder,
)
from test_models import SMALL

NAME = "light_unet"
KWARGS = {"channels": (4, 6, 8, 8, 10)}
META = {"depth": {"units": "m", "range": [0.5, 10.0]}, "input_size": [32, 32]}


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    model = create_model(NAME, **KWARGS)
    # Train a step so that BatchNorm statistics differ from their initial values.
    model.train()(torch.randn(2, 3, 32, 32))
    return model.eval()


@pytest.fixture
def saved(tmp_path) -> tuple[Path, torch.nn.Module]:
    model = _model()
    folder = save_model_folder(tmp_path / "m", model, name=NAME, kwargs=KWARGS, meta=META)
    return folder, model


def _leaves(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir())


def test_round_trip_gives_the_same_outputs(saved):
    folder, model = saved
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]
    loaded, config = load_model_folder(folder)
    assert not loaded.training
    x = torch.randn(2, 3, 32, 48)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    assert config["format"] == "rgb2depth-model" and config["format_version"] == 1
    assert config["model"]["name"] == NAME
    assert config["model"]["kwargs"] == {
        "in_channels": 3,
        "out_channels": 1,
        "channels": [4, 6, 8, 8, 10],
    }
    assert config["depth"] == META["depth"] and config["input_size"] == [32, 32]
    for k, v in model.state_dict().items():  # buffers included
        assert torch.equal(v, loaded.state_dict()[k]), k


# Small settings of every registered model (tests/test_models.py), so that a round trip of
# each takes milliseconds.


@pytest.mark.parametrize("name", list_models())
def test_round_trip_of_every_registered_model_with_small_settings(tmp_path, name):
    """Every registered model saves and loads back to the same tensors and outputs."""
    entry = get_entry(name)
    kwargs = SMALL.get(name, {})
    size = kwargs.get("image_size", entry.smallest_size())
    torch.manual_seed(0)
    model = create_model(name, **kwargs)
    x = [torch.rand(2, model.in_channels, size, size) * 2 - 1 for _ in range(entry.inputs)]
    with torch.no_grad():
        model.train()(*x)  # moves BatchNorm statistics off their initial values
    model.eval()
    folder = save_model_folder(tmp_path / name, model, name=name, kwargs=kwargs)
    torch.manual_seed(1)  # a fresh build would differ: equality below comes from the file
    loaded, config = load_model_folder(folder, device=torch.device("cpu"))
    assert config["model"]["name"] == name and not loaded.training
    state, back = model.state_dict(), loaded.state_dict()
    assert set(state) == set(back)
    for k, v in state.items():  # buffers included
        assert v.dtype == back[k].dtype and torch.equal(v, back[k]), k
    with torch.no_grad():
        assert torch.equal(model(*x), loaded(*x))


def test_non_finite_meta_values_are_written_as_null(tmp_path):
    meta = {"val": {"rmse": float("nan"), "d1": 0.5}, "size": (32, 32)}
    folder = save_model_folder(tmp_path / "m", _model(), name=NAME, kwargs=KWARGS, meta=meta)
    text = (folder / "config.json").read_text()
    config = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
    assert config["val"] == {"rmse": None, "d1": 0.5} and config["size"] == [32, 32]


def test_existing_folder_needs_overwrite(saved):
    folder, model = saved
    with pytest.raises(InputError, match="exists and is not empty"):
        save_model_folder(folder, model, name=NAME, kwargs=KWARGS)
    save_model_folder(folder, model, name=NAME, kwargs=KWARGS, meta={"note": "v2"}, overwrite=True)
    assert json.loads((folder / "config.json").read_text())["note"] == "v2"


# --------------------------------------------------------------------------- failed saves
@pytest.mark.parametrize(
    ("kwargs", "meta", "match"),
    [
        ({"channels": (4, 6, 8, 8, 12)}, None, r"does not match light_unet: .*shape mismatch"),
        ({"bogus": 1}, None, r"unknown setting\(s\) 'bogus'"),
        (KWARGS, {"when": object()}, "not JSON-serialisable"),
        (KWARGS, {"model": "x"}, "reserved key"),
    ],
)
def test_failed_save_leaves_no_folder(tmp_path, kwargs, meta, match):
    with pytest.raises(InputError, match=match):
        save_model_folder(tmp_path / "m", _model(), name=NAME, kwargs=kwargs, meta=meta)
    assert _leaves(tmp_path / "m") == []


def test_failed_save_of_an_unknown_model_leaves_no_folder(tmp_path):
    with pytest.raises(InputError, match="unknown model 'nope'; known models: "):
        save_model_folder(tmp_path / "m", _model(), name="nope", kwargs={})
    assert _leaves(tmp_path / "m") == []


def test_save_error_while_writing_leaves_no_folder(tmp_path, monkeypatch):
    import rgb2depth.models.pretrained as pretrained

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pretrained, "save_file", broken)
    with pytest.raises(OSError, match="disk full"):
        save_model_folder(tmp_path / "m", _model(), name=NAME, kwargs=KWARGS)
    assert _leaves(tmp_path / "m") == []


# --------------------------------------------------------------------------- load errors
def _one_line_error(folder, match: str) -> None:
    with pytest.raises(InputError, match=match) as info:
        load_model_folder(folder)
    assert "\n" not in str(info.value)


def test_missing_folder_and_not_a_directory(tmp_path):
    _one_line_error(tmp_path / "absent", "no such folder")
    (tmp_path / "file").write_text("x")
    _one_line_error(tmp_path / "file", "not a directory")


def test_config_errors(saved):
    folder, _ = saved
    config = folder / "config.json"
    good = json.loads(config.read_text())
    config.write_text("{not json")
    _one_line_error(folder, "config.json: not valid JSON")
    config.write_text(json.dumps({**good, "format": "other"}))
    _one_line_error(folder, "not an rgb2depth model config")
    config.write_text(json.dumps([1, 2]))
    _one_line_error(folder, "not an rgb2depth model config")
    config.write_text(json.dumps({**good, "format_version": 99}))
    _one_line_error(folder, "format_version 99 is newer")
    config.write_text(json.dumps({**good, "model": "light_unet"}))
    _one_line_error(folder, '"model" must be')
    config.write_text(json.dumps({**good, "model": {"name": "xyz", "kwargs": {}}}))
    _one_line_error(folder, r"config.json: unknown model 'xyz'; known models: .*light_unet")
    config.write_text(json.dumps({**good, "model": {"name": NAME, "kwargs": {"depth": 3}}}))
    _one_line_error(folder, r"unknown setting\(s\) 'depth'")
    config.unlink()
    _one_line_error(folder, "no config.json")


def test_weights_errors(saved):
    folder, _ = saved
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    _one_line_error(folder, "model.safetensors: corrupt or not a safetensors file")
    weights.write_bytes(b"\x00garbage" * 10)
    _one_line_error(folder, "corrupt or not a safetensors file")
    weights.write_bytes(b"")
    _one_line_error(folder, "corrupt or not a safetensors file")
    weights.unlink()
    _one_line_error(folder, "no model.safetensors")


def test_weights_that_do_not_match_the_architecture(saved):
    folder, model = saved
    weights = folder / "model.safetensors"
    state = {k: v.clone() for k, v in model.state_dict().items()}
    dropped = sorted(state)[:3]
    for k in dropped:
        del state[k]
    state["extra.weight"] = torch.zeros(2)
    save_file(state, str(weights))
    _one_line_error(
        folder,
        r"model.safetensors does not match light_unet: 3 missing key\(s\) \(e.g. "
        + dropped[0].replace(".", r"\.")
        + r".*1 unexpected key\(s\) \(e.g. extra\.weight\)",
    )
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["head.weight"] = torch.zeros(1, 4, 1, 1)
    save_file(state, str(weights))
    _one_line_error(folder, r"1 shape mismatch\(es\) \(e.g. head.weight: expected \(1, 4, 3, 3\)")
    state["head.weight"] = torch.full((1, 4, 3, 3), float("nan"))
    save_file(state, str(weights))
    _one_line_error(folder, "NaN or infinite")


def test_unknown_device(saved):
    folder, _ = saved
    with pytest.raises(InputError, match="device"):
        load_model_folder(folder, device="tpu:banana")


def test_a_folder_saved_before_a_setting_existed_loads_with_its_legacy_value(tmp_path):
    """fast_unet gained ``stem`` (default 16, 32); a folder saved before has no
    ``stem`` key and was built without one: it loads as ``stem: []``, while a folder
    that records the new default keeps it."""
    assert get_entry("fast_unet").legacy_settings == {"stem": []}
    torch.manual_seed(0)
    old = create_model("fast_unet", channels=(4, 6, 8), stem=[]).eval()
    folder = save_model_folder(
        tmp_path / "old", old, name="fast_unet", kwargs={"channels": (4, 6, 8), "stem": []}
    )
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text())
    del config["model"]["kwargs"]["stem"]
    config_path.write_text(json.dumps(config))
    loaded, _ = load_model_folder(folder)
    assert len(loaded.stem) == 0
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), old(x))

    new = create_model("fast_unet", channels=(4, 6, 8)).eval()
    folder = save_model_folder(
        tmp_path / "new", new, name="fast_unet", kwargs={"channels": (4, 6, 8)}
    )
    assert len(load_model_folder(folder)[0].stem) == 2


def test_legacy_settings_must_be_settings():
    from rgb2depth.models.registry import register_model

    with pytest.raises(TypeError, match="legacy_settings has unknown keys"):

        @register_model(
            "not_registered_x", paper="-", description="-", stride=1, legacy_settings={"nope": 1}
        )
        class Net(torch.nn.Module):
            def __init__(self, *, in_channels: int = 3, out_channels: int = 1):
                super().__init__()


def test_init_from_a_folder_saved_before_the_stem_is_another_network(tmp_path):
    """model.init compares settings with the legacy values filled in: an old stem-less
    folder is not the default fast_unet, and the run says so (not a key mismatch)."""
    from rgb2depth.engine.run import initial_weights

    old = create_model("fast_unet", channels=(4, 6, 8), stem=[])
    folder = save_model_folder(
        tmp_path / "old", old, name="fast_unet", kwargs={"channels": (4, 6, 8), "stem": []}
    )
    config = json.loads((folder / "config.json").read_text())
    del config["model"]["kwargs"]["stem"]
    (folder / "config.json").write_text(json.dumps(config))
    run = {"model": {"name": "fast_unet", "kwargs": {"channels": [4, 6, 8]}, "init": str(folder)}}
    with pytest.raises(InputError, match="they must be the same network"):
        initial_weights(run)
    run["model"]["kwargs"]["stem"] = []
    assert initial_weights(run) is not None
