"""rwinit.gain from the shipped table (exact, interpolated, computed with a warning), the
shipped table's provenance, and ``rwinit export`` snippets that run as pasted."""

from __future__ import annotations

import json
import math
import os
import warnings

import numpy as np
import pytest

from rwinit import theory
from rwinit.cli import main
from rwinit.errors import RwinitError
from rwinit.lookup import TableFallbackWarning, default_table, gain
from rwinit.nonlinearities import get_nonlinearity
from rwinit.tables import TableMissError


@pytest.fixture(autouse=True)
def private_answer_cache(tmp_path, monkeypatch):
    """Computed gains go to a fresh folder, not the user's cache (the compiled kernels
    stay where they are)."""
    from rwinit import cache

    monkeypatch.setattr(cache, "cache_dir", lambda: tmp_path / "cache")


def test_shipped_table_is_valid_and_records_how_it_was_made():
    table = default_table()
    prov = table.provenance
    assert "scripts/make_default_table.py" in prov["command"]
    assert prov["settings"]["ci_halfwidth"] == 0.01
    for row in table.rows:
        assert row["depth"] is None and row["weights"] == "gaussian" and row["bias_std"] == 0
        assert 2 <= row["width"] <= 4096
    for nl in ("linear", "relu", "leaky_relu:0.01", "tanh"):
        for model in ("network", "paper"):
            assert table.widths(nl, model=model)[::len(table.widths(nl)) - 1] == (2, 4096)


def test_gain_reads_the_table_without_computing():
    with warnings.catch_warnings():
        warnings.simplefilter("error", TableFallbackWarning)
        r = gain("linear", 64)
        assert r.source == "table" and r.se == 0
        assert r.g == pytest.approx(theory.exact_gain(get_nonlinearity("linear"), 64), rel=1e-12)
        r = gain("tanh", 256)
        assert r.source == "table" and 1.0 < r.g < 1.2 and r.std(256) == r.g / 16
        r = gain("tanh", 300)
        lo, hi = default_table().lookup("tanh", 256), default_table().lookup("tanh", 512)
        assert r.source == "interpolated" and r.neighbours == (256, 512)
        assert min(lo.g, hi.g) <= r.g <= max(lo.g, hi.g)
        assert float(gain("relu", 100, model="paper")) == pytest.approx(
            theory.exact_gain(get_nonlinearity("relu"), 100), abs=3e-3)


def test_gain_falls_back_to_computing_and_says_so():
    with pytest.warns(TableFallbackWarning, match="outside the table's widths"):
        r = gain("linear", 5000)
    assert r.source == "computed"
    assert r.g == pytest.approx(theory.exact_gain(get_nonlinearity("linear"), 5000))
    with pytest.raises(TableMissError):
        gain("linear", 5000, compute=False)


def test_gain_reports_a_width_without_an_unbiased_gain():
    # tanh at N = 4 (network model): the drift is negative at every g, and the table says so
    with pytest.raises(RwinitError, match="no unbiased gain"):
        gain("tanh", 4)


def _export(capsys, *args):
    code = main(["export", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_export_json(capsys):
    code, out, _ = _export(capsys, "--format", "json", "-f", "tanh", "-N", "256")
    doc = json.loads(out)
    assert code == 0 and doc["g"] == gain("tanh", 256).g
    assert doc["std"] == pytest.approx(doc["g"] / 16)
    assert doc["keras"]["config"]["scale"] == pytest.approx(doc["g"] ** 2)
    assert doc["keras"]["config"]["distribution"] == "untruncated_normal"
    code, out, _ = _export(capsys, "--format", "json", "-f", "elu:0.5", "-N", "64", "-g", "1.2")
    act = json.loads(out)["activation"]
    assert act["label"] == "elu:0.5" and act["param"] == 0.5
    assert act["torch"] == "nn.ELU(alpha=0.5)" and "alpha=0.5" in act["keras"]


FRAMEWORKS = {"torch": "torch", "jax": "jax", "keras": "keras"}


def _framework(fmt: str):
    """The framework's module; Keras through rwinit, which picks an installed backend."""
    if fmt != "keras":
        return pytest.importorskip(FRAMEWORKS[fmt])
    pytest.importorskip("jax")  # the backend rwinit[keras] brings
    from rwinit.adapters.keras import keras_module

    return keras_module()


@pytest.mark.parametrize("fmt", list(FRAMEWORKS))
def test_export_snippet_runs_as_printed(capsys, tmp_path, fmt):
    """The printed snippet, saved and run by a fresh Python, draws std g/sqrt(N)."""
    import subprocess
    import sys

    _framework(fmt)  # all three are in the test extra
    code, out, _ = _export(capsys, "--format", fmt, "-f", "elu:0.5", "-N", "300", "-g", "1.2")
    path = tmp_path / f"snippet_{fmt}.py"
    path.write_text(out)
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    run = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                         cwd=tmp_path, env=env, timeout=120)
    assert code == 0 and run.returncode == 0, run.stderr
    first = run.stdout.splitlines()[0].replace(",", "").split()
    std, target = float(first[2]), float(first[4])
    assert target == pytest.approx(1.2 / math.sqrt(300), abs=1e-6)
    assert abs(std - target) < 5 * target / math.sqrt(2 * 300 * 300)
    assert "activation applied, output shape (4, 300)" in run.stdout


def _snippet_activation(capsys, fmt: str, nonlinearity: str):
    _, out, _ = _export(capsys, "--format", fmt, "-f", nonlinearity, "-N", "8", "-g", "1.0")
    namespace: dict = {"__name__": "snippet"}
    exec(compile(out, "<snippet>", "exec"), namespace)  # noqa: S102 - our own output
    return namespace["ACTIVATION"]


@pytest.mark.parametrize("fmt", list(FRAMEWORKS))
def test_exported_activation_is_rwinits_nonlinearity_with_its_parameter(capsys, fmt):
    """Each snippet's ACTIVATION equals rwinit's f, parameters included (elu:0.5 is not
    the default ELU, leaky_relu:0.3 not the default slope, GELU the exact erf form)."""
    fw = _framework(fmt)
    x = np.linspace(-4.0, 4.0, 81)
    for name in ("linear", "relu", "leaky_relu:0.3", "tanh", "sigmoid", "elu:0.5", "selu",
                 "gelu", "silu", "softplus"):
        act = _snippet_activation(capsys, fmt, name)
        if fmt == "torch":
            y = act(fw.tensor(x)).numpy()
        elif fmt == "jax":
            y = np.asarray(act(fw.numpy.asarray(x, dtype="float32")))
        else:
            fn = fw.activations.get(act)
            y = fw.ops.convert_to_numpy(fn(fw.ops.convert_to_tensor(x, "float32")))
        expected = get_nonlinearity(name)(x)
        assert np.allclose(y, expected, rtol=1e-5, atol=1e-5), (fmt, name)


@pytest.mark.parametrize("args, message", [
    (["--format", "onnx", "-f", "tanh", "-N", "8"], "unknown export format"),
    (["--format", "json", "-f", "nope", "-N", "8"], "unknown nonlinearity"),
    (["--format", "json", "-f", "tanh", "-N", "8", "--table", "missing.csv"], "no such file"),
    (["--format", "json", "-f", "tanh", "-N", "8", "--table", "t.txt"], "unknown table format"),
])
def test_export_bad_input_is_one_line(capsys, args, message):
    code, out, err = _export(capsys, *args)
    assert code == 2 and message in err and err.count("\n") == 1 and out == ""


def test_export_corrupted_table_is_one_line(tmp_path, capsys):
    path = tmp_path / "t.csv"
    default_table().save(path)
    text = path.read_text().splitlines(keepends=True)
    path.write_text("".join(text[:5] + text[6:]))  # a row lost
    code, _, err = _export(capsys, "--format", "json", "-f", "tanh", "-N", "256",
                           "--table", str(path))
    assert code == 2 and "rejected table" in err and "Traceback" not in err
