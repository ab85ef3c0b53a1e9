"""The README's command-line examples still print what the README shows.

Every ``$ rwinit ...`` line of a ```` ```text ```` block of README.md, followed by the
lines it prints, is an example. Each cheap example is run and its output compared line by
line with the README, with every number masked (timings, sample counts and Monte Carlo
estimates change from run to run and machine to machine; the words, columns, units and
structure must not). A README line ``...`` ends the comparison for that example (the rest
is elided in the README). Examples that run a Monte Carlo solve for many seconds
(``method root`` / ``homogeneous`` in their shown output) or train a network are skipped
as slow; examples that show no output are not run.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
SLOW_MARKERS = ("method root", "method homogeneous")


def _examples() -> list[tuple[str, list[str]]]:
    """(command, shown output lines) for every ``$ rwinit`` example in a text block."""
    examples: list[tuple[str, list[str]]] = []
    in_text = False
    lines = README.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            in_text = line.strip() == "```text"
            i += 1
            continue
        if in_text and line.startswith("$ rwinit"):
            command = line[2:]
            while command.endswith("\\"):
                i += 1
                command = command[:-1] + " " + lines[i].strip()
            output = []
            i += 1
            while i < len(lines) and not lines[i].startswith(("$ ", "```")) and lines[i]:
                output.append(lines[i])
                i += 1
            examples.append((command, output))
            continue
        i += 1
    return examples


def _mask(line: str) -> str:
    return " ".join(NUMBER.sub("#", line).split())


EXAMPLES = _examples()


def test_the_readme_has_examples():
    assert len(EXAMPLES) >= 4
    assert sum(1 for _, out in EXAMPLES if out) >= 4


@pytest.mark.parametrize(("command", "shown"), EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_example_prints_what_the_readme_shows(command, shown):
    if not shown:
        pytest.skip("the README shows no output for this example")
    if command.startswith("rwinit train") or any(m in s for m in SLOW_MARKERS for s in shown):
        pytest.skip("slow example (a Monte Carlo solve or a training run)")
    argv = shlex.split(command)[1:]
    proc = subprocess.run([sys.executable, "-m", "rwinit", *argv, "--quiet"]
                          if argv[0] in ("gain", "walk") else
                          [sys.executable, "-m", "rwinit", *argv],
                          capture_output=True, text=True, timeout=300)
    printed = (proc.stdout + proc.stderr).splitlines()
    for k, expected in enumerate(shown):
        if expected.strip() == "...":
            break
        assert k < len(printed), f"{command}: missing line {k + 1}: {expected!r}"
        assert _mask(printed[k]) == _mask(expected), (command, printed[k], expected)
