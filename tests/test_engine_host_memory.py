"""Freed feature maps stay in the process for the next render (worker/engine/host_memory.py)."""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

import pytest
import torch

from worker.engine.host_memory import reuse_freed_memory


class MallInfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2`` (all size_t)."""

    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                     "keepcost")
    ]  # fmt: skip


def _mallinfo() -> MallInfo2:
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    if not hasattr(libc, "mallinfo2"):
        pytest.skip("this C library has no mallinfo2 (glibc 2.33+)")
    libc.mallinfo2.restype = MallInfo2
    return libc.mallinfo2()


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_a_large_feature_map_comes_from_the_heap_and_stays_there_when_freed():
    assert reuse_freed_memory()
    size = 64 * 2**20  # above the 32 MB ceiling of glibc's mmap threshold
    before = _mallinfo()
    feature_map = torch.empty(size, dtype=torch.uint8).fill_(1)
    during = _mallinfo()
    assert during.hblkhd == before.hblkhd  # from the heap, not an mmap of its own
    assert during.uordblks >= before.uordblks + size
    del feature_map
    after = _mallinfo()
    assert after.arena == during.arena  # nothing trimmed: the heap keeps the block for the next render
    assert after.fordblks >= size
