"""The nonlinearity registry: values, derivatives and lookup rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from rwinit import RwinitError, available_nonlinearities, get_nonlinearity
from rwinit.nonlinearities import BUILTIN_NONLINEARITIES

#: Plain NumPy/SciPy definitions, independent of the registry's scalar code.
REFERENCE = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0.0),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.01 * x),
    "tanh": np.tanh,
    "sigmoid": special.expit,
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x)),
    "gelu": lambda x: x * special.ndtr(x),
    "silu": lambda x: x * special.expit(x),
    "softplus": lambda x: np.logaddexp(0.0, x),
    "relu6": lambda x: np.clip(x, 0.0, 6.0),
    "hardtanh": lambda x: np.clip(x, -1.0, 1.0),
    "hardsigmoid": lambda x: np.clip(x / 6 + 0.5, 0.0, 1.0),
    "hardswish": lambda x: x * np.clip(x + 3, 0.0, 6.0) / 6,
    "mish": lambda x: x * np.tanh(np.logaddexp(0.0, x)),
}

#: Where some built-in f' jumps: central differences straddling these are not f'.
KINKS = np.array([-3.0, -1.0, 0.0, 1.0, 3.0, 6.0])

X = np.concatenate([np.linspace(-30, 30, 601), [-1e-3, 1e-3, 0.37, -2.2]])
X = X[np.abs(X) > 1e-9]  # derivatives of the kinked ones are one-sided at 0


def test_every_builtin_has_a_reference():
    assert set(BUILTIN_NONLINEARITIES) == set(REFERENCE)
    assert set(BUILTIN_NONLINEARITIES) <= set(available_nonlinearities())


def test_the_shipped_tables_cover_exactly_the_table_nonlinearities():
    from rwinit.lookup import default_table, depth_table
    from rwinit.nonlinearities import TABLE_NONLINEARITIES

    assert set(TABLE_NONLINEARITIES) < set(BUILTIN_NONLINEARITIES)
    for tab in (default_table(), depth_table().table):
        names = {r["nonlinearity"].partition(":")[0] for r in tab.rows}
        assert names == set(TABLE_NONLINEARITIES)


def test_a_builtin_outside_the_tables_is_computed_once_then_read_from_the_cache(
        tmp_path, monkeypatch):
    from rwinit import TableFallbackWarning, cache, gain, optimal_gain

    monkeypatch.setattr(cache, "cache_dir", lambda: tmp_path / "cache")
    settings = dict(model="paper", ci_halfwidth=0.05, seed=1)
    with pytest.warns(TableFallbackWarning, match="computing"):
        r = gain("relu6", 64, threads=1, **settings)
    assert r.source == "computed"
    assert r.g == optimal_gain("relu6", 64, threads=2, **settings).g  # the solver's answer
    with pytest.warns(TableFallbackWarning, match="read from rwinit's cache"):
        again = gain("relu6", 64, threads=2, **settings)  # threads do not enter the key
    assert again == r
    with pytest.warns(TableFallbackWarning, match="read from rwinit's cache"):
        gain("relu6", 64, progress=False, **settings)
    with pytest.warns(TableFallbackWarning, match="computing"):
        other = gain("relu6", 64, model="paper", ci_halfwidth=0.05, seed=2)  # another seed
    assert other.g != r.g
    with pytest.warns(TableFallbackWarning, match="computing"):
        assert gain("relu6", 64, cache=False, **settings).g == r.g


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_values_match_reference(name):
    np.testing.assert_allclose(get_nonlinearity(name)(X), REFERENCE[name](X), rtol=1e-13,
                               atol=1e-15)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_derivative_matches_central_differences(name):
    nl = get_nonlinearity(name)
    h = 1e-6
    x = X[np.abs(X[:, None] - KINKS).min(axis=1) > 1e-5]
    fd = (REFERENCE[name](x + h) - REFERENCE[name](x - h)) / (2 * h)
    np.testing.assert_allclose(nl.derivative(x), fd, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("name", [n for n in BUILTIN_NONLINEARITIES
                                  if get_nonlinearity(n).scalar_derivative_of_output])
def test_derivative_of_output_equals_derivative(name):
    """The kernels' shortcut f'(a) = h(f(a)) gives the same f' as the direct formula."""
    nl = get_nonlinearity(name)
    h = nl.scalar_derivative_of_output
    y = nl(X)
    np.testing.assert_allclose([h(v, nl.param) for v in y], nl.derivative(X), rtol=1e-9,
                               atol=1e-12)


@pytest.mark.parametrize("name", BUILTIN_NONLINEARITIES)
def test_homogeneous_flag_is_true_exactly_for_positively_homogeneous_f(name):
    nl = get_nonlinearity(name)
    scaled = nl(3.7 * X)
    assert nl.homogeneous == bool(np.allclose(scaled, 3.7 * nl(X), rtol=1e-12, atol=1e-12))


def test_parameter_in_the_name_and_as_argument():
    assert get_nonlinearity("leaky_relu:0.2")(np.array([-1.0]))[0] == pytest.approx(-0.2)
    assert get_nonlinearity("leaky_relu", param=0.3)(np.array([-1.0]))[0] == pytest.approx(-0.3)
    assert get_nonlinearity("leaky_relu:0.2").label == "leaky_relu:0.2"
    assert get_nonlinearity("leaky_relu").param == 0.01  # the registry's default is untouched
    assert get_nonlinearity("elu:0.5")(np.array([-50.0]))[0] == pytest.approx(-0.5)


@pytest.mark.parametrize("spec", ["nope", "tanh2", "", "leaky_relu:x", "leaky_relu:inf"])
def test_bad_names_are_rejected_with_the_known_ones(spec):
    with pytest.raises(RwinitError) as info:
        get_nonlinearity(spec)
    message = str(info.value)
    if spec.partition(":")[0] not in BUILTIN_NONLINEARITIES:
        assert all(n in message for n in BUILTIN_NONLINEARITIES)


def test_arrays_keep_their_shape_and_are_float64():
    nl = get_nonlinearity("tanh")
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    y = nl(x)
    assert y.shape == (3, 4) and y.dtype == np.float64
    assert math.isclose(y[2, 3], math.tanh(11.0), rel_tol=1e-14)
