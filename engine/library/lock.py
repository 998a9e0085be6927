"""The single-writer lock: one process at a time may own the index writer and the catalog.

The lock is an OS advisory lock on a small file (`flock` on POSIX, `msvcrt.locking` on Windows).
The OS drops it when the owning process dies, so a crash never leaves a stale lock behind; the
pid written into the file is only there so the refusal message can name the owner.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from pathlib import Path
from types import TracebackType

from engine.errors import ErrorKind, WriterLocked

# The holder may be indexing or merely open (the desktop app holds the lock while it runs).
WHO_HOLDS = "is changing this library (the desktop app, or an indexing run)."
LOCK_HINT = (
    "Wait for the other indexing run to finish or close the other Needle window; "
    "searching still works meanwhile."
)
# Windows locks are mandatory: a locked byte cannot be read by others. Lock a byte far past the
# pid text so a refused process can still read who owns the lock.
_WINDOWS_LOCK_OFFSET = 4096


def _try_lock(fd: int) -> bool:
    """Take the lock without waiting; False when another process holds it."""
    if sys.platform == "win32":
        import msvcrt

        try:
            os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as error:
        # Some network filesystems refuse flock with EACCES/EAGAIN rather than EWOULDBLOCK.
        if error.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _unlock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


def read_owner_pid(path: Path) -> int | None:
    """The pid recorded by the current (or last) owner, or None when unknown."""
    try:
        text = path.read_text("ascii", errors="replace").strip()
    except OSError:
        return None
    digits = text.strip("\x00 ")
    return int(digits) if digits.isdigit() else None


class WriterLock:
    """Exclusive writer lock on `path`.

    `acquire()` raises `WriterLocked(kind="writer_locked")` naming the other process's pid when
    someone else holds it. `release()` is idempotent. Usable as a context manager. The lock is
    per process: acquiring twice through one `WriterLock` object is a no-op.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> WriterLock:
        if self._fd is not None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            os.close(fd)
            raise self._locked_error()
        self._write_pid(fd)
        self._fd = fd
        return self

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            # Leave the file in place (deleting it races with a new owner) but clear the pid.
            os.ftruncate(fd, 0)
            _unlock(fd)
        finally:
            os.close(fd)

    def _write_pid(self, fd: int) -> None:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        os.fsync(fd)

    def _locked_error(self) -> WriterLocked:
        pid = read_owner_pid(self.path)
        owner = f"pid {pid}" if pid is not None else "pid unknown"
        return WriterLocked(
            ErrorKind.WRITER_LOCKED,
            f"Another Needle process ({owner}) {WHO_HOLDS}",
            LOCK_HINT,
        )

    def __enter__(self) -> WriterLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def __del__(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
