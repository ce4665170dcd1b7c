"""Speed of the networks: a shortcut for ``rgb2depth benchmark``.

    python benchmarks/bench_models.py [rgb2depth benchmark options]

The measurement lives in one place, :mod:`rgb2depth.benchmark` (see
``rgb2depth benchmark --help``: backends, batches, sizes, ``--train``, ``--out``).
Without options this times the light U-Net against the plain U-Net baseline at
256x256, batch 1, on PyTorch (seed 004's table 2 reports 28.11 ms and 163.45 ms per
image on a Titan Pascal). ``docs/benchmarks.md`` names the command that regenerates it.
"""

from __future__ import annotations

import sys

from rgb2depth.cli.main import main

DEFAULT = ["--models", "light_unet,unet_baseline", "--backends", "torch", "--batch", "1"]

if __name__ == "__main__":
    sys.exit(main(["benchmark", *(sys.argv[1:] or DEFAULT)]))
