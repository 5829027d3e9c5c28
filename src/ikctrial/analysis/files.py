"""All-or-nothing file output (write beside the target, then rename over it) and file digests."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replaced_atomically(target: str | Path) -> Iterator[Path]:
    """A temporary path in the target's folder, renamed to ``target`` only if the block succeeds.

    A failed export therefore never leaves a half-written file, nor destroys a previous one.
    """
    final = Path(target)
    handle, temporary = tempfile.mkstemp(prefix=f".{final.name}.", dir=final.parent)
    os.close(handle)
    try:
        yield Path(temporary)
        os.replace(temporary, final)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes as hex, read in 1 MiB blocks (exports record it)."""
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()
