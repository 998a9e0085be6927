"""`needle serve`: the engine as a child process speaking the JSON-lines protocol on stdio.

The reading thread decodes one request per line and answers control methods (handshake, ping,
cancel, shutdown) at once; every other request runs on its own worker thread with its own
CancelToken, so a search is never queued behind an ask and a cancel is read while work runs.
Replies are written by one locked writer, one line each. Progress is latest-value-wins and
throttled per request; after a request is cancelled nothing but its final `cancelled` error is sent.

Protocol details and examples: docs/protocol.md. The codec is engine/service/protocol.py.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import threading
from collections.abc import Callable
from typing import Any, BinaryIO

from engine import __version__
from engine.agent.events import Event
from engine.cancel import CancelToken
from engine.errors import ErrorKind, NeedleError
from engine.models import IndexProgress, IndexSummary
from engine.service.handlers import (
    Handler,
    RequestContext,
    ServedEngine,
    handle_ask,
    handle_doctor,
    handle_folders_list,
    handle_index_retry,
    handle_index_run,
    handle_ollama_pull,
    handle_ollama_status,
    handle_problems,
    handle_search,
    handle_settings_get,
    handle_settings_update,
    handle_status,
    handle_threads_delete,
    handle_threads_export,
    handle_threads_get,
    handle_threads_list,
    handle_threads_rename,
    ollama_state,
    text_param,
)
from engine.service.output import PROGRESS_INTERVAL, BinaryOutput, LineWriter, progress_throttle
from engine.service.protocol import (
    CONTROL_METHODS,
    METHODS,
    PROTOCOL_VERSION,
    BadMessage,
    ErrorInfo,
    ErrorReply,
    EventReply,
    Method,
    Notification,
    ProgressReply,
    Reply,
    Request,
    ResultReply,
    Topic,
    decode_request,
    internal_error,
    to_jsonable,
)
from engine.service.workers import Finish, Workers, join_all
from engine.settings import INDEXER_SETTINGS
from engine.throttle import Throttle

log = logging.getLogger("needle.service")

OLLAMA_POLL_SECONDS = 30.0
SHUTDOWN_GRACE = 5.0  # seconds workers get to notice cancellation before the engine closes


EXIT_OK = 0
EXIT_REFUSED = 3  # handshake refused: protocol mismatch or the engine could not open


class Service:
    """Dispatches protocol requests to an engine. `engine` is None when it failed to open; the
    handshake then reports `startup_error` and the service ends."""

    def __init__(
        self,
        engine: ServedEngine | None,
        output: BinaryOutput,
        *,
        data_dir: str,
        startup_error: NeedleError | None = None,
        progress_interval: float = PROGRESS_INTERVAL,
        ollama_poll_seconds: float | None = OLLAMA_POLL_SECONDS,
        background: bool = True,
        shutdown_grace: float = SHUTDOWN_GRACE,
    ) -> None:
        self._engine = engine
        self._writer = LineWriter(output)
        self._data_dir = data_dir
        self._startup_error = startup_error
        self._progress_interval = progress_interval
        self._ollama_poll_seconds = ollama_poll_seconds
        self._background_enabled = background
        self._shutdown_grace = shutdown_grace
        self._workers: Workers[int] = Workers()
        self._background: list[threading.Thread] = []
        self._background_token = CancelToken()
        self._ollama_wakeup = threading.Event()  # set: probe Ollama now instead of at the next poll
        self._background_token.on_cancel(self._ollama_wakeup.set)
        self._index_lock = threading.Lock()  # one index run at a time, startup reconcile included
        self._watch_progress: Throttle[dict[str, Any]] | None = None
        self._watch_lock = threading.Lock()
        self._handshaken = False
        self._closed = False
        self._watching = False
        self.exit_code = EXIT_OK
        self._handlers: dict[str, Handler] = {
            Method.SETTINGS_GET: handle_settings_get,
            Method.SETTINGS_UPDATE: self._handle_settings_update,
            Method.FOLDERS_LIST: handle_folders_list,
            Method.FOLDERS_ADD: self._handle_folders_add,
            Method.FOLDERS_REMOVE: self._handle_folders_remove,
            Method.INDEX_RUN: self._handle_index_run,
            Method.INDEX_RETRY: self._handle_index_retry,
            Method.STATUS: handle_status,
            Method.PROBLEMS: handle_problems,
            Method.SEARCH: handle_search,
            Method.ASK: handle_ask,
            Method.OLLAMA_STATUS: handle_ollama_status,
            Method.OLLAMA_PULL: self._handle_ollama_pull,
            Method.DOCTOR: handle_doctor,
            Method.THREADS_LIST: handle_threads_list,
            Method.THREADS_GET: handle_threads_get,
            Method.THREADS_RENAME: handle_threads_rename,
            Method.THREADS_DELETE: handle_threads_delete,
            Method.THREADS_EXPORT: handle_threads_export,
        }

    # -- reading ---------------------------------------------------------------------------

    def serve(self, stream: BinaryIO) -> int:
        """Read requests until shutdown or end of input; returns the process exit code."""
        try:
            for line in iter(stream.readline, b""):
                if not self.handle_line(line):
                    break
            else:
                log.info("stdin closed (the client is gone): shutting down")
        finally:
            self.close()
        return self.exit_code

    def handle_line(self, line: bytes | str) -> bool:
        """Handle one input line; False when the service must stop reading."""
        if not line.strip():
            return True  # a blank line is harmless; say nothing
        try:
            request = decode_request(line)
        except BadMessage as exc:
            log.warning("malformed request line: %s", exc.message)
            self._writer.send(ErrorReply(exc.request_id, ErrorInfo.from_error(exc)))
            return True
        try:
            return self._dispatch(request)
        except Exception as exc:  # a bug on the reading thread must not end the engine
            log.exception("dispatching request %s (%s) failed", request.id, request.method)
            self._writer.send(
                ErrorReply(request.id, internal_error(f"read '{request.method}'", exc))
            )
            return True

    def _dispatch(self, request: Request) -> bool:
        method = request.method
        if method not in METHODS:
            self._refuse(
                request,
                ErrorKind.UNKNOWN_METHOD,
                f"Unknown method '{method}'.",
                f"Known methods: {', '.join(sorted(METHODS))}.",
            )
            return True
        if method == Method.HANDSHAKE:
            return self._handshake(request)
        if method == Method.SHUTDOWN:
            self._reply(request, {"shutting_down": True})
            return False
        if method == Method.PING:
            self._reply(request, {"pong": True, "running": len(self._workers)})
            return True
        if not self._handshaken:
            self._refuse(
                request,
                ErrorKind.HANDSHAKE_REQUIRED,
                f"'{method}' was sent before the handshake.",
                "Send 'handshake' with the protocol version first.",
            )
            return True
        if method == Method.CANCEL:
            self._cancel(request)
            return True
        if method == Method.ASK_STOP_READING:
            self._stop_reading(request)
            return True
        assert method not in CONTROL_METHODS
        self._start_worker(request, self._handlers[method])
        return True

    def _reply(self, request: Request, result: Any) -> None:
        self._writer.send(ResultReply(request.id, result))

    def _refuse(self, request: Request, kind: str, message: str, hint: str = "") -> None:
        self._writer.send(ErrorReply(request.id, ErrorInfo(kind, message, hint)))

    # -- control methods -------------------------------------------------------------------

    def _handshake(self, request: Request) -> bool:
        client = str(request.params.get("client", "an unnamed client"))
        version = request.params.get("protocol")
        if isinstance(version, bool) or not isinstance(version, int):
            self._refuse(
                request,
                ErrorKind.BAD_REQUEST,
                "The handshake has no integer 'protocol' version.",
                f'Send {{"protocol": {PROTOCOL_VERSION}, "client": "..."}}.',
            )
            return True
        if version != PROTOCOL_VERSION:
            self._refuse(
                request,
                ErrorKind.PROTOCOL_MISMATCH,
                f"The engine speaks protocol version {PROTOCOL_VERSION} but {client} speaks "
                f"version {version}; they cannot work together.",
                "Install the Needle app and engine from the same release.",
            )
            self.exit_code = EXIT_REFUSED
            return False
        if self._startup_error is not None or self._engine is None:
            error = self._startup_error or NeedleError(
                ErrorKind.INTERNAL, "The engine is not open."
            )
            self._writer.send(ErrorReply(request.id, ErrorInfo.from_error(error)))
            self.exit_code = EXIT_REFUSED
            return False
        log.info("handshake from %s", client)
        self._reply(
            request,
            {
                "protocol": PROTOCOL_VERSION,
                "engine_version": __version__,
                "data_dir": self._data_dir,
                "pid": os.getpid(),
            },
        )
        if not self._handshaken:
            self._handshaken = True
            if self._background_enabled:
                self._start_background()
        return True

    def _cancel(self, request: Request) -> None:
        target = request.params.get("request")
        if isinstance(target, bool) or not isinstance(target, int):
            self._refuse(
                request,
                ErrorKind.BAD_REQUEST,
                "Bad parameters for 'cancel': 'request' must be the id to cancel.",
            )
            return
        # False means it already finished (or never existed): its final reply is sent or coming.
        self._reply(request, {"cancelled": self._workers.cancel(target)})

    def _stop_reading(self, request: Request) -> None:
        target = request.params.get("request")
        if isinstance(target, bool) or not isinstance(target, int):
            self._refuse(
                request,
                ErrorKind.BAD_REQUEST,
                "Bad parameters for 'ask.stop_reading': 'request' must be the id of an ask.",
            )
            return
        # False: that ask already finished; its answer is sent or coming.
        self._reply(request, {"stopping": self._workers.stop_reading(target)})

    # -- workers ---------------------------------------------------------------------------

    def _start_worker(self, request: Request, handler: Handler) -> None:
        stop_reading = CancelToken()

        def work(token: CancelToken) -> Finish:
            return self._run_request(request, handler, token, stop_reading)

        name = f"request-{request.id}-{request.method}"
        if not self._workers.start(request.id, name, work, stop_reading=stop_reading):
            self._refuse(
                request,
                ErrorKind.BAD_REQUEST,
                f"Request id {request.id} is already running.",
                "Use a new id for every request.",
            )

    def _run_request(
        self, request: Request, handler: Handler, token: CancelToken, stop_reading: CancelToken
    ) -> Finish:
        rid = request.id

        def send_progress(progress: dict[str, Any]) -> None:
            if not token.cancelled:
                self._writer.send(ProgressReply(rid, progress))

        def send_event(event: Event | dict[str, Any]) -> None:
            if not token.cancelled:
                data = event.to_dict() if isinstance(event, Event) else event
                self._writer.send(EventReply(rid, data))

        throttle = progress_throttle(send_progress, self._progress_interval)
        context = RequestContext(rid, token, stop_reading, send_event, throttle.push)
        final: Reply
        try:
            assert self._engine is not None  # workers start only after a successful handshake
            result = handler(self._engine, request.params, context)
            final = ResultReply(rid, result)  # converted to JSON while it is written
        except NeedleError as exc:
            final = ErrorReply(rid, ErrorInfo.from_error(exc))
        except Exception as exc:
            log.exception("request %s (%s) failed", rid, request.method)
            final = ErrorReply(rid, internal_error(f"handle '{request.method}'", exc))
        finally:
            throttle.close(flush=not token.cancelled)
        if token.cancelled:
            # Whatever the work did after the cancel, the client asked for it to stop.
            final = ErrorReply(rid, ErrorInfo(ErrorKind.CANCELLED, "Cancelled."))

        def finish() -> None:
            self._writer.send(final)
            if isinstance(final, ResultReply):
                for action in context.after_success:
                    _log_failure("a follow-up notification", action)

        return finish

    def _handle_index_run(
        self, engine: ServedEngine, params: dict[str, Any], ctx: RequestContext
    ) -> Any:
        # Waits for a running index (the startup reconcile) instead of racing it for the writer.
        while not self._index_lock.acquire(timeout=0.2):
            ctx.cancel.raise_if_cancelled()
        try:
            summary = handle_index_run(engine, params, ctx)
        finally:
            self._index_lock.release()
        # Views other than the one that asked (folder list, status bar) refresh on this.
        data = {"source": Method.INDEX_RUN, "summary": summary}
        ctx.after_success.append(lambda: self.notify(Topic.INDEX_CHANGED, data))
        return summary

    def _handle_index_retry(
        self, engine: ServedEngine, params: dict[str, Any], ctx: RequestContext
    ) -> Any:
        summary = handle_index_retry(engine, params, ctx)
        data = {"source": Method.INDEX_RETRY, "summary": summary}
        ctx.after_success.append(lambda: self.notify(Topic.INDEX_CHANGED, data))
        return summary

    def _handle_folders_add(
        self, engine: ServedEngine, params: dict[str, Any], ctx: RequestContext
    ) -> Any:
        path = text_param(Method.FOLDERS_ADD, params, "path")
        # A running watcher takes the new folder on by itself (Engine.add_folder); the lock makes
        # sure the add does not slip between the watcher reading the folders and starting.
        with self._watch_lock:
            return engine.add_folder(path)

    def _handle_folders_remove(
        self, engine: ServedEngine, params: dict[str, Any], ctx: RequestContext
    ) -> Any:
        path = text_param(Method.FOLDERS_REMOVE, params, "path")
        with self._watch_lock:
            removed = engine.remove_folder(path)
        data = {"source": Method.FOLDERS_REMOVE, "folder": removed}
        ctx.after_success.append(lambda: self.notify(Topic.INDEX_CHANGED, data))
        return removed

    def _handle_settings_update(
        self, engine: ServedEngine, params: dict[str, Any], ctx: RequestContext
    ) -> Any:
        result = handle_settings_update(engine, params, ctx)
        changed = set(params["changes"])
        if {"backend", "ollama_host", "openai_url", "api_key", "model"} & changed:
            self._ollama_wakeup.set()  # the status bar should not wait 30 s to show the new model
        if INDEXER_SETTINGS & changed:
            # The engine already dropped what a new ignore pattern excludes; a pass in the
            # background brings in what a removed pattern or a larger size limit lets in.
            ctx.after_success.append(lambda: self._spawn("settings-index", self._settings_index))
        return result

    def _handle_ollama_pull(
        self, engine: ServedEngine, params: dict[str, Any], ctx: RequestContext
    ) -> Any:
        try:
            return handle_ollama_pull(engine, params, ctx)
        finally:
            self._ollama_wakeup.set()

    # -- background work -------------------------------------------------------------------

    def notify(self, topic: str, data: Any) -> None:
        if not self._closed:
            self._writer.send(Notification(topic, to_jsonable(data)))

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._background.append(thread)
        thread.start()

    def _start_background(self) -> None:
        self._spawn("startup-index", self._startup_index)
        if self._ollama_poll_seconds is not None:
            self._spawn("ollama-poll", self._poll_ollama)

    def _startup_index(self) -> None:
        # Watch first, so nothing that changes during the reconcile is missed.
        self._start_watching()
        self._background_index("startup", "bring the index up to date at startup")

    def _settings_index(self) -> None:
        self._background_index("settings", "apply the new settings to the index")

    def _background_index(self, source: str, doing: str) -> None:
        engine = self._engine
        assert engine is not None
        throttle = progress_throttle(lambda p: self.notify(Topic.INDEX, p), self._progress_interval)
        try:
            with self._index_lock:
                summary = engine.index(
                    progress=lambda p: throttle.push({**p.to_dict(), "source": source}),
                    cancel=self._background_token,
                )
            throttle.close(flush=True)
            self.notify(Topic.INDEX_CHANGED, {"source": source, "summary": summary})
        except NeedleError as exc:
            throttle.close(flush=False)
            if exc.kind != ErrorKind.CANCELLED:
                self.notify(Topic.ERROR, {**exc.to_dict(), "during": f"{source} index"})
        except Exception as exc:
            throttle.close(flush=False)
            log.exception("%s index failed", source)
            info = internal_error(doing, exc)
            self.notify(Topic.ERROR, {**info.to_dict(), "during": f"{source} index"})

    def _on_watched_change(self, summary: IndexSummary) -> None:
        self.notify(Topic.INDEX_CHANGED, {"source": "watcher", "summary": summary})

    def _on_watched_progress(self, progress: IndexProgress) -> None:
        """Progress of a watcher batch that reads PDFs or images ("recognising text …")."""
        if self._watch_progress is None:
            self._watch_progress = progress_throttle(
                lambda p: self.notify(Topic.INDEX, p), self._progress_interval
            )
        final = progress.phase == "done"
        self._watch_progress.push({**progress.to_dict(), "source": "watcher"}, force=final)

    def _start_watching(self) -> None:
        engine = self._engine
        if engine is None or self._closed:
            return
        with self._watch_lock:
            try:
                engine.start_watching(self._on_watched_change, self._on_watched_progress)
                self._watching = True
            except NeedleError as exc:
                self.notify(Topic.ERROR, {**exc.to_dict(), "during": "watching folders"})
            except Exception as exc:
                log.exception("starting the watcher failed")
                info = internal_error("watch the folders", exc)
                self.notify(Topic.ERROR, {**info.to_dict(), "during": "watching folders"})

    def _poll_ollama(self) -> None:
        """Notify `ollama` with the first state and whenever it changes."""
        engine = self._engine
        assert engine is not None and self._ollama_poll_seconds is not None
        previous: Any = None
        while not self._background_token.cancelled:
            self._ollama_wakeup.clear()
            try:
                state = ollama_state(engine)
            except NeedleError as exc:
                state = {"error": exc.to_dict()}
            except Exception as exc:
                log.exception("probing Ollama failed")
                state = {"error": internal_error("probe Ollama", exc).to_dict()}
            if state != previous:
                self.notify(Topic.OLLAMA, state if isinstance(state, dict) else {"state": state})
                previous = state
            self._ollama_wakeup.wait(self._ollama_poll_seconds)

    # -- shutdown --------------------------------------------------------------------------

    def close(self) -> None:
        """Stop watching, cancel running work, give it a moment, close the engine. Idempotent."""
        if self._closed:
            return
        self._closed = True
        engine = self._engine
        self._background_token.cancel()
        running = self._workers.cancel_all()
        with self._watch_lock:
            watching, self._watching = self._watching, False
        if engine is not None and watching:
            _log_failure("stopping the watcher", engine.stop_watching)
        join_all(running + self._background, self._shutdown_grace)
        if engine is not None:
            _log_failure("closing the engine", engine.close)


def _log_failure(doing: str, action: Callable[[], Any]) -> None:
    try:
        action()
    except Exception:
        log.exception("%s failed", doing)
