"""Atomic file writes: readers see the old file or the new one, never a part of either.

Used wherever the project replaces a file that something else reads (knowledge-base entry files,
fitted thresholds, the index cache, attachment blobs): temp file in the same directory, fsync,
rename over the target, fsync the directory so the rename itself survives a power cut.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, mode: int | None = None, prefix: str | None = None) -> None:
    """Replace `path` with `data`. `mode` defaults to the existing file's, else 0644; the temp
    file's name starts with `prefix` (default `.<name>.`) so that sweepers can recognise it."""
    folder = path.parent
    new_folder = not folder.is_dir()
    folder.mkdir(parents=True, exist_ok=True)
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            mode = 0o644
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix or f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), mode)  # mkstemp creates 0600
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(folder)
    if new_folder:
        fsync_dir(folder.parent)
