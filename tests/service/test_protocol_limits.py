"""The service at the protocol layer, as an attacker and a reverse proxy meet it: header
limits and timeouts, log lines that cannot be forged, clients that leave, big batches
that do not stall health checks, and a 413 every client sees (issue 23)."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import statistics
import threading
import time
import urllib.error
import urllib.request

import httpx
import psutil
import pytest

from service.connection_limits import LimitedHttpToolsProtocol
from tests.helpers import REPO
from tests.service.conftest import (
    API_TOKEN,
    BODY_LIMIT,
    HEADER_TIMEOUT,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.slow

SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def raw_request(port: int, head: bytes, body: bytes = b"", timeout: float = 10) -> bytes:
    """Send bytes as they are; what the server answered before it closed (or timed out)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.sendall(head + body)
        answer = b""
        try:
            while chunk := connection.recv(65536):
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return answer


def workers_rss(port: int) -> int:
    server = next(
        process
        for process in psutil.process_iter()
        if any(c.laddr.port == port for c in safe_connections(process))
    )
    return sum(child.memory_info().rss for child in server.children(recursive=True))


def safe_connections(process: psutil.Process) -> list:
    try:
        return process.net_connections("tcp")
    except (psutil.AccessDenied, psutil.NoSuchProcess):
        return []


def wait_for_log(log, text: str, seconds: float = 10) -> str:
    deadline = time.monotonic() + seconds
    while text not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.2)
    return log.read_text()


def test_uvicorn_still_has_what_the_limited_protocol_overrides():
    """Fails when uvicorn's httptools protocol changes under service/connection_limits.py."""
    import uvicorn.config

    assert uvicorn.config.HTTP_PROTOCOLS["auto"] in (
        "uvicorn.protocols.http.auto:AutoHTTPProtocol",
        "connection_limits:LimitedHttpToolsProtocol",
    )
    for name in (
        "data_received",
        "on_header",
        "on_headers_complete",
        "on_message_complete",
        "send_400_response",
        "_unset_keepalive_if_required",
    ):
        assert callable(getattr(LimitedHttpToolsProtocol.__mro__[1], name)), name


def test_a_1_mb_header_is_a_431_and_the_worker_does_not_grow(guarded):
    before = workers_rss(guarded.port)
    huge = b"x" * 1_000_000
    for _ in range(5):
        answer = raw_request(
            guarded.port, b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: " + huge + b"\r\n\r\n"
        )
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"SERVING_MAX_HEADER_BYTES" in answer
    assert workers_rss(guarded.port) - before < 20 * 1024 * 1024
    many = b"".join(b"X-%d: 1\r\n" % n for n in range(150))
    answer = raw_request(guarded.port, b"GET /healthz HTTP/1.1\r\nHost: a\r\n" + many + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 ") and b"more than 100 headers" in answer
    assert httpx.get(f"{guarded.url}/healthz").status_code == 200


def test_an_unfinished_header_is_closed_after_the_timeout(guarded):
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", guarded.port), timeout=30) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Slow: ")
        answer = b""
        for _ in range(4 * HEADER_TIMEOUT * 2):  # one byte every 0.5 s, as slowloris does
            try:
                connection.sendall(b"a")
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.5)
        connection.settimeout(5)
        try:
            while chunk := connection.recv(65536):
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert time.monotonic() - started < 4 * HEADER_TIMEOUT + 6
    # A connection that never sends a byte is closed too.
    with socket.create_connection(("127.0.0.1", guarded.port), timeout=30) as idle:
        assert idle.recv(10) == b""


def get(port: int, path: str) -> bytes:
    return raw_request(
        port, f"GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".encode()
    )


def test_a_forged_path_writes_one_escaped_cut_line(guarded):
    marker = f"FORGED{time.time_ns()}"
    forged = f"/x%0a2026-12-02 [ERROR] [cli] {marker} admin login ok".replace(" ", "%20")
    assert get(guarded.port, forged).startswith(b"HTTP/1.1 404 ")
    assert get(guarded.port, "/" + "b" * 10_000).startswith(b"HTTP/1.1 404 ")
    assert get(guarded.port, "/" + "c" * 60_000).startswith(b"HTTP/1.1 431 ")
    log = wait_for_log(guarded.log, "(+9801 chars)")
    lines = [line for line in log.splitlines() if marker in line]
    assert len(lines) == 1 and "/x\\n2026-12-02" in lines[0]
    assert not any(line.startswith("2026-12-02 [ERROR] [cli]") for line in log.splitlines())
    (cut,) = [line for line in log.splitlines() if "b" * 100 in line]
    assert len(cut) < 500
    assert not any("c" * 100 in line for line in log.splitlines())  # refused before it was read


def predict_500s(guarded) -> float:
    text = httpx.get(f"{guarded.url}/metrics", headers=AUTH).text
    return sum(
        float(value)
        for value in re.findall(
            r'request_total\{[^}]*endpoint="/predict"[^}]*http_response_code="5\d\d"[^}]*\} (\S+)',
            text,
        )
    )


def test_a_client_leaving_mid_body_is_one_line_and_no_5xx(guarded):
    before = predict_500s(guarded)
    body = json.dumps({"records": [SETOSA] * 20}).encode()
    head = (
        "POST /predict HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {API_TOKEN}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", guarded.port)) as connection:
        connection.sendall(head + body[: len(body) // 2])
        time.sleep(0.5)
    log = wait_for_log(guarded.log, "POST /predict 499")
    assert "ClientDisconnect" not in log and "Traceback" not in log
    time.sleep(1)
    assert predict_500s(guarded) == before


def test_a_stalled_body_is_a_408(guarded):
    head = (
        "POST /predict HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {API_TOKEN}\r\nContent-Length: 1000\r\n\r\n"
    ).encode()
    answer = raw_request(guarded.port, head, b'{"records": [', timeout=HEADER_TIMEOUT + 8)
    assert answer.startswith(b"HTTP/1.1 408 ") and b"SERVING_BODY_TIMEOUT" in answer


def test_urllib_sees_the_413(guarded):
    request = urllib.request.Request(
        f"{guarded.url}/predict",
        data=b" " * (BODY_LIMIT + 1_000_000),
        headers={"Content-Type": "application/json", **AUTH},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 413
    assert "SERVING_MAX_BODY_BYTES" in json.loads(refused.value.read())["error"]


def test_health_checks_answer_while_16_clients_post_the_largest_batch(server):
    rows = httpx.get(f"{server}/model").json()["limits"]["max_batch_rows"]
    body = json.dumps({"columns": {name: [value] * rows for name, value in SETOSA.items()}})
    stop, answered, failed = time.monotonic() + 12, [0], []

    def flood() -> None:
        with httpx.Client(timeout=120) as client:
            while time.monotonic() < stop:
                response = client.post(
                    f"{server}/predict_batch",
                    content=body,
                    headers={"Content-Type": "application/json"},
                )
                answered[0] += 1
                if response.status_code != 200:
                    failed.append(response.status_code)

    clients = [threading.Thread(target=flood) for _ in range(16)]
    for client in clients:
        client.start()
    time.sleep(2)
    latencies = []
    with httpx.Client(timeout=10) as probe:
        for _ in range(30):
            started = time.perf_counter()
            assert probe.get(f"{server}/healthz").status_code == 200
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(0.25)
    for client in clients:
        client.join()
    assert not failed and answered[0] >= 16
    p99 = statistics.quantiles(latencies, n=100)[98]
    assert p99 < 100, f"/healthz p99 {p99:.0f} ms during the flood: {sorted(latencies)}"


def test_the_page_sends_security_headers(server):
    headers = httpx.get(f"{server}/ui").headers
    policy = headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy and "script-src 'sha256-" in policy
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"


def test_model_shows_the_connection_limits(server):
    limits = httpx.get(f"{server}/model").json()["limits"]
    assert limits["max_header_bytes"] == 16384 and limits["max_headers"] == 100
    assert limits["header_timeout_seconds"] == 10 and limits["keepalive_requests"] == 1000
    assert limits["max_batch_rows"] == 20000 and limits["body_timeout_seconds"] == 10


def predict_200s(url: str) -> float:
    text = httpx.get(f"{url}/metrics").text
    pattern = r'request_total\{[^}]*endpoint="/predict"[^}]*http_response_code="200"[^}]*\} (\S+)'
    return sum(float(value) for value in re.findall(pattern, text))


def test_a_second_server_on_the_same_home_leaves_the_first_ones_metrics(
    server, served_model, tmp_path
):
    assert httpx.post(f"{server}/predict", json={"records": [SETOSA]}).status_code == 200
    counted = predict_200s(server)
    assert counted >= 1
    url, process = start_server(
        ".", REPO / "service", tmp_path / "second.log", SERVING_MODEL=served_model
    )
    try:
        assert httpx.post(f"{url}/predict", json={"records": [SETOSA]}).status_code == 200
        assert predict_200s(url) == 1
        assert predict_200s(server) == counted
    finally:
        stop_server(process)


def test_bentomls_client_calls_the_apis_and_model_as_docs_serving_says(guarded):
    """docs/serving.md's "From Python": the APIs by name, /model through `request`, and
    unknown per-record fields dropped by the client before sending (the service would 400)."""
    import bentoml

    with bentoml.SyncHTTPClient(guarded.url, token=API_TOKEN) as client:
        answer = client.predict(records=[SETOSA])
        assert answer["predictions"][0]["label"] == "setosa"
        assert client.request("GET", "/model").json()["limits"]["max_body_bytes"] == BODY_LIMIT
        typo = {**SETOSA, "colour": "blue"}
        assert client.predict(records=[typo])["predictions"][0]["label"] == "setosa"
    refused = httpx.post(f"{guarded.url}/predict", json={"records": [typo]}, headers=AUTH)
    assert refused.status_code == 400


def test_hey_drives_the_serving_benchmark(server):
    """benchmarks/serving.py's load, as `make bench` runs it, on a few requests."""
    from benchmarks.serving import load

    figures = load(server, 200, 4)
    assert figures["failed"] == 0 and figures["rps"] > 0
    assert 0 < figures["p50"] <= figures["p99"]
