"""Run Python code in a new interpreter, for tests of what a process does from its start
(imports, exit, environment)."""

from __future__ import annotations

import subprocess
import sys


def run_python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -c code`` with text output captured (``env``: the whole environment)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)
