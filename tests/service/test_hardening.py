"""The service as a hostile client and a careful operator meet it: where it listens, the
token, body limits, strict bodies, bounded metrics, quiet logs, an honest OpenAPI document."""

from __future__ import annotations

import re
import select
import socket
import statistics
import threading
import time
import uuid
from collections.abc import Iterable, Iterator

import httpx
import jsonschema
import psutil
import pytest

from tests.service.conftest import API_TOKEN, BODY_LIMIT

pytestmark = pytest.mark.slow

SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
TOKEN = API_TOKEN
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LIMIT = BODY_LIMIT


def test_the_service_listens_on_loopback_unless_told_otherwise(guarded):
    listening = {
        connection.laddr.ip
        for connection in psutil.net_connections("tcp")
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == guarded.port
    }
    assert listening == {"127.0.0.1"}


@pytest.mark.parametrize(
    "method, path",
    [("POST", "/predict"), ("POST", "/predict_batch"), ("GET", "/model"), ("GET", "/metrics")],
)
def test_with_a_token_set_the_apis_model_and_metrics_need_it(guarded, method, path):
    body = {"records": [SETOSA]} if path == "/predict" else {"columns": {"sepal_length": [5.1]}}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = httpx.request(method, f"{guarded.url}{path}", headers=headers, json=body)
        assert response.status_code == 401, (headers, response.text)
        assert response.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer" in response.json()["error"]


def test_with_the_token_the_service_answers(guarded):
    predicted = httpx.post(f"{guarded.url}/predict", json={"records": [SETOSA]}, headers=AUTH)
    assert predicted.status_code == 200, predicted.text
    assert predicted.json()["predictions"][0]["label"] == "setosa"
    assert (
        httpx.get(f"{guarded.url}/model", headers=AUTH).json()["limits"]["max_body_bytes"] == LIMIT
    )
    assert httpx.get(f"{guarded.url}/metrics", headers=AUTH).status_code == 200


def test_health_docs_page_and_cors_preflight_stay_open(guarded):
    for path in ("/healthz", "/readyz", "/docs.json", "/ui", "/"):
        assert httpx.get(f"{guarded.url}{path}").status_code == 200, path
    preflight = httpx.options(
        f"{guarded.url}/predict",
        headers={"Origin": "http://127.0.0.1:8080", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code != 401
    doc = httpx.get(f"{guarded.url}/docs.json").json()
    assert doc["components"]["securitySchemes"] == {"bearer": {"type": "http", "scheme": "bearer"}}
    assert doc["paths"]["/predict"]["post"]["security"] == [{"bearer": []}]
    assert "security" not in doc["paths"]["/healthz"]["get"]


def test_metrics_are_summed_across_workers(guarded):
    def served(text: str) -> float:
        pattern = r'request_total\{endpoint="/model",http_response_code="200"[^}]*\} (\S+)'
        return sum(float(value) for value in re.findall(pattern, text))

    before = served(httpx.get(f"{guarded.url}/metrics", headers=AUTH).text)
    with httpx.Client(headers=AUTH) as client:
        for _ in range(20):  # new connections: the two workers share them
            client.get(f"{guarded.url}/model", headers={"Connection": "close"})
    after = served(httpx.get(f"{guarded.url}/metrics", headers=AUTH).text)
    assert after - before == 20


def raw_request(port: int, head: str, chunks: Iterable[bytes] = ()) -> bytes:
    """Send a request head, then body chunks until the server answers; its answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(head.encode())
        for chunk in chunks:
            if select.select([connection], [], [], 0)[0]:
                break  # the server answered before the body ended
            try:
                connection.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
        answer = b""
        try:
            while not answer.rstrip().endswith(b"}"):
                more = connection.recv(65536)
                if not more:
                    break
                answer += more
        except ConnectionResetError:
            pass
        return answer


def chunked(total: int, size: int = 256 * 1024) -> Iterator[bytes]:
    piece = b"[" + b"1.0," * (size // 4)
    for _ in range(total // len(piece)):
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"


def head(path: str, port: int, *lines: str) -> str:
    return "\r\n".join([f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", *lines, "", ""])


def test_a_body_over_the_limit_is_refused_before_it_is_read(guarded):
    declared = head(
        "/predict",
        guarded.port,
        f"Authorization: Bearer {TOKEN}",
        "Content-Type: application/json",
        "Content-Length: 105000000",
    )
    answer = raw_request(guarded.port, declared)  # no body sent at all
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert f"limit of {LIMIT} bytes".encode() in answer
    assert b"connection: close" in answer.lower()  # its buffers go now, not with the client

    streamed = head(
        "/predict_batch",
        guarded.port,
        f"Authorization: Bearer {TOKEN}",
        "Content-Type: application/json",
        "Transfer-Encoding: chunked",
    )
    answer = raw_request(guarded.port, streamed, chunked(105_000_000))
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]


def p50_ms(url: str, rounds: int = 60) -> float:
    with httpx.Client() as client:
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            assert client.post(f"{url}/predict", json={"records": [SETOSA]}).status_code == 200
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def test_refusing_huge_bodies_does_not_stall_other_clients(server):
    """A client streaming 105 MB bodies, over and over: each is cut off at the limit."""
    port = int(server.rsplit(":", 1)[1])
    idle = p50_ms(server)
    stop, refused = threading.Event(), []

    def hostile() -> None:
        request = head(
            "/predict_batch", port, "Content-Type: application/json", "Transfer-Encoding: chunked"
        )
        while not stop.is_set():
            refused.append(raw_request(port, request, chunked(105_000_000))[:12])

    sender = threading.Thread(target=hostile)
    sender.start()
    try:
        busy = p50_ms(server)
    finally:
        stop.set()
        sender.join(timeout=60)
    print(f"single-row p50: idle {idle:.1f} ms, during refusals {busy:.1f} ms ({len(refused)})")
    assert refused and set(refused) == {b"HTTP/1.1 413"}
    assert busy <= 2 * idle


def test_random_unknown_paths_do_not_grow_the_metrics(guarded):
    """On `guarded`, the last server this session starts: BentoML empties its metrics folder
    (one per BENTOML_HOME) when a server starts, so an older server's counts vanish."""
    url = guarded.url
    before = httpx.get(f"{url}/metrics", headers=AUTH).text
    with httpx.Client() as client:
        for _ in range(5000):
            assert client.get(f"{url}/{uuid.uuid4().hex}").status_code == 404
    after = httpx.get(f"{url}/metrics", headers=AUTH).text
    print(f"/metrics: {len(before)} bytes before 5,000 random 404s, {len(after)} after")
    assert abs(len(after) - len(before)) < 0.1 * len(before)
    assert not re.search(r'endpoint="/[0-9a-f]{32}"', after)
    pattern = r'request_total\{endpoint="other",http_response_code="404"[^}]*\} (\S+)'
    assert sum(float(value) for value in re.findall(pattern, after)) >= 5000


def test_extra_fields_at_any_level_are_a_400_naming_them(server):
    top = httpx.post(f"{server}/predict", json={"records": [SETOSA], "extra": 1})
    nested = httpx.post(f"{server}/predict", json={"records": [{**SETOSA, "colour": "blue"}]})
    batch = httpx.post(
        f"{server}/predict_batch",
        json={"columns": {name: [value] for name, value in SETOSA.items()}, "id": 7},
    )
    for response, name in ((top, "extra"), (nested, "colour"), (batch, "id")):
        assert response.status_code == 400, response.text
        (problem,) = response.json()["detail"]
        assert problem["type"] == "extra_forbidden" and problem["loc"][-1] == name


@pytest.mark.parametrize(
    "content_type", ["multipart/form-data", "text/plain", "application/x-www-form-urlencoded"]
)
def test_a_body_that_is_not_json_is_a_415(server, content_type):
    response = httpx.post(
        f"{server}/predict", content=b'{"records": []}', headers={"Content-Type": content_type}
    )
    assert response.status_code == 415
    assert "application/json" in response.json()["error"]


def test_each_request_is_one_access_line_without_the_clients_values(guarded):
    bad = {"records": [{**SETOSA, "petal_width": 98765.4321}]}
    refused = httpx.post(f"{guarded.url}/predict", json=bad, headers=AUTH)
    assert refused.status_code == 400
    request_id = refused.headers["x-request-id"]
    assert (
        httpx.post(f"{guarded.url}/predict", json={"records": [SETOSA], "x": 1}).status_code == 401
    )
    deadline = time.monotonic() + 10
    while "POST /predict 401" not in guarded.log.read_text():
        assert time.monotonic() < deadline, guarded.log.read_text()[-2000:]
        time.sleep(0.2)
    log = guarded.log.read_text()
    (line,) = [line for line in log.splitlines() if request_id in line]
    assert "POST /predict 400" in line
    assert "Traceback" not in log and "98765.4321" not in log
    # No record at ERROR level (a forged path may carry the text, escaped, in an INFO line).
    assert not any(re.match(r"^\S+ \[ERROR\]", line) for line in log.splitlines())
    assert "ValidationError" not in log  # BentoML's own line for it is dropped


def test_the_openapi_document_matches_what_the_service_sends(server):
    doc = httpx.get(f"{server}/docs.json").json()
    assert {"/predict", "/predict_batch", "/model", "/ui"} <= set(doc["paths"])
    responses = doc["paths"]["/predict"]["post"]["responses"]
    assert {"400", "413", "415"} <= set(responses)
    refused = httpx.post(f"{server}/predict", json={"records": [{**SETOSA, "petal_width": -1}]})
    assert refused.status_code == 400
    jsonschema.validate(refused.json(), doc["components"]["schemas"]["InvalidArgument"])


def test_no_redirect_is_built_from_the_host_header(server):
    for path in ("/ui/", "/model/", "/predict/"):
        response = httpx.get(f"{server}{path}", headers={"Host": "evil.example"})
        assert "evil" not in response.headers.get("location", ""), path
        if response.is_redirect:
            assert response.headers["location"] == path.rstrip("/")


def test_the_default_body_limit_fits_the_largest_batch_the_rows_limit_allows(server):
    card = httpx.get(f"{server}/model").json()
    limits, features = card["limits"], card["schema"]["features"]
    longest = "-1.2345678901234567e-100"  # the longest a JSON float can print
    column = "[" + ", ".join([longest] * limits["max_batch_rows"]) + "]"
    body = '{"columns": {' + ", ".join(f'"{f["name"]}": {column}' for f in features) + "}}"
    assert len(body) <= limits["max_body_bytes"] < 2 * len(body)
