"""Keep freed memory in the process for the next render instead of handing it back to the kernel.

Why: glibc serves every allocation above 32 MB (``M_MMAP_THRESHOLD``'s ceiling) with a fresh
``mmap`` and unmaps it on free, so each full-resolution feature map of a render (hundreds of MB)
is page-faulted in anew, one fault per 4 KiB: on a 4 MP render that was ~20 % of the render's
time (measured with ``benchmarks/engine.py``'s 4 MP case, one thread). With ``M_MMAP_MAX`` = 0
large blocks come from the heap and, with a high ``M_TRIM_THRESHOLD``, stay there for reuse.
The price: a process's resident memory stays at its peak between renders (the peak itself is
bounded by the memory budget, ``budget.py``). glibc only; elsewhere this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from functools import cache

log = logging.getLogger(__name__)

# mallopt parameter numbers from glibc's <malloc.h>.
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_MAX = -4
KEEP_BYTES = 2**31 - 1  # mallopt takes an int: in effect "never trim"
TOP_PAD_BYTES = 64 * 2**20  # grow the heap in steps of 64 MB rather than page by page


@cache
def reuse_freed_memory() -> bool:
    """Ask glibc to keep freed blocks for reuse (once per process); False where that is not possible."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):  # not glibc (musl, macOS): keep the allocator's defaults
        return False
    ok = all(mallopt(param, value) == 1 for param, value in
             ((M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, KEEP_BYTES), (M_TOP_PAD, TOP_PAD_BYTES)))  # fmt: skip
    if not ok:
        log.warning("mallopt refused a setting; freed memory may go back to the kernel between renders")
    return ok
