"""``rgb2depth benchmark``: the tables it measures and the page it writes."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import torch

from rgb2depth.benchmark import (
    INFERENCE_COLUMNS,
    TRAINING_COLUMNS,
    BenchmarkSettings,
    TrainSetup,
    benchmark_command,
    benchmark_training,
    count_flops,
)
from rgb2depth.cli.main import build_parser, main

ROOT = Path(__file__).resolve().parents[1]


def _tables(page: str) -> list[list[list[str]]]:
    """The markdown tables of ``page``: rows of cells, the header first."""
    tables, current = [], []
    for line in page.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= set("-:") for c in cells):
                current.append(cells)
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def test_benchmark_writes_a_table_with_positive_numbers(tmp_path, capsys) -> None:
    out = tmp_path / "docs" / "bench.md"
    argv = [
        *("benchmark", "--models", "light_unet", "--backends", "torch,torch-cl"),
        *("--sizes", "32,48x32", "--batch", "1,2", "--repeats", "2", "--warmup", "1"),
        *("--threads", "1", "--quiet", "--note", "a shared test machine", "--out", str(out)),
    ]
    assert main(argv) == 0
    page = out.read_text()
    assert page == capsys.readouterr().out.split(f"wrote {out}")[0]  # printed and written
    (table,) = _tables(page)
    assert tuple(table[0]) == INFERENCE_COLUMNS
    rows = table[1:]
    assert len(rows) == 2 * 2 * 2  # sizes x backends x batches
    assert {(r[1], r[2], r[3]) for r in rows} == {
        (b, s, n) for b in ("torch", "torch-cl") for s in ("32", "48x32") for n in ("1", "2")
    }
    for r in rows:
        params, gflops, ms_batch, ms_image, _, fps = (_number(v) for v in r[4:10])
        assert params > 0 and gflops > 0 and ms_batch > 0 and ms_image > 0 and fps > 0
        # both are printed to 0.1 ms: the per-image rounding error grows with the batch
        assert ms_batch == pytest.approx(ms_image * int(r[3]), abs=0.05 * int(r[3]) + 0.051)
        assert fps == pytest.approx(1000 / ms_image, rel=0.05)
        diff = 0.0 if r[10] == "0" else _number(r[10])
        assert 0 <= diff < 1e-4
    gflops = {r[2]: _number(r[5]) for r in rows}
    assert gflops["48x32"] == pytest.approx(1.5 * gflops["32"], abs=0.011)  # 1.5x the pixels
    # the page starts with the command that regenerates it, and says where it ran
    assert "a shared test machine" in page and "**CPU**" in page and "**torch**" in page
    assert "onnxruntime" in page and "**threads used**: 1" in page
    command = page.split("```sh\n", 1)[1].split("\n", 1)[0]
    assert command.startswith("rgb2depth benchmark ") and f"--out {out}" in command


def test_the_command_on_the_page_parses_to_the_same_settings() -> None:
    settings = BenchmarkSettings(
        models=("light_unet", "faces-light"),
        backends=("torch", "onnx"),
        sizes=((256, 256), (96, 128)),
        batches=(1, 8),
        repeats=7,
        warmup=2,
        threads=2,
        train=True,
        methods=("supervised", "cgan"),
        train_batch=4,
        train_steps=2,
        note="shared machine, nice -n 19",
        out="docs/benchmarks.md",
    )
    argv = shlex.split(benchmark_command(settings))
    assert argv[0] == "rgb2depth"
    args = build_parser().parse_args(argv[1:])
    assert args.models == settings.models and args.backends == settings.backends
    assert args.sizes == "256,128x96" and args.batch == (1, 8)
    assert (args.repeats, args.warmup, args.threads, args.train) == (7, 2, 2, True)
    assert args.methods == ("supervised", "cgan") and args.train_batch == 4
    assert args.note == settings.note and args.out == settings.out


@pytest.mark.parametrize("method", ["supervised", "cgan"])
def test_training_throughput_of_a_method(method: str) -> None:
    settings = BenchmarkSettings(train=True, train_batch=2, train_steps=2, warmup=1).check()
    (row,) = benchmark_training(settings, torch.device("cpu"), setups=[TrainSetup.example(method)])
    assert row.method == method and row.batch == 2
    assert row.parameters > 0 and row.ms_per_step > 0 and row.gflop_per_step > 0
    drawn = row.images_per_s * row.ms_per_step / 1000  # images drawn per training step
    assert drawn == pytest.approx(round(drawn), abs=1e-6)  # whole images, up to rounding
    assert round(drawn) >= 2 and round(drawn) % 2 == 0
    assert row.gflops_per_s == pytest.approx(row.gflop_per_step * 1000 / row.ms_per_step)


def test_training_flops_are_about_three_times_the_forward() -> None:
    """Counted forward + backward of a supervised step: between 2x (the first layer needs
    no input gradient) and 3x the network's forward FLOPs, plus the loss's own."""
    from rgb2depth.models import create_model, gflops

    setup = TrainSetup.example("supervised")
    settings = BenchmarkSettings(train=True, train_batch=2, train_steps=1, warmup=0).check()
    (row,) = benchmark_training(settings, torch.device("cpu"), setups=[setup])
    h, w = setup.size or (32, 32)
    forward = 2 * gflops(create_model(setup.model, **setup.model_kwargs), h, w)  # batch 2
    assert 2.0 * forward < row.gflop_per_step < 3.5 * forward


def test_count_flops_counts_forward_and_backward() -> None:
    conv = torch.nn.Conv2d(4, 8, 3, padding=1, bias=False)
    x = torch.rand(2, 4, 16, 16, requires_grad=True)
    forward = count_flops(lambda: conv(x))
    assert forward == 2 * (2 * 8 * 16 * 16) * (4 * 3 * 3)  # 2 FLOPs per multiply-add
    both = count_flops(lambda: conv(x).sum().backward())
    assert both == 3 * forward  # + gradients of the input and of the weights


def test_training_table_on_the_page(tmp_path) -> None:
    out = tmp_path / "bench.md"
    argv = [
        *("benchmark", "--sizes", "32", "--batch", "1", "--repeats", "2", "--warmup", "0"),
        *("--train", "--methods", "supervised", "--train-batch", "1", "--train-steps", "1"),
        *("--threads", "1", "--quiet", "--out", str(out)),
    ]
    assert main(argv) == 0
    _, training = _tables(out.read_text())
    assert tuple(training[0]) == TRAINING_COLUMNS
    (row,) = training[1:]
    assert row[0] == "supervised" and row[1] == "light_unet" and row[2] == "32"
    assert all(_number(v) > 0 for v in (row[4], *row[6:]))
    assert "FLOPs rule" in out.read_text()


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--backends", "tensorrt"], "unknown backend 'tensorrt'"),
        (["--models", "no_such_net"], "unknown model 'no_such_net'"),
        (["--sizes", "40"], "multiples of 16"),
        (["--batch", "0"], "expected integers >= 1"),
        (["--train", "--methods", "dance"], "unknown method 'dance'"),
        (["--backends", "torch-fp16"], "needs a CUDA device"),
    ],
)
def test_bad_options_are_one_line_errors(extra, fragment, tmp_path, capsys) -> None:
    out = tmp_path / "b.md"
    argv = ["benchmark", "--repeats", "1", "--quiet", "--out", str(out), *extra]
    try:
        status = main(argv)
    except SystemExit as e:  # a usage error, said by argparse
        status = e.code
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and fragment in err, err
    assert not out.exists()


def test_unwritable_out_is_refused_before_measuring(tmp_path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["benchmark", "--quiet", "--out", str(blocker / "b.md")]) == 2
    err = capsys.readouterr().err.strip()
    assert "is a file" in err and "\n" not in err


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_benchmark_on_cuda(tmp_path) -> None:
    out = tmp_path / "bench.md"
    argv = [
        *("benchmark", "--device", "cuda", "--backends", "torch,torch-cl,torch-fp16"),
        *("--sizes", "64", "--batch", "1,2", "--repeats", "2", "--quiet", "--out", str(out)),
    ]
    assert main(argv) == 0
    (table,) = _tables(out.read_text())
    assert len(table) == 1 + 3 * 2
    assert all(_number(r[8]) > 0 for r in table[1:])
    assert "cuda" in out.read_text()


def test_docs_page_names_the_command_that_made_it() -> None:
    page = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    command = page.split("```sh\n", 1)[1].split("\n", 1)[0]
    argv = shlex.split(command)
    prefix = argv.index("rgb2depth")
    args = build_parser().parse_args(argv[prefix + 1 :])
    assert args.command == "benchmark" and args.out == "docs/benchmarks.md"
    (table, *_) = _tables(page)
    assert tuple(table[0]) == INFERENCE_COLUMNS
    shown = {(r[0], r[1], r[3]) for r in table[1:]}
    expected = {(m, b, str(n)) for m in args.models for b in args.backends for n in args.batch}
    assert shown == expected
