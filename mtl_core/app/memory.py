"""Give a session's memory back when the session ends (no Streamlit here).

Streamlit drops a session's state some time after its browser disconnects, but the table it
held may sit in reference cycles (the app turns Streamlit's after-run ``gc.collect`` off, see
``.streamlit/config.toml``) and glibc keeps freed pages of large frames in the process. A
``SessionMemory`` object lives in each session's state; when the state is freed, a short
timer thread runs a full collection and asks glibc to return free memory to the system.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import threading
import weakref


def release_memory() -> None:
    """Collect cycles now and hand free heap pages back to the operating system (glibc)."""
    gc.collect()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): the collection is all we do
        pass


def _release_soon(delay_s: float = 2.0) -> None:
    timer = threading.Timer(delay_s, release_memory)  # never inside a finalizer itself
    timer.daemon = True
    timer.start()


class SessionMemory:
    """Put one in a session's state; its end releases the session's memory."""

    def __init__(self, delay_s: float = 2.0) -> None:
        weakref.finalize(self, _release_soon, delay_s)
