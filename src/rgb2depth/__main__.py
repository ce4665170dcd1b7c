"""``python -m rgb2depth`` (and ``torchrun ... -m rgb2depth train CONFIG``)."""

import sys

from rgb2depth.cli.main import main

if __name__ == "__main__":  # not when a spawned worker process imports this module
    sys.exit(main())
