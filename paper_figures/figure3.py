"""Figure 3 of Sussillo & Abbott (arXiv:1412.6558); see :mod:`rwinit.figures.figure3`."""

import sys
from pathlib import Path

from rwinit.figures import script_main

if __name__ == "__main__":
    sys.exit(script_main("figure3", Path(__file__).parent))
