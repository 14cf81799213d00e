"""Copy objects between storage and a worker's scratch folder, streaming (never whole in memory).

Why files: FFmpeg reads and writes containers by seeking in files; a clip or a set of lossless
segments can be far larger than a worker should hold in memory.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from shared.storage import Storage

CHUNK_BYTES = 1024 * 1024


def fetch(storage: Storage, key: str, path: Path) -> Path:
    """Write the object at ``key`` to ``path``; returns ``path``."""
    with storage.open_read(key) as source, path.open("wb") as target:
        shutil.copyfileobj(source, target, CHUNK_BYTES)
    return path
