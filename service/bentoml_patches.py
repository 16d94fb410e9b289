"""Where BentoML 1.4's own code is worked around, each with a test in
tests/service/test_bentoml_patches.py or test_guards.py that fails when BentoML changes.

- Client errors: BentoML logs each at ERROR with a traceback holding the client's values;
  the request's access line (request_metrics) already says what happened.
- Finished requests' timers: BentoML keeps one per request for `traffic.timeout` seconds.
- The response's media type: BentoML rebuilds the output's JSON schema on every response
  to find it (`IOMixin.mime_type` → `model_json_schema`, ~10 % of a worker under load).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.responses import JSONResponse

Scope = dict[str, Any]


class QuietClientErrors(logging.Filter):
    """BentoML logs every refused request at ERROR with a traceback that holds the client's
    values (`log_exception` in bentoml/_internal/server/http_app.py). A client error's
    record is dropped: the request's one access line has its status. Server errors keep
    the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return client_error_status(error) is None


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


async def timed_call(self: Any, scope: Scope, receive: Any, send: Any) -> None:
    """BentoML's TimeoutMiddleware.__call__ (bentoml/_internal/server/http/traffic.py), with
    its timer cancelled once the request is done."""
    if scope["type"] not in ("http", "websocket"):
        return await self.app(scope, receive, send)
    loop = asyncio.get_running_loop()
    waiter = loop.create_future()
    timer = loop.call_later(self.timeout, self._set_timer_out, waiter)

    async def answered(message: dict[str, Any]) -> None:
        if not waiter.done():
            waiter.set_result(None)
        await send(message)

    handled = asyncio.ensure_future(self.app(scope, receive, answered))
    try:
        await waiter
    except asyncio.TimeoutError:
        if handled.cancel():
            error = {"error": f"Not able to process the request in {self.timeout} seconds"}
            await JSONResponse(error, status_code=504)(scope, receive, send)
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


def json_responses(service: Any) -> None:
    """Every API answers JSON: saying so up front spares BentoML the schema it builds per
    response to find that out (IOMixin.mime_type reads `media_type` first)."""
    for method in service.apis.values():
        method.output_spec.media_type = "application/json"
