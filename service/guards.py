"""What stands between the network and the model: a token, a body limit, JSON only, bounded
metrics, and client errors logged as one line.

Plain ASGI middlewares, added to the service with `add_asgi_middleware`: BentoML runs them
before its API handler reads the body, so a refused request costs no parsing.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("bentoml.serve.requests")

# A JSON number is at most 24 characters ("-1.2345678901234567e-308") plus a separator.
BYTES_PER_VALUE = 26
ENVELOPE_BYTES = 64 * 1024


def default_body_limit(max_batch_rows: int, features: int) -> int:
    """Bytes of the largest `/predict_batch` body the row limit allows, and some room."""
    return max_batch_rows * features * BYTES_PER_VALUE + ENVELOPE_BYTES


async def send_json(send: Send, status: int, body: dict[str, Any], **headers: str) -> None:
    raw = json.dumps(body).encode()
    pairs = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    pairs += [(key.encode(), value.encode()) for key, value in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": pairs})
    await send({"type": "http.response.body", "body": raw})


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class RequestGuard:
    """Refuses before the API runs: a missing or wrong token (401), a body that is not JSON
    (415) or is larger than the limit (413, by Content-Length or while a chunked body
    streams in). OPTIONS passes, so CORS preflight needs no token."""

    def __init__(
        self,
        app: App,
        routes: Collection[str],
        apis: Collection[str],
        protected: Collection[str],
        max_body_bytes: int,
        token: str | None,
    ) -> None:
        self.app, self.routes, self.apis = app, set(routes), set(apis)
        self.protected = set(protected)
        self.max_body_bytes, self.token = max_body_bytes, (token or "").encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            return await self.app(scope, receive, send)
        path = scope["path"]
        if path != "/" and path.endswith("/") and path.rstrip("/") in self.routes:
            return await self.redirect(scope, send, path.rstrip("/"))
        if self.token and path in self.protected and not self.authorized(scope):
            return await self.refuse(
                send,
                path,
                401,
                "a valid API token is required: send `Authorization: Bearer <token>`",
                WWW_Authenticate="Bearer",
            )
        if path not in self.apis or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        media_type = (header(scope, b"content-type") or "application/json").split(";")[0]
        if media_type.strip().lower() != "application/json":
            return await self.refuse(
                send, path, 415, f"send JSON (Content-Type: application/json), not {media_type!r}"
            )
        length = header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            return await self.too_large(send, path)
        if length is None:  # chunked: read up to the limit, then hand the body on
            body = await self.read_limited(receive)
            if body is None:
                return await self.too_large(send, path)
            receive = replay(body)
        await self.app(scope, receive, send)

    async def redirect(self, scope: Scope, send: Send, path: str) -> None:
        """A relative Location: Starlette's own slash redirect is built from the Host
        header, so a forged Host would send the client elsewhere."""
        query = scope.get("query_string", b"").decode("latin-1")
        location = f"{path}?{query}" if query else path
        await send_json(send, 308, {"error": f"moved to {location}"}, location=location)

    def authorized(self, scope: Scope) -> bool:
        given = header(scope, b"authorization") or ""
        scheme, _, credentials = given.partition(" ")
        # compare_digest: the time taken does not tell how much of a guess was right.
        return scheme.lower() == "bearer" and hmac.compare_digest(
            credentials.strip().encode(), self.token
        )

    async def read_limited(self, receive: Receive) -> bytes | None:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"".join(chunks)
            size += len(message.get("body", b""))
            if size > self.max_body_bytes:
                return None
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def too_large(self, send: Send, path: str) -> None:
        limit = self.max_body_bytes
        await self.refuse(
            send, path, 413, f"the body is over the limit of {limit} bytes (SERVING_MAX_BODY_BYTES)"
        )

    async def refuse(self, send: Send, path: str, status: int, error: str, **headers: str) -> None:
        log.warning("%d %s %s", status, path, STATUS_NAMES[status])
        named = {key.replace("_", "-"): value for key, value in headers.items()}
        # The unread body makes the connection unusable: closing it at once frees its
        # buffers now rather than when the client goes.
        await send_json(send, status, {"error": error}, connection="close", **named)


STATUS_NAMES = {401: "Unauthorized", 413: "ContentTooLarge", 415: "UnsupportedMediaType"}


def replay(body: bytes) -> Receive:
    """A receive() that gives the already-read body once, then waits like a real one."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


class BoundedMetrics:
    """BentoML's HTTP metrics under its names and labels (`bentoml_service_request_total`
    ...; RunnerTrafficMetricsMiddleware in bentoml/_internal/server/http/instruments.py),
    labelled by route, or `other` for a path the service does not have: a scanner's random
    paths add no series. Prometheus' multiprocess files (BentoML's metrics client) sum them
    across workers."""

    def __init__(self, app: App, routes: Collection[str]) -> None:
        self.app, self.routes = app, set(routes)
        self.labels: dict[str, str] | None = None

    def setup(self) -> None:
        """In the worker, on its first request: BentoML sets its context there."""
        from bentoml._internal.configuration.containers import BentoMLContainer
        from bentoml._internal.context import server_context

        client = BentoMLContainer.metrics_client.get()
        namespace = BentoMLContainer.api_server_config.metrics.namespace.get()
        names = ["endpoint", "service_name", "service_version", "http_response_code"]
        names.append("runner_name")
        self.total = client.Counter(
            namespace=namespace,
            name="request_total",
            documentation="Total number of HTTP requests",
            labelnames=names,
        )
        self.duration = client.Histogram(
            namespace=namespace,
            name="request_duration_seconds",
            documentation="HTTP request duration in seconds",
            labelnames=names,
            buckets=BentoMLContainer.duration_buckets.get(),
        )
        self.in_progress = client.Gauge(
            namespace=namespace,
            name="request_in_progress",
            documentation="Total number of HTTP requests in progress now",
            labelnames=["endpoint", "service_name", "service_version", "runner_name"],
            multiprocess_mode="livesum",
        )
        self.labels = {
            "service_name": server_context.bento_name,
            "service_version": server_context.bento_version,
            "runner_name": server_context.service_name,
        }
        # Series exist from the start, as BentoML's do, so rate() works from the first request.
        for endpoint in self.routes:
            for code in (200, 500):
                self.total.labels(endpoint=endpoint, http_response_code=code, **self.labels)
        other = {"endpoint": "other", "http_response_code": 404, **self.labels}
        self.total.labels(**other)
        self.duration.labels(**other)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/metrics":
            return await self.app(scope, receive, send)
        if self.labels is None:
            self.setup()
        labels = {"endpoint": scope["path"] if scope["path"] in self.routes else "other"}
        labels.update(self.labels)
        started, status = time.perf_counter(), 500

        async def counted_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with self.in_progress.labels(**labels).track_inprogress():
            try:
                await self.app(scope, receive, counted_send)
            finally:
                self.total.labels(http_response_code=status, **labels).inc()
                self.duration.labels(http_response_code=status, **labels).observe(
                    time.perf_counter() - started
                )


def metrics_text() -> tuple[bytes, str]:
    """`/metrics`: every worker's series, summed (the page BentoML serves when its own
    metrics are on)."""
    from bentoml._internal.configuration.containers import BentoMLContainer

    client = BentoMLContainer.metrics_client.get()
    return client.generate_latest(), client.CONTENT_TYPE_LATEST


class QuietClientErrors(logging.Filter):
    """BentoML logs every refused request at ERROR with a traceback that holds the client's
    values (`log_exception` in bentoml/_internal/server/http_app.py). A client error becomes
    one WARNING line: status, endpoint and error type; server errors keep the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        status = client_error_status(error)
        if status is None:
            return True
        path = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.msg, record.args = "%d %s %s", (status, path, type(error).__name__)
        record.exc_info, record.exc_text = None, None
        return True


def client_error_status(error: BaseException | None) -> int | None:
    from bentoml.exceptions import BentoMLException
    from pydantic import ValidationError

    if isinstance(error, ValidationError):
        return 400
    if isinstance(error, BentoMLException) and 400 <= error.error_code.value < 500:
        return error.error_code.value
    return None


def quiet_client_errors() -> None:
    logging.getLogger("bentoml._internal.server.http_app").addFilter(QuietClientErrors())


async def timed_call(self: Any, scope: Scope, receive: Receive, send: Send) -> None:
    """BentoML's TimeoutMiddleware.__call__ (bentoml/_internal/server/http/traffic.py), with
    its timer cancelled once the request is done."""
    if scope["type"] not in ("http", "websocket"):
        return await self.app(scope, receive, send)
    loop = asyncio.get_running_loop()
    waiter = loop.create_future()
    timer = loop.call_later(self.timeout, self._set_timer_out, waiter)

    async def answered(message: Message) -> None:
        if not waiter.done():
            waiter.set_result(None)
        await send(message)

    handled = asyncio.ensure_future(self.app(scope, receive, answered))
    try:
        await waiter
    except asyncio.TimeoutError:
        if handled.cancel():
            error = {"error": f"Not able to process the request in {self.timeout} seconds"}
            await send_json(send, 504, error)
    else:
        await handled
    finally:
        timer.cancel()


def cancel_finished_timeouts() -> None:
    """BentoML 1.4's TimeoutMiddleware schedules `loop.call_later(timeout, ...)` for every
    request and never cancels it. The timer holds a copy of the request's context (its
    OpenTelemetry span and attributes) for `traffic.timeout` seconds after the answer, so a
    worker's memory grows with the request rate (+57 MB after 10,000 hostile requests at a
    60 s timeout, kept as a high-water mark). tests/service/test_guards.py fails when
    BentoML stops doing that, so this can go."""
    from bentoml._internal.server.http.traffic import TimeoutMiddleware

    TimeoutMiddleware.__call__ = timed_call
