"""Giving freed memory back to the system."""
from __future__ import annotations

_LIBC = []  # glibc, once loaded (empty list: not looked up yet; [None]: not available)


def release_freed_memory() -> None:
    """Give memory freed by the last model back to the system (glibc keeps it otherwise).

    A model's fold fits and datasets are freed when it ends, but glibc's allocator keeps those pages
    for later, so a run's resident memory would grow with every model. Elsewhere than glibc: no-op.
    """
    if not _LIBC:
        try:
            import ctypes

            libc = ctypes.CDLL("libc.so.6")
            _LIBC.append(libc if hasattr(libc, "malloc_trim") else None)
        except OSError:
            _LIBC.append(None)
    if _LIBC[0] is not None:
        _LIBC[0].malloc_trim(0)
