"""``rgb2depth report``: the page, its metrics, curves and figures, and its refusals.

Two tiny runs (16 synthetic faces at 32x32, a light U-Net, 4 steps, validation every
2 steps; learning rates 1e-3 and 3e-3) are trained once for the module; one report
of both is written through the command line and read by most tests.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from rgb2depth.cli.main import main
from rgb2depth.errors import InputError
from rgb2depth.report import (
    NOT_CURVES,
    REPORT_FILES,
    Run,
    curve_data,
    differing_config,
    last_logged,
    load_runs,
    plot_curves,
    write_report,
)
from tiny_run import write_tiny_config

LRS = {"run_a": 1.0e-3, "run_b": 3.0e-3}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("report")


@pytest.fixture(scope="module")
def runs(workdir: Path, tiny_faces: Path) -> list[Path]:
    from rgb2depth.config import load_config
    from rgb2depth.engine.run import train

    out = []
    for name, lr in LRS.items():
        path = write_tiny_config(
            workdir / f"{name}.yaml", tiny_faces, steps=4, out=str(workdir / name), val_every=2
        )
        config = load_config(path, [f"train.lr={lr}"])
        train(config, progress=False)
        out.append(workdir / name)
    return out


def run_cli(capsys, *argv: str | Path) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # argparse usage errors
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def report(workdir: Path, runs: list[Path]) -> Path:
    """``rgb2depth report run_a run_b --out report --examples 2`` (once for the module)."""
    out = workdir / "report"
    argv = ["report", *map(str, runs), "--out", str(out), "--examples", "2", "--quiet"]
    assert main(argv) == 0
    return out


def summary_of(report: Path) -> dict:
    return json.loads((report / "report.json").read_text(encoding="utf-8"))


def leftovers(folder: Path, name: str) -> list[str]:
    """What a failed write left beside ``folder / name`` (the target or its temporaries)."""
    return sorted(p.name for p in folder.iterdir() if p.name.lstrip(".").startswith(name))


def assert_one_line_error(code: int, err: str, *fragments: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("rgb2depth report: error: "), lines[0]
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


# ---------------------------------------------------------------- the page


def test_page_lists_both_runs_with_the_metrics_evaluation_gives(
    report: Path, runs: list[Path], tiny_faces: Path
) -> None:
    from rgb2depth import Predictor
    from rgb2depth.evaluation import evaluate_predictor

    page = (report / "report.md").read_text(encoding="utf-8")
    summary = summary_of(report)
    assert [r["name"] for r in summary["runs"]] == ["run_a", "run_b"]
    for run, entry in zip(runs, summary["runs"], strict=True):
        predictor = Predictor.from_pretrained(run / "model", device="cpu")
        want = evaluate_predictor(predictor.predict, tiny_faces, split="test", progress=False)
        assert entry["source"] == "evaluated"
        assert entry["metrics"] == pytest.approx(want, rel=1e-12, abs=0.0)
        row = next(
            line
            for line in page.splitlines()
            if line.startswith(f"| {run.name} |") and "evaluated on" in line
        )
        for metric in ("abs_rel", "rmse", "delta1"):
            assert f" {want[metric]:.4g} " in row, (metric, row)
        assert f"[test], {int(want['n_images'])} images" in row
    # the two models differ, so the table cannot hold one run's numbers twice
    a, b = (r["metrics"]["abs_rel"] for r in summary["runs"])
    assert a != b
    assert "rgb2depth report" in page and "--examples 2" in page  # the command


def test_every_linked_image_exists_and_is_a_png(report: Path) -> None:
    page = (report / "report.md").read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page)
    assert set(links) == {"curves-train.png", "curves-val.png", "examples.png", "view-3d.png"}
    for link in links:
        path = report / link
        assert path.is_file() and not Path(link).is_absolute(), link
        with Image.open(path) as img:
            assert img.format == "PNG"
            img.verify()
    with Image.open(report / "examples.png") as img:
        width, height = img.size  # 6 columns (input, 2 runs, ground truth, 2 errors), 2 rows
    assert width > 2 * height
    assert {p.name for p in report.iterdir()} <= set(REPORT_FILES)


def test_the_settings_that_differ_are_found(report: Path, runs: list[Path]) -> None:
    loaded = load_runs(runs)
    diff = differing_config(loaded)
    assert diff == {"train.lr": [LRS["run_a"], LRS["run_b"]]}  # log.out aside
    assert "log.out" in differing_config(loaded, ignore=())
    page = (report / "report.md").read_text(encoding="utf-8")
    assert "| train.lr | `0.001` | `0.003` |" in page


def test_differing_config_flattens_and_marks_missing_keys() -> None:
    base = {"model": {"name": "unet", "kwargs": {"channels": [4, 8]}}, "train": {"amp": True}}
    other = {"model": {"name": "unet", "kwargs": {"channels": [4, 16], "dropout": 0.5}}}
    other["train"] = {"amp": 1}  # a bool and an int are not the same setting
    runs = [Run(Path(n), n, c, Path(n) / "model") for n, c in (("a", base), ("b", other))]
    diff = differing_config(runs)
    assert diff == {
        "model.kwargs.channels": [[4, 8], [4, 16]],
        "model.kwargs.dropout": ["(unset)", 0.5],
        "train.amp": [True, 1],
    }


# ---------------------------------------------------------------- curves


def test_curves_come_from_log_csv(runs: list[Path], tmp_path: Path) -> None:
    copy = tmp_path / "run_a"
    shutil.copytree(runs[0], copy)
    before = curve_data(load_runs([copy]))
    assert "train/loss" in before and "val/abs_rel" in before
    assert not any(k.split("/")[1] in NOT_CURVES for k in before)
    steps, _ = before["val/abs_rel"]["run_a"]
    assert steps.tolist() == [2, 4]
    assert before["train/loss"]["run_a"][0].tolist() == [1, 2, 3, 4]

    # change the log: every training loss becomes 10 * step, abs_rel at step 4 becomes 0.5
    path = copy / "log.csv"
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    for r in rows[1:]:
        if r[1:3] == ["train", "loss"]:
            r[3] = str(10 * int(r[0]))
        if r[:3] == ["4", "val", "abs_rel"]:
            r[3] = "0.5"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)

    after = curve_data(load_runs([copy]))
    np.testing.assert_array_equal(after["train/loss"]["run_a"][1], [10.0, 20.0, 30.0, 40.0])
    assert after["val/abs_rel"]["run_a"][1][-1] == 0.5
    assert after["val/abs_rel"]["run_a"][1][0] == before["val/abs_rel"]["run_a"][1][0]
    # and the figure draws these numbers
    fig = plot_curves(after, "train")
    assert fig is not None
    panel = next(ax for ax in fig.axes if ax.get_title() == "loss")
    (line,) = panel.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3, 4])
    np.testing.assert_array_equal(line.get_ydata(), [10.0, 20.0, 30.0, 40.0])
    assert plot_curves(after, "test") is None  # no such phase in the log


def test_one_line_per_run_in_each_panel(runs: list[Path]) -> None:
    curves = curve_data(load_runs(runs))
    fig = plot_curves(curves, "val")
    assert fig is not None
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert {ax.get_title() for ax in panels} == {k[4:] for k in curves if k.startswith("val/")}
    for ax in panels:
        assert len(ax.get_lines()) == 2


# ---------------------------------------------------------------- where metrics come from


def test_a_run_without_its_data_shows_its_last_logged_validation(
    runs: list[Path], tmp_path: Path
) -> None:
    copy = tmp_path / "moved"
    shutil.copytree(runs[0], copy)
    config = yaml.safe_load((copy / "config.yaml").read_text())
    config["data"]["root"] = str(tmp_path / "gone")
    (copy / "config.yaml").write_text(yaml.safe_dump(config))
    summary = write_report([copy], tmp_path / "out", examples=2, progress=False)
    (entry,) = summary["runs"]
    step, logged = last_logged(load_runs([copy])[0])
    assert step == 4 and entry["source"] == "logged"
    assert entry["metrics"] == logged
    assert "step 4" in entry["note"] and "--data" in entry["note"]
    page = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "validation logged at step 4" in page
    assert f" {logged['abs_rel']:.4g} " in page
    assert "examples.png" not in summary["figures"]  # nothing to predict on
    assert "curves-val.png" in summary["figures"]
    # a split asked for explicitly must exist: no silent fallback then
    with pytest.raises(InputError, match="gone"):
        write_report([copy], tmp_path / "out2", split="test", examples=0, progress=False)
    assert leftovers(tmp_path, "out2") == []


def test_data_and_split_override_the_runs_own(
    runs: list[Path], tiny_faces: Path, tmp_path: Path
) -> None:
    from rgb2depth import Predictor
    from rgb2depth.evaluation import evaluate_predictor

    summary = write_report(
        runs[:1], tmp_path / "val", data=tiny_faces, split="val", examples=0, progress=False
    )
    predictor = Predictor.from_pretrained(runs[0] / "model", device="cpu")
    want = evaluate_predictor(predictor.predict, tiny_faces, split="val", progress=False)
    assert summary["runs"][0]["metrics"] == pytest.approx(want, rel=1e-12, abs=0.0)
    assert "[val]" in summary["runs"][0]["note"]
    assert set(summary["figures"]) == {"curves-train.png", "curves-val.png"}  # --examples 0


# ---------------------------------------------------------------- bad input, no half output


def test_bad_input_is_one_line(capsys, runs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "report", runs[0], tmp_path / "nope", "--out", out)
    assert_one_line_error(code, err, str(tmp_path / "nope"), "not a training run", "config.yaml")
    half = tmp_path / "half"
    half.mkdir()
    shutil.copy(runs[0] / "config.yaml", half / "config.yaml")
    code, _, err = run_cli(capsys, "report", half, "--out", out)
    assert_one_line_error(code, err, str(half), "no model/", "log.csv")
    code, _, err = run_cli(capsys, "report", runs[0], runs[0], "--out", out)
    assert_one_line_error(code, err, "given twice")
    code, _, err = run_cli(capsys, "report", runs[0], "--out", out, "--device", "tpu")
    assert_one_line_error(code, err, "--device", "'tpu'")
    code, _, err = run_cli(capsys, "report", runs[0], "--out", out, "--examples", "many")
    assert_one_line_error(code, err, "--examples")
    assert leftovers(tmp_path, "out") == []


def test_no_output_folder_is_left_when_writing_fails(
    runs: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rgb2depth.report as report_module

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(report_module, "_plot_3d", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_report(runs[:1], tmp_path / "out", examples=1, progress=False)
    assert leftovers(tmp_path, "out") == []


@pytest.mark.slow
def test_an_existing_output_is_replaced_only_when_a_report_wrote_it(
    capsys, runs: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code, _, err = run_cli(capsys, "report", runs[0], "--out", out, "--examples", "0")
    assert_one_line_error(code, err, "exists and is not empty", "--overwrite")
    code, _, err = run_cli(
        capsys, "report", runs[0], "--out", out, "--examples", "0", "--overwrite"
    )
    assert_one_line_error(code, err, "refusing to overwrite", "no report.json")
    assert (out / "notes.txt").read_text() == "mine"

    mine = tmp_path / "report"
    args = ["report", runs[0], "--out", mine, "--examples", "0", "--quiet"]
    assert run_cli(capsys, *args)[0] == 0
    assert [r["name"] for r in summary_of(mine)["runs"]] == ["run_a"]
    code, _, err = run_cli(capsys, *args)
    assert_one_line_error(code, err, "exists and is not empty")
    args = ["report", *runs, "--out", mine, "--examples", "0", "--quiet", "--overwrite"]
    code, out_text, _ = run_cli(capsys, *args)
    assert code == 0 and "report.md" in out_text
    assert [r["name"] for r in summary_of(mine)["runs"]] == ["run_a", "run_b"]
    assert leftovers(tmp_path, "report") == ["report"]


@pytest.mark.slow
def test_a_run_whose_network_does_not_take_images_is_not_evaluated(
    runs: list[Path], tmp_path: Path
) -> None:
    copy = tmp_path / "autoencoder"
    shutil.copytree(runs[1], copy)
    config = yaml.safe_load((copy / "config.yaml").read_text())
    config["method"]["name"] = "depth_autoencoder"  # its network maps depth to depth
    (copy / "config.yaml").write_text(yaml.safe_dump(config))
    summary = write_report([runs[0], copy], tmp_path / "out", examples=1, progress=False)
    evaluated, logged = summary["runs"]
    assert evaluated["source"] == "evaluated" and logged["source"] == "logged"
    assert "does not predict depth from an image" in logged["note"]
    assert logged["metrics"] == last_logged(load_runs([copy])[0])[1]
    assert "examples.png" in summary["figures"]
    assert any("autoencoder" in n for n in summary["notes"])  # left out of the figures
