"""From settings to a ChatModel: which model runs on which servers, whether they are ready, and
the model (one server's, or a pool over several) that the agent is given.

    plan = ModelPlan.from_settings(settings, hosts=["http://127.0.0.1:8000/v1"], model="qwen")
    statuses = check_endpoints(plan.endpoints, plan.model, api_key)
    model = open_chat_model(plan.model, plan.endpoints, statuses, settings=settings, ...)"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from engine.endpoints import Backend, Endpoint, backend_for_url, parse_endpoint
from engine.errors import ErrorKind, NeedleError, OllamaError
from engine.llm.calibration import TokenCalibration
from engine.llm.pool import Member, PooledChatModel
from engine.llm.status import ServerStatus
from engine.llm.types import ChatModel
from engine.settings import Settings, normalize_host

POOLED_RETRIES = 1  # with other servers to move to, one quick retry on the same one is enough


@dataclass(frozen=True)
class ModelPlan:
    """The main model and the servers it runs on; the reader model (Level 2's reads) and its
    servers, when one is set."""

    model: str
    endpoints: tuple[Endpoint, ...]
    reader_model: str = ""
    reader_endpoints: tuple[Endpoint, ...] = ()

    @property
    def uses_openai(self) -> bool:
        return any(e.backend == "openai" for e in (*self.endpoints, *self.reader_endpoints))

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        hosts: Sequence[str] = (),
        model: str | None = None,
        reader_model: str | None = None,
        reader_hosts: Sequence[str] = (),
    ) -> ModelPlan:
        """The settings' servers, or `hosts` instead (the command line's --host, each "URL" or
        "URL xN"; a URL ending in /v1 is OpenAI-compatible). Raises invalid_argument for a host
        that is not a URL."""
        slots = settings.parallel_requests
        if hosts:
            endpoints = tuple(_endpoint(host, slots) for host in hosts)
        else:
            main = Endpoint(settings.server_url.rstrip("/"), _backend(settings), slots)
            endpoints = (main, *(parse_endpoint(line, slots) for line in settings.endpoints))
        reader = settings.reader_model if reader_model is None else reader_model
        readers: tuple[Endpoint, ...] = ()
        if reader:
            if reader_hosts:
                readers = tuple(_endpoint(host, slots) for host in reader_hosts)
            elif settings.reader_endpoints and not hosts:
                readers = tuple(parse_endpoint(line, slots) for line in settings.reader_endpoints)
            else:
                readers = endpoints
        return cls(model or settings.model, endpoints, reader, readers)


def _backend(settings: Settings) -> Backend:
    return "openai" if settings.backend == "openai" else "ollama"


def _endpoint(host: str, slots: int) -> Endpoint:
    text = host.strip()
    url = text.split()[0] if text else text
    if backend_for_url(url) == "ollama" and "://" not in url:
        text = normalize_host(url) + text[len(url) :]  # OLLAMA_HOST-style "localhost:11434"
    try:
        return parse_endpoint(text, slots)
    except ValueError as error:
        raise NeedleError(
            ErrorKind.INVALID_ARGUMENT,
            str(error),
            "Give a server URL such as http://127.0.0.1:11434 (Ollama) or "
            "http://127.0.0.1:8000/v1 (OpenAI-compatible), optionally followed by xN.",
        ) from None


def probe_endpoint(
    endpoint: Endpoint, model: str, api_key: str = "", timeout: float = 3.0
) -> ServerStatus:
    """Check one server for `model`; never raises."""
    if endpoint.backend == "openai":
        from engine.llm.openai.server import probe as probe_openai

        return probe_openai(endpoint.url, model, api_key=api_key, timeout=timeout)
    from engine.llm.ollama.server import probe as probe_ollama

    return probe_ollama(endpoint.url, model, timeout=timeout)


def check_endpoints(
    endpoints: Sequence[Endpoint], model: str, api_key: str = ""
) -> list[ServerStatus]:
    """Every endpoint checked at once (a few ms each on a LAN, up to the probe's timeout for one
    that is down)."""
    if len(endpoints) == 1:
        return [probe_endpoint(endpoints[0], model, api_key)]
    with ThreadPoolExecutor(max_workers=min(8, len(endpoints))) as pool:
        return list(pool.map(lambda e: probe_endpoint(e, model, api_key), endpoints))


def status_error(status: ServerStatus) -> OllamaError:
    kind = {
        "not_running": ErrorKind.OLLAMA_UNREACHABLE,
        "model_missing": ErrorKind.MODEL_MISSING,
    }.get(status.state, ErrorKind.OLLAMA_ERROR)
    return OllamaError(kind, status.message, status.hint)


def open_chat_model(
    model: str,
    endpoints: Sequence[Endpoint],
    statuses: Sequence[ServerStatus],
    *,
    settings: Settings,
    api_key: str = "",
    calibration: TokenCalibration | None = None,
) -> ChatModel:
    """The model on these endpoints: one server's ChatModel, or a pool over several. Raises the
    first endpoint's error when none is ready; endpoints that are not ready join the pool resting,
    and are health-checked before they get work."""
    if not any(status.ready for status in statuses):
        raise status_error(statuses[0])
    pooled = len(endpoints) > 1
    build = partial(
        _server_model,
        model=model,
        settings=settings,
        api_key=api_key,
        calibration=calibration,
        retries=POOLED_RETRIES if pooled else 3,
    )
    if not pooled:
        return build(endpoints[0], statuses[0])
    members = [Member(e, build(e, s)) for e, s in zip(endpoints, statuses, strict=True)]
    prober: Callable[[Endpoint], ServerStatus] = lambda e: probe_endpoint(e, model, api_key)  # noqa: E731
    pool = PooledChatModel(members, probe=prober)
    for member, status in zip(members, statuses, strict=True):
        if not status.ready:
            pool.take_down(member, status_error(status))
    return pool


def _server_model(
    endpoint: Endpoint,
    status: ServerStatus,
    *,
    model: str,
    settings: Settings,
    api_key: str,
    calibration: TokenCalibration | None,
    retries: int,
) -> ChatModel:
    if endpoint.backend == "openai":
        from engine.llm.openai.chat import OpenAIChatModel

        return OpenAIChatModel(
            endpoint.url,
            model,
            api_key=api_key,
            # The server's own window when it says (the budget still caps it by the setting).
            context_window=status.context_window or settings.context_window,
            timeout=settings.request_timeout,
            max_concurrency=endpoint.slots,
            retries=retries,
            calibration=calibration,
        )
    from engine.llm.ollama.chat import OllamaChatModel

    return OllamaChatModel(
        endpoint.url,
        model,
        context_window=settings.context_window,
        timeout=settings.request_timeout,
        max_concurrency=endpoint.slots,
        retries=retries,
        calibration=calibration,
    )


def close_model(model: ChatModel) -> None:
    close = getattr(model, "close", None)
    if callable(close):
        close()
