"""The single-writer lock, across real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine.errors import WriterLocked
from engine.library.lock import WriterLock, read_owner_pid

HOLDER_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from engine.library.lock import WriterLock
    lock = WriterLock(Path(sys.argv[1])).acquire()
    print("held", flush=True)
    sys.stdin.readline()  # hold until the test says so (or closes the pipe)
    lock.release()
    print("released", flush=True)
    """
)

TRY_SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from engine.errors import WriterLocked
    from engine.library.lock import WriterLock
    try:
        WriterLock(Path(sys.argv[1])).acquire()
    except WriterLocked as error:
        print(error.kind + "|" + error.message, flush=True)
        sys.exit(3)
    print("acquired", flush=True)
    """
)


def _start_holder(lock_path: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER_SCRIPT, str(lock_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_second_process_is_refused_with_the_owner_pid(tmp_path: Path) -> None:
    lock_path = tmp_path / "data" / "writer.lock"
    holder = _start_holder(lock_path)
    try:
        with pytest.raises(WriterLocked) as caught:
            WriterLock(lock_path).acquire()
        error = caught.value
        assert error.kind == "writer_locked"
        assert error.message == (
            f"Another Needle process (pid {holder.pid}) is changing this library (the desktop "
            "app, or an indexing run)."
        )
        assert error.hint
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=10)
    # Once released, the lock is free again.
    with WriterLock(lock_path) as lock:
        assert lock.held
        assert read_owner_pid(lock_path) == os.getpid()


def test_other_process_is_refused_while_we_hold_it(tmp_path: Path) -> None:
    lock_path = tmp_path / "writer.lock"
    with WriterLock(lock_path):
        result = subprocess.run(
            [sys.executable, "-c", TRY_SCRIPT, str(lock_path)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 3
    assert result.stdout.strip() == (
        f"writer_locked|Another Needle process (pid {os.getpid()}) is changing this library "
        "(the desktop app, or an indexing run)."
    )


def test_lock_of_a_killed_process_does_not_block(tmp_path: Path) -> None:
    lock_path = tmp_path / "writer.lock"
    holder = _start_holder(lock_path)
    holder.kill()
    holder.wait(timeout=10)
    # The dead owner's pid is still written in the file, yet the lock is free.
    assert read_owner_pid(lock_path) == holder.pid
    lock = WriterLock(lock_path).acquire()
    try:
        assert read_owner_pid(lock_path) == os.getpid()
    finally:
        lock.release()


def test_release_is_idempotent_and_reacquire_works(tmp_path: Path) -> None:
    lock = WriterLock(tmp_path / "writer.lock")
    lock.acquire()
    lock.acquire()  # same owner: no-op
    lock.release()
    lock.release()
    assert not lock.held
    with lock:
        assert lock.held
    assert not lock.held
