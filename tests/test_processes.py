"""Process-level controls (wordlens.processes), each run in a fresh interpreter so
that the test process's own allocator state does not matter."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from wordlens import processes

# Frees a 16 MiB array (glibc then raises its mapping threshold to 16 MiB), optionally
# gives freed memory back, then holds 40 arrays of 2 MiB at once, each followed by a
# small kept allocation, frees them, and prints how many MiB the heap still holds
# (measured: about 20 without giving back, 4 with).
SCRIPT = """
import sys
import numpy as np
from wordlens.processes import give_back_freed_memory

np.ones(16 << 17).sum()  # allocated and freed
if sys.argv[1] == "give back":
    give_back_freed_memory()
blocks, kept = [], []
for _ in range(40):
    blocks.append(np.ones(2 << 17))
    kept.append(np.ones(64))
del blocks
heap = 0
mapping = None
for line in open("/proc/self/smaps"):
    fields = line.split()
    if "-" in fields[0] and len(fields) >= 5:
        mapping = fields[5] if len(fields) > 5 else ""
    elif fields[0] == "Rss:" and mapping == "[heap]":
        heap += int(fields[1])
print(heap / 1024)
"""


def heap_mib(mode: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True
    )
    return float(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc")
def test_freed_large_arrays_leave_the_heap():
    kept = heap_mib("keep")
    given_back = heap_mib("give back")
    assert kept > given_back + 10  # without it, the 2 MiB arrays' space stays in the heap
    assert given_back < 10


@pytest.mark.skipif(processes.CORES < 2, reason="one core: nothing to spread")
def test_blas_on_every_core_for_a_block_then_as_before():
    np.ones((2, 2)) @ np.ones((2, 2))  # BLAS loaded

    def blas_threads() -> set[int]:
        return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    with threadpool_limits(1, user_api="blas"):
        with processes.blas_on_every_core():
            assert blas_threads() == {processes.CORES}
        assert blas_threads() == {1}


def test_one_block_on_every_core_at_a_time():
    entered = threading.Event()

    def second() -> None:
        with processes.blas_on_every_core():
            entered.set()

    with processes.blas_on_every_core():
        waiting = threading.Thread(target=second)
        waiting.start()
        assert not entered.wait(0.2)
    waiting.join(5)
    assert entered.is_set()
