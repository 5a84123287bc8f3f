"""Process-level controls: child processes that do not outlive the process that
started them, a long-lived process's freed memory given back to the system, and the
cores a batch of queries may take."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

__all__ = ["CORES", "blas_on_every_core", "exit_with_parent", "give_back_freed_memory"]

#: The cores this process may run on.
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

_BLAS_LOCK = threading.Lock()

_PR_SET_PDEATHSIG = 1
_M_MMAP_THRESHOLD = -3  # mallopt's parameter (glibc malloc.h)

#: Allocations from this size on are mapped on their own, and unmapped when freed.
MMAP_THRESHOLD = 1 << 20


def exit_with_parent(parent: int) -> None:
    """Have the kernel send SIGTERM to this process when ``parent`` exits (Linux).

    Call it first thing in a child process (a pool's ``initializer``): a parent
    killed outright (SIGKILL, or SIGTERM without a handler) runs no clean-up, and its
    children would otherwise go on working for nobody.
    """
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(0)


def give_back_freed_memory() -> None:
    """Return the memory freed so far to the system, and from now on map every
    allocation of MMAP_THRESHOLD bytes or more on its own (glibc; elsewhere nothing).

    glibc raises its mapping threshold to the size of each large block freed (up to
    32 MiB), so a server worker's per-query arrays (a few MiB each for a large
    vocabulary) come from the heap, and what they leave free there stays in the
    process: 1.27 M-word Word2Vec workers held about 290 MiB of heap after loading,
    of which a trim gave back 220. A fixed threshold stops that adjustment; each
    large array then costs a mapping and its page faults.
    """
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        libc.malloc_trim(0)


@contextlib.contextmanager
def blas_on_every_core() -> Iterator[None]:
    """Matrix products on CORES BLAS threads inside the block, then on as many as
    before (a server worker's one). BLAS's thread count is process-wide, so one block
    runs at a time in a process: a second caller waits for the first rather than
    change the count under it (and a batch already holds every core)."""
    from threadpoolctl import threadpool_limits

    with _BLAS_LOCK, threadpool_limits(CORES, user_api="blas"):
        yield
