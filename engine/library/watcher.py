"""Watching folders: OS file events (watchdog), debounced and coalesced into small batches.

`FolderWatcher(folders, ignore_rules, on_batch, debounce_seconds=0.4)` calls `on_batch` from its
own thread with a `ChangeBatch` once the folders have been quiet for `debounce_seconds` (or at the
latest `max_delay_seconds` after the first change, so a file written continuously still shows up).

Coalescing is per path, so what reaches the indexer is the net effect of the burst:
- an editor saving five times -> one change of that file;
- write a temp file then rename it over the real one (`note.md.tmp` -> `note.md`, or vim's
  backup dance) -> one change of `note.md`; the temp file never appears;
- a -> b -> c within one burst -> one move a -> c; created then deleted -> nothing;
- a folder moved -> one move per file inside it; a folder created or moved in -> its files
  listed as changed; a folder deleted or moved out -> the folder path in `deleted` (the indexer
  removes everything its catalog has under it, since the files can no longer be listed).

When the OS refuses a watch (Linux inotify limits: ENOSPC, EMFILE; some network shares), that
folder falls back to periodic polling and `modes()` says "polling" for it, so status can tell
the user why updates are slower instead of silently missing them.

watchdog walks a folder recursively both to set up event watches and to poll, so a tree about
1,000 levels deep makes both raise `RecursionError`. Such a folder (or one whose watching fails
any other way) is followed by listing it with the scanner's iterative walk every poll interval
and comparing the listings (`listed_folders()` names them); the other folders keep their events.
A deep tree moved into a watched folder later ends watchdog's inotify reader thread, which all
folders share: the health check notices, starts a new observer for them, and the folder that now
holds the deep tree falls back to listing.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserverVFS

from engine.library.ignore import (
    IGNORE_FILE_NAMES,
    IgnoreRules,
    is_default_ignored_name,
    is_ignore_file,
)
from engine.library.scanner import is_supported, normalize_extensions, scan_folders
from engine.models import WatchMode

log = logging.getLogger(__name__)

HEALTH_CHECK_SECONDS = 1.0
# errno values with which the OS says "no more watches" (inotify limits, descriptor limits).
WATCH_REFUSED_ERRNOS = frozenset({errno.ENOSPC, errno.EMFILE, errno.ENFILE, errno.ENOMEM})
# Only these change a file's content or existence; opened/closed-without-write/attrib events
# (the indexer reading a file, a backup tool touching atimes) must not trigger work.
_RELEVANT_EVENTS = (
    FileCreatedEvent,
    FileModifiedEvent,
    FileClosedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
)


@dataclass(frozen=True)
class ChangeBatch:
    """The net changes of one quiet period. Paths are absolute. `deleted` may hold folders."""

    changed: tuple[Path, ...] = ()
    deleted: tuple[Path, ...] = ()
    moved: tuple[tuple[Path, Path], ...] = ()
    # Folders whose .gitignore or .ignore changed: what their subtrees hold may now be ignored
    # or no longer ignored, so those need a new look (the engine reconciles).
    rules_changed: tuple[Path, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.changed or self.deleted or self.moved or self.rules_changed)

    @property
    def size(self) -> int:
        return len(self.changed) + len(self.deleted) + len(self.moved) + len(self.rules_changed)


def _as_path(raw: bytes | str) -> Path:
    return Path(os.fsdecode(raw))


def _resolved(folder: Path) -> Path:
    try:
        return folder.resolve()
    except OSError:
        return folder


class _Coalescer:
    """Per-path net effect of a burst of events. Not thread-safe: the watcher holds a lock."""

    def __init__(self) -> None:
        self.changed: set[Path] = set()
        self.deleted: set[Path] = set()
        self.moved_from: dict[Path, Path] = {}  # destination -> original source
        self.created: set[Path] = set()  # did not exist before this burst
        self.rules_changed: set[Path] = set()
        # source -> destination of each rename recorded in this burst. watchdog reports a folder's
        # rename, then may report each file's rename inside it again; a repeat must not replace
        # the chain's origin (a folder renamed twice ~50 ms apart left every file searchable at a
        # path that no longer existed, beside its real one).
        self.passed: dict[Path, Path] = {}

    def __bool__(self) -> bool:
        return bool(self.changed or self.deleted or self.moved_from or self.rules_changed)

    def change(self, path: Path, *, created: bool = False) -> None:
        self.passed.pop(path, None)  # a file at this path again: a later rename from it is new
        if path in self.deleted:
            self.deleted.discard(path)  # deleted then recreated: a change of the same path
        elif created and path not in self.moved_from:
            self.created.add(path)
        self.changed.add(path)

    def delete(self, path: Path) -> None:
        self.changed.discard(path)
        source = self.moved_from.pop(path, None)
        if path in self.created:
            self.created.discard(path)  # born and gone within the burst: nothing happened
            return
        self.deleted.add(source if source is not None else path)

    def move(self, source: Path, destination: Path) -> None:
        """`source` renamed to `destination` (both wanted paths)."""
        if self.passed.get(source) == destination:
            return  # the same rename reported again
        self.passed.pop(destination, None)
        self.passed[source] = destination
        if source in self.created:
            # A file born in this burst (a temp file renamed into place): the destination just
            # has new content. Not marked "created": it may have existed before.
            self.created.discard(source)
            self.changed.discard(source)
            self.change(destination)
            return
        edited = source in self.changed
        self.changed.discard(source)
        original = self.moved_from.pop(source, source)
        self.deleted.discard(destination)
        self.changed.discard(destination)
        if original == destination:
            self.changed.add(destination)  # moved away and back: at most its content changed
            return
        self.moved_from[destination] = original
        if edited:
            self.changed.add(destination)  # edited, then renamed: a move with new content

    def take(self) -> ChangeBatch:
        moves = tuple(sorted((source, target) for target, source in self.moved_from.items()))
        moved_sources = {source for source, _ in moves}
        batch = ChangeBatch(
            changed=tuple(sorted(self.changed)),
            deleted=tuple(sorted(self.deleted - moved_sources)),
            moved=moves,
            rules_changed=tuple(sorted(self.rules_changed)),
        )
        self.changed, self.deleted, self.moved_from, self.created = set(), set(), {}, set()
        self.rules_changed, self.passed = set(), {}
        return batch


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: FolderWatcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if isinstance(event, _RELEVANT_EVENTS):
            try:
                self.watcher._on_event(event)
            except Exception:  # an observer thread that raises stops watching for good
                log.exception("could not handle file event %r", event)


class FolderWatcher:
    """Watches folders and reports debounced, coalesced `ChangeBatch`es to `on_batch`.

    `start()`, `stop()`, `add_folder(path)`, `remove_folder(path)`, `modes()`. `on_batch` runs on
    the watcher's own thread, one batch at a time; an exception from it is logged, not fatal.
    """

    def __init__(
        self,
        folders: Iterable[str | os.PathLike[str]],
        ignore_rules: IgnoreRules,
        on_batch: Callable[[ChangeBatch], None],
        debounce_seconds: float = 0.4,
        *,
        extensions: Iterable[str] | None = None,
        max_delay_seconds: float = 1.5,
        poll_interval_seconds: float = 2.0,
    ) -> None:
        if extensions is None:
            from engine.ingest.extract import scanned_extensions
            from engine.ingest.ocr import ocr_status

            extensions = scanned_extensions(ocr=ocr_status().available)
        self.rules = ignore_rules
        self.on_batch = on_batch
        self.debounce_seconds = debounce_seconds
        self.max_delay_seconds = max(max_delay_seconds, debounce_seconds)
        self.poll_interval_seconds = poll_interval_seconds
        self.extensions = normalize_extensions(extensions)
        # Replaced, never mutated: observer threads read it without taking the lock.
        self._folders: tuple[Path, ...] = tuple(
            dict.fromkeys(Path(folder).absolute() for folder in folders)
        )
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pending = _Coalescer()
        self._first_event = 0.0
        self._last_event = 0.0
        self._watches: dict[Path, tuple[BaseObserver, ObservedWatch]] = {}
        self._modes: dict[Path, WatchMode] = {}
        self._event_observer: BaseObserver | None = None
        self._polling_observer: BaseObserver | None = None
        self._tree_poller = _TreePoller(self, poll_interval_seconds)
        self._flusher: threading.Thread | None = None
        self._running = False
        self._handler = _Handler(self)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._running:
            return
        _log_watchdog_thread_deaths()
        self._running = True
        self._event_observer = Observer()
        self._event_observer.daemon = True
        self._event_observer.start()
        for folder in list(self._folders):
            self._watch(folder)
        self._flusher = threading.Thread(target=self._flush_loop, name="needle-watch", daemon=True)
        self._flusher.start()

    def stop(self) -> None:
        """Stop watching; changes not yet delivered are dropped (the next reconcile sees them)."""
        if not self._running:
            return
        with self._lock:
            self._running = False
            self._wake.notify_all()
        for observer in (self._event_observer, self._polling_observer):
            if observer is not None:
                observer.stop()
        self._tree_poller.stop()
        for observer in (self._event_observer, self._polling_observer):
            if observer is not None and observer.is_alive():
                observer.join(timeout=5)
        if self._flusher is not None:
            self._flusher.join(timeout=5)
        self._event_observer = self._polling_observer = None
        self._watches.clear()
        self._modes.clear()

    def add_folder(self, folder: str | os.PathLike[str]) -> None:
        absolute = Path(folder).absolute()
        if absolute in self._folders:
            return
        self._folders = (*self._folders, absolute)
        if self._running:
            self._watch(absolute)

    def remove_folder(self, folder: str | os.PathLike[str]) -> None:
        absolute = Path(folder).absolute()
        self._folders = tuple(f for f in self._folders if f != absolute)
        watched = self._watches.pop(absolute, None)
        self._modes.pop(absolute, None)
        self._tree_poller.remove(absolute)
        if watched is not None:
            observer, watch = watched
            observer.unschedule(watch)

    def folders(self) -> list[Path]:
        return list(self._folders)

    def modes(self) -> dict[str, WatchMode]:
        """How each watched folder is followed: "events" (OS notifications) or "polling"."""
        return {str(folder): mode for folder, mode in self._modes.items()}

    def listed_folders(self) -> list[str]:
        """The folders polled by listing them whole, because event watching failed there (a
        tree too deep for watchdog); status explains why their updates come slower."""
        return [str(folder) for folder in self._tree_poller.folders()]

    def __enter__(self) -> FolderWatcher:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- scheduling --------------------------------------------------------------------------

    def _watch(self, folder: Path) -> bool:
        """Start following `folder`; False when it is not there now (an unplugged drive). Such
        a folder has no entry in `modes()` and is picked up by the health check once it is
        back."""
        if not folder.is_dir():
            log.info("not watching %s for now: it is not a reachable folder", folder)
            return False
        assert self._event_observer is not None
        try:
            watch = self._event_observer.schedule(self._handler, str(folder), recursive=True)
        except OSError as error:
            if error.errno not in WATCH_REFUSED_ERRNOS:
                self._list_instead(folder, error)
                return True
            log.warning(
                "the OS refused to watch %s (%s); polling it every %.0f s instead",
                folder,
                error.strerror or error,
                self.poll_interval_seconds,
            )
            self._poll(folder)
            return True
        except (RecursionError, MemoryError) as error:
            # One folder that cannot be watched must not stop the watching of the others.
            self._list_instead(folder, error)
            return True
        self._watches[folder] = (self._event_observer, watch)
        self._modes[folder] = "events"
        return True

    def _poll(self, folder: Path) -> None:
        if self._polling_observer is None:
            self._polling_observer = PollingObserverVFS(
                os.stat, self._polled_listing, polling_interval=self.poll_interval_seconds
            )
            self._polling_observer.daemon = True
            self._polling_observer.start()
        watch = self._polling_observer.schedule(self._handler, str(folder), recursive=True)
        self._watches[folder] = (self._polling_observer, watch)
        self._modes[folder] = "polling"

    def _list_instead(self, folder: Path, error: BaseException) -> None:
        log.warning(
            "%s could not be watched by events (%s: %s); listing it every %g s instead",
            folder,
            type(error).__name__,
            error,
            self.poll_interval_seconds,
        )
        self._tree_poller.add(folder)
        self._modes[folder] = "polling"

    def _on_listing_changed(
        self, old: dict[Path, tuple[int, float]], new: dict[Path, tuple[int, float]]
    ) -> None:
        """What two listings of a folder followed by `_TreePoller` differ in, as changes."""
        with self._lock:
            for path, seen in new.items():
                before = old.get(path)
                if before is None:
                    self._pending.change(path, created=True)
                elif before != seen:
                    self._pending.change(path)
            for path in old.keys() - new.keys():
                self._pending.delete(path)
            self._touched()

    def _polled_listing(self, folder: str | None) -> Iterator[os.DirEntry[str]]:
        """The entries a poll looks at: ignored names (`.git`, `node_modules`, temp files) are
        pruned here, so polling a repository does not stat its whole history every interval."""
        with os.scandir(folder) as entries:
            kept = [
                entry
                for entry in entries
                if not (self.rules.use_defaults and is_default_ignored_name(entry.name))
                or entry.name in IGNORE_FILE_NAMES  # hidden, but their changes matter
            ]
        return iter(kept)

    # -- events ------------------------------------------------------------------------------

    def _configured_form(self, path: Path) -> Path:
        """`path` as seen through the configured folder. Some backends (macOS FSEvents) report
        real paths, so a folder configured through a symlink (/tmp -> /private/tmp) would
        otherwise never match its events."""
        if self._root_of(path) is not None:
            return path
        for folder in self._folders:
            real = _resolved(folder)
            if real != folder and (path == real or real in path.parents):
                return folder / path.relative_to(real)
        return path

    def _root_of(self, path: Path) -> Path | None:
        roots = [f for f in self._folders if path == f or f in path.parents]
        return max(roots, key=lambda f: len(f.parts)) if roots else None

    def _wanted(self, path: Path, *, is_dir: bool = False) -> bool:
        root = self._root_of(path)
        if root is None or path == root:
            return False
        if not is_dir and not is_supported(path, self.extensions):
            return False
        return not self.rules.ignored(path, root, is_dir=is_dir)

    def _files_under(self, folder: Path) -> list[Path]:
        root = self._root_of(folder)
        if root is None or self.rules.ignored(folder, root, is_dir=True):
            return []
        unfiltered = IgnoreRules((), use_defaults=self.rules.use_defaults, ignore_files=False)
        # Rules are judged relative to the watched folder, not to this subfolder.
        found = scan_folders([folder], unfiltered, self.extensions).files
        return [f.path for f in found if not self.rules.ignored(f.path, root)]

    def _on_event(self, event: FileSystemEvent) -> None:
        source = self._configured_form(_as_path(event.src_path))
        destination = self._configured_form(_as_path(event.dest_path)) if event.dest_path else None
        self._note_rules_change(source, destination, event)
        if isinstance(event, DirMovedEvent) and destination is not None:
            self._on_folder_moved(source, destination)
            return
        # Listing a new folder happens outside the lock: it touches the disk.
        created_files = self._files_under(source) if isinstance(event, DirCreatedEvent) else []
        with self._lock:
            if isinstance(event, FileMovedEvent) and destination is not None:
                self._record_move(source, destination)
            elif isinstance(event, DirDeletedEvent):
                if self._wanted(source, is_dir=True):
                    self._pending.delete(source)
            elif isinstance(event, FileDeletedEvent):
                if self._wanted(source):
                    self._pending.delete(source)
            elif isinstance(event, DirCreatedEvent):
                for path in created_files:
                    self._pending.change(path, created=True)
            elif self._wanted(source):
                self._pending.change(source, created=isinstance(event, FileCreatedEvent))
            self._touched()

    def _note_rules_change(
        self, source: Path, destination: Path | None, event: FileSystemEvent
    ) -> None:
        """An ignore file written, created, deleted or renamed (an editor's safe save renames a
        temporary file over it): forget the rules read so far and have its folder looked at."""
        if isinstance(event, (DirCreatedEvent, DirDeletedEvent, DirMovedEvent)):
            return
        folders = [p.parent for p in (source, destination) if p is not None and is_ignore_file(p)]
        relevant = [folder for folder in folders if self._rules_apply_in(folder)]
        if not relevant:
            return
        self.rules.refresh()
        with self._lock:
            self._pending.rules_changed.update(relevant)
            self._touched()

    def _rules_apply_in(self, folder: Path) -> bool:
        """A watched folder, or one inside it that is not itself ignored."""
        root = self._root_of(folder)
        if root is None:
            return False
        return folder == root or not self.rules.ignored(folder, root, is_dir=True)

    def _record_move(self, source: Path, destination: Path) -> None:
        source_wanted, destination_wanted = self._wanted(source), self._wanted(destination)
        if source_wanted and destination_wanted:
            self._pending.move(source, destination)
        elif destination_wanted:
            self._pending.change(destination)  # e.g. "note.md.tmp" renamed to "note.md"
        elif source_wanted:
            self._pending.delete(source)  # renamed to an ignored name or moved out

    def _on_folder_moved(self, source: Path, destination: Path) -> None:
        source_wanted = self._wanted(source, is_dir=True)
        destination_files = (
            self._files_under(destination) if self._wanted(destination, is_dir=True) else []
        )
        with self._lock:
            if source_wanted and destination_files:
                for path in destination_files:
                    self._pending.move(source / path.relative_to(destination), path)
            elif source_wanted:
                self._pending.delete(source)
            else:
                for path in destination_files:
                    self._pending.change(path)
            self._touched()

    def _touched(self) -> None:
        """Called with the lock held after recording an event."""
        now = time.monotonic()
        if not self._pending:
            return
        if self._first_event == 0.0:
            self._first_event = now
        self._last_event = now
        self._wake.notify_all()

    # -- delivery ----------------------------------------------------------------------------

    def _flush_loop(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            if batch:
                try:
                    self.on_batch(batch)
                except Exception:
                    log.exception("handling a batch of %d file changes failed", batch.size)
            self._check_watches()

    def _next_batch(self) -> ChangeBatch | None:
        """Wait until a batch is due; an empty batch after HEALTH_CHECK_SECONDS of quiet, so
        the watches get checked; None when stopping."""
        with self._lock:
            while self._running:
                now = time.monotonic()
                if not self._pending:
                    self._first_event = 0.0
                    if not self._wake.wait(timeout=HEALTH_CHECK_SECONDS):
                        return ChangeBatch()
                    continue
                due = min(
                    self._last_event + self.debounce_seconds,
                    self._first_event + self.max_delay_seconds,
                )
                if now >= due:
                    self._first_event = 0.0
                    return self._pending.take()
                self._wake.wait(timeout=due - now)
            return None

    def _check_watches(self) -> None:
        """An event watch can die after it started (inotify refuses a watch for a folder
        created later, and watchdog's emitter thread ends). Such a folder moves to polling, and
        every file in it is reported as changed once, so whatever was missed meanwhile is
        caught (the indexer skips files whose size and mtime did not change)."""
        observer = self._event_observer
        if observer is None or not self._running:
            return
        listed = set(self._tree_poller.folders())
        for folder in self._folders:
            if (
                folder not in self._watches
                and folder not in listed
                and folder.is_dir()
                and self._watch(folder)
            ):
                log.info("folder %s is reachable again; watching it", folder)
                self._report_all(folder)
        if not _reader_alive(observer):
            self._restart_events(observer)
            return
        dead = {emitter.watch for emitter in observer.emitters if not emitter.is_alive()}
        polling = self._polling_observer
        dead_polls = (
            {emitter.watch for emitter in polling.emitters if not emitter.is_alive()}
            if polling is not None
            else set()
        )
        for folder, (owner, watch) in list(self._watches.items()):
            if owner is observer and watch in dead:
                log.warning("event watching of %s stopped; polling it instead", folder)
                with contextlib.suppress(KeyError, OSError):
                    observer.unschedule(watch)
                self._poll(folder)
                self._report_all(folder)
            elif owner is polling and polling is not None and watch in dead_polls:
                # watchdog's poller walks recursively too: a tree grown too deep ends it.
                with contextlib.suppress(KeyError, OSError):
                    polling.unschedule(watch)
                del self._watches[folder]
                self._list_instead(folder, RuntimeError("the polling of it stopped"))
                self._report_all(folder)

    def _restart_events(self, observer: BaseObserver) -> None:
        """The event observer's inotify reader died, and with it the events of every folder it
        watched (watchdog walks a folder created or moved in on that thread, recursively: a tree
        ~1,000 levels deep moved in ends it). A new observer takes them over; the folder that
        cannot be walked falls back to listing when it is scheduled again."""
        folders = [folder for folder, (owner, _) in self._watches.items() if owner is observer]
        log.warning("event watching stopped for %d folder(s); starting it again", len(folders))
        for folder in folders:
            del self._watches[folder]
        observer.stop()
        observer.join(timeout=5)
        self._event_observer = Observer()
        self._event_observer.daemon = True
        self._event_observer.start()
        for folder in folders:
            self._watch(folder)
            self._report_all(folder)

    def _report_all(self, folder: Path) -> None:
        """Every file under `folder` as changed: the catch-up after a gap in watching."""
        files = self._files_under(folder)
        with self._lock:
            for path in files:
                self._pending.change(path)
            self._touched()


def _log_watchdog_thread_deaths() -> None:
    """A watchdog thread that ends with an exception (its recursive walk of a deep tree) is
    logged as a warning: the health check recovers from it, and Python's default would print a
    raw traceback on the terminal of `needle index --watch`. Other threads keep the hook they
    had."""
    previous = threading.excepthook
    if getattr(previous, "needle_watchdog_hook", False):
        return

    def hook(args: threading.ExceptHookArgs) -> None:
        if args.thread is not None and type(args.thread).__module__.startswith("watchdog."):
            log.warning(
                "watchdog's thread %s ended (%s: %s); the health check takes over",
                args.thread.name,
                args.exc_type.__name__,
                args.exc_value,
            )
            return
        previous(args)

    hook.needle_watchdog_hook = True  # type: ignore[attr-defined]
    threading.excepthook = hook


def _reader_alive(observer: BaseObserver) -> bool:
    """False when the observer's inotify reader thread (Linux) has died while its emitters live
    on, each waiting for events that will never come."""
    reader = getattr(observer, "_inotify_fd", None)
    return not isinstance(reader, threading.Thread) or reader.is_alive()


class _TreePoller:
    """Follows folders watchdog cannot: every `interval` seconds each is listed with the
    scanner's iterative walk (any depth, the ignore rules applied), and what differs from the
    last listing is handed to the watcher. Runs on its own thread once a folder is added."""

    def __init__(self, watcher: FolderWatcher, interval: float) -> None:
        self._watcher = watcher
        self._interval = interval
        self._listings: dict[Path, dict[Path, tuple[int, float]]] = {}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def folders(self) -> list[Path]:
        return list(self._listings)

    def add(self, folder: Path) -> None:
        """Start following `folder`; its first listing, taken now, is what later ones are
        compared with (the reconcile that runs beside the watcher covers anything earlier)."""
        self._listings[folder] = self._listing(folder) or {}
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="needle-list", daemon=True)
            self._thread.start()

    def remove(self, folder: Path) -> None:
        self._listings.pop(folder, None)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None
        self._listings.clear()

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            for folder in self.folders():
                new = self._listing(folder)
                old = self._listings.get(folder)
                if new is None or old is None or self._stopping.is_set():
                    continue  # not listable now, or no longer followed
                self._listings[folder] = new
                if new != old:
                    self._watcher._on_listing_changed(old, new)

    def _listing(self, folder: Path) -> dict[Path, tuple[int, float]] | None:
        """Each supported file under `folder` with its size and mtime; None when the folder
        cannot be listed now (an unplugged drive: that is not every file deleted)."""
        watcher = self._watcher
        try:
            scan = scan_folders([folder], watcher.rules, watcher.extensions)
        except Exception:
            log.exception("could not list %s to look for changes", folder)
            return None
        if scan.missing_roots:
            return None
        return {found.path: (found.size, found.mtime) for found in scan.files}
