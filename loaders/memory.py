"""What the loader does so that its memory is bounded by what it holds at once."""

from __future__ import annotations

import ctypes
import gc
import sys

import pyarrow as pa

# mallopt parameters, glibc malloc.h
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
# Allocations from this size up (pages, order batches, their Arrow copies) are mapped and
# unmapped whole, so a freed one goes back to the system instead of fragmenting the heap.
MMAP_THRESHOLD_BYTES = 128 * 1024


def bound_allocators(arenas: int = 2) -> None:
    """Make freed memory go back to the system, so the loader's peak is what it holds at once
    and not what it has ever held. Before the order-fetch process forks, which inherits it.

    glibc: two malloc arenas (every fetch thread otherwise gets its own, and ~1 MB pages freed in
    one and allocated in another fragment them), and a fixed mmap threshold (glibc raises it to
    32 MiB as large blocks are freed, after which pages and batches land in the heap and stay).
    Arrow allocates from the system allocator for the same reason (mimalloc keeps what a thread
    freed for that thread)."""
    pa.set_memory_pool(pa.system_memory_pool())
    if _libc is not None:  # not glibc: nothing to tune
        _libc.mallopt(_M_ARENA_MAX, arenas)
        _libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


def release_free_memory(*, collect_cycles: bool = False) -> None:
    """Give the heap's free pages back to the system (glibc malloc_trim, which also reaches the
    free pages between live blocks). Orders are ~10 KB objects freed batch by batch in a
    different order from the one they were made in, so their freed pages are scattered among
    live ones: without this a long load's heap keeps growing with the orders it has passed.

    `collect_cycles`: first free what only reference cycles keep. Every httpx response is one
    (it and its stream point at each other), so each ~1 MB page read would otherwise wait for
    Python's rare full collection: the order-fetch process grew by ~100 MB between two."""
    if collect_cycles:
        gc.collect()
    if _libc is not None:
        _libc.malloc_trim(0)


def _glibc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018 - not glibc without it
    except (OSError, AttributeError):
        return None
    return libc


_libc = _glibc()
