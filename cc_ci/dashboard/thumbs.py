"""Thumbnails as the dashboard serves them: made once per file version, kept in memory.

`Thumbnails.get` reads a screenshot, asks `cc_ci.dashboard.thumbnail` for a small copy and
keeps it under the file's (path, mtime, size), so a PR comment's image costs one decode per
screenshot. One thumbnail is made at a time (a burst of requests cannot take every core),
and the cache holds at most `MAX_CACHE_BYTES`, the least recently used going first.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from cc_ci.dashboard.eventlog import log
from cc_ci.dashboard.thumbnail import THUMB_WIDTH, ThumbnailError, thumbnail

MAX_SOURCE_BYTES = 32 * 1024 * 1024
"""A screenshot larger than this is served as it is, never decoded."""
MAX_CACHE_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Thumb:
    body: bytes | None
    """The thumbnail's PNG, or None: serve the original (`why` says why)."""
    etag: str
    why: str = ""


class Thumbnails:
    def __init__(self, width: int = THUMB_WIDTH, max_bytes: int = MAX_CACHE_BYTES) -> None:
        self.width = width
        self.max_bytes = max_bytes
        self._cache: OrderedDict[tuple[str, int, int], Thumb] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self._making = threading.Lock()

    def get(self, path: Path) -> Thumb:
        st = path.stat()
        key = (str(path), st.st_mtime_ns, st.st_size)
        etag = f'W/"thumb-{self.width}-{st.st_mtime_ns:x}-{st.st_size:x}"'
        hit = self._lookup(key)
        if hit is not None:
            return hit
        with self._making:
            hit = self._lookup(key)  # made meanwhile by the request this one waited for
            if hit is not None:
                return hit
            thumb = self._make(path, st.st_size, etag)
        with self._lock:
            self._cache[key] = thumb
            self._size += len(thumb.body or b"")
            while self._size > self.max_bytes and len(self._cache) > 1:
                _, old = self._cache.popitem(last=False)
                self._size -= len(old.body or b"")
        return thumb

    def _lookup(self, key: tuple[str, int, int]) -> Thumb | None:
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
            return hit

    def _make(self, path: Path, size: int, etag: str) -> Thumb:
        if size > MAX_SOURCE_BYTES:
            why = f"{size} bytes, more than {MAX_SOURCE_BYTES} are decoded"
        else:
            try:
                with open(path, "rb") as f:
                    data = f.read(MAX_SOURCE_BYTES + 1)
                return Thumb(thumbnail(data, self.width), etag)
            except ThumbnailError as e:
                why = str(e)
            except OSError as e:
                why = f"unreadable: {os.strerror(e.errno) if e.errno else e}"
        log("thumbnail-original", path=path.name, why=why)
        return Thumb(None, etag, why)
