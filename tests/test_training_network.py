"""Network forward/backward against central finite differences, for every built-in
nonlinearity and both losses (float64)."""

from __future__ import annotations

import numpy as np
import pytest

from rwinit.errors import RwinitError
from rwinit.training.losses import get_loss, mean_squared_error, softmax_cross_entropy
from rwinit.training.network import Network

BUILTINS = ["linear", "relu", "leaky_relu", "tanh", "sigmoid", "elu", "selu", "gelu", "silu",
            "softplus"]


def _loss(net, params, x, target, loss_name):
    out = net.predict(params, x)
    return get_loss(loss_name)(out, target)[0]


def _check_gradient(net, params, x, target, loss_name, h=1e-6):
    out, cache = net.forward(params, x)
    _, delta = get_loss(loss_name)(out, target)
    grads = net.backward(params, cache, delta)
    worst = 0.0
    for p, g in zip(params, grads, strict=True):
        assert g.shape == p.shape
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + h
            up = _loss(net, params, x, target, loss_name)
            p[idx] = old - h
            down = _loss(net, params, x, target, loss_name)
            p[idx] = old
            fd = (up - down) / (2 * h)
            # rounding error of the difference ~ eps_mach |L| / h ~ 1e-10, truncation
            # O(h^2); allow 1e-8 absolute plus 1e-6 relative
            worst = max(worst, abs(fd - g[idx]) / (1e-8 + 1e-6 * abs(fd)))
    return worst


@pytest.mark.parametrize("nonlinearity", BUILTINS)
@pytest.mark.parametrize("loss_name", ["cross_entropy", "mse"])
def test_gradient_matches_finite_differences(nonlinearity, loss_name):
    rng = np.random.default_rng(42)
    sizes = [5, 7, 6, 4] if loss_name == "cross_entropy" else [5, 7, 6, 5]
    net = Network(sizes, nonlinearity)
    params = net.init_params(rng, gain=1.2)
    params = [p + 0.1 * rng.standard_normal(p.shape) for p in params]  # non-zero biases
    x = rng.standard_normal((3, 5))
    target = rng.integers(0, 4, 3) if loss_name == "cross_entropy" else x
    assert _check_gradient(net, params, x, target, loss_name) < 1.0


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu", "linear"])
def test_fast_path_equals_registry_functions(nonlinearity):
    rng = np.random.default_rng(0)
    fast = Network([6, 8, 8, 3], nonlinearity, fast=True)
    slow = Network([6, 8, 8, 3], nonlinearity, fast=False)
    params = fast.init_params(rng, gain=1.5)
    x = rng.standard_normal((4, 6))
    (o1, c1), (o2, c2) = fast.forward(params, x), slow.forward(params, x)
    np.testing.assert_allclose(o1, o2, rtol=1e-13, atol=1e-14)
    d = rng.standard_normal(o1.shape)
    for g1, g2 in zip(fast.backward(params, c1, d), slow.backward(params, c2, d), strict=True):
        np.testing.assert_allclose(g1, g2, rtol=1e-12, atol=1e-14)


def test_delta_norms_and_float32():
    rng = np.random.default_rng(1)
    net = Network([4, 5, 5, 3], "tanh")
    params = net.init_params(rng)
    x = rng.standard_normal((6, 4))
    out, cache = net.forward(params, x)
    delta = rng.standard_normal(out.shape)
    norms = np.empty(3)
    grads = net.backward(params, cache, delta, norms)
    assert norms[2] == pytest.approx(np.linalg.norm(delta))
    # db_1 = sum over the batch of delta_1, so |db_1| <= sqrt(B) |delta_1|
    assert np.linalg.norm(grads[1]) <= np.sqrt(6) * norms[0] + 1e-12
    net32 = Network([4, 5, 5, 3], "tanh", dtype=np.float32)
    p32 = [p.astype(np.float32) for p in params]
    out32, _ = net32.forward(p32, x)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out, rtol=1e-4, atol=1e-5)


def test_losses_known_values():
    # uniform logits: cross-entropy = ln C; gradient (1/C - onehot)/B
    logits = np.zeros((2, 4))
    loss, grad = softmax_cross_entropy(logits, np.array([1, 3]))
    assert loss == pytest.approx(np.log(4))
    np.testing.assert_allclose(grad[0], [0.125, -0.375, 0.125, 0.125])
    # huge logits do not overflow
    loss, _ = softmax_cross_entropy(np.array([[1000.0, 0.0]]), np.array([1]))
    assert loss == pytest.approx(1000.0)
    loss, grad = mean_squared_error(np.array([[1.0, 3.0]]), np.array([[0.0, 1.0]]))
    assert loss == pytest.approx((1 + 4) / 2)
    np.testing.assert_allclose(grad, [[1.0, 2.0]])


def test_init_params_gains_and_errors():
    net = Network([10, 400, 400, 3], "tanh")
    p = net.init_params(0, gain=2.0, first_gain=0.5, output_gain=1.0)
    # entry std g/sqrt(fan_in) per layer; relative SE of a std from n draws ~ 1/sqrt(2n)
    for w, g in zip(p[0::2], [0.5, 2.0, 1.0], strict=True):
        n = w.size
        assert abs(w.std() / (g / np.sqrt(w.shape[1])) - 1) < 5 / np.sqrt(2 * n)
    assert all(np.all(b == 0) for b in p[1::2])
    with pytest.raises(RwinitError):
        Network([3], "tanh")
    with pytest.raises(RwinitError):
        Network([3, 0, 2], "tanh")
    with pytest.raises(RwinitError, match="unknown nonlinearity"):
        Network([3, 2], "tanhh")
    with pytest.raises(RwinitError):
        net.check_params(p[:-1])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_frobenius_norm_is_numpys_to_the_last_bit(dtype):
    from rwinit.training.network import frobenius_norm

    rng = np.random.default_rng(3)
    for shape in [(16, 32), (10, 1771), (7,)]:
        for scale in (1e-3, 1.0, 1e3):
            a = (scale * rng.standard_normal(shape)).astype(dtype)
            for view in (a, a.T, a[..., ::2]):
                assert frobenius_norm(view) == float(np.linalg.norm(view))
