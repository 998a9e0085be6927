"""The single-writer lock: one process at a time may own the index writer and the catalog.

The lock is an OS advisory lock on a small file (`flock` on POSIX, `msvcrt.locking` on Windows).
The OS drops it when the owning process dies, so a crash never leaves a stale lock behind. The
owner writes its pid and what it is (`holder`: the app's engine, or the command-line command)
into the file, so a refused process can say who has the library and what to do about it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from pathlib import Path
from types import TracebackType

from engine.errors import ErrorKind, WriterLocked

APP_HOLDER = "app"  # the engine of the desktop app (`needle serve`)
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


def _read_owner(path: Path) -> tuple[int | None, str]:
    """(pid, holder) recorded by the current (or last) owner; None and "" when unknown."""
    try:
        text = path.read_text("utf-8", errors="replace")
    except OSError:
        return None, ""
    lines = [line.strip("\x00 \r") for line in text.splitlines()]
    digits = lines[0] if lines else ""
    holder = lines[1] if len(lines) > 1 else ""
    return (int(digits) if digits.isdigit() else None), holder


def read_owner_pid(path: Path) -> int | None:
    """The pid recorded by the current (or last) owner, or None when unknown."""
    return _read_owner(path)[0]


def locked_error(pid: int | None, holder: str) -> WriterLocked:
    """What a refused process tells its user: who has the library, and what to do."""
    who = f"pid {pid}" if pid is not None else "pid unknown"
    if holder == APP_HOLDER:
        return WriterLocked(
            ErrorKind.WRITER_LOCKED,
            f"The Needle app has this library open ({who}).",
            "Do this in the app (add or remove folders there; it indexes and watches them "
            "itself), or quit the app and try again. Searching works while the app is open.",
        )
    if holder:
        return WriterLocked(
            ErrorKind.WRITER_LOCKED,
            f"Another '{holder}' run ({who}) is updating this library.",
            "Wait for it to finish, then try again. Searching works meanwhile.",
        )
    return WriterLocked(
        ErrorKind.WRITER_LOCKED,
        f"Another Needle process ({who}) is using this library.",
        "Wait for it to finish or close it, then try again. Searching works meanwhile.",
    )


class WriterLock:
    """Exclusive writer lock on `path`.

    `acquire()` raises `WriterLocked(kind="writer_locked")` naming the other process (its pid and
    `holder`) when someone else holds it. `release()` is idempotent. Usable as a context manager.
    The lock is per process: acquiring twice through one `WriterLock` object is a no-op.
    """

    def __init__(self, path: Path, holder: str = "") -> None:
        self.path = Path(path)
        self.holder = holder.replace("\n", " ").strip()
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
        os.write(fd, f"{os.getpid()}\n{self.holder}\n".encode())
        os.fsync(fd)

    def _locked_error(self) -> WriterLocked:
        return locked_error(*_read_owner(self.path))

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
