"""Depth-aware gain tables: interpolation in (ln N, ln D), its SE, and missing rows."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from rwinit import optimal_gain
from rwinit.lookup import TableFallbackWarning, gain
from rwinit.tables.depth import DepthTable
from rwinit.tables.table import GainTable, TableMissError


@pytest.fixture(autouse=True)
def private_answer_cache(tmp_path, monkeypatch):
    """Computed gains go to a fresh folder, not the user's cache (the compiled kernels
    stay where they are)."""
    from rwinit import cache

    monkeypatch.setattr(cache, "cache_dir", lambda: tmp_path / "cache")


def row(nl, width, depth, g, se, status="ok"):
    ok = status == "ok"
    return dict(nonlinearity=nl, width=width, depth=depth, model="network", weights="gaussian",
                bias_std=0.0, g=g if ok else math.nan, se=se if ok else math.nan,
                ci_low=g - 1.96 * se if ok else math.nan,
                ci_high=g + 1.96 * se if ok else math.nan, confidence=0.95,
                method="root" if ok else "none", samples=100, evaluations=3, layers=10, dead=0,
                seed=1, seconds=0.1, status=status, message="" if ok else "no root")


def synthetic(g_of, widths=(16, 64), depths=(2, 8, 500), stationary=True, drop=()):
    rows = [row("tanh", n, d, g_of(n, d), 0.01) for n in widths for d in depths
            if (n, d) not in drop]
    if stationary:
        rows += [row("tanh", n, None, g_of(n, None), 0.02) for n in widths]
    return GainTable(rows)


def test_interpolation_is_linear_in_1_over_n_and_ln_d_with_the_se_of_the_interpolant():
    def g_of(n, d):  # linear in (1/N, ln D): the interpolant must be exact
        return 1.0 + 2.0 / n + (0.05 * math.log(d) if d else 0.5)

    table = DepthTable(synthetic(g_of))
    r = table.lookup("tanh", 32, 4)
    assert r.g == pytest.approx(g_of(32, 4), rel=1e-12) and r.source == "interpolated"
    # s = (1/16 − 1/32)/(1/16 − 1/64) = 2/3 in 1/N, t = ½ in ln D; every row has SE 0.01
    s, t = 2 / 3, 0.5
    weights = [(1 - s) * (1 - t), s * (1 - t), (1 - s) * t, s * t]
    assert r.se == pytest.approx(0.01 * math.sqrt(sum(w * w for w in weights)), rel=1e-12)
    assert r.depth == 4 and r.neighbours == (16, 64)
    assert r.ci_low == pytest.approx(r.g - 1.959964 * r.se, rel=1e-6)
    exact = table.lookup("tanh", 16, 8)
    assert exact.g == g_of(16, 8) and exact.source == "table" and exact.depth == 8
    assert table.lookup("tanh", 32, None).g == pytest.approx(g_of(32, None), rel=1e-12)


def test_beyond_the_deepest_row_it_goes_to_the_stationary_value_in_1_over_d():
    def g_of(n, d):
        return 1.2 if d is None else 1.2 + 0.8 / d  # exactly linear in 1/D

    table = DepthTable(synthetic(g_of))
    for D in (501, 1000, 10**6):
        assert table.lookup("tanh", 16, D).g == pytest.approx(1.2 + 0.8 / D, rel=1e-12)
    assert table.lookup("tanh", 16, None).g == 1.2
    with pytest.raises(TableMissError, match="outside the depth table's depths"):
        table.lookup("tanh", 16, 1)
    no_stationary = DepthTable(synthetic(g_of, stationary=False))
    with pytest.raises(TableMissError, match="outside"):
        no_stationary.lookup("tanh", 16, 501)
    # the stationary column can come from another table
    joined = DepthTable(synthetic(g_of, stationary=False), stationary=synthetic(g_of))
    assert joined.lookup("tanh", 16, 1000).g == pytest.approx(1.2008, rel=1e-12)
    # a table whose deep columns are missing does not bridge the gap to stationary
    shallow = DepthTable(synthetic(g_of, depths=(2, 8)))
    with pytest.raises(TableMissError, match="outside"):
        shallow.lookup("tanh", 16, 50)


def test_an_incomplete_column_is_not_used_and_gain_falls_back_to_computing():
    def g_of(n, d):
        return 1.3

    partial = synthetic(g_of, depths=(2, 8, 32), drop={(64, 32)})
    table = DepthTable(partial)
    assert table.depths("tanh") == (2, 8, None)
    assert table.lookup("tanh", 20, 5).g == pytest.approx(1.3)
    # depth 16 needs the incomplete column 32: a miss
    with pytest.raises(TableMissError, match="outside"):
        table.lookup("tanh", 20, 16)
    with pytest.raises(TableMissError, match="no complete depth column"):
        DepthTable(synthetic(g_of, depths=(2,), drop={(64, 2)})).lookup("tanh", 20, 2)
    # rwinit.gain: a miss computes (with a warning), a hit does not
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gain("tanh", 20, depth=5, table=partial).g == pytest.approx(1.3)
    with pytest.warns(TableFallbackWarning):
        r = gain("tanh", 128, depth=5, table=partial, samples=64)
    assert r.source == "computed"


def test_a_failed_grid_row_is_reported_not_interpolated_over():
    rows = [row("tanh", n, d, 1.1, 0.01) for n in (16, 64) for d in (2, 8)]
    rows[0] = row("tanh", 16, 2, 0.0, 0.0, status="failed")
    with pytest.raises(TableMissError, match="neighbouring width"):
        DepthTable(GainTable(rows)).lookup("tanh", 32, 2)


def test_interpolation_matches_direct_solves_at_random_off_grid_points(tmp_path):
    """A small real table (tanh, N 16-64, D 2-16: where g* moves most, with the shipped
    table's spacing, √2 in N and ~1.5 in D) against 20 direct solves: within 3 SE.

    Fixed sample counts (not CI targets), so that every SE comes from hundreds of
    samples; the direct solves use four times the table's samples and their own seeds.
    """
    from rwinit.tables.grid import make_grid
    from rwinit.tables.run import build_table

    widths, depths = (16, 23, 32, 45, 64), (2, 3, 4, 6, 8, 12, 16)
    grid = make_grid("tanh", widths, depths, ("network",), ("gaussian",))
    tab = build_table(grid, tmp_path / "depth.csv", seed=3, samples=512, workers=0)
    table = DepthTable(tab)
    rng = np.random.default_rng(2026)
    ratios = []
    while len(ratios) < 20:
        N = int(rng.integers(17, 64))
        D = int(rng.integers(3, 16))
        if N in widths or D in depths:
            continue
        t = table.lookup("tanh", N, D)
        assert t.source == "interpolated" and len(t.neighbours) == 2
        d = optimal_gain("tanh", N, depth=D, samples=2048, seed=int(rng.integers(2**31)))
        ratios.append(abs(t.g - d.g) / math.hypot(t.se, d.se))
    assert max(ratios) < 3.0, ratios


def test_the_shipped_depth_table_answers_depth_d_gains_without_computing():
    from rwinit.lookup import depth_table
    from rwinit.nonlinearities import TABLE_NONLINEARITIES

    tab = depth_table()
    assert tab.table.provenance["command"].startswith("python scripts/make_depth_table.py")
    for nl in TABLE_NONLINEARITIES:
        depths = tab.depths(nl)
        assert depths[0] == 1 and depths[-1] is None and max(d for d in depths if d) >= 100
    rows = {(r["width"], r["depth"]): r for r in tab.table.rows
            if r["nonlinearity"] == "tanh" and r["status"] == "ok"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a TableFallbackWarning would mean computing
        at_row = gain("tanh", 256, depth=64)
        between = gain("tanh", 256, depth=50)
    assert at_row.source == "table" and at_row.g == rows[(256, 64)]["g"]
    lo, hi = sorted((rows[(256, 48)]["g"], rows[(256, 64)]["g"]))
    assert between.source == "interpolated" and lo <= between.g <= hi
