"""Figure 2 of Sussillo & Abbott (arXiv:1412.6558); see :mod:`rwinit.figures.figure2`."""

import sys
from pathlib import Path

from rwinit.figures import script_main

if __name__ == "__main__":
    sys.exit(script_main("figure2", Path(__file__).parent))
