"""Publishing a file whole: readers see the old file or the new one, never a part."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def publish(path: Path, data: bytes) -> Path:
    """Write `data` to `path` so that no reader sees a partial file where the filesystem allows.

    A unique temporary name in the same directory, flushed to disk, then os.replace: atomic on local
    disks. On BlobFuse renames are copies; packed splits carry a checksum for what slips through.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
