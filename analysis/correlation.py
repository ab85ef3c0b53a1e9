"""Analysis beyond Sussillo & Abbott (arXiv:1412.6558); see :mod:`rwinit.figures.correlation`."""

import sys
from pathlib import Path

from rwinit.figures import script_main

if __name__ == "__main__":
    sys.exit(script_main("correlation", Path(__file__).parent))
