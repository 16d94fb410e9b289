"""What each request leaves behind: one access-log line and bounded Prometheus series.

One place sees every answer (its status and duration), so the log line and the counters
agree: a refused request, a client that went away (499, as nginx logs it) and a request
that ran out of time (504) each count once, under their own status.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Collection
from pathlib import Path
from typing import Any

from inference_log import process_running

Scope = dict[str, Any]
Message = dict[str, Any]

access_log = logging.getLogger("bentoml.access")

CLIENT_WENT_AWAY = 499  # nginx's status for a client that closed before the answer
TIMED_OUT = 504  # BentoML's TimeoutMiddleware answers these; the request was cancelled
PATH_SHOWN = 200  # characters of a path written to the log; the rest is counted
# BentoML writes its own (OpenTelemetry's span id, None untraced) to scope["request_id"].
REQUEST_ID = "served_request_id"
# A proxy's X-Request-Id is kept when it is a plain token; otherwise the service makes one.
GIVEN_REQUEST_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def request_id(scope: Scope) -> str:
    for key, value in scope.get("headers", ()):
        if key == b"x-request-id":
            given = value.decode("latin-1")
            if GIVEN_REQUEST_ID.match(given):
                return given
    return uuid.uuid4().hex


def loggable_path(path: str) -> str:
    """A path as one safe log line: control characters and non-ASCII escaped (a `%0a` in a
    URL cannot start a forged line), cut to PATH_SHOWN characters."""
    shown = path[:PATH_SHOWN].encode("unicode_escape").decode("ascii")
    cut = len(path) - PATH_SHOWN
    return f"{shown}…(+{cut} chars)" if cut > 0 else shown


def access_line(scope: Scope, status: int, seconds: float) -> str:
    """`127.0.0.1:50312 POST /predict 200 1.3ms id=…`: no query string, headers or body
    (they hold client values); the id joins the line to the inference log."""
    client = scope.get("client") or ("-", 0)
    method = str(scope.get("method", "-"))[:16].encode("unicode_escape").decode("ascii")
    return (
        f"{client[0]}:{client[1]} {method} {loggable_path(scope['path'])} "
        f"{status} {seconds * 1000:.1f}ms id={scope.get(REQUEST_ID, '-')}"
    )


class BoundedMetrics:
    """BentoML's HTTP metrics under its names and labels (`bentoml_service_request_total`
    ...; RunnerTrafficMetricsMiddleware in bentoml/_internal/server/http/instruments.py),
    labelled by route, or `other` for a path the service does not have: a scanner's random
    paths add no series. Prometheus' multiprocess files (BentoML's metrics client) sum them
    across workers. It also writes the request's one access-log line (BentoML's own access
    log is off: it wrote the decoded path raw)."""

    def __init__(self, app: Any, routes: Collection[str]) -> None:
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

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if self.labels is None:
            self.setup()
        labels = {"endpoint": scope["path"] if scope["path"] in self.routes else "other"}
        labels.update(self.labels)
        started, status = time.perf_counter(), None
        scope[REQUEST_ID] = request_id(scope)
        id_header = (b"x-request-id", scope[REQUEST_ID].encode())

        async def counted_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), id_header]}
            await send(message)

        counted = scope["path"] != "/metrics"  # a scraper's own requests are not counted
        with self.in_progress.labels(**labels).track_inprogress():
            try:
                await self.app(scope, receive, counted_send)
            except asyncio.CancelledError:
                status = status or TIMED_OUT
                raise
            finally:
                if status is None:  # nothing sent: the client left, or the app failed
                    status = CLIENT_WENT_AWAY if scope.get("client_went_away") else 500
                seconds = time.perf_counter() - started
                if counted:
                    self.total.labels(http_response_code=status, **labels).inc()
                    self.duration.labels(http_response_code=status, **labels).observe(seconds)
                access_log.info("%s", access_line(scope, status, seconds))


def metrics_text() -> tuple[bytes, str]:
    """`/metrics`: every worker's series, summed (the page BentoML serves when its own
    metrics are on)."""
    from bentoml._internal.configuration.containers import BentoMLContainer

    client = BentoMLContainer.metrics_client.get()
    return client.generate_latest(), client.CONTENT_TYPE_LATEST


def metrics_folder_per_server() -> None:
    """BentoML wipes `$BENTOML_HOME/prometheus_multiproc_dir` when a server starts, so a
    second server on the same BENTOML_HOME erased the first one's counters. Each server
    (the `bentoml serve` process, whose workers inherit PROMETHEUS_MULTIPROC_DIR) gets a
    folder of its own; folders of servers no longer running are removed."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:  # a worker: its server chose already
        return
    from bentoml._internal.configuration.containers import BentoMLContainer

    shared = Path(BentoMLContainer.bentoml_home.get()) / "prometheus_multiproc_dir"
    for folder in shared.glob("server-*"):
        pid = folder.name.removeprefix("server-")
        if not (pid.isdigit() and process_running(int(pid))):
            shutil.rmtree(folder, ignore_errors=True)
    BentoMLContainer.prometheus_multiproc_dir.set(str(shared / f"server-{os.getpid()}"))
