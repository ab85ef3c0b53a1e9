"""Data loaders: IDX reader on files written here, MNIST layout, digits, teacher task."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from rwinit.errors import RwinitError
from rwinit.training import data as D


def _idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    magic = (0x0800 | array.ndim) if magic is None else magic
    head = magic.to_bytes(4, "big") + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return head + array.astype(np.uint8).tobytes()


def _write_mnist(directory, n=12, gz=False):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    for name, arr in (("train-images-idx3-ubyte", images), ("train-labels-idx1-ubyte", labels)):
        raw = _idx_bytes(arr)
        if gz:
            with gzip.open(directory / f"{name}.gz", "wb") as fh:
                fh.write(raw)
        else:
            (directory / name).write_bytes(raw)
    return images, labels


def test_read_idx_roundtrip(tmp_path):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / "a.idx"
    path.write_bytes(_idx_bytes(arr))
    np.testing.assert_array_equal(D.read_idx(path, D.IDX_IMAGES_MAGIC), arr)


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist(tmp_path, gz):
    images, labels = _write_mnist(tmp_path, gz=gz)
    ds = D.load_mnist(tmp_path)
    assert ds.x.shape == (12, 784) and ds.n_classes == 10
    np.testing.assert_array_equal(ds.y, labels)
    expected = D.standardize(images.reshape(12, -1) / 255.0)
    np.testing.assert_allclose(ds.x, expected)
    np.testing.assert_allclose(ds.x.mean(axis=0), 0, atol=1e-12)


def test_corrupt_header_rejected(tmp_path):
    _write_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    raw = bytearray(path.read_bytes())
    raw[2] = 0x09  # wrong type code
    path.write_bytes(bytes(raw))
    with pytest.raises(RwinitError, match="magic number") as info:
        D.load_mnist(tmp_path)
    assert str(path) in str(info.value)


def test_truncated_file_rejected(tmp_path):
    _write_mnist(tmp_path)
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(RwinitError, match="header says"):
        D.load_mnist(tmp_path)
    (tmp_path / "x").write_bytes(b"\x00\x00")
    with pytest.raises(RwinitError, match="not an IDX file"):
        D.read_idx(tmp_path / "x", D.IDX_LABELS_MAGIC)


def test_corrupt_gzip_rejected(tmp_path):
    _write_mnist(tmp_path, gz=True)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(RwinitError, match="cannot read"):
        D.load_mnist(tmp_path)


def test_missing_files_named(tmp_path):
    with pytest.raises(RwinitError, match="train-images-idx3-ubyte"):
        D.load_mnist(tmp_path)
    with pytest.raises(RwinitError, match="does not exist"):
        D.load_mnist(tmp_path / "nope")
    with pytest.raises(RwinitError, match="data directory"):
        D.load_dataset("mnist")
    with pytest.raises(RwinitError, match="accepted values"):
        D.load_dataset("cifar")


def test_digits_standardized():
    ds = D.load_digits()
    assert ds.x.shape == (1797, 64) and ds.n_classes == 10
    np.testing.assert_allclose(ds.x.mean(axis=0), 0, atol=1e-12)
    std = ds.x.std(axis=0)
    assert np.all((np.abs(std - 1) < 1e-12) | (std == 0))
    assert set(np.unique(ds.y)) == set(range(10))


def test_teacher_task_seeded_and_balanced_enough():
    a, b = D.teacher_student(rng=3), D.teacher_student(rng=3)
    np.testing.assert_array_equal(a.x, b.x)
    counts = np.bincount(a.y, minlength=a.n_classes)
    assert counts.min() > 0.05 * a.y.size  # no class nearly empty
