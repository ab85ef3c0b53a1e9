"""Optimizers: first two steps by hand from the algorithm boxes of *Deep Learning* ch. 8,
and side by side with torch.optim where the algorithms coincide."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rwinit.errors import RwinitError
from rwinit.training import optimizers as O

THETA0 = np.array([1.0, -2.0])
G1 = np.array([0.5, -0.25])  # fixed gradients for steps 1 and 2
G2 = np.array([-0.3, 0.125])


def _two_steps(opt, grads=(G1, G2)):
    params = [THETA0.copy()]
    state = opt.init(params)
    out = []
    for g in grads:
        updates, state = opt.update([g.copy()], state, params)
        params = O.apply_updates(params, updates)
        out.append(params[0])
    return out


def test_sgd_alg_8_1():
    eps = 0.1
    t1, t2 = _two_steps(O.sgd(eps))
    np.testing.assert_allclose(t1, THETA0 - eps * G1, rtol=1e-15)
    np.testing.assert_allclose(t2, THETA0 - eps * G1 - eps * G2, rtol=1e-15)


def test_momentum_alg_8_2():
    eps, alpha = 0.1, 0.9
    v1 = alpha * 0.0 - eps * G1
    th1 = THETA0 + v1
    v2 = alpha * v1 - eps * G2
    th2 = th1 + v2
    t1, t2 = _two_steps(O.momentum(eps, alpha))
    np.testing.assert_allclose(t1, th1, rtol=1e-15)
    np.testing.assert_allclose(t2, th2, rtol=1e-15)


def _quadratic_grad(theta):
    # f(θ) = ½ θᵀ diag(c) θ with c = (2, 0.5): ∇f = c ⊙ θ
    return np.array([2.0, 0.5]) * theta


def _run_on_quadratic(opt, steps=2):
    params = [THETA0.copy()]
    state = opt.init(params)
    out = []
    for _ in range(steps):
        updates, state = opt.update([_quadratic_grad(params[0])], state, params)
        params = O.apply_updates(params, updates)
        out.append(params[0])
    return out


def test_nesterov_alg_8_3():
    # the box: gradient at the interim point θ̃ = θ + αv; we track φ = θ + αv
    eps, alpha = 0.1, 0.9
    th, v = THETA0.copy(), np.zeros(2)
    phis = []
    for _ in range(2):
        g = _quadratic_grad(th + alpha * v)
        v = alpha * v - eps * g
        th = th + v
        phis.append(th + alpha * v)
    out = _run_on_quadratic(O.nesterov(eps, alpha))
    np.testing.assert_allclose(out[0], phis[0], rtol=1e-14)
    np.testing.assert_allclose(out[1], phis[1], rtol=1e-14)


def test_adagrad_alg_8_4():
    eps, delta = 0.01, 1e-7
    r1 = G1 * G1
    th1 = THETA0 - eps / (delta + np.sqrt(r1)) * G1
    r2 = r1 + G2 * G2
    th2 = th1 - eps / (delta + np.sqrt(r2)) * G2
    t1, t2 = _two_steps(O.adagrad(eps))  # default δ = 1e-7 as in the box
    np.testing.assert_allclose(t1, th1, rtol=1e-14)
    np.testing.assert_allclose(t2, th2, rtol=1e-14)


def test_rmsprop_alg_8_5():
    eps, rho, delta = 0.001, 0.9, 1e-6
    r1 = rho * 0.0 + (1 - rho) * G1 * G1
    th1 = THETA0 - eps / np.sqrt(delta + r1) * G1
    r2 = rho * r1 + (1 - rho) * G2 * G2
    th2 = th1 - eps / np.sqrt(delta + r2) * G2
    t1, t2 = _two_steps(O.rmsprop(eps, rho))  # default δ = 1e-6 as in the box
    np.testing.assert_allclose(t1, th1, rtol=1e-14)
    np.testing.assert_allclose(t2, th2, rtol=1e-14)


def test_rmsprop_nesterov_alg_8_6():
    eps, rho, alpha = 0.01, 0.9, 0.5
    th, v, r = THETA0.copy(), np.zeros(2), np.zeros(2)
    phis = []
    for _ in range(2):
        g = _quadratic_grad(th + alpha * v)  # interim point
        r = rho * r + (1 - rho) * g * g
        v = alpha * v - eps / np.sqrt(r) * g  # the box has no δ: use delta=0
        th = th + v
        phis.append(th + alpha * v)
    out = _run_on_quadratic(O.rmsprop_nesterov(eps, rho, alpha, delta=0.0))
    np.testing.assert_allclose(out[0], phis[0], rtol=1e-14)
    np.testing.assert_allclose(out[1], phis[1], rtol=1e-14)


def test_adam_alg_8_7():
    eps, rho1, rho2, delta = 0.001, 0.9, 0.999, 1e-8
    s1 = (1 - rho1) * G1
    r1 = (1 - rho2) * G1 * G1
    th1 = THETA0 - eps * (s1 / (1 - rho1)) / (np.sqrt(r1 / (1 - rho2)) + delta)
    s2 = rho1 * s1 + (1 - rho1) * G2
    r2 = rho2 * r1 + (1 - rho2) * G2 * G2
    th2 = th1 - eps * (s2 / (1 - rho1**2)) / (np.sqrt(r2 / (1 - rho2**2)) + delta)
    t1, t2 = _two_steps(O.adam())  # the box's defaults
    # first Adam step has size ≈ ε per coordinate, opposite to the gradient's sign
    np.testing.assert_allclose(t1, THETA0 - eps * np.sign(G1), rtol=1e-6)
    np.testing.assert_allclose(t1, th1, rtol=1e-14)
    np.testing.assert_allclose(t2, th2, rtol=1e-14)


def test_states_are_immutable_and_inputs_untouched():
    opt = O.adam(0.1)
    params = [THETA0.copy()]
    state0 = opt.init(params)
    g = [G1.copy()]
    _, state1 = opt.update(g, state0, params)
    assert np.array_equal(g[0], G1) and np.array_equal(params[0], THETA0)
    assert state0[0].count == 0 and np.all(state0[0].s[0] == 0)
    assert state1[0].count == 1
    with pytest.raises(AttributeError):
        state1[0].count = 5


def test_per_parameter_learning_rates_and_schedules():
    params = [np.ones(2), np.ones(3)]
    opt = O.sgd([0.1, 0.2])
    updates, _ = opt.update([np.ones(2), np.ones(3)], opt.init(params))
    np.testing.assert_allclose(updates[0], -0.1)
    np.testing.assert_allclose(updates[1], -0.2)
    opt = O.sgd(lambda k: 1.0 / (k + 1))
    state = opt.init(params)
    u1, state = opt.update([np.ones(2), np.ones(3)], state)
    u2, state = opt.update([np.ones(2), np.ones(3)], state)
    assert u1[0][0] == -1.0 and u2[0][0] == -0.5
    with pytest.raises(RwinitError, match="learning rates"):
        O.sgd([0.1, 0.2, 0.3]).update([np.ones(2)] * 2, O.CountState(0))
    with pytest.raises(RwinitError, match="optimizer"):
        O.get_optimizer("adamw", 0.1)


def test_clip_by_global_norm():
    rng = np.random.default_rng(0)
    clip = O.clip_by_global_norm(1.5)
    for scale in (0.01, 1.0, 100.0):
        grads = [scale * rng.standard_normal((3, 4)), scale * rng.standard_normal(5)]
        out, _ = clip.update(grads, clip.init(grads))
        norm = O.global_norm(out)
        assert norm <= 1.5 * (1 + 1e-12)
        before = O.global_norm(grads)
        if before <= 1.5:
            assert all(np.array_equal(a, b) for a, b in zip(out, grads, strict=True))
        else:
            assert norm == pytest.approx(1.5, rel=1e-12)
            # direction kept
            np.testing.assert_allclose(out[0] / norm, grads[0] / before, rtol=1e-12)


@pytest.mark.parametrize("name", list(O.OPTIMIZERS))
def test_each_optimizer_minimises_a_quadratic(name):
    lr = {"sgd": 0.1, "momentum": 0.05, "nesterov": 0.05, "adagrad": 0.5, "rmsprop": 0.01,
          "rmsprop_nesterov": 0.01, "adam": 0.05}[name]
    out = _run_on_quadratic(O.get_optimizer(name, lr), steps=400)
    assert np.linalg.norm(out[-1]) < 0.05 * np.linalg.norm(THETA0)


# --- side by side with torch.optim --------------------------------------------------------


def _torch_pairs():
    return [
        ("sgd", O.sgd(0.1), lambda p, t: t.optim.SGD(p, lr=0.1)),
        ("momentum", O.momentum(0.1, 0.9), lambda p, t: t.optim.SGD(p, lr=0.1, momentum=0.9)),
        ("nesterov", O.nesterov(0.1, 0.9),
         lambda p, t: t.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
        ("adagrad", O.adagrad(0.1), lambda p, t: t.optim.Adagrad(p, lr=0.1, eps=1e-7)),
        # torch adds eps outside the root, the box inside: they coincide at δ = 0
        ("rmsprop", O.rmsprop(0.01, 0.9, delta=0.0),
         lambda p, t: t.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=0.0)),
        ("adam", O.adam(0.01), lambda p, t: t.optim.Adam(p, lr=0.01, betas=(0.9, 0.999), eps=1e-8)),
    ]


@pytest.mark.parametrize("index", range(6))
def test_matches_torch_optim(index):
    torch = pytest.importorskip("torch")
    name, ours, make_theirs = _torch_pairs()[index]
    rng = np.random.default_rng(index)
    a = rng.standard_normal((4, 4))
    hess = a @ a.T + np.eye(4)  # f(θ) = ½ θᵀ H θ + bᵀθ
    b = rng.standard_normal(4)
    theta = rng.standard_normal(4)
    tp = torch.tensor(theta.copy(), dtype=torch.float64, requires_grad=True)
    theirs = make_theirs([tp], torch)
    params = [theta.copy()]
    state = ours.init(params)
    for _ in range(10):
        updates, state = ours.update([hess @ params[0] + b], state, params)
        params = O.apply_updates(params, updates)
        theirs.zero_grad()
        tp.grad = torch.tensor(hess @ tp.detach().numpy() + b)
        theirs.step()
        np.testing.assert_allclose(params[0], tp.detach().numpy(), rtol=1e-11, atol=1e-13,
                                   err_msg=name)
    assert math.isfinite(float(params[0][0]))
