"""rwinit.gain from the shipped table (exact, interpolated, computed with a warning), the
shipped table's provenance, and ``rwinit export`` snippets that run as pasted."""

from __future__ import annotations

import json
import math
import warnings

import pytest

from rwinit import theory
from rwinit.cli import main
from rwinit.errors import RwinitError
from rwinit.lookup import TableFallbackWarning, default_table, gain
from rwinit.nonlinearities import get_nonlinearity
from rwinit.tables import TableMissError


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


def test_export_torch_snippet_runs_as_pasted(capsys):
    torch = pytest.importorskip("torch")
    code, out, _ = _export(capsys, "--format", "torch", "-f", "relu", "-N", "400")
    namespace: dict = {}
    exec(compile(out, "<snippet>", "exec"), namespace)  # noqa: S102 - our own output
    layer = namespace["rwinit_"](torch.nn.Linear(400, 300))
    g = gain("relu", 400).g
    assert namespace["GAIN"] == g
    assert abs(layer.weight.std().item() - g / 20) < 5 * (g / 20) / math.sqrt(2 * 120_000)
    assert torch.count_nonzero(layer.bias) == 0


def test_export_jax_snippet_runs_as_pasted(capsys):
    jax = pytest.importorskip("jax")
    code, out, _ = _export(capsys, "--format", "jax", "-f", "tanh", "-N", "128", "--gain", "1.1")
    namespace: dict = {}
    exec(compile(out, "<snippet>", "exec"), namespace)  # noqa: S102 - our own output
    w = namespace["kernel_init"](jax.random.PRNGKey(1), (400, 300))
    assert abs(float(w.std()) - 1.1 / 20) < 5 * (1.1 / 20) / math.sqrt(2 * 120_000)


def test_export_keras_snippet_states_the_config(capsys):
    code, out, _ = _export(capsys, "--format", "keras", "-f", "tanh", "-N", "128", "-g", "1.1")
    assert code == 0 and "VarianceScaling" in out and 'distribution="untruncated_normal"' in out
    assert "GAIN = 1.1" in out and 'mode="fan_in"' in out


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
