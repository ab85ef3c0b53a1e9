"""The infinite-width correlation map against its closed form, exact finite-width sampling
against explicit weight matrices, and the two against each other at large width
(rwinit.correlation; Poole et al. 2016, Cho & Saul 2009)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import rwinit
from rwinit import correlation
from rwinit.errors import RwinitError


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    x1 = rng.standard_normal(64)
    return x1, 0.3 * x1 + rng.standard_normal(64)


def _explicit(nl, x1, x2, gain, width, depth, draws, bias_std, rng):
    """1 − cos of layer-d pre-activations through explicit N×n weight matrices."""
    f = rwinit.get_nonlinearity(nl)
    out = np.empty((draws, depth))
    for k in range(draws):
        h = np.stack([x1, x2], axis=1)
        for d in range(depth):
            W = rng.standard_normal((width, h.shape[0])) * gain / math.sqrt(h.shape[0])
            a = W @ h + bias_std * rng.standard_normal(width)[:, None]
            out[k, d] = 1 - a[:, 0] @ a[:, 1] / np.linalg.norm(a[:, 0]) / np.linalg.norm(a[:, 1])
            h = f(a)
    return out


@pytest.mark.parametrize("nl", ["relu", "tanh"])
def test_sampler_matches_explicit_network(pair, nl):
    x1, x2 = pair
    draws = 1500
    a = _explicit(nl, x1, x2, 1.3, 16, 5, draws, 0.2, np.random.default_rng(1))
    b = correlation.sample_one_minus_cos(nl, x1, x2, 1.3, 16, 5, draws=draws, bias_std=0.2,
                                         seed=2)
    se = np.sqrt(a.var(axis=0, ddof=1) / draws + b.var(axis=0, ddof=1) / draws)
    assert np.all(np.abs(a.mean(axis=0) - b.mean(axis=0)) < 5 * se)


@pytest.mark.parametrize("one_minus_c", [1.6, 0.5, 0.1, 1e-2])
@pytest.mark.parametrize("bias_std", [0.0, 0.3])
def test_relu_closed_form_equals_quadrature(one_minus_c, bias_std):
    f = rwinit.get_nonlinearity("relu")
    exact = correlation._relu_step(1.3, 0.8, one_minus_c, 1.4, bias_std**2)
    quad = correlation._quadrature_step(f, 1.3, 0.8, one_minus_c, 1.4, bias_std**2, 300)
    assert exact[:2] == pytest.approx(quad[:2], rel=1e-9)
    # the kink limits Gauss–Hermite's accuracy: 300 nodes give 2 to 4 digits
    assert exact[2] == pytest.approx(quad[2], rel=1e-2)


def test_relu_map_is_the_arc_cosine_recursion(pair):
    """σ_b = 0: c' = (sin θ + (π − θ) cos θ)/π whatever g (Cho & Saul 2009)."""
    x1, x2 = pair
    t = correlation.correlation_map("relu", x1, x2, 1.7, 30)
    c = 1.0 - t.one_minus_c
    theta = np.arccos(np.clip(c[:-1], -1, 1))
    expected = (np.sin(theta) + (np.pi - theta) * c[:-1]) / np.pi
    np.testing.assert_allclose(c[1:], expected, rtol=1e-12, atol=1e-12)
    other = correlation.correlation_map("relu", x1, x2, 0.9, 30)
    np.testing.assert_allclose(other.one_minus_c, t.one_minus_c, rtol=1e-12)
    assert t.q11[1] == pytest.approx(1.7**2 * t.q11[0] / 2)


def test_linear_map_keeps_the_cosine(pair):
    x1, x2 = pair
    t = correlation.correlation_map("linear", x1, x2, 1.2, 8)
    cos0 = x1 @ x2 / np.linalg.norm(x1) / np.linalg.norm(x2)
    np.testing.assert_allclose(t.cos, cos0, rtol=1e-10)


@pytest.mark.parametrize("nl", ["tanh", "relu", "gelu"])
@pytest.mark.parametrize("bias_std", [0.0, 0.3])
def test_measured_agrees_with_map_at_large_width(pair, nl, bias_std):
    """At N = 4096 the mean over network draws is the map's value within 5 SE."""
    x1, x2 = pair
    g = rwinit.gain(nl, 4096).g
    draws = 100
    m = correlation.sample_one_minus_cos(nl, x1, x2, g, 4096, 12, draws=draws,
                                         bias_std=bias_std, seed=3)
    expected = correlation.correlation_map(nl, x1, x2, g, 12, bias_std=bias_std).one_minus_c
    se = m.std(axis=0, ddof=1) / math.sqrt(draws)
    assert np.all(np.abs(m.mean(axis=0) - expected) < 5 * se)


def test_bad_input():
    with pytest.raises(RwinitError, match="equal length"):
        correlation.correlation_map("tanh", np.ones(3), np.ones(4), 1.0, 3)
    with pytest.raises(RwinitError, match="bias_std"):
        correlation.correlation_map("tanh", np.ones(3), np.ones(3), 1.0, 3, bias_std=-1)
    with pytest.raises(RwinitError):
        correlation.sample_one_minus_cos("tanh", np.ones(3), np.ones(3), 1.0, 0, 3)
