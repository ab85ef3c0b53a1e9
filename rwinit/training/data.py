"""Data sets for the trainer: scikit-learn's 8×8 digits, MNIST from IDX files, and a
synthetic teacher–student task.

Every loader returns a :class:`Dataset` whose inputs are standardised per dimension to
zero mean and unit variance (docs/design.md §The model); a constant dimension (a pixel that is
always 0) is centred and left at 0.
"""

from __future__ import annotations

import gzip
import math
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..errors import RwinitError
from ..validation import check_positive_int

#: IDX magic numbers: 0x0000 then the type code (0x08 = unsigned byte) and the rank.
IDX_IMAGES_MAGIC = 0x00000803
IDX_LABELS_MAGIC = 0x00000801

#: The MNIST files read by :func:`load_mnist`, for each split (each may end in .gz).
MNIST_FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

DATASETS: tuple[str, ...] = ("digits", "mnist", "teacher")


class Dataset(NamedTuple):
    """Inputs ``x`` (n, features), float64, standardised; integer labels ``y`` (n,)."""

    x: np.ndarray
    y: np.ndarray
    n_classes: int
    name: str


def standardize(x: np.ndarray) -> np.ndarray:
    """(x − mean) / std per column; columns with zero variance are only centred."""
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    return (x - mean) / np.where(std > 0, std, 1.0)


def load_digits() -> Dataset:
    """The 1797 8×8 handwritten digits bundled with scikit-learn (no download)."""
    from sklearn.datasets import load_digits as _load

    bunch = _load()
    return Dataset(standardize(bunch.data), bunch.target.astype(np.int64), 10, "digits")


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def read_idx(path: str | os.PathLike, expected_magic: int) -> np.ndarray:
    """Read one IDX file of unsigned bytes (LeCun's MNIST format; optionally gzipped).

    The header is a big-endian uint32 magic ``0x000008RR`` (RR = rank) followed by RR
    big-endian uint32 dimensions, then the data, row-major.

    Raises
    ------
    RwinitError
        If the file is missing, unreadable, has the wrong magic number, or its length does
        not match its header.
    """
    path = Path(path)
    try:
        with _open(path) as fh:
            raw = fh.read()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise RwinitError(f"cannot read IDX file {path}: {exc.__class__.__name__}: {exc}") from None
    if len(raw) < 4:
        raise RwinitError(f"{path} is not an IDX file: only {len(raw)} bytes")
    magic = int.from_bytes(raw[:4], "big")
    if magic != expected_magic:
        raise RwinitError(
            f"{path} is not the expected IDX file: magic number {magic:#010x}, "
            f"expected {expected_magic:#010x}"
        )
    rank = magic & 0xFF
    header = 4 + 4 * rank
    if len(raw) < header:
        raise RwinitError(f"{path}: truncated IDX header")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank))
    size = math.prod(dims)  # exact: np.prod would wrap around past 2**63
    if len(raw) - header != size:
        raise RwinitError(
            f"{path}: the IDX header says {' x '.join(map(str, dims))} = {size:,} bytes of "
            f"data but the file holds {len(raw) - header:,}; the file is damaged or not MNIST"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _find(directory: Path, name: str, split: str) -> Path:
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    images, labels = MNIST_FILES[split]
    raise RwinitError(
        f"MNIST file {name}[.gz] not found in {directory}; expected {images}[.gz] and "
        f"{labels}[.gz] there"
    )


def load_mnist(data_dir: str | os.PathLike, split: str = "train") -> Dataset:
    """MNIST from its standard IDX files in ``data_dir`` (plain or .gz); pixels scaled
    to [0, 1] and then standardised."""
    if split not in MNIST_FILES:
        raise RwinitError(f"unknown MNIST split {split!r}; accepted values: train, test")
    directory = Path(data_dir)
    if not directory.is_dir():
        images, labels = MNIST_FILES[split]
        problem = "is not a directory" if directory.exists() else "does not exist"
        raise RwinitError(
            f"MNIST directory {directory} {problem}; --data-dir must be a directory holding "
            f"{images}[.gz] and {labels}[.gz]"
        )
    image_name, label_name = MNIST_FILES[split]
    images = read_idx(_find(directory, image_name, split), IDX_IMAGES_MAGIC)
    labels = read_idx(_find(directory, label_name, split), IDX_LABELS_MAGIC)
    if images.shape[0] != labels.shape[0]:
        raise RwinitError(
            f"{directory}: {images.shape[0]} images but {labels.shape[0]} labels"
        )
    if images.shape[0] == 0:
        raise RwinitError(f"{directory}: the MNIST {split} set holds no images")
    if labels.size and labels.max() > 9:
        raise RwinitError(f"{directory}: MNIST labels must be 0-9, found {labels.max()}")
    x = images.reshape(images.shape[0], -1).astype(np.float64) / 255.0
    return Dataset(standardize(x), labels.astype(np.int64), 10, "mnist")


def teacher_student(
    n_samples: int = 2000,
    n_inputs: int = 20,
    n_classes: int = 4,
    hidden: int = 32,
    rng: np.random.Generator | int | None = 0,
) -> Dataset:
    """A synthetic classification task labelled by a random teacher network.

    x ~ N(0, I); the label is argmax_c (T_2 tanh(T_1 x))_c with T_1 (hidden × inputs) and
    T_2 (classes × hidden) Gaussian of variance 1/fan_in. A student of enough capacity can
    reach zero training error, which makes it a quick, known-answer test of the trainer.
    """
    n = check_positive_int(n_samples, "n_samples")
    n_in = check_positive_int(n_inputs, "n_inputs")
    c = check_positive_int(n_classes, "n_classes", minimum=2)
    h = check_positive_int(hidden, "hidden")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    t1 = gen.standard_normal((h, n_in)) / np.sqrt(n_in)
    t2 = gen.standard_normal((c, h)) / np.sqrt(h)
    x = gen.standard_normal((n, n_in))
    y = np.argmax(np.tanh(x @ t1.T) @ t2.T, axis=1)
    return Dataset(standardize(x), y.astype(np.int64), c, "teacher")


def load_dataset(name: str, data_dir: str | os.PathLike | None = None, seed: int = 0) -> Dataset:
    """A data set by name: ``digits`` (default), ``mnist`` (needs ``data_dir``), ``teacher``."""
    if name == "digits":
        return load_digits()
    if name == "mnist":
        if data_dir is None:
            raise RwinitError("the mnist data set needs a data directory (--data-dir DIR)")
        return load_mnist(data_dir)
    if name == "teacher":
        return teacher_student(rng=seed)
    raise RwinitError(f"unknown data set {name!r}; accepted values: {', '.join(DATASETS)}")
