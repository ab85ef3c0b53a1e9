"""``rwinit train`` from the command line: JSON output and bad input (exit 2, one line)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

BASE = ["--dataset", "teacher", "--depth", "3", "--width", "16", "--epochs", "2", "--quiet"]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rwinit", "train", *args],
                          capture_output=True, text=True, timeout=120)


def test_json_output(tmp_path):
    hist = tmp_path / "h.csv"
    proc = _run(*BASE, "--gain", "1.2", "--optimizer", "adam", "--lr", "0.01", "--json",
                "--history", str(hist), "--clip", "5", "--lr-in", "0.02",
                "--schedule", "linear")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    out = json.loads(lines[0])
    for key in ("train_error", "loss", "epochs", "seconds", "diverged", "history"):
        assert key in out
    assert out["epochs"] == 2 and out["diverged"] is False and len(out["history"]) == 3
    assert out["config"]["gain"] == 1.2
    assert hist.read_text().startswith("epoch,")


def test_gain_auto_uses_solver():
    from rwinit.solver import optimal_gain

    proc = _run(*BASE, "--nonlinearity", "relu", "--gain", "auto", "--gain-scale", "0.5",
                "--json")
    assert proc.returncode == 0, proc.stderr
    cfg = json.loads(proc.stdout)["config"]
    assert cfg["gain"] == pytest.approx(0.5 * optimal_gain("relu", 16, None, model="network",
                                                           seed=0).g, rel=1e-12)
    assert cfg["gain_source"].startswith("auto")


def test_stop_error_ends_the_run(capsys):
    """--stop-error cuts the run once the error has stayed <= E for --patience epochs; the
    JSON says why and the history ends with that many epochs at or below E."""
    from rwinit.cli import main

    args = ["train", "--dataset", "teacher", "--depth", "3", "--width", "16", "--quiet",
            "--gain", "1.2", "--optimizer", "adam", "--lr", "0.01", "--epochs", "50",
            "--stop-error", "0.5", "--patience", "2", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    errors = [r["train_error"] for r in out["history"]]
    assert out["epochs"] < 50 and "for 2 epochs in a row" in out["stopped"]
    assert max(errors[-2:]) <= 0.5 and (len(errors) == 3 or errors[-3] > 0.5)
    assert out["config"]["patience"] == 2 and out["config"]["stop_error"] == 0.5


# A fresh interpreter for a representative few (about 2 s each) ...
@pytest.mark.parametrize("args", [
    ["--nonlinearity", "tanhh"],
    ["--depth", "0"],
    ["--gain", "nan"],
    ["--dataset", "mnist", "--data-dir", "/nonexistent/rwinit-test"],
    ["--depth", "two"],
])
def test_bad_input_exit_2_one_line(args):
    proc = _run(*BASE, *args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stdout == ""


# ... and the same entry point in-process for the rest.
@pytest.mark.parametrize("args", [
    ["--width", "0"],
    ["--gain", "inf"],
    ["--gain", "-1"],
    ["--gain", "big"],
    ["--first-gain", "0"],
    ["--optimizer", "adamw"],
    ["--init", "kaiming"],
    ["--schedule", "cosine"],
    ["--lr", "0"],
    ["--clip", "nan"],
    ["--momentum", "0.5"],
    ["--dataset", "mnist"],
    ["--dataset", "cifar"],
])
def test_bad_input_in_process(args, capsys):
    from rwinit.cli import main

    assert main(["train", *BASE, "--gain", "1.0", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rwinit train: error:") and len(err.strip().splitlines()) == 1


def test_bad_mnist_dir_names_files(tmp_path):
    proc = _run(*BASE, "--dataset", "mnist", "--data-dir", str(tmp_path))
    assert proc.returncode == 2
    assert "train-images-idx3-ubyte" in proc.stderr and str(tmp_path) in proc.stderr


def test_disk_full_during_training_keeps_the_run(tmp_path, monkeypatch, capsys):
    """The history folder passes the up-front probe, then the disk fills: training goes
    on, the summary still reaches stdout, and one stderr line says the history was not
    written (exit 2). No temporary file is left."""
    import errno
    import os

    import rwinit.training.loop as loop
    from rwinit.cli import main

    def full(path, text):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(loop, "atomic_write_text", full)
    hist = tmp_path / "h.json"
    status = main(["train", *BASE, "--gain", "1.2", "--json", "--history", str(hist)])
    out, err = capsys.readouterr()
    assert status == 2
    summary = json.loads(out)
    assert summary["epochs"] == 2 and len(summary["history"]) == 3
    assert err.strip() == (f"rwinit train: error: cannot write the history {hist}: No space "
                           "left on device; the run's summary is on standard output")
    assert list(tmp_path.iterdir()) == []


def test_history_suffix_sets_the_format(tmp_path):
    """.json holds the summary, .csv one row per epoch; anything else is refused up front."""
    for name in ("h.json", "h.csv"):
        proc = _run(*BASE, "--gain", "1.2", "--history", str(tmp_path / name))
        assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "h.json").read_text())["epochs"] == 2
    assert (tmp_path / "h.csv").read_text().splitlines()[0].startswith("epoch,step,loss")
    proc = _run(*BASE, "--gain", "1.2", "--history", str(tmp_path / "h.txt"))
    assert proc.returncode == 2 and "must end in .json or .csv" in proc.stderr
    assert not (tmp_path / "h.txt").exists()
