"""Child processes that do not outlive the process that started them."""

from __future__ import annotations

import contextlib
import os
import signal

__all__ = ["exit_with_parent"]

_PR_SET_PDEATHSIG = 1


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
