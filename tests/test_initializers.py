"""Initializers: laws (KS tests), moments within standard errors, structure, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from rwinit import initializers as I
from rwinit.errors import RwinitError
from rwinit.nonlinearities import get_nonlinearity

SHAPES = [(300, 200), (150, 400), (256, 256)]
ALPHA = 1e-3  # KS significance; each test uses a fixed seed


def _ks(w: np.ndarray, dist) -> float:
    return stats.kstest(w.ravel(), dist.cdf).pvalue


def _u(half: float):
    """U(-half, half) as a frozen scipy law."""
    return stats.uniform(-half, 2 * half)


# (initializer, frozen law of one entry given (fan_out, fan_in))
LAWS = {
    "random_walk": (lambda s, r: I.random_walk(s, r, gain=1.3),
                    lambda m, n: stats.norm(0, 1.3 / math.sqrt(n))),
    "classic_uniform": (I.classic_uniform,
                        lambda m, n: _u(1 / math.sqrt(n))),
    "glorot_uniform": (I.glorot_uniform,
                       lambda m, n: _u(math.sqrt(6 / (m + n)))),
    "glorot_normal": (I.glorot_normal, lambda m, n: stats.norm(0, math.sqrt(2 / (m + n)))),
    "he_normal": (I.he_normal, lambda m, n: stats.norm(0, math.sqrt(2 / n))),
    "he_uniform": (I.he_uniform, lambda m, n: _u(math.sqrt(6 / n))),
    "lecun_normal": (I.lecun_normal, lambda m, n: stats.norm(0, math.sqrt(1 / n))),
    "lecun_uniform": (I.lecun_uniform,
                      lambda m, n: _u(math.sqrt(3 / n))),
}


@pytest.mark.parametrize("name", list(LAWS))
@pytest.mark.parametrize("shape", SHAPES)
def test_stated_law_ks(name, shape):
    init, law = LAWS[name]
    w = init(shape, np.random.default_rng(1234))
    assert w.shape == shape and w.dtype == np.float64
    assert _ks(w, law(*shape)) > ALPHA


@pytest.mark.parametrize("shape", SHAPES)
def test_random_walk_variance_within_standard_error(shape):
    g = 1.15
    w = I.random_walk(shape, 7, gain=g)
    sigma2 = g**2 / shape[1]
    n = w.size
    se = sigma2 * math.sqrt(2 / (n - 1))  # standard error of a Gaussian sample variance
    assert abs(w.var() - sigma2) < 5 * se
    assert abs(w.mean()) < 5 * math.sqrt(sigma2 / n)


def test_random_walk_is_not_divided_by_fan_in():
    # docs/design.md §Using a gain (pitfall): std must be g/sqrt(fan_in), not g/fan_in.
    n = 400
    w = I.random_walk((300, n), 3, gain=1.0)
    assert _ks(w, stats.norm(0, 1.0 / n)) < 1e-10
    assert _ks(w, stats.norm(0, 1.0 / math.sqrt(n))) > ALPHA


def test_same_seed_same_draw_and_generator_accepted():
    a = I.he_normal((20, 30), 5)
    b = I.he_normal((20, 30), np.random.default_rng(5))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, I.he_normal((20, 30), 6))


@pytest.mark.parametrize("mode,fan", [("fan_in", 200), ("fan_out", 300), ("fan_avg", 250)])
def test_variance_scaling_modes(mode, fan):
    w = I.variance_scaling((300, 200), 11, scale=2.0, mode=mode)
    sigma2 = 2.0 / fan
    assert abs(w.var() - sigma2) < 5 * sigma2 * math.sqrt(2 / (w.size - 1))


@pytest.mark.parametrize("gain", [1.0, 1.7])
def test_orthogonal_square(gain):
    w = I.orthogonal((64, 64), 0, gain=gain)
    np.testing.assert_allclose(w @ w.T, gain**2 * np.eye(64), atol=1e-12)


def test_orthogonal_rectangular_keeps_fan_in_variance():
    # tall (fan_out > fan_in): columns orthogonal, W^T W = g^2 (m/n) I
    m, n, g = 120, 40, 1.2
    w = I.orthogonal((m, n), 1, gain=g)
    np.testing.assert_allclose(w.T @ w, g**2 * m / n * np.eye(n), atol=1e-12)
    # wide: rows orthogonal, W W^T = g^2 I (max(m, n)/fan_in = 1)
    w = I.orthogonal((n, m), 2, gain=g)
    np.testing.assert_allclose(w @ w.T, g**2 * np.eye(n), atol=1e-12)


def test_orthogonal_is_haar_distributed():
    # an entry of a Haar orthogonal N x N matrix times sqrt(N) is close to N(0, 1); pool many
    n = 40
    entries = np.concatenate([I.orthogonal((n, n), s)[0] * math.sqrt(n) for s in range(200)])
    assert stats.kstest(entries, "norm").pvalue > ALPHA


@pytest.mark.parametrize("k", [1, 5, 15])
def test_sparse_exactly_k_per_row_and_law(k):
    g = 1.1
    w = I.sparse((500, 60), 3, k=k, gain=g)
    assert np.all(np.count_nonzero(w, axis=1) == k)
    nz = w[w != 0]
    assert stats.kstest(nz, stats.norm(0, g / math.sqrt(k)).cdf).pvalue > ALPHA


def test_sparse_positions_uniform():
    # each column is chosen with probability k/fan_in per row; chi-square over columns
    k, n_in, rows = 5, 30, 3000
    w = I.sparse((rows, n_in), 4, k=k)
    counts = np.count_nonzero(w, axis=0)
    assert stats.chisquare(counts).pvalue > ALPHA


def test_biases():
    assert np.array_equal(I.zeros_bias(4), np.zeros(4))
    assert np.array_equal(I.constant_bias(3, 0.1), np.full(3, 0.1))
    b = I.classic_uniform_bias(25, 5000, 0)
    assert b.min() >= -0.2 and b.max() <= 0.2
    assert stats.kstest(b, stats.uniform(-0.2, 0.4).cdf).pvalue > ALPHA


def test_output_bias_softmax_equals_marginals():
    labels = np.array([0] * 50 + [1] * 30 + [2] * 15 + [3] * 5)
    b = I.output_bias_from_marginals(labels, 4)
    p = np.exp(b) / np.exp(b).sum()
    np.testing.assert_allclose(p, [0.5, 0.3, 0.15, 0.05], rtol=1e-12)
    with pytest.raises(RwinitError, match="never occur"):
        I.output_bias_from_marginals(np.array([0, 1, 1]), 3)


def test_lsuv_sets_unit_preactivation_variance():
    rng = np.random.default_rng(0)
    sizes = [20, 50, 50, 50, 50, 10]
    ws = [I.orthogonal((sizes[i + 1], sizes[i]), rng, gain=3.0) for i in range(5)]
    bs = [np.zeros(s) for s in sizes[1:]]
    x = rng.standard_normal((128, 20))
    before = [w.copy() for w in ws]
    out = I.lsuv(ws, bs, x, "tanh", tol=0.01)
    assert all(np.array_equal(a, b) for a, b in zip(ws, before, strict=True))  # inputs kept
    tanh = get_nonlinearity("tanh")
    h = x
    for d, w in enumerate(out[:-1]):
        a = h @ w.T
        assert abs(a.var() - 1.0) < 0.01, d
        h = tanh(a)
    assert np.array_equal(out[-1], ws[-1])  # read-out left alone


def test_errors():
    with pytest.raises(RwinitError, match="initializer"):
        I.get_initializer("kaiming_magic")
    with pytest.raises(RwinitError, match="shape"):
        I.random_walk((3, 4, 5), 0)
    with pytest.raises(RwinitError, match="fan mode"):
        I.variance_scaling((3, 4), 0, mode="fan_max")
    with pytest.raises(RwinitError, match="sparsity"):
        I.sparse((3, 4), 0, k=5)
