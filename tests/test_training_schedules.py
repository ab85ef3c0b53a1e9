"""Schedules against their formulas."""

from __future__ import annotations

import numpy as np
import pytest

from rwinit.errors import RwinitError
from rwinit.training import schedules as S


def test_constant():
    s = S.constant(0.3)
    assert [s(k) for k in (0, 1, 10**6)] == [0.3, 0.3, 0.3]


def test_linear_decay_eq_8_14():
    e0, et, tau = 0.1, 0.001, 200
    s = S.linear_decay(e0, et, tau)
    for k in (0, 1, 57, 100, 199):
        alpha = k / tau
        assert s(k) == pytest.approx((1 - alpha) * e0 + alpha * et, rel=1e-14)
    assert s(tau) == pytest.approx(et, rel=1e-14)
    assert s(tau + 1) == s(10 * tau) == pytest.approx(et, rel=1e-14)


def test_exponential_decay_per_epoch():
    s = S.exponential_decay(0.1, 0.5, steps_per_epoch=10)
    assert s(0) == s(9) == 0.1
    assert s(10) == pytest.approx(0.05) and s(29) == pytest.approx(0.025)


def test_depth_scaled_rates():
    lam_in, lam_out, d_max = 0.5, 0.005, 100
    r = (lam_in / lam_out) ** (1 / (d_max - 1))
    rates = S.depth_scaled_rates(lam_in, lam_out, d_max)
    assert rates[-1] == pytest.approx(lam_out)  # top layer d = D
    assert rates[0] == pytest.approx(lam_in)  # first layer of the deepest net
    np.testing.assert_allclose(rates[:-1] / rates[1:], r, rtol=1e-12)
    shallow = S.depth_scaled_rates(lam_in, lam_out, 10, max_depth=d_max)
    np.testing.assert_allclose(shallow, lam_out * r ** (10 - np.arange(1, 11)), rtol=1e-12)
    assert S.depth_scaled_rates(lam_in, lam_out, 1)[0] == lam_out
    with pytest.raises(RwinitError):
        S.depth_scaled_rates(lam_in, lam_out, 10, max_depth=5)


def test_per_layer():
    f = S.per_layer(S.linear_decay(1.0, 0.01, 10), [2.0, 3.0])
    assert f(0) == [2.0, 2.0, 3.0, 3.0]
    assert f(10) == pytest.approx([0.02, 0.02, 0.03, 0.03])


def test_bad_values():
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(RwinitError):
            S.constant(bad)
    with pytest.raises(RwinitError):
        S.linear_decay(0.1, 0.001, 0)
