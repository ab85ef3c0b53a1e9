"""Analysis beyond Sussillo & Abbott (arXiv:1412.6558).

See :mod:`rwinit.figures.weight_distributions`.
"""

import sys
from pathlib import Path

from rwinit.figures import script_main

if __name__ == "__main__":
    sys.exit(script_main("weight_distributions", Path(__file__).parent))
