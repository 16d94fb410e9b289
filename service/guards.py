"""What stands between the network and the model: a token, a body limit and timeout, JSON
only, and security headers on the page.

Plain ASGI middlewares, added to the service with `add_asgi_middleware`: BentoML runs them
before its API handler reads the body, so a refused request costs no parsing.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

# A JSON number is at most 24 characters ("-1.2345678901234567e-308") plus a separator.
BYTES_PER_VALUE = 26
ENVELOPE_BYTES = 64 * 1024


def default_body_limit(max_batch_rows: int, features: int) -> int:
    """Bytes of the largest `/predict_batch` body the row limit allows, and some room."""
    return max_batch_rows * features * BYTES_PER_VALUE + ENVELOPE_BYTES


def json_start(status: int, raw: bytes, headers: dict[str, str]) -> Message:
    """The response start of a JSON body `raw`, with `headers` added."""
    pairs = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    pairs += [(key.encode(), value.encode()) for key, value in headers.items()]
    return {"type": "http.response.start", "status": status, "headers": pairs}


async def send_json(send: Send, status: int, body: dict[str, Any], **headers: str) -> None:
    raw = json.dumps(body).encode()
    await send(json_start(status, raw, headers))
    await send({"type": "http.response.body", "body": raw})


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class RequestGuard:
    """Refuses before the API runs: a missing or wrong token (401), a body that is not JSON
    (415), larger than the limit (413, by Content-Length or while it streams in) or that
    stalls (408, no bytes for `body_timeout` seconds). The body is read here, whole, so a
    client that leaves mid-body is one access line (499), not a traceback and a 500.
    OPTIONS passes, so CORS preflight needs no token."""

    def __init__(
        self,
        app: App,
        routes: Collection[str],
        apis: Collection[str],
        protected: Collection[str],
        max_body_bytes: int,
        token: str | None,
        body_timeout: float = 10.0,
    ) -> None:
        self.app, self.routes, self.apis = app, set(routes), set(apis)
        self.protected = set(protected)
        self.max_body_bytes, self.token = max_body_bytes, (token or "").encode()
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            return await self.app(scope, receive, send)
        path = scope["path"]
        if path != "/" and path.endswith("/") and path.rstrip("/") in self.routes:
            return await self.redirect(scope, send, path.rstrip("/"))
        if self.token and path in self.protected and not self.authorized(scope):
            return await self.refuse(
                scope,
                receive,
                send,
                401,
                "a valid API token is required: send `Authorization: Bearer <token>`",
                WWW_Authenticate="Bearer",
            )
        if path not in self.apis or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        media_type = (header(scope, b"content-type") or "application/json").split(";")[0]
        if media_type.strip().lower() != "application/json":
            return await self.refuse(
                scope,
                receive,
                send,
                415,
                f"send JSON (Content-Type: application/json), not {media_type!r}",
            )
        length = header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            return await self.too_large(scope, receive, send)
        try:
            body = await self.read_body(receive)
        except BodyTooLarge:
            return await self.too_large(scope, receive, send)
        except asyncio.TimeoutError:
            error = f"the body stalled: no bytes for {self.body_timeout:g} s (SERVING_BODY_TIMEOUT)"
            return await self.refuse(scope, receive, send, 408, error)
        if body is None:  # the client went away: nothing to answer
            scope["client_went_away"] = True
            return None
        await self.app(scope, replay(body, receive), send)

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

    async def read_body(self, receive: Receive) -> bytes | None:
        """The whole body, or None if the client disconnected before sending it all."""
        chunks, size = [], 0
        while True:
            message = await asyncio.wait_for(receive(), self.body_timeout)
            if message["type"] == "http.disconnect":
                return None
            size += len(message.get("body", b""))
            if size > self.max_body_bytes:
                raise BodyTooLarge
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.max_body_bytes
        error = f"the body is over the limit of {limit} bytes (SERVING_MAX_BODY_BYTES)"
        await self.refuse(scope, receive, send, 413, error)

    async def refuse(
        self, scope: Scope, receive: Receive, send: Send, status: int, error: str, **headers: str
    ) -> None:
        """The answer, then the connection closed: its unread body makes it unusable.
        Before closing, what the client is still sending is read and dropped for a bounded
        time: a client that sends its whole body before reading (Python's urllib) would
        otherwise get "connection reset" instead of the status."""
        named = {key.replace("_", "-"): value for key, value in headers.items()}
        raw = json.dumps({"error": error}).encode()
        await send(json_start(status, raw, {"connection": "close", **named}))
        if scope["method"] in ("POST", "PUT", "PATCH") and not expects_continue(scope):
            await linger(receive)
        await send({"type": "http.response.body", "body": raw})


class BodyTooLarge(Exception):
    """The body passed the limit while it streamed in."""


LINGER_SECONDS = 2.0
LINGER_BYTES = 64 * 1024 * 1024


async def linger(receive: Receive) -> None:
    """Read and drop the rest of a refused body: at most LINGER_BYTES, LINGER_SECONDS."""
    deadline = time.monotonic() + LINGER_SECONDS
    drained = 0
    while drained <= LINGER_BYTES:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        try:
            message = await asyncio.wait_for(receive(), left)
        except asyncio.TimeoutError:
            return
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        drained += len(message.get("body", b""))


def expects_continue(scope: Scope) -> bool:
    """A client that asked `Expect: 100-continue` has not sent its body: nothing to drain."""
    return (header(scope, b"expect") or "").lower() == "100-continue"


def replay(body: bytes, receive: Receive) -> Receive:
    """A receive() that gives the already-read body once, then the connection's own (which
    waits until the client leaves)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def page_headers(html: str) -> dict[str, str]:
    """Security headers for the web page: it runs only its own inline script and style
    (by hash), talks only to this server, and cannot be framed by another site."""
    hashes = {
        tag: " ".join(
            f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
            for body in re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.DOTALL)
        )
        for tag in ("script", "style")
    }
    policy = (
        f"default-src 'none'; script-src {hashes['script']}; style-src {hashes['style']}; "
        "img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    return {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
