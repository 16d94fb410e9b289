"""Limits at the connection, before any request reaches the app: what a reverse proxy sets.

Uvicorn's httptools protocol (BentoML's server) reads a header of any size and waits for an
unfinished one for ever; BentoML passes none of uvicorn's few limits through. The service
installs LimitedHttpToolsProtocol as uvicorn's "auto" protocol at import, i.e. in each
worker before uvicorn starts (`install`); tests/service/test_connection_limits.py fails
when uvicorn's protocol changes under it.

| setting | default | like |
|---|---|---|
| SERVING_MAX_HEADER_BYTES | 16384 | h11's limit; nginx allows 4 buffers of 8 KB |
| SERVING_MAX_HEADERS | 100 | Apache's LimitRequestFields |
| SERVING_HEADER_TIMEOUT | 10 s | Go's usual ReadHeaderTimeout (nginx: 60 s) |
| SERVING_KEEPALIVE_TIMEOUT | 65 s | longer than nginx's and AWS ALB's 60 s upstream idle |
| SERVING_KEEPALIVE_REQUESTS | 1000 | nginx's keepalive_requests |
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("bentoml.access")

END_OF_HEADERS = b"\r\n\r\n"
LINGER_SECONDS = 2.0  # a refused client's remaining bytes are read and dropped this long
LINGER_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class ConnectionLimits:
    max_header_bytes: int = 16384
    max_headers: int = 100
    header_timeout_seconds: float = 10.0
    keepalive_timeout_seconds: float = 65.0
    keepalive_requests: int = 1000

    @classmethod
    def from_environment(cls) -> ConnectionLimits:
        env = os.environ.get
        defaults = cls()
        return cls(
            max_header_bytes=int(env("SERVING_MAX_HEADER_BYTES") or defaults.max_header_bytes),
            max_headers=int(env("SERVING_MAX_HEADERS") or defaults.max_headers),
            header_timeout_seconds=float(
                env("SERVING_HEADER_TIMEOUT") or defaults.header_timeout_seconds
            ),
            keepalive_timeout_seconds=float(
                env("SERVING_KEEPALIVE_TIMEOUT") or defaults.keepalive_timeout_seconds
            ),
            keepalive_requests=int(
                env("SERVING_KEEPALIVE_REQUESTS") or defaults.keepalive_requests
            ),
        )

    def shown(self) -> dict[str, Any]:
        """For /model's `limits`."""
        return asdict(self)


class HeadersRefused(Exception):
    """Raised in a parser callback: httptools stops parsing and uvicorn answers through
    send_400_response, which sends the refusal instead."""


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """Uvicorn's httptools protocol with a bound on the header section (bytes and count),
    a time limit for it, and keep-alive limits. A refusal is answered (431 or 408), the
    rest of what the client sends is read and dropped for a bounded time so it sees the
    status, and the connection is closed."""

    limits = ConnectionLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timeout_keep_alive = self.limits.keepalive_timeout_seconds
        self.in_headers, self.header_bytes, self.header_count = True, 0, 0
        self.tail = b""  # the last bytes seen, where an end of headers may begin
        self.requests_begun = 0
        self.header_timer: Any = None
        self.pending: tuple[int, str] | None = None  # set in a parser callback
        self.answered = False  # refused: what still arrives is dropped
        self.dropped = 0  # bytes read and dropped after a refusal

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self.cancel_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.answered:
            self.dropped += len(data)
            if self.dropped > LINGER_BYTES:
                self.transport.close()
            return
        if self.in_headers:
            if self.header_timer is None:
                self.arm_header_timer()
            seen = self.tail + data
            end = seen.find(END_OF_HEADERS)
            if end < 0:
                self.header_bytes += len(data)
                self.tail = seen[-(len(END_OF_HEADERS) - 1) :]
            else:
                self.header_bytes += end + len(END_OF_HEADERS) - len(self.tail)
            if self.header_bytes > self.limits.max_header_bytes:
                return self.refuse(431, self.too_large_message())
        super().data_received(data)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_count += 1
        if self.header_count > self.limits.max_headers:
            self.pending = (431, f"more than {self.limits.max_headers} headers")
            raise HeadersRefused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.cancel_header_timer()
        self.in_headers = False
        super().on_headers_complete()
        self.requests_begun += 1
        if self.requests_begun >= self.limits.keepalive_requests and self.cycle is not None:
            self.cycle.keep_alive = False  # this answer says `connection: close`

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.in_headers, self.header_bytes, self.header_count, self.tail = True, 0, 0, b""

    def send_400_response(self, msg: str) -> None:
        if self.pending is not None:
            return self.refuse(*self.pending)
        super().send_400_response(msg)

    def too_large_message(self) -> str:
        limit = self.limits.max_header_bytes
        return f"the request's headers are over {limit} bytes (SERVING_MAX_HEADER_BYTES)"

    def arm_header_timer(self) -> None:
        self.cancel_header_timer()
        self.header_timer = self.loop.call_later(
            self.limits.header_timeout_seconds, self.headers_timed_out
        )

    def cancel_header_timer(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def headers_timed_out(self) -> None:
        self.header_timer = None
        if not self.in_headers or self.transport.is_closing():
            return
        if self.header_bytes == 0:  # an idle connection: nothing to answer
            self.transport.close()
            return
        seconds = self.limits.header_timeout_seconds
        self.refuse(408, f"the request's headers were not complete after {seconds:g} s")

    def refuse(self, status: int, message: str) -> None:
        """Answer, stop reading requests, drop what still arrives for LINGER_SECONDS (or
        LINGER_BYTES), then close."""
        self.cancel_header_timer()
        self._unset_keepalive_if_required()
        body = json.dumps({"error": message}).encode()
        reason = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}[status]
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%s" % (status, reason, len(body), body)
        )
        client = self.client or ("-", 0)
        log.info("%s:%s - %d %s", client[0], client[1], status, message)
        self.answered = True
        self.loop.call_later(LINGER_SECONDS, self.transport.close)


def install(limits: ConnectionLimits) -> None:
    """Make LimitedHttpToolsProtocol (with `limits`) uvicorn's "auto" HTTP protocol."""
    import uvicorn.config

    LimitedHttpToolsProtocol.limits = limits
    name = f"{LimitedHttpToolsProtocol.__module__}:{LimitedHttpToolsProtocol.__qualname__}"
    uvicorn.config.HTTP_PROTOCOLS["auto"] = name
