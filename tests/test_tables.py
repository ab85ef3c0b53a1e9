"""Gain tables: every format round-trips; corrupted and mismatched files are rejected;
lookup is exact at grid points and interpolates in ln N between them."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from rwinit.errors import RwinitError
from rwinit.tables import GainTable, TableMissError
from rwinit.tables.grid import make_grid, parse_depths, parse_widths, row_seed
from rwinit.tables.io import read_table, write_table
from rwinit.tables.schema import COLUMNS, SCHEMA_VERSION, file_checksum, is_legacy, rows_checksum


def _row(nl="tanh", width=16, depth=None, model="network", g=1.2, se=0.01, status="ok"):
    ok = status == "ok"
    return dict(nonlinearity=nl, width=width, depth=depth, model=model, weights="gaussian",
                bias_std=0.0, g=g if ok else math.nan, se=se if ok else math.nan,
                ci_low=g - 1.96 * se if ok else math.nan,
                ci_high=g + 1.96 * se if ok else math.nan, confidence=0.95,
                method="root" if ok else "none", samples=100 if ok else 0, evaluations=12,
                layers=10**6, dead=0, seed=row_seed(0, (nl, width, depth, model, "gaussian", 0.0)),
                seconds=1.5, status=status, message="" if ok else "could not bracket")


def _table() -> GainTable:
    rows = [_row(width=w, g=1.0 + 4.0 / w, se=0.002 * (1 + w / 64)) for w in (8, 16, 64, 256)]
    rows.append(_row(width=4, g=0, status="failed"))
    rows.append(_row(nl="relu", width=16, depth=50, model="paper", g=1.5, se=0.0))
    return GainTable(rows, {"schema": "rwinit.gain-table", "schema_version": SCHEMA_VERSION,
                            "command": "test", "settings": {"seed": 0}})


def _same_rows(a, b):
    assert len(a) == len(b)
    for ra, rb in zip(a, b, strict=True):
        for c in COLUMNS:
            x, y = ra[c], rb[c]
            assert (isinstance(x, float) and math.isnan(x) and math.isnan(y)) or x == y, c
            assert type(x) is type(y), c


@pytest.mark.parametrize("ext", ["csv", "json", "npz"])
def test_round_trip_every_format(tmp_path, ext):
    table = _table()
    path = tmp_path / f"t.{ext}"
    table.save(path)
    back = GainTable.load(path)
    _same_rows(table.rows, back.rows)
    assert back.provenance["rows_sha256"] == table.provenance["rows_sha256"]
    assert back.provenance["command"] == "test"
    # a table read from one format and written to another keeps its checksum
    other = tmp_path / ("u.json" if ext != "json" else "u.csv")
    back.save(other)
    assert GainTable.load(other).provenance["rows_sha256"] == rows_checksum(table.rows)


def test_write_is_atomic_and_leaves_no_temporaries(tmp_path):
    path = tmp_path / "t.csv"
    _table().save(path)
    _table().save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


def _edit_csv(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_hand_edited_csv_is_rejected(tmp_path):
    path = tmp_path / "t.csv"
    _table().save(path)
    # a plausible edit (the SE, still in range) that only the checksum can catch
    _edit_csv(path, "\ntanh,16,stationary,network,gaussian,0.0,1.25,0.0025,",
              "\ntanh,16,stationary,network,gaussian,0.0,1.25,0.0024,")
    with pytest.raises(RwinitError, match="checksum"):
        GainTable.load(path)


@pytest.mark.parametrize("ext", ["csv", "json", "npz"])
def test_the_checksum_covers_the_provenance_header(tmp_path, ext):
    path = tmp_path / f"t.{ext}"
    _table().save(path)
    rows, prov = read_table(path)
    assert prov["sha256"] == file_checksum(prov, rows)
    prov = {**prov, "settings": {**prov["settings"], "seed": 1}}  # the seed edited
    write_table(path, rows, prov)  # rows and row checksum intact, header changed
    with pytest.raises(RwinitError, match="provenance header does not match") as err:
        GainTable.load(path)
    assert "seed" in str(err.value) and str(path) in str(err.value)


def test_seed_edited_by_hand_in_a_csv_header_is_refused(tmp_path, capsys):
    from rwinit.cli import main

    out = tmp_path / "t.csv"
    args = ["table", "-f", "linear", "-N", "4", "--workers", "0", "-q", "--out", str(out)]
    assert main(args) == 0
    _edit_csv(out, '"seed":0,', '"seed":5,')
    capsys.readouterr()
    assert main([*args[:-2], "--seed", "5", "--resume", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "provenance header" in err and err.count("\n") == 1


def test_legacy_checksum_files_load_but_are_not_resumed(tmp_path):
    from rwinit.tables.grid import make_grid
    from rwinit.tables.run import build_table

    path = tmp_path / "old.json"
    table = _table()
    rows, prov = table.rows, table.provenance
    del prov["sha256"]  # as rwinit 0.1.0 wrote it: rows checksum only
    write_table(path, rows, prov)
    old = GainTable.load(path)
    assert is_legacy(read_table(path)[1]) and len(old) == len(rows)
    with pytest.raises(RwinitError, match="does not cover its header"):
        build_table(make_grid("tanh", "8"), path, seed=0, samples=64, workers=0, resume=True)


def test_the_shipped_table_has_the_header_checksum():
    from importlib.resources import files

    path = files("rwinit") / "data" / "default_gains.csv"
    rows, prov = read_table(path)
    assert not is_legacy(prov) and prov["sha256"] == file_checksum(prov, rows)


def test_truncated_csv_is_rejected(tmp_path):
    path = tmp_path / "t.csv"
    _table().save(path)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))
    with pytest.raises(RwinitError, match="truncated or edited"):
        GainTable.load(path)


def test_schema_version_mismatch_is_rejected(tmp_path):
    path = tmp_path / "t.json"
    _table().save(path)
    doc = json.loads(path.read_text())
    doc["provenance"]["schema_version"] = SCHEMA_VERSION + 1
    path.write_text(json.dumps(doc))
    with pytest.raises(RwinitError, match="schema version"):
        GainTable.load(path)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["rows"][0].pop("se"), "missing column"),
    (lambda d: d["rows"][0].update(width="wide"), "whole number"),
    (lambda d: d["rows"][0].update(width=0), ">= 1"),
    (lambda d: d["rows"][0].update(model="other"), "model"),
    (lambda d: d["rows"][0].update(g=-1.0), "g"),
    (lambda d: d["rows"].append(dict(d["rows"][0])), "duplicate"),
    (lambda d: d.pop("provenance"), "provenance"),
])
def test_bad_rows_are_rejected_even_with_a_fresh_checksum(tmp_path, mutate, message):
    path = tmp_path / "t.json"
    _table().save(path)
    doc = json.loads(path.read_text())
    mutate(doc)
    if "provenance" in doc:  # a careful forger also fixes the count (checksum still fails)
        doc["provenance"]["n_rows"] = len(doc["rows"])
    path.write_text(json.dumps(doc))
    with pytest.raises(RwinitError, match=message):
        GainTable.load(path)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04garbage", b"\x00\x01\x02"])
def test_corrupted_npz_is_rejected(tmp_path, content):
    path = tmp_path / "t.npz"
    path.write_bytes(content)
    with pytest.raises(RwinitError, match="cannot read table"):
        GainTable.load(path)


def test_npz_with_changed_value_is_rejected(tmp_path):
    path = tmp_path / "t.npz"
    _table().save(path)
    with np.load(path) as data:
        arrays = dict(data)
    arrays["g"] = arrays["g"].copy()
    arrays["g"][0] += 1e-9
    np.savez(path, **arrays)
    with pytest.raises(RwinitError, match="checksum"):
        GainTable.load(path)


def test_not_a_table_and_unknown_extension(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(RwinitError, match="not an rwinit gain table"):
        GainTable.load(path)
    with pytest.raises(RwinitError, match="unknown table format"):
        GainTable.load(tmp_path / "t.xlsx")
    with pytest.raises(RwinitError, match="no such file"):
        GainTable.load(tmp_path / "missing.csv")
    with pytest.raises(RwinitError, match="unknown table format"):
        write_table(tmp_path / "t.txt", [], {})


def test_lookup_exact_at_grid_points():
    table = _table()
    for row in table.rows:
        if row["status"] != "ok":
            continue
        r = table.lookup(row["nonlinearity"], row["width"], row["depth"], model=row["model"])
        assert (r.g, r.se, r.ci_low, r.ci_high) == (row["g"], row["se"], row["ci_low"],
                                                    row["ci_high"])
        assert r.source == "table"


def test_interpolation_in_log_width_is_bounded_and_carries_se():
    table = _table()
    rows = {r["width"]: r for r in table.rows if r["nonlinearity"] == "tanh"}
    for lo, hi in [(8, 16), (16, 64), (64, 256)]:
        for N in range(lo + 1, hi):
            r = table.lookup("tanh", N)
            g0, g1 = rows[lo]["g"], rows[hi]["g"]
            assert min(g0, g1) <= r.g <= max(g0, g1)
            t = math.log(N / lo) / math.log(hi / lo)
            assert r.g == pytest.approx((1 - t) * g0 + t * g1, rel=1e-12)
            assert r.se == pytest.approx(math.hypot((1 - t) * rows[lo]["se"],
                                                    t * rows[hi]["se"]), rel=1e-12)
            assert r.se <= max(rows[lo]["se"], rows[hi]["se"])
            assert r.ci_low < r.g < r.ci_high
            assert r.source == "interpolated" and r.neighbours == (lo, hi)
    # the geometric midpoint is the plain average
    assert table.lookup("tanh", 32).g == pytest.approx((rows[16]["g"] + rows[64]["g"]) / 2)


def test_lookup_errors_are_clear():
    table = _table()
    with pytest.raises(TableMissError, match="outside the table's widths 4..256"):
        table.lookup("tanh", 300)
    with pytest.raises(TableMissError, match="'sigmoid' is not in the table"):
        table.lookup("sigmoid", 16)
    with pytest.raises(TableMissError, match="depth"):
        table.lookup("tanh", 16, 10)
    with pytest.raises(RwinitError, match="no unbiased gain.*could not bracket"):
        table.lookup("tanh", 4)
    with pytest.raises(TableMissError, match="neighbouring width 4"):
        table.lookup("tanh", 6)
    assert table.lookup("relu", 16, 50, model="paper").g == 1.5


def test_grid_parsing():
    assert parse_widths("2,3,8:1024:log8") == [2, 3, 8, 16, 32, 64, 128, 256, 512, 1024]
    assert parse_widths("10:40:lin4") == [10, 20, 30, 40]
    assert parse_depths("stationary,50,50") == [None, 50]
    assert parse_widths("1e1,20.0,1e1:4e1:lin4") == [10, 20, 30, 40]
    assert parse_depths("1e2,stationary") == [100, None]
    grid = make_grid("tanh,relu", "4,8", "stationary,10", "both")
    assert len(grid) == 2 * 2 * 2 * 2 and len(set(grid)) == len(grid)
    for bad in ("0", "8:4:log3", "4:8:x3", "a,b", "4,,8", "2.5", "inf"):
        with pytest.raises(RwinitError):
            parse_widths(bad)
    with pytest.raises(RwinitError, match="unknown nonlinearity"):
        make_grid("nope", "4")


def test_row_seed_depends_only_on_seed_and_key():
    key = ("tanh", 64, None, "network", "gaussian", 0.0)
    assert row_seed(0, key) == row_seed(0, tuple(key))
    assert row_seed(0, key) != row_seed(1, key)
    assert row_seed(0, key) != row_seed(0, ("tanh", 64, 64, "network", "gaussian", 0.0))
    assert 0 <= row_seed(123, key) < 2**63
