"""The per-lane random streams of the batched kernel (rwinit.kernels.rng)."""

from __future__ import annotations

import numpy as np
import pytest

from rwinit.kernels.rng import fill_normals, seed_lanes, seed_words
from rwinit.walk import chunk_seed


@pytest.mark.parametrize("entropy", [0, 1, 2**40, 12345678901234567890123, [3, 1, 4]])
@pytest.mark.parametrize("spawn_key", [(), (7,), (1, 2, 3)])
@pytest.mark.parametrize("pool_size", [4, 8])
def test_seed_words_are_numpys_generate_state(entropy, spawn_key, pool_size):
    ss = np.random.SeedSequence(entropy, spawn_key=spawn_key, pool_size=pool_size)
    for n in (1, 2, 3, 4, 5, 128, 512, 1500, 3000):  # 3000: past the cached hash constants
        expected = ss.generate_state(n, np.uint64)
        got = seed_words(ss, n)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


def test_seed_lanes_lays_the_words_out_four_by_lanes():
    ss = chunk_seed(np.random.SeedSequence(9), 3)
    state = seed_lanes(ss, 32)
    assert state.shape == (4, 32) and state.flags.c_contiguous
    np.testing.assert_array_equal(state, ss.generate_state(128, np.uint64).reshape(4, 32))


def test_lane_normals_have_unit_variance_and_no_lane_correlation():
    rows, lanes = 2001, 64  # an odd count: the spare row is written, the rest are normals
    z = np.empty((rows + 1, lanes))
    fill_normals(seed_lanes(np.random.SeedSequence(5), lanes), z, 0, rows)
    x = z[:rows].ravel()
    n = x.size
    assert abs(x.mean()) < 5 / np.sqrt(n)
    assert abs(x.var() - 1.0) < 5 * np.sqrt(2.0 / n)
    assert abs(np.mean(x**4) - 3.0) < 5 * np.sqrt(96.0 / n)  # Var x⁴ = 105 − 9
    # neighbouring lanes come from independent generators
    r = np.corrcoef(z[:rows, :-1].ravel(), z[:rows, 1:].ravel())[0, 1]
    assert abs(r) < 5 / np.sqrt(n)
