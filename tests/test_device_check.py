"""benchmarks/device_check.py: the prepared GPU check's parts that need no GPU.

The whole script runs on a lent GPU machine (and, slowly, with ``--device cpu
--quick``); here: every method's run config is one ``rgb2depth train`` accepts, the
log readers read a real log.csv, and the GPU sampler says when it has nothing.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from rgb2depth.config import load_config
from rgb2depth.methods import METHODS

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "device_check.py"


@pytest.fixture(scope="module")
def check() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_device_check", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("amp", ["off", "bf16", "fp16"])
def test_every_methods_config_is_accepted(check: ModuleType, tmp_path: Path, amp: str) -> None:
    for name in sorted(METHODS):
        path = check.method_config(tmp_path / f"{name}.yaml", name, tmp_path, "cuda", amp, 20)
        config = load_config(path)
        assert config["method"]["name"] == name
        assert config["train"]["device"] == "cuda" and config["train"]["amp"] == amp
        assert config["schedule"]["steps"] == 20


def test_log_readers(check: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "log.csv").write_text(
        "step,phase,name,value\n1,train,loss,0.5\n2,train,loss,0.25\n"
        "2,train,steps_per_s,3.5\n4,train,steps_per_s,4.25\n4,val,rmse,10\n"
    )
    assert check.steps_per_s(tmp_path) == 4.25
    assert check.losses_finite(tmp_path)
    (tmp_path / "log.csv").write_text("step,phase,name,value\n1,train,loss,nan\n")
    assert not check.losses_finite(tmp_path)
    assert check.steps_per_s(tmp_path / "missing") is None


def test_gpu_sampler_without_samples(check: ModuleType) -> None:
    sampler = check.GpuSampler()
    assert sampler.summary() == "no samples (no nvidia-smi)"
    sampler.values = [10.0, 90.0, 95.0]
    assert sampler.summary() == "median 90 %, above 80 % in 67% of 3 samples"
