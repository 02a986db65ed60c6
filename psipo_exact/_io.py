"""Atomic file output: files either appear complete or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _stage(final: Path) -> Path:
    """A new empty temporary file beside ``final`` (its folder is created if missing)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=final.suffix, dir=final.parent)
    os.close(fd)
    return Path(tmp)


def _publish(tmp: Path, final: Path) -> None:
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 → the mode open() would give
    os.replace(tmp, final)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; move it onto ``path`` only on success.

    Parameters
    ----------
    path : path-like
        Final destination. Its directory is created if missing.
    """
    final = Path(path)
    tmp = _stage(final)
    try:
        yield tmp
        _publish(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def write_files(directory: str | os.PathLike,
                writers: Mapping[str, Callable[[Path], None]]) -> list[Path]:
    """Write several files into ``directory``, all or none.

    Every ``writers[name](tmp)`` writes its content to a temporary file beside the final
    one; only when all have succeeded are the files moved into place. If a writer raises,
    every temporary file is removed and the exception propagates.

    Parameters
    ----------
    directory : path-like
        Destination folder, created if missing.
    writers : mapping
        File name → function writing that file's content to the path it is given.

    Returns
    -------
    list of Path
        The final paths, in the order of ``writers``.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for name, write in writers.items():
            final = Path(directory) / name
            staged.append((_stage(final), final))
            write(staged[-1][0])
        for tmp, final in staged:
            _publish(tmp, final)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
    return [final for _, final in staged]


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
