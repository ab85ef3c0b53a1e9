"""Wrong inputs across every sub-command: one line on stderr, exit 2, nothing left behind.

The contract (docs/design.md §Input validation and resources; issue 11): every refusal
happens before any work or any file is created, is one line naming the problem (and,
for a conflict, both options; for a typo, the closest valid option), exits with status 2
and never shows a traceback. Each case runs in-process through ``rwinit.cli.main`` in an
empty temporary directory and asserts

* exit status 2;
* exactly one non-empty line on stderr, starting with ``rwinit``, no ``Traceback``;
* nothing on stdout;
* the message contains a fragment naming the problem (so a different error — or the
  right status for the wrong reason — fails the case);
* no file or directory appeared (or vanished) in the temporary directory.

Cases that would write into system folders (/sys, /dev/full) are refused before any
write: those paths cannot be written by any user (/sys) or are special files that an
atomic rename must never replace (/dev/full).
"""

from __future__ import annotations

import errno
import os
import struct
from pathlib import Path

import pytest

from rwinit.cli import main

G = ["gain", "-f", "tanh", "-N", "10", "-q"]
W = ["walk", "-f", "tanh", "-N", "10", "-g", "1", "-q"]
T = ["train", "-q", "--epochs", "1"]
E = ["export", "--format", "torch", "-f", "tanh", "-N", "10"]
TB = ["table", "-f", "tanh", "-N", "8", "--out", "t.csv"]
MNIST = ["--dataset", "mnist", "--data-dir"]

#: (case id, argv, a fragment the one-line message must contain)
CASES: list[tuple[str, list[str], str]] = [
    # --- top level ---
    ("top-no-command", [], "required: COMMAND"),
    ("top-bad-command", ["gian"], "invalid choice: 'gian'"),
    # --- gain ---
    ("gain-width-0", ["gain", "-f", "tanh", "-N", "0"], "width must be a whole number >= 1"),
    ("gain-width-negative", ["gain", "-f", "tanh", "-N", "-5"], "width must be"),
    ("gain-width-text", ["gain", "-f", "tanh", "-N", "abc"], "width must be a whole number"),
    ("gain-width-fraction", ["gain", "-f", "tanh", "-N", "2.5"],
     "width must be a whole number, got '2.5'"),
    ("gain-width-inf", ["gain", "-f", "tanh", "-N", "1e400"], "width must be a whole number"),
    ("gain-width-beyond-int64", ["gain", "-f", "tanh", "-N", "1e300"],
     "width must be a whole number between 1 and 9,223,372,036,854,775,807"),
    ("gain-width-int64-max", ["gain", "-f", "tanh", "-N", str(2**63 - 1), "-D", "5"],
     "would hold at least"),
    ("gain-depth-1e18", ["gain", "-f", "tanh", "-N", "10", "-D", "1e18"],
     "would hold at least"),
    ("gain-nonlinearity", ["gain", "-f", "nosuch", "-N", "10"], "unknown nonlinearity 'nosuch'"),
    ("gain-model", [*G, "--model", "foo"], "unknown model 'foo'"),
    ("gain-weights", [*G, "--weights", "foo"], "unknown weight distribution 'foo'"),
    ("gain-samples-1", [*G, "--samples", "1"], "samples must be a whole number between 2"),
    ("gain-samples-1e12", [*G, "--samples", str(10**12)], "between 2 and 1,000,000,000"),
    ("gain-threads-0", [*G, "--threads", "0"], "threads must be a whole number >= 1"),
    ("gain-threads-negative", [*G, "--threads", "-1"], "threads must be"),
    ("gain-gaussian-sparsity", [*G, "--weights", "gaussian", "--sparsity", "5"],
     "applies only to sparse weights, not 'gaussian'"),
    ("gain-sparsity-0", [*G, "--weights", "sparse", "--sparsity", "0"], "sparsity must be"),
    ("gain-sparsity-above-fan-in", [*G, "--weights", "sparse", "--sparsity", "11"],
     "fan_in=10"),
    ("gain-paper-formula-network", ["gain", "-f", "relu", "-N", "10", "--method",
                                    "paper-formula"], "needs the paper model (--model paper"),
    ("gain-exact-tanh", [*G, "--method", "exact"], "not tanh"),
    ("gain-exact-uniform", ["gain", "-f", "linear", "-N", "10", "--method", "exact",
                            "--weights", "uniform"], "needs gaussian weights"),
    ("gain-method", [*G, "--method", "foo"], "unknown method 'foo'"),
    ("gain-homogeneous-tanh", [*G, "--method", "homogeneous"], "positively homogeneous"),
    ("gain-ci-0", [*G, "--ci-halfwidth", "0"], "ci_halfwidth must be a finite number > 0"),
    ("gain-ci-nan", [*G, "--ci-halfwidth", "nan"], "ci_halfwidth must be"),
    ("gain-bias-negative", [*G, "--bias-std", "-1"], "bias_std must be a finite number >= 0"),
    ("gain-bias-nan", [*G, "--bias-std", "nan"], "bias_std must be"),
    ("gain-seed-negative", [*G, "--seed", "-1"], "seed must be a whole number >= 0"),
    ("gain-depth-0", [*G, "--depth", "0"], "depth must be a whole number >= 1"),
    ("gain-depth-and-stationary", [*G, "-D", "5", "--stationary"], "not allowed with"),
    ("gain-typo-required", ["gain", "--nonlinerity", "tanh", "-N", "10"],
     "did you mean --nonlinearity?"),
    ("gain-typo-seed", [*G, "--seeed", "1"], "did you mean --seed?"),
    ("gain-unknown-option", [*G, "--xyzzy"], "unrecognized option --xyzzy"),
    ("gain-explicit-memory", ["gain", "-f", "tanh", "-N", "1000000", "--weights", "uniform",
                              "--model", "paper", "-D", "2", "--samples", "2", "-q"], "B"),
    # --- net ---
    ("net-threads-0", ["net", "10-tanh-10-linear-2", "--threads", "0", "-q"],
     "threads must be a whole number >= 1"),
    ("net-samples-1", ["net", "10-tanh-10-linear-2", "--samples", "1", "-q"],
     "samples must be"),
    ("net-typo", ["net", "10-tanh-10-linear-2", "--per-layr"], "did you mean --per-layer?"),
    ("net-width-0", ["net", "784-relu-0-linear-10"], "must be >= 1"),
    ("net-input-10e12", ["net", "1000000000000-tanh-5", "-q"], "would hold at least"),
    ("net-hidden-10e12", ["net", "10-tanh-1000000000000-linear-5", "-q"],
     "would hold at least"),
    # --- walk ---
    ("walk-no-gain", ["walk", "-f", "tanh", "-N", "10"], "required: --gain"),
    ("walk-gain-0", [*W[:5], "-g", "0"], "gain must be a finite number > 0"),
    ("walk-gain-nan", [*W[:5], "-g", "nan"], "gain must be"),
    ("walk-csv-and-json", [*W, "--format", "csv", "--json"], "--json and --format csv"),
    ("walk-format", [*W, "--format", "xml"], "invalid choice: 'xml'"),
    ("walk-every-0", [*W, "--every", "0"], "every must be"),
    ("walk-every-with-csv", [*W, "--every", "2", "--format", "csv"],
     "--every applies only to --format table"),
    ("walk-rotational-uniform", [*W, "--sampler", "rotational", "--weights", "uniform"],
     "only for gaussian weights"),
    ("walk-sampler", [*W, "--sampler", "foo"], "unknown sampler 'foo'"),
    ("walk-samples-0", [*W, "--samples", "0"], "samples must be"),
    ("walk-threads-0", [*W, "--threads", "0"], "threads must be"),
    ("walk-typo", ["walk", "-f", "tanh", "-N", "10", "--gian", "1"], "did you mean --gain?"),
    ("walk-all-dead", ["walk", "-f", "relu", "-N", "1", "-g", "1", "-D", "60", "--samples",
                       "32", "-q"], "only 0 of 32 walks survived (32 died"),
    ("walk-all-overflow", ["walk", "-f", "linear", "-N", "4", "-g", "1e200", "-D", "10",
                           "--samples", "32", "-q"], "0 overflowed".replace("0 ", "32 ")),
    # --- train ---
    ("train-batch-0", [*T, "--batch-size", "0"], "batch size must be a whole number >= 1"),
    ("train-seed-negative", [*T, "--seed", "-1"], "seed must be a whole number >= 0"),
    ("train-width-1e6", [*T, "--width", str(10**6)], "would need about"),
    ("train-depth-1e7", [*T, "--depth", "10000000", "--width", "10"], "would need about"),
    ("train-epochs-0", ["train", "-q", "--epochs", "0"], "epochs must be"),
    ("train-sparsity-0", [*T, "--init", "sparse", "--sparsity", "0"], "--sparsity must be"),
    ("train-sparsity-without-sparse", [*T, "--sparsity", "5"],
     "--sparsity applies only with --init sparse"),
    ("train-decay-steps-0", [*T, "--schedule", "linear", "--decay-steps", "0"],
     "--decay-steps must be"),
    ("train-decay-steps-constant", [*T, "--decay-steps", "5"],
     "--decay-steps applies only with --schedule linear"),
    ("train-momentum-nan", [*T, "--optimizer", "momentum", "--momentum", "nan"],
     "--momentum must be a number in [0, 1)"),
    ("train-momentum-5", [*T, "--optimizer", "momentum", "--momentum", "5"], "[0, 1)"),
    ("train-momentum-sgd", [*T, "--momentum", "0.9"], "--momentum applies only with"),
    ("train-decay-rate-5", [*T, "--schedule", "exponential", "--decay-rate", "5"],
     "--decay-rate must be a number in (0, 1]"),
    ("train-decay-rate-constant", [*T, "--decay-rate", "0.5"],
     "--decay-rate applies only with --schedule exponential"),
    ("train-lr-0", [*T, "--lr", "0"], "--lr must be a finite number > 0"),
    ("train-lr-nan", [*T, "--lr", "nan"], "--lr must be"),
    ("train-lr-final-0", [*T, "--schedule", "linear", "--lr-final", "0"], "--lr-final"),
    ("train-lr-final-constant", [*T, "--lr-final", "0.001"],
     "--lr-final applies only with --schedule linear"),
    ("train-max-depth-small", [*T, "--lr-in", "0.1", "--max-depth", "2"],
     "--max-depth (2) must be >= --depth (10)"),
    ("train-max-depth-without-lr-in", [*T, "--max-depth", "20"],
     "--max-depth applies only with --lr-in"),
    ("train-clip-0", [*T, "--clip", "0"], "--clip must be"),
    ("train-stop-error-negative", [*T, "--stop-error", "-0.1"],
     "--stop-error must be a finite number >= 0"),
    ("train-patience-0", [*T, "--stop-error", "0", "--patience", "0"],
     "--patience must be a whole number >= 1"),
    ("train-patience-alone", [*T, "--patience", "5"], "--patience applies only with --stop-error"),
    ("train-gain-scale-0", [*T, "--gain-scale", "0"], "--gain-scale must be"),
    ("train-first-gain-0", [*T, "--first-gain", "0"], "--first-gain must be"),
    ("train-output-gain-inf", [*T, "--output-gain", "inf"], "--output-gain must be"),
    ("train-gain-text", [*T, "--gain", "foo"], "--gain must be 'auto' or a finite number"),
    ("train-gain-0", [*T, "--gain", "0"], "--gain must be a finite number > 0"),
    ("train-nonlinearity", [*T, "-f", "foo"], "unknown nonlinearity 'foo'"),
    ("train-depth-0", [*T, "--depth", "0"], "depth must be"),
    ("train-dataset", [*T, "--dataset", "foo"], "unknown data set 'foo'"),
    ("train-task", [*T, "--task", "foo"], "unknown task 'foo'"),
    ("train-init", [*T, "--init", "foo"], "unknown initializer 'foo'"),
    ("train-optimizer", [*T, "--optimizer", "foo"], "unknown optimizer 'foo'"),
    ("train-schedule", [*T, "--schedule", "foo"], "unknown schedule 'foo'"),
    ("train-marginal-autoencode", [*T, "--task", "autoencode", "--output-bias", "marginal"],
     "needs --task classify"),
    ("train-typo", [*T, "--widht", "10"], "did you mean --width?"),
    ("train-history-txt", [*T, "--history", "h.txt"], "must end in .json or .csv"),
    ("train-history-directory", [*T, "--history", "d.json"], "is a directory"),
    ("train-history-read-only", [*T, "--history", "/sys/h.json"], "cannot write --history"),
    ("train-history-device", [*T, "--history", "/dev/full"], "is not a regular file"),
    ("train-history-under-a-file", [*T, "--history", "afile/sub/h.json"],
     "afile is not a directory"),
    ("train-mnist-no-dir", [*T, "--dataset", "mnist"], "needs a data directory"),
    ("train-mnist-dir-is-file", [*T, *MNIST, "afile"], "is not a directory"),
    ("train-mnist-dir-missing", [*T, *MNIST, "nosuch"], "does not exist"),
    ("train-digits-with-data-dir", [*T, "--data-dir", "mnist_ok"],
     "--data-dir applies only with --dataset mnist"),
    ("train-mnist-empty", [*T, *MNIST, "mnist_empty"], "holds no images"),
    ("train-mnist-size-overflow", [*T, *MNIST, "mnist_overflow"],
     "79,228,162,458,924,105,385,300,197,375 bytes"),
    ("train-mnist-magic", [*T, *MNIST, "mnist_magic"], "magic number 0x00001234"),
    ("train-mnist-missing-labels", [*T, *MNIST, "mnist_no_labels"],
     "train-labels-idx1-ubyte[.gz] not found"),
    # --- export ---
    ("export-gain-and-table", [*E, "--gain", "1.2", "--table", "t.csv"],
     "--gain and --table conflict"),
    ("export-format", ["export", "--format", "foo", "-f", "tanh", "-N", "10"],
     "unknown export format 'foo'"),
    ("export-width-0", ["export", "--format", "torch", "-f", "tanh", "-N", "0"], "width must"),
    ("export-gain-0", [*E, "--gain", "0"], "gain must be a finite number > 0"),
    ("export-table-missing", [*E, "--table", "missing.csv"], "no such file"),
    ("export-nonlinearity", ["export", "--format", "torch", "-f", "foo", "-N", "10"],
     "unknown nonlinearity 'foo'"),
    ("export-model", [*E, "--model", "foo"], "unknown model 'foo'"),
    ("export-depth-0", [*E, "--depth", "0"], "depth must be"),
    ("export-typo", [*E, "--tabel", "t.csv"], "did you mean --table?"),
    # --- figures ---
    ("figures-only-unknown", ["figures", "--only", "nosuch"], "unknown figure or group"),
    ("figures-list-and-only", ["figures", "--list", "--only", "figure2"], "--list"),
    ("figures-out-is-file", ["figures", "--only", "figure2", "--quick", "--out", "afile"],
     "not a directory"),
    ("figures-typo", ["figures", "--quik"], "did you mean --quick?"),
    ("figures-negative-seed", ["figures", "--only", "figure1", "--quick", "--seed", "-1",
                               "--out", "newdir"], "seed must be a whole number >= 0"),
    # --- table ---
    ("table-width-0", ["table", "-f", "tanh", "-N", "0", "--out", "t.csv"], "width must"),
    ("table-seed-negative", [*TB, "--seed", "-1"], "seed must be a whole number >= 0"),
    ("table-samples-1", [*TB, "--samples", "1"], "samples must be a whole number between 2"),
    ("table-samples-1e12", [*TB, "--samples", str(10**12)], "between 2 and 1,000,000,000"),
    ("table-ci-0", [*TB, "--ci-halfwidth", "0"], "ci_halfwidth must be"),
    ("table-workers-negative", [*TB, "--workers", "-1"], "workers must be"),
    ("table-format", ["table", "-f", "tanh", "-N", "8", "--out", "t.xyz"],
     "unknown table format '.xyz'"),
    ("table-typo", [*TB, "--nonlinearites", "tanh"], "did you mean"),
    ("table-width-range-1e12", ["table", "-f", "tanh", "-N", f"2:10:log{10**12}", "--out",
                                "t.csv"], "asks for 1,000,000,000,000 widths"),
    ("table-width-range-reversed", ["table", "-f", "tanh", "-N", "10:2:log3", "--out",
                                    "t.csv"], "needs A <= B"),
]


def _write_idx(path: Path, magic: int, dims: tuple[int, ...], data: bytes = b"") -> None:
    path.write_bytes(struct.pack(f">I{len(dims)}I", magic, *dims) + data)


def _populate(folder: Path) -> None:
    """The files the cases refer to: a plain file, a folder named like a history file,
    and MNIST folders that are empty, overflowing, of the wrong kind, or incomplete."""
    (folder / "afile").write_text("x")
    (folder / "d.json").mkdir()
    images, labels = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
    cases = {
        "mnist_empty": ((0x803, (0, 28, 28), b""), (0x801, (0,), b"")),
        "mnist_overflow": ((0x803, (2**32 - 1,) * 3, b""), (0x801, (2**32 - 1,), b"")),
        "mnist_magic": ((0x1234, (1, 28, 28), b""), (0x801, (1,), b"\0")),
        "mnist_ok": ((0x803, (1, 2, 2), b"\0" * 4), (0x801, (1,), b"\0")),
    }
    for name, (img, lab) in cases.items():
        (folder / name).mkdir()
        _write_idx(folder / name / images, *img)
        _write_idx(folder / name / labels, *lab)
    (folder / "mnist_no_labels").mkdir()
    _write_idx(folder / "mnist_no_labels" / images, 0x803, (1, 2, 2), b"\0" * 4)


def _listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """``rwinit.cli.main(argv)`` in-process: (exit status, stdout, stderr)."""
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's own errors
        status = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return status, out, err


def test_the_table_is_large_and_covers_every_command():
    commands = {argv[0] for _, argv, _ in CASES if argv}
    assert {"gain", "walk", "train", "figures", "table", "export"} <= commands
    assert len(CASES) >= 60
    assert len({cid for cid, _, _ in CASES}) == len(CASES)


@pytest.mark.parametrize(("argv", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_wrong_input_is_one_line_and_exit_2(argv, fragment, tmp_path, monkeypatch, capsys):
    _populate(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = _listing(tmp_path)
    dev_full = os.stat("/dev/full").st_rdev if os.path.exists("/dev/full") else None
    status, out, err = run_cli(argv, capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert status == 2, (status, err)
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("rwinit"), lines[0]
    assert fragment in lines[0], lines[0]
    assert out == ""
    assert _listing(tmp_path) == before
    if dev_full is not None:  # the device is still a device, never replaced by a file
        assert os.stat("/dev/full").st_rdev == dev_full


def test_full_disk_is_refused_before_training(tmp_path, monkeypatch, capsys):
    """A folder where the history cannot be written (ENOSPC) is found by the up-front
    probe, before the data is read or the network trained."""
    import rwinit.validation as validation

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(validation.tempfile, "mkstemp", full)
    monkeypatch.chdir(tmp_path)
    status, out, err = run_cli([*T, "--history", "h.json"], capsys)
    assert status == 2
    assert err.strip() == ("rwinit train: error: cannot write --history h.json: "
                           "No space left on device")
    assert out == "" and list(tmp_path.iterdir()) == []
