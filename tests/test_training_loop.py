"""Training loop: learns the teacher task, history files, divergence handling, seeds."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from rwinit.errors import RwinitError
from rwinit.training import Network, adam, sgd, teacher_student, train
from rwinit.training.data import Dataset


@pytest.fixture(scope="module")
def teacher():
    return teacher_student(n_samples=1000, n_inputs=10, n_classes=3, rng=0)


def _fit(data, seed=0, **kw):
    net = Network([10, 64, 64, 3], "tanh")
    params = net.init_params(seed, gain=1.1)
    return net, train(net, params, adam(0.01), data, epochs=kw.pop("epochs", 30),
                      batch_size=50, rng=seed, progress=False, **kw)


def test_learns_teacher_task(teacher):
    _, res = _fit(teacher)
    h = res.history
    assert h[0]["train_error"] > 0.3  # chance level at the start (3 classes)
    assert h[-1]["train_error"] < 0.03
    assert h[-1]["loss"] < 0.3 * h[0]["loss"]
    assert not res.diverged and res.epochs == 30 and res.steps == 30 * 20
    assert len(h[-1]["grad_norms"]) == 3 and all(g > 0 for g in h[-1]["grad_norms"])


def test_same_seed_same_history(teacher):
    _, a = _fit(teacher, epochs=3)
    _, b = _fit(teacher, epochs=3)
    _, c = _fit(teacher, seed=1, epochs=3)
    assert [r["loss"] for r in a.history] == [r["loss"] for r in b.history]
    assert a.history[-1]["loss"] != c.history[-1]["loss"]


def test_history_files(tmp_path, teacher):
    jpath, cpath = tmp_path / "h.json", tmp_path / "sub" / "h.csv"
    _, res = _fit(teacher, epochs=3, history_path=jpath)
    saved = json.loads(jpath.read_text())
    assert saved["epochs"] == 3 and len(saved["history"]) == 4
    assert saved["train_error"] == res.history[-1]["train_error"]
    _, res = _fit(teacher, epochs=2, history_path=cpath)
    rows = list(csv.DictReader(cpath.open()))
    assert len(rows) == 3 and float(rows[-1]["loss"]) == pytest.approx(res.history[-1]["loss"])
    assert "grad_norm_3" in rows[0] and "delta_norm_1" in rows[0]
    assert not list(tmp_path.glob(".h.*"))  # no temporary files left behind


def test_divergence_stops_and_keeps_last_good_epoch():
    data = teacher_student(n_samples=400, n_inputs=10, n_classes=3, rng=1)
    net = Network([10, 64, 64, 64, 3], "relu")
    params = net.init_params(0, gain=1.4)
    lr = lambda k: 0.01 if k < 16 else 1e6  # noqa: E731 - blows up in epoch 3 (8 steps/epoch)
    res = train(net, params, sgd(lr), data, epochs=10, batch_size=50, rng=0, progress=False)
    assert res.diverged
    assert "epoch 3" in res.message and "kept up to epoch 2" in res.message
    assert res.epochs == 2 and len(res.history) == 3
    assert all(math.isfinite(r["loss"]) for r in res.history)
    assert all(np.isfinite(p).all() for p in res.params)


def test_autoencoder_reduces_reconstruction_error():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((500, 3))
    x = z @ rng.standard_normal((3, 8))  # rank-3 data in 8 dimensions
    data = Dataset((x - x.mean(0)) / x.std(0), np.zeros(500, dtype=int), 1, "low-rank")
    net = Network([8, 16, 3, 16, 8], "tanh")
    res = train(net, net.init_params(0, gain=1.0), adam(0.01), data, epochs=40,
                batch_size=50, task="autoencode", progress=False)
    assert res.history[-1]["loss"] < 0.1 * res.history[0]["loss"]
    assert res.history[-1]["train_error"] == res.history[-1]["loss"]


def test_bad_arguments(teacher):
    net = Network([10, 8, 3], "tanh")
    params = net.init_params(0)
    with pytest.raises(RwinitError):
        train(net, params, sgd(0.1), teacher, epochs=0, batch_size=10)
    with pytest.raises(RwinitError, match="task"):
        train(net, params, sgd(0.1), teacher, epochs=1, batch_size=10, task="regress")
    with pytest.raises(RwinitError, match="classes"):
        other = Network([10, 8, 4], "tanh")
        train(other, other.init_params(0), sgd(0.1), teacher, epochs=1, batch_size=10)


def _blas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


def test_training_pins_blas_threads_for_reproducibility(teacher):
    from threadpoolctl import threadpool_limits

    seen = {}
    with threadpool_limits(limits=2, user_api="blas"):
        outside = _blas_threads()
        _fit(teacher, epochs=1, callback=lambda rec: seen.setdefault("pinned", _blas_threads()))
        _fit(teacher, epochs=1, blas_threads=None,
             callback=lambda rec: seen.setdefault("free", _blas_threads()))
        assert _blas_threads() == outside  # restored after training
    assert seen["pinned"] and all(n == 1 for n in seen["pinned"])
    assert seen["free"] == outside


def test_error_reached_rule():
    from rwinit.training import error_reached

    rule = error_reached(0.0, patience=3)
    errors = [0.9, 0.0, 0.0, 0.1, 0.0, 0.0]
    hist = [{"epoch": e, "train_error": err} for e, err in enumerate(errors)]
    assert rule(hist) == ""  # the 0.1 at epoch 3 breaks the run of zeros
    hist.append({"epoch": 6, "train_error": 0.0})
    assert "epochs 4-6" in rule(hist)
    # epoch 0 (the untrained network) never counts toward the patience
    assert rule([{"epoch": 0, "train_error": 0.0}, {"epoch": 1, "train_error": 0.0}]) == ""
    assert error_reached(0.05, patience=1)([{"epoch": 0, "train_error": 1},
                                            {"epoch": 1, "train_error": 0.05}])
    for bad in (dict(target=-1), dict(target=math.nan), dict(patience=0)):
        with pytest.raises(RwinitError):
            error_reached(**bad)


def test_stopping_rule_ends_training(teacher):
    """Stopped as soon as the rule fires, the result says why; the same run without the
    rule goes on, and the two agree on every epoch they share (the rule only cuts)."""
    from rwinit.training import error_reached

    _, full = _fit(teacher, epochs=30)
    target = full.history[10]["train_error"]  # reached by epoch 10 at the latest
    _, cut = _fit(teacher, epochs=30, stop=error_reached(target, patience=2))
    first = next(e for e in range(1, 31)
                 if all(full.history[k]["train_error"] <= target for k in (e, e + 1)))
    assert cut.epochs == first + 1 < 30 and cut.steps == cut.epochs * 20
    assert f"<= {target:g} for 2 epochs" in cut.stopped and full.stopped == ""
    assert [r["loss"] for r in cut.history] == [r["loss"] for r in full.history[: cut.epochs + 1]]
    assert cut.summary()["stopped"] == cut.stopped
