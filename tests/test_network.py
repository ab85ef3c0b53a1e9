"""The network description: parsing once, validation messages, the canonical key."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest

from rwinit.errors import RwinitError
from rwinit.network import Network, parse_nonlinearity


def test_spec_and_lists_give_the_same_network_and_key():
    a = Network([784, 512, 512, 10], ["relu", "relu", "linear"])
    b = Network.from_spec("784-relu-512x2-linear-10")
    assert a == b and a.key == b.key and hash(a) == hash(b)
    assert a.depth == 3 and a.fan_in == (784, 512, 512) and a.fan_out == (512, 512, 10)
    assert a.spec() == "784-relu-512x2-linear-10"
    assert Network.from_spec(a.spec()) == a


def test_key_changes_with_every_input():
    base = Network([8, 16, 4], ["tanh", "linear"])
    others = [
        Network([8, 16, 5], ["tanh", "linear"]),
        Network([8, 16, 4], ["elu", "linear"]),
        Network([8, 16, 4], ["elu:0.5", "linear"]),
        Network([8, 16, 4], ["tanh", "linear"], bias_std=0.1),
        Network([8, 16, 4], ["tanh", "linear"], bias_std=[0.0, 0.1]),
        Network([8, 16, 4], ["tanh", "linear"], input_mean=0.5),
        Network([8, 16, 4], ["tanh", "linear"], input_var=2.0),
        Network([8, 16, 4], ["tanh", "linear"], input_var=np.arange(1.0, 9.0)),
    ]
    keys = {base.key} | {n.key for n in others}
    assert len(keys) == len(others) + 1
    # a constant per-dimension vector is the scalar
    assert Network([8, 16, 4], ["tanh", "linear"], input_var=np.full(8, 1.0)) == base


def test_parameters_and_negative_parameters_parse_in_the_spec():
    net = Network.from_spec("3-leaky_relu:-0.1-30-elu:0.5-10")
    assert net.labels == ("leaky_relu:-0.1", "elu:0.5")
    assert net.nonlinearities[0].param == -0.1 and net.nonlinearities[1].param == 0.5


def test_input_batch_sets_per_dimension_statistics():
    rng = np.random.default_rng(0)
    x = rng.normal([1.0, -2.0, 0.0], [1.0, 3.0, 0.5], size=(200, 3))
    net = Network([3, 10, 2], ["tanh", "linear"]).with_input_batch(x)
    np.testing.assert_allclose(net.input_mean_array, x.mean(axis=0))
    np.testing.assert_allclose(net.input_var_array, x.var(axis=0, ddof=1))
    assert not net.default_input


def test_network_is_immutable_and_survives_pickle_and_copy():
    import copy
    import pickle

    net = Network([4, 4, 2], ["elu:0.5", "linear"], bias_std=[0.1, 0.0], input_var=[1, 2, 3, 4])
    with pytest.raises(AttributeError):
        net.widths = (5, 5)
    for other in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net), copy.copy(net)):
        assert other == net and other.labels == ("elu:0.5", "linear")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(widths=[10], nonlinearities=[]), "at least one layer"),
        (dict(widths=[10, 0, 3], nonlinearities=["relu", "linear"]), "width n_1"),
        (dict(widths=[10, 2.5], nonlinearities=["relu"]), "width n_1"),
        (dict(widths="10,5", nonlinearities=["relu"]), "widths must be a list"),
        (dict(widths=[10, 5, 3], nonlinearities=["relu"]), "need 2 nonlinearities"),
        (dict(widths=[10, 5], nonlinearities=["rleu"]), "known: linear, relu"),
        (dict(widths=[10, 5], nonlinearities=["elu:abc"]), "must be a number"),
        (dict(widths=[10, 5, 2], nonlinearities="tanh", bias_std=[0.1]), "2 numbers"),
        (dict(widths=[10, 5], nonlinearities="tanh", bias_std=-1.0), ">= 0"),
        (dict(widths=[10, 5], nonlinearities="tanh", bias_std=float("nan")), "finite"),
        (dict(widths=[3, 5], nonlinearities="tanh", input_var=[1.0, 2.0]), "one per input"),
        (dict(widths=[3, 5], nonlinearities="tanh", input_mean=float("inf")), "finite"),
        (dict(widths=[3, 5], nonlinearities="tanh", input_var=-1.0), ">= 0"),
        (dict(widths=[3, 5], nonlinearities="tanh", input_var=0.0), "identically zero"),
        (dict(widths=[3, 5], nonlinearities="nosuchmodule_xyz:f"), "cannot import"),
        (dict(widths=[3, 5], nonlinearities="math:nosuchfunction"), "no attribute"),
    ],
)
def test_bad_networks_raise_one_line(kwargs, message):
    with pytest.raises(RwinitError, match=message) as info:
        Network(**kwargs)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("784", "alternate"),
        ("784-relu", "alternate"),
        ("784-512-10", "alternate"),
        ("784-relu-512-10-12", "expected a nonlinearity"),
        ("784x2-relu-10", "expected a width"),
        ("784-relu-abc", "expected a width W or WxK"),
        ("784-relu-0", "must be >= 1"),
        ("", "network spec"),
    ],
)
def test_bad_specs_raise_one_line(spec, message):
    with pytest.raises(RwinitError, match=message):
        Network.from_spec(spec)


def test_batch_errors():
    net = Network([3, 4], "tanh")
    with pytest.raises(RwinitError, match=r"shape \(samples, 3\)"):
        net.with_input_batch(np.zeros((5, 4)))
    with pytest.raises(RwinitError, match="at least two"):
        net.with_input_batch(np.zeros((1, 3)))
    with pytest.raises(RwinitError, match="NaN"):
        net.with_input_batch(np.full((4, 3), np.nan))


@pytest.fixture
def custom_module(tmp_path, monkeypatch):
    (tmp_path / "rwinit_test_acts.py").write_text(textwrap.dedent("""
        import math

        def softsign(x, p):
            return x / (1.0 + abs(x))

        def cube(x, p):
            return x * x * x

        def cube_prime(x, p):
            return 3.0 * x * x
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "rwinit_test_acts"
    sys.modules.pop("rwinit_test_acts", None)


def test_imported_nonlinearity_uses_its_derivative_or_a_central_difference(custom_module):
    x = np.linspace(-3, 3, 13)
    soft = parse_nonlinearity(f"{custom_module}:softsign")
    np.testing.assert_allclose(soft(x), x / (1 + np.abs(x)))
    # f'(x) = 1 / (1 + |x|)^2, by the documented central difference
    np.testing.assert_allclose(soft.derivative(x[x != 0]), 1 / (1 + np.abs(x[x != 0])) ** 2,
                               rtol=1e-8)
    cube = parse_nonlinearity(f"{custom_module}:cube")
    np.testing.assert_array_equal(cube.derivative(x), 3 * x * x)  # cube_prime, exactly
    net = Network([4, 6, 2], [f"{custom_module}:softsign", "linear"])
    assert net.labels[0] == f"{custom_module}:softsign"
    assert net.key != Network([4, 6, 2], ["tanh", "linear"]).key
