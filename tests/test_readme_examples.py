"""The README's command-line examples still print what the README shows.

Every ``$ rwinit ...`` line of a ```` ```text ```` block of README.md, followed by the
lines it prints, is an example. Each example but training is run and its output compared
line by line with the README, with only the timings masked (a number followed by " s"):
every other number must match, since a solve or a walk is a function of its seed (the
default seed) and the walk kernels give the same bits on every CPU and thread count. A
README line ``...`` ends the comparison for that example (the rest is elided in the
README). Training examples are skipped as slow; examples that show no output are not run.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
TIMING = re.compile(r"\d+(?:\.\d*)? s\b")


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
    return " ".join(TIMING.sub("# s", line).split())


EXAMPLES = _examples()


def test_the_readme_has_examples():
    assert len(EXAMPLES) >= 4
    assert sum(1 for _, out in EXAMPLES if out) >= 4


@pytest.mark.parametrize(("command", "shown"), EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_example_prints_what_the_readme_shows(command, shown):
    if not shown:
        pytest.skip("the README shows no output for this example")
    if command.startswith("rwinit train"):
        pytest.skip("slow example (a training run)")
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
