"""What the service logs for a refused request and for its own failure; its request timer."""

from __future__ import annotations

import asyncio
import logging
import sys

import pytest
from pydantic import BaseModel, ValidationError

from service.bentoml_patches import QuietClientErrors, timed_call


class Row(BaseModel):
    width: float


def logged(error: BaseException) -> tuple[bool, logging.LogRecord]:
    """The record BentoML's log_exception writes for `error`, and whether QuietClientErrors
    lets it through."""
    try:
        raise error
    except BaseException:
        record = logging.LogRecord(
            "bentoml._internal.server.http_app",
            logging.ERROR,
            __file__,
            1,
            "Exception on %s [%s]",
            ("/predict", "POST"),
            sys.exc_info(),
        )
    return QuietClientErrors().filter(record), record


def test_a_client_errors_traceback_is_dropped_its_access_line_says_enough():
    with pytest.raises(ValidationError) as refused:
        Row(width="98765.4321 wide")
    kept, _ = logged(refused.value)
    assert not kept


def test_a_server_error_keeps_its_traceback():
    kept, record = logged(RuntimeError("the model broke"))
    assert kept and record.levelname == "ERROR" and record.exc_info[0] is RuntimeError
    assert record.getMessage() == "Exception on /predict [POST]"


async def answered_request(middleware) -> tuple[list[dict], int]:
    """One request through `middleware`; what was sent and the timers still pending."""
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    await middleware({"type": "http", "path": "/predict"}, receive, send)
    return sent, sum(not timer.cancelled() for timer in asyncio.get_running_loop()._scheduled)


def timeout_middleware(app, timeout: float):
    from bentoml._internal.server.http.traffic import TimeoutMiddleware

    return TimeoutMiddleware(app, timeout=timeout)


async def quick_app(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def slow_app(scope, receive, send) -> None:
    await asyncio.sleep(5)


def test_bentoml_still_keeps_a_timer_per_answered_request():
    """Upstream's behaviour that service.guards.cancel_finished_timeouts works around: when
    this fails, BentoML cancels its own timers and the workaround can go."""
    middleware = timeout_middleware(quick_app, timeout=60)
    sent, pending = asyncio.run(answered_request(middleware))
    assert sent[0]["status"] == 200 and pending == 1


def test_the_timer_goes_with_the_answer_and_a_slow_request_still_times_out():
    middleware = timeout_middleware(quick_app, timeout=60)
    sent, pending = asyncio.run(timed_call_request(middleware))
    assert sent[0]["status"] == 200 and pending == 0
    sent, _ = asyncio.run(timed_call_request(timeout_middleware(slow_app, timeout=0.05)))
    assert sent[0]["status"] == 504
    assert b"Not able to process the request in 0.05 seconds" in sent[1]["body"]


async def timed_call_request(middleware) -> tuple[list[dict], int]:
    """The same request with the project's TimeoutMiddleware.__call__ (timed_call)."""

    class Patched:
        def __init__(self) -> None:
            self.app, self.timeout = middleware.app, middleware.timeout
            self._set_timer_out = middleware._set_timer_out

        async def __call__(self, scope, receive, send) -> None:
            await timed_call(self, scope, receive, send)

    return await answered_request(Patched())
