"""JAX, Flax and Keras adapters against the real frameworks (all in the test extra): the
network's own gains (equal to :func:`rwinit.network_gains` for the same network) drawn as
N(0, g_d²/fan_in) — checked with a Kolmogorov–Smirnov test per layer — activations read
from the model, the Keras backend chosen or named, and missing frameworks naming their
extra (docs/design.md §Using a gain)."""

from __future__ import annotations

import functools
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from fresh_process import run_python
from scipy import stats

from rwinit.adapters.jax import _fan_in, variance_scaling_args
from rwinit.adapters.keras import keras_config
from rwinit.errors import RwinitError
from rwinit.network import Network
from rwinit.network_gain import network_gains
from rwinit.nonlinearities import get_nonlinearity

jax = pytest.importorskip("jax")  # jax, flax and keras are in the test extra: these run in CI
jnp = jax.numpy
FAST = 0.02  # CI half-width of the gains: the plumbing, not the precision, is tested here


@pytest.fixture(autouse=True, scope="module")
def _private_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RWINIT_CACHE_DIR", str(tmp_path_factory.mktemp("rwinit-cache")))
        yield


def _assert_normal(w, std: float) -> None:
    """w ~ N(0, std²): Kolmogorov–Smirnov against the stated law (untruncated)."""
    w = np.asarray(w, dtype=float).ravel()
    assert stats.kstest(w / std, "norm").pvalue > 1e-4, (w.std(), std)


def test_variance_scaling_arguments_give_std_g_over_sqrt_fan_in():
    a = variance_scaling_args(1.3)
    assert a == {"scale": pytest.approx(1.69), "mode": "fan_in", "distribution": "normal"}
    # variance_scaling's std is sqrt(scale / fan_in) = g / sqrt(fan_in), not g / fan_in
    assert math.sqrt(a["scale"] / 400) == pytest.approx(1.3 / 20)
    assert _fan_in((400, 300), -2, -1) == 400
    assert _fan_in((3, 3, 16, 32), -2, -1) == 3 * 3 * 16


def test_init_params_uses_the_networks_gains_and_their_law():
    from rwinit.adapters.jax import init_params

    params = [{"w": jnp.zeros((3, 256)), "b": jnp.ones(256)},
              {"w": jnp.zeros((256, 128)), "b": jnp.ones(128)},
              {"kernel": jnp.zeros((128, 10))}]
    acts = ["tanh", functools.partial(jax.nn.elu, alpha=0.5), "linear"]
    new, report = init_params(params, acts, seed=5, ci_halfwidth=FAST)
    net = Network([3, 256, 128, 10], ["tanh", "elu:0.5", "linear"])
    assert report.gains == network_gains(net, seed=5, ci_halfwidth=FAST).layer_gains
    assert [r.nonlinearity for r in report] == ["tanh", "elu:0.5", "linear"]
    for layer, rec in zip(new, report, strict=True):
        kernel = layer.get("w", layer.get("kernel"))
        assert rec.std == pytest.approx(rec.gain / math.sqrt(kernel.shape[0]))
        _assert_normal(kernel, rec.std)
    assert float(jnp.abs(new[0]["b"]).sum()) == 0 and "b" not in new[2]
    with pytest.raises(RwinitError, match="activations=.*nonlinearity="):
        init_params(params)
    with pytest.raises(RwinitError, match="unknown activation"):
        init_params(params, [jnp.sin, "relu", "linear"])


def test_flax_linen_variables_and_nnx_sequential():
    linen = pytest.importorskip("flax.linen")
    nnx = pytest.importorskip("flax.nnx")
    from rwinit.adapters.jax import init_nnx, init_params

    module = linen.Sequential([linen.Dense(64), linen.relu, linen.Dense(10)])
    variables = module.init(jax.random.PRNGKey(0), jnp.ones((1, 20)))
    new, report = init_params(variables, nonlinearity="relu", seed=1, ci_halfwidth=FAST)
    assert report.gains == network_gains(Network([20, 64, 10], ["relu", "linear"]),
                                         seed=1, ci_halfwidth=FAST).layer_gains
    first = list(new["params"])[0]  # linen names a Sequential's layers layers_0, layers_2, ...
    _assert_normal(new["params"][first]["kernel"], report[0].std)
    assert module.apply(new, jnp.ones((2, 20))).shape == (2, 10)

    model = nnx.Sequential(nnx.Linear(20, 64, rngs=nnx.Rngs(0)), jax.nn.gelu,
                           nnx.Linear(64, 64, rngs=nnx.Rngs(1)), jnp.tanh,
                           nnx.Linear(64, 10, rngs=nnx.Rngs(2)))
    report = init_nnx(model, seed=2, ci_halfwidth=FAST)
    assert [(r.nonlinearity, r.detected) for r in report] == [
        ("gelu", True), ("tanh", True), ("linear", True)]
    net = Network([20, 64, 64, 10], ["gelu", "tanh", "linear"])
    assert report.gains == network_gains(net, seed=2, ci_halfwidth=FAST).layer_gains
    _assert_normal(model.layers[2].kernel[...], report[1].std)
    assert float(jnp.abs(model.layers[0].bias[...]).sum()) == 0


def test_lazy_jax_initializer_looks_each_fan_in_up_once(monkeypatch):
    from rwinit import lookup
    from rwinit.adapters import jax as adapter

    calls = []
    real = lookup.gain

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(lookup, "gain", counting)
    adapter._cached_gain.cache_clear()
    init = adapter.initializer("relu")
    key = jax.random.PRNGKey(0)
    kernels = [init(k, (256, 64)) for k in jax.random.split(key, 5)]
    assert len(calls) == 1  # five kernels of fan-in 256: one look-up
    g = real("relu", 256).g
    _assert_normal(jnp.stack(kernels), g / 16)
    init(key, (100, 10))
    assert len(calls) == 2
    assert jax.jit(lambda k: adapter.initializer("relu", gain=2.0)(k, (16, 8)))(key).shape == (
        16, 8)


def _keras():
    from rwinit.adapters.keras import keras_module

    return keras_module()


def test_keras_sequential_and_functional_models():
    keras = _keras()
    from rwinit.adapters.keras import init_model

    L = keras.layers
    seq = keras.Sequential([keras.Input((3,)), L.Dense(128, activation="tanh"), L.Dense(64),
                            L.LeakyReLU(negative_slope=0.1), L.Dropout(0.2),
                            L.Dense(64, activation="elu"), L.Dense(10, activation="softmax")])
    report = init_model(seq, seed=3, ci_halfwidth=FAST)
    assert [r.nonlinearity for r in report] == ["tanh", "leaky_relu:0.1", "elu:1", "linear"]
    net = Network([3, 128, 64, 64, 10], ["tanh", "leaky_relu:0.1", "elu:1", "linear"])
    assert report.gains == network_gains(net, seed=3, ci_halfwidth=FAST).layer_gains
    dense = [layer for layer in seq.layers if isinstance(layer, L.Dense)]
    for layer, rec in zip(dense, report, strict=True):
        _assert_normal(keras.ops.convert_to_numpy(layer.kernel), rec.std)
        assert not np.any(keras.ops.convert_to_numpy(layer.bias))

    inp = keras.Input((20,))
    h = L.Dense(32)(inp)
    h = L.BatchNormalization()(h)
    h = L.Activation("gelu")(h)
    out = L.Dense(5)(h)
    functional = keras.Model(inp, out)
    report = init_model(functional, seed=4, per_layer=True, ci_halfwidth=FAST)
    assert [(r.nonlinearity, r.norm) for r in report] == [("gelu", "BatchNormalization"),
                                                         ("linear", None)]
    net = Network([20, 32, 5], ["gelu", "linear"])
    assert report.gains == network_gains(net, seed=4, per_layer=True,
                                         ci_halfwidth=FAST).layer_gains
    gamma = keras.ops.convert_to_numpy(functional.layers[2].gamma)
    assert np.allclose(gamma, report[0].norm_scale)


def test_mobile_network_activations_are_known_to_jax_and_keras():
    from rwinit.adapters import jax as rjax
    from rwinit.adapters import keras as rkeras
    from rwinit.adapters.snippets import activation_code

    keras = _keras()
    expected = {"relu6": "relu6", "hard_tanh": "hardtanh", "hard_sigmoid": "hardsigmoid",
                "hard_swish": "hardswish", "mish": "mish"}
    x = np.linspace(-8, 8, 161)
    for name, label in expected.items():
        assert rjax.activation_label(getattr(jax.nn, name)) == label
        assert rkeras.activation_label(getattr(keras.activations, name)) == label
        # the exported snippets name a function that computes rwinit's f (float32 there)
        names = {"jax": jax, "keras": keras, "functools": functools}
        in_jax = eval(activation_code("jax", label), names)  # noqa: S307
        in_keras = keras.activations.get(eval(activation_code("keras", label), names))  # noqa: S307
        for fn in (in_jax, in_keras):
            np.testing.assert_allclose(keras.ops.convert_to_numpy(fn(x)),
                                       get_nonlinearity(label)(x), rtol=1e-6, atol=1e-6)
    prelu = keras.layers.PReLU()
    prelu.build((None, 4))  # Keras' default slope is 0: a ReLU
    assert rkeras._layer_activation(prelu, keras) == "relu"
    prelu.set_weights([np.full(4, 0.2, dtype="float32")])
    assert rkeras._layer_activation(prelu, keras) == get_nonlinearity("leaky_relu", 0.2).label
    relu6_layer = keras.layers.ReLU(max_value=6.0)
    assert rkeras._layer_activation(relu6_layer, keras) == "relu6"
    assert rkeras._layer_activation(keras.layers.ReLU(max_value=5.0), keras) is None


def test_keras_mobilenet_block_matches_the_pytorch_reading():
    keras = _keras()
    from rwinit.adapters.keras import init_model

    L = keras.layers
    m = keras.Sequential([
        keras.Input((32, 32, 3)), L.Conv2D(16, 3, strides=2, padding="same", use_bias=False),
        L.BatchNormalization(), L.Activation("hard_silu"),
        L.DepthwiseConv2D(3, padding="same", use_bias=False), L.BatchNormalization(),
        L.ReLU(max_value=6.0), L.Conv2D(24, 1, use_bias=False), L.BatchNormalization(),
        L.GlobalAveragePooling2D(), L.Dense(10)])
    report = init_model(m, seed=1, ci_halfwidth=FAST)
    assert [r.nonlinearity for r in report] == ["hardswish", "relu6", "linear", "linear"]
    assert [r.fan_in for r in report] == [27, 9, 16, 24]  # depthwise: ∏window inputs
    assert any("GlobalAveragePooling2D after layer" in a for a in report.approximations)
    net = Network([27, 9, 16, 24, 10], ["hardswish", "relu6", "linear", "linear"])
    assert report.gains == network_gains(net, seed=1, ci_halfwidth=FAST).layer_gains
    depthwise = keras.ops.convert_to_numpy(m.layers[3].kernel)
    _assert_normal(depthwise, report[1].std)


def test_keras_config():
    cfg = keras_config("relu", 128, gain=1.5, seed=3)
    assert cfg["class_name"] == "VarianceScaling"
    assert cfg["config"] == {"scale": pytest.approx(2.25), "mode": "fan_in",
                             "distribution": "untruncated_normal", "seed": 3}
    from rwinit import lookup

    g = lookup.gain("tanh", 64).g
    assert keras_config("tanh", 64)["config"]["scale"] == pytest.approx(g * g)
    from rwinit.adapters.keras import keras_initializer

    assert keras_initializer("relu", 128, gain=1.5).get_config()["scale"] == pytest.approx(2.25)


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    full.update(env)
    return run_python(code, full)


def test_keras_backend_is_chosen_or_named(tmp_path):
    (tmp_path / "keras.json").write_text('{"backend": "tensorflow"}')
    code = ("from rwinit.adapters.keras import keras_module; "
            "print(keras_module().backend.backend())")
    # configured for TensorFlow, which is not installed: rwinit picks the installed JAX
    ok = _python(code, KERAS_HOME=str(tmp_path))
    if ok.returncode == 0 and ok.stdout.strip() == "tensorflow":
        pytest.skip("tensorflow is installed here")
    assert ok.returncode == 0 and ok.stdout.strip() == "jax", ok.stderr
    # a backend asked for explicitly but missing: the message names it, not "not installed"
    bad = _python("from rwinit.adapters.keras import keras_module\n"
                  "try:\n    keras_module()\nexcept ValueError as e:\n    print(e)",
                  KERAS_BACKEND="tensorflow", KERAS_HOME=str(tmp_path))
    assert "keras is installed but its backend 'tensorflow'" in bad.stdout, bad.stderr
    assert "pip install jax" in bad.stdout and "not installed;" not in bad.stdout


def test_missing_frameworks_name_their_extra(monkeypatch):
    from rwinit.adapters.jax import initializer
    from rwinit.adapters.keras import keras_module

    monkeypatch.setitem(sys.modules, "jax", None)
    with pytest.raises(RwinitError, match=r"pip install rwinit\[jax\]"):
        initializer("tanh", gain=1.0)
    monkeypatch.setitem(sys.modules, "keras", None)
    with pytest.raises(RwinitError, match=r"keras is not installed; pip install rwinit\[keras\]"):
        keras_module()
