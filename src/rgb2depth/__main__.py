import sys

from rgb2depth.cli.main import main

sys.exit(main())
