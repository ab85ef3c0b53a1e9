"""JAX and Keras adapters: the law N(0, g²/fan_in) with JAX's (fan_in, fan_out) kernels,
and Keras' VarianceScaling configuration; missing frameworks name their extra."""

from __future__ import annotations

import math
import sys

import pytest

from rwinit.adapters.jax import _fan_in, variance_scaling_args
from rwinit.adapters.keras import keras_config, keras_initializer
from rwinit.errors import RwinitError


def test_variance_scaling_arguments_give_std_g_over_sqrt_fan_in():
    a = variance_scaling_args(1.3)
    assert a == {"scale": pytest.approx(1.69), "mode": "fan_in", "distribution": "normal"}
    # variance_scaling's std is sqrt(scale / fan_in) = g / sqrt(fan_in), not g / fan_in
    assert math.sqrt(a["scale"] / 400) == pytest.approx(1.3 / 20)
    assert _fan_in((400, 300), -2, -1) == 400
    assert _fan_in((3, 3, 16, 32), -2, -1) == 3 * 3 * 16


def test_jax_initializer_against_jax():
    jax = pytest.importorskip("jax")
    from rwinit.adapters.jax import initializer

    key = jax.random.PRNGKey(0)
    w = initializer("tanh", gain=1.3)(key, (400, 300))
    assert w.shape == (400, 300)
    std, n = float(w.std()), w.size
    assert abs(std - 1.3 / 20) < 5 * (1.3 / 20) / math.sqrt(2 * n)
    assert abs(float(w.mean())) < 5 * (1.3 / 20) / math.sqrt(n)
    # untruncated: a normal sample of 120 000 has values beyond 2 std (truncation would not)
    assert float(abs(w).max()) > 3.5 * 1.3 / 20
    # without a width, g* is looked up at the kernel's own fan_in (shipped table)
    from rwinit import lookup

    w = initializer("relu")(key, (256, 64))
    g = lookup.gain("relu", 256).g
    assert abs(float(w.std()) - g / 16) < 5 * (g / 16) / math.sqrt(2 * w.size)
    assert jax.jit(lambda k: initializer("relu", gain=2.0)(k, (16, 8)))(key).shape == (16, 8)


def test_keras_config():
    cfg = keras_config("relu", 128, gain=1.5, seed=3)
    assert cfg["class_name"] == "VarianceScaling"
    assert cfg["config"] == {"scale": pytest.approx(2.25), "mode": "fan_in",
                             "distribution": "untruncated_normal", "seed": 3}
    from rwinit import lookup

    g = lookup.gain("tanh", 64).g
    assert keras_config("tanh", 64)["config"]["scale"] == pytest.approx(g * g)


def test_keras_object_or_clear_error(monkeypatch):
    try:
        import keras  # noqa: F401
    except ImportError:
        with pytest.raises(RwinitError, match=r"pip install rwinit\[keras\]"):
            keras_initializer("relu", 128, gain=1.5)
    else:  # pragma: no cover - keras is not in the test extra
        init = keras_initializer("relu", 128, gain=1.5)
        assert init.get_config()["scale"] == pytest.approx(2.25)
    monkeypatch.setitem(sys.modules, "keras", None)
    with pytest.raises(RwinitError, match=r"keras is not installed; pip install rwinit\[keras\]"):
        keras_initializer("relu", 128, gain=1.5)


def test_missing_jax_names_the_extra(monkeypatch):
    from rwinit.adapters.jax import initializer

    monkeypatch.setitem(sys.modules, "jax", None)
    with pytest.raises(RwinitError, match=r"pip install rwinit\[jax\]"):
        initializer("tanh", gain=1.0)
