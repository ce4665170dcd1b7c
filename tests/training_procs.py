"""``rgb2depth train`` in real child processes, for the tests that kill, resume and
distribute training (tests/test_kill_resume.py, tests/test_distributed.py).

The children come from a ``forkserver`` that has imported torch and rgb2depth once,
so each starts in milliseconds instead of the seconds a fresh interpreter needs to
import torch; each child is still a process of its own, which runs the command line
(:func:`rgb2depth.cli.main.main`) and can be killed with SIGKILL. A child may pause
at a chosen point (:class:`Pause`) so that the test kills it exactly there.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

PRELOAD = [
    "torch",
    "torch._dynamo",  # (what a meta-device forward pass imports: seconds, paid once here)
    "rgb2depth.cli.main",
    "rgb2depth.engine.run",
    "rgb2depth.engine.trainer",
    "rgb2depth.methods",
    "rgb2depth.models",
    "rgb2depth.data",
    "rgb2depth.data.transforms",
    "rgb2depth.evaluation",
    "torch.utils.tensorboard",
    "safetensors.torch",
    "matplotlib",
    "rgb2depth.viz",
    "training_procs",
]


def context() -> ForkServerContext:
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


@dataclass(frozen=True)
class Pause:
    """Where a child stops (and writes ``marker``) to wait for its SIGKILL.

    Attributes:
        step: the number of training steps done.
        where: ``"step"``: at the start of the next step (after step ``step``'s
            checkpoint, if it has one); ``"checkpoint"``: inside the checkpoint of step
            ``step``, its files written to the temporary folder, before the rename.
        marker: the file the child creates once it has stopped there.
    """

    step: int
    where: str
    marker: Path


def _warm_up() -> None:
    """Pay, once in the forkserver, what every training run pays on its first steps:
    the meta-device probe of the network and the colour map of the validation images."""
    import numpy as np
    import torch

    from rgb2depth.engine.run import check_image_to_depth
    from rgb2depth.viz import colorize_depth

    torch.set_num_threads(1)
    check_image_to_depth("light_unet", {"channels": [4, 8, 8, 8, 8]}, (32, 32))
    colorize_depth(np.ones((4, 4), np.float32), np.ones((4, 4), bool), vmin=0.0, vmax=2.0)


if "multiprocessing.forkserver" in " ".join(getattr(sys, "orig_argv", [])):
    _warm_up()  # (imported as a preload module by the forkserver)


def _install(pause: Pause) -> None:
    from rgb2depth.engine import checkpoint, trainer

    def stop() -> None:
        pause.marker.write_text(str(os.getpid()), encoding="utf-8")
        while True:
            time.sleep(60)

    if pause.where == "step":
        original = trainer.Trainer._train_step

        def train_step(self: Any, data: Any) -> Any:
            if self.step == pause.step:
                stop()
            return original(self, data)

        trainer.Trainer._train_step = train_step  # type: ignore[method-assign]
    elif pause.where == "checkpoint":
        save_file = checkpoint.save_file

        def save(tensors: Any, filename: str, metadata: Any = None) -> None:
            save_file(tensors, filename, metadata=metadata)
            if Path(filename).parent.name.startswith(f".step_{pause.step:08d}."):
                stop()

        checkpoint.save_file = save  # type: ignore[assignment]
    else:
        raise ValueError(pause.where)


def _child(argv: list[str], env: dict[str, str], log: str, pause: Pause | None) -> None:
    """The child's body: the environment, one thread, stdout/stderr to ``log``, then
    ``rgb2depth ARGV``; its exit status is the command's."""
    import torch

    os.environ.update(env)
    torch.set_num_threads(1)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if pause is not None:
        _install(pause)
    from rgb2depth.cli.main import main

    code = main(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    t = os.times()  # this process's CPU time, for measurements (see docs/distributed.md)
    Path(f"{log}.cpu").write_text(f"{t.user + t.system:.3f}\n", encoding="utf-8")
    os._exit(code)


def start(
    argv: list[str | Path],
    log: Path,
    *,
    env: dict[str, str] | None = None,
    pause: Pause | None = None,
) -> BaseProcess:
    """Start ``rgb2depth ARGV`` in a child process writing its output to ``log``."""
    proc = context().Process(
        target=_child, args=([str(a) for a in argv], dict(env or {}), str(log), pause)
    )
    proc.start()
    return proc


def finish(proc: BaseProcess, timeout: float = 120) -> int:
    """Wait for ``proc`` and return its exit status (-9: killed by SIGKILL)."""
    proc.join(timeout)
    if proc.exitcode is None:
        os.kill(proc.pid, signal.SIGKILL)  # type: ignore[arg-type]
        proc.join()
        raise TimeoutError(f"process {proc.pid} did not end within {timeout} s")
    return int(proc.exitcode)


def run(argv: list[str | Path], log: Path, **kwargs: Any) -> tuple[int, str]:
    """``rgb2depth ARGV`` in a child process: (exit status, its output)."""
    code = finish(start(argv, log, **kwargs))
    return code, log.read_text(encoding="utf-8")


def wait_for_marker(proc: BaseProcess, marker: Path, timeout: float = 60) -> None:
    """Block until the paused child has written ``marker``."""
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if not proc.is_alive():
            raise AssertionError(f"the child ended (status {proc.exitcode}) before pausing")
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {marker} after {timeout} s")
        time.sleep(0.005)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_distributed(
    argv: list[str | Path], logs: Path, world_size: int, timeout: float = 300
) -> list[tuple[int, str]]:
    """``rgb2depth ARGV`` in ``world_size`` processes with the environment torchrun gives
    them (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT); per rank (exit
    status, output). ``logs``: a folder for the outputs."""
    logs.mkdir(parents=True, exist_ok=True)
    common = {
        "WORLD_SIZE": str(world_size),
        "LOCAL_WORLD_SIZE": str(world_size),
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(free_port()),
    }
    procs = [
        start(
            argv,
            logs / f"rank{r}.log",
            env={**common, "RANK": str(r), "LOCAL_RANK": str(r), "GROUP_RANK": "0"},
        )
        for r in range(world_size)
    ]
    # like torchrun: once a process has failed, the others (which may wait for it in
    # a collective) are stopped after a grace period
    deadline = time.monotonic() + timeout
    failed_at = None
    while any(p.is_alive() for p in procs):
        now = time.monotonic()
        if failed_at is None and any(p.exitcode not in (None, 0) for p in procs):
            failed_at = now
        if now > deadline or (failed_at is not None and now > failed_at + 10):
            for p in procs:
                if p.is_alive():
                    os.kill(p.pid, signal.SIGKILL)  # type: ignore[arg-type]
        time.sleep(0.01)
    for p in procs:
        p.join()
    if time.monotonic() > deadline:
        raise TimeoutError(f"{argv}: not done within {timeout} s")
    return [
        (int(p.exitcode or 0), (logs / f"rank{r}.log").read_text(encoding="utf-8"))
        for r, p in enumerate(procs)
    ]
