"""rwinit._jit: the vector-width setting is made as documented and changes no result."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

_PROBE = """
import json, os
import rwinit.kernels  # imports Numba through rwinit._jit
from rwinit import simulate_walk
from rwinit._jit import FULL_WIDTH_REQUESTED
r = simulate_walk("tanh", 24, 12, gain=1.15, samples=96, seed=5, model="network",
                  threads=1)
print(json.dumps({"features": os.environ.get("NUMBA_CPU_FEATURES", ""),
                  "requested": FULL_WIDTH_REQUESTED,
                  "moments": r.log_z_mean.tolist() + r.log_z_var.tolist()}))
"""


def _probe(env_extra: dict[str, str]) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CPU_")}
    env.update(env_extra)
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _host_features() -> str:
    llvm = pytest.importorskip("llvmlite.binding")
    return llvm.get_host_cpu_features().flatten()


def test_wide_vectors_are_requested_exactly_on_avx512_hosts():
    host = _host_features()
    got = _probe({})
    if "+avx512f" in host.split(","):
        assert got["features"] == host + ",-prefer-256-bit"
        assert got["requested"] is True
    else:
        assert got["features"] == ""
        assert got["requested"] is False


def test_a_users_own_cpu_choice_is_left_alone():
    got = _probe({"NUMBA_CPU_NAME": "generic"})
    assert got["features"] == "" and got["requested"] is False


def test_results_are_bit_identical_whatever_the_vector_width():
    host = _host_features()
    default = _probe({"NUMBA_CPU_FEATURES": host})  # the host's own tuning
    chosen = _probe({})
    assert default["moments"] == chosen["moments"]
