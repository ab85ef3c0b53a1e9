"""The disk cache of computed answers: hit, miss, corrupt entries, concurrent writers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from rwinit import cache


@pytest.fixture(autouse=True)
def cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("RWINIT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def counting(answer):
    calls = []

    def compute():
        calls.append(1)
        return dict(answer)

    return compute, calls


def test_cache_directory_follows_the_environment(tmp_path, monkeypatch):
    assert cache.cache_dir() == tmp_path / "cache"
    monkeypatch.delenv("RWINIT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "rwinit"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.cache_dir() == tmp_path / "home" / ".cache" / "rwinit"


def test_miss_then_hit_then_bypass():
    compute, calls = counting({"g": 1.25})
    inputs = {"network": "abc", "seed": 0}
    assert cache.cached("thing", inputs, compute) == ({"g": 1.25}, False)
    assert cache.cached("thing", inputs, compute) == ({"g": 1.25}, True)
    assert len(calls) == 1
    # another input, another key: a miss
    assert cache.cached("thing", {"network": "abc", "seed": 1}, compute)[1] is False
    assert len(calls) == 2
    # enabled=False neither reads nor writes
    assert cache.cached("thing", inputs, compute, enabled=False) == ({"g": 1.25}, False)
    assert len(calls) == 3


def test_key_includes_the_version(monkeypatch):
    import rwinit

    k1 = cache.cache_key("thing", {"a": 1})
    monkeypatch.setattr(rwinit, "__version__", "999.0")
    assert cache.cache_key("thing", {"a": 1}) != k1


@pytest.mark.parametrize(
    "damage",
    ["truncate", "garbage", "edit_answer", "wrong_key", "empty"],
)
def test_a_corrupt_entry_is_recomputed_and_rewritten(damage):
    inputs = {"network": "abc"}
    compute, calls = counting({"g": 1.5, "se": 0.01})
    cache.cached("thing", inputs, compute)
    path = cache.entry_path("thing", cache.cache_key("thing", inputs))
    text = path.read_text()
    if damage == "truncate":
        path.write_text(text[: len(text) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\xff\xfe\x00not json")
    elif damage == "empty":
        path.write_text("")
    else:
        entry = json.loads(text)
        if damage == "edit_answer":
            entry["answer"]["g"] = 9.0  # the checksum no longer matches
        else:
            entry["key"] = "0" * 64
        path.write_text(json.dumps(entry))
    answer, hit = cache.cached("thing", inputs, compute)
    assert (answer, hit) == ({"g": 1.5, "se": 0.01}, False) and len(calls) == 2
    # rewritten: the next call is a sound hit
    assert cache.cached("thing", inputs, compute) == ({"g": 1.5, "se": 0.01}, True)


def test_an_answer_the_caller_rejects_is_recomputed():
    inputs = {"x": 1}
    cache.cached("thing", inputs, lambda: {"g": -1.0})
    compute, calls = counting({"g": 2.0})

    def accept(a):
        if a["g"] <= 0:
            raise ValueError("bad gain")
        return True

    assert cache.cached("thing", inputs, compute, accept=accept) == ({"g": 2.0}, False)
    assert cache.cached("thing", inputs, compute, accept=accept) == ({"g": 2.0}, True)


def test_unwritable_cache_warns_and_still_answers(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("RWINIT_CACHE_DIR", str(blocker / "sub"))  # a file is in the way
    with pytest.warns(cache.CacheWarning):
        assert cache.cached("thing", {"a": 1}, lambda: {"g": 1.0}) == ({"g": 1.0}, False)


def test_two_processes_writing_the_same_key_leave_one_valid_entry(cache_in_tmp):
    script = textwrap.dedent("""
        import sys, time
        from rwinit import cache
        def compute():
            time.sleep(0.5)   # both processes miss, then both write
            return {"g": 1.2345, "writer": "any"}
        answer, hit = cache.cached("race", {"k": 1}, compute)
        print(answer["g"], hit)
    """)
    env = dict(os.environ, RWINIT_CACHE_DIR=str(cache_in_tmp))
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert [o[0] for o in outs] == ["1.2345", "1.2345"]
    assert cache.load("race", cache.cache_key("race", {"k": 1})) == {"g": 1.2345,
                                                                     "writer": "any"}
    leftovers = [p.name for p in cache_in_tmp.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_clear_removes_entries():
    cache.cached("a", {"x": 1}, lambda: {"v": 1})
    cache.cached("b", {"x": 1}, lambda: {"v": 2})
    assert cache.clear("a") == 1
    assert cache.clear() == 1
