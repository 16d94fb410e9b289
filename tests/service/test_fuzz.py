"""Schemathesis against the live service's own OpenAPI document (`/docs.json`).

Each run is `schemathesis run` (the CLI, as a user would type it) against a server on
loopback, bounded by the number of examples per operation, not by a clock: its examples,
coverage and fuzzing phases, positive and negative data. Every response must conform to the
document: no 5xx (none on an unexpected content type either), a documented status code, a
documented content type and headers, a body that matches the documented schema, and no
request the document forbids accepted.

The document is fuzzed as the README states the contract: every request-body object is
closed (`additionalProperties: false`, "a 400 for a missing or extra field"), so an extra
field at any level is a negative case the service must refuse. The document itself is
checked to say so, and to list every route the service answers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import REPO
from tests.service.conftest import start_server, stop_server

pytestmark = pytest.mark.slow

# Per operation and phase: 10 to 40 s a run on 2 busy cores; three runs here.
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "150"))
# A fixed seed: the same cases on every run (schemathesis runs in a fresh folder each time,
# so no cache of an earlier run's cases changes them). FUZZ_SEED=N explores other cases.
# Hypothesis ends some operations early (seen here, with seed 13: 150 fuzzed
# cases for /predict and 17 for /predict_batch, on top of the coverage phase's 226); its
# deterministic mode fuzzed fewer, 6 and 5.
SEED = os.environ.get("FUZZ_SEED", "13")
TOKEN = "fuzz-token-0123456789"
ROW = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
# Every check but `positive_data_acceptance`: it counts a 400 for data the document allows as
# a failure, and JSON Schema cannot say "columns of equal length" (/predict_batch answers
# unequal columns with a documented 400). What a response must be is checked in full.
CHECKS = ["--checks", "all", "--exclude-checks", "positive_data_acceptance"]


def document(url: str) -> dict[str, Any]:
    response = httpx.get(f"{url}/docs.json", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def request_schemas(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every object schema a request body reaches, refs followed, with where it is."""
    found: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()

    def walk(schema: Any, where: str) -> None:
        if isinstance(schema, list):
            for item in schema:
                walk(item, where)
            return
        if not isinstance(schema, dict):
            return
        if "$ref" in schema:
            ref = schema["$ref"]
            if ref not in seen:
                seen.add(ref)
                target = doc
                for part in ref.removeprefix("#/").split("/"):
                    target = target[part]
                walk(target, ref)
            return
        if schema.get("type") == "object" and "properties" in schema:
            found.append((where, schema))
        for key, value in schema.items():
            if key != "properties":
                walk(value, where)
        for name, value in schema.get("properties", {}).items():
            walk(value, f"{where}.{name}")

    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "requestBody" in operation:
                walk(operation["requestBody"], f"{method.upper()} {path}")
    return found


def closed(doc: dict[str, Any]) -> dict[str, Any]:
    """The document with every request-body object closed: what the README promises."""
    doc = json.loads(json.dumps(doc))
    for _, schema in request_schemas(doc):
        schema.setdefault("additionalProperties", False)
    return doc


def fuzz(url: str, folder: Path, *headers: str) -> dict[str, Any]:
    """`schemathesis run` on the server's (closed) document; its JSON report and output."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "openapi.json"
    spec.write_text(json.dumps(closed(document(url))))
    report = folder / "report.json"
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", str(spec), "--url", url,
        *CHECKS, "--max-examples", str(MAX_EXAMPLES), "--seed", SEED,
        "--generation-database", "none",
        "--workers", "1", "--continue-on-failure", "--request-timeout", "30", "--no-color",
        "--report", "json", "--report-json-path", str(report),
    ]  # fmt: skip
    for header in headers:
        command += ["--header", header]
    result = subprocess.run(
        command, cwd=folder, capture_output=True, text=True, timeout=600, env=os.environ.copy()
    )
    assert report.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads(report.read_text())
    summary["output"], summary["returncode"] = result.stdout, result.returncode
    return summary


def failures(summary: dict[str, Any]) -> str:
    """The CLI's FAILURES section: each failing request as a curl line and its response."""
    output = summary["output"]
    start = output.find("FAILURES")
    return output[max(0, start - 40) : start + 12_000] if start >= 0 else output[-6000:]


def assert_conforms(summary: dict[str, Any]) -> None:
    cases = summary["test_cases"]
    assert summary["complete"], summary["stop_reason"]
    assert summary["operations"]["tested"] == summary["operations"]["selected"], summary
    assert not summary["errors"], summary["errors"]
    found = [
        f"{failure['title']} ({failure['count']}): {', '.join(failure['operations'])}"
        for failure in summary["failures"]
    ]
    assert not found, "\n".join(found) + "\n\n" + failures(summary)
    assert summary["returncode"] == 0, summary["output"][-6000:]
    assert cases["generated"] >= MAX_EXAMPLES, cases  # the run did fuzz


def test_the_document_lists_every_route_and_closes_request_bodies(server):
    doc = document(server)
    missing = {"/model", "/ui", "/predict", "/predict_batch"} - set(doc["paths"])
    assert not missing, f"routes the service answers but the document does not list: {missing}"
    open_objects = [
        where
        for where, schema in request_schemas(doc)
        if schema.get("additionalProperties", True) is not False
    ]
    assert not open_objects, f"request objects that allow extra fields: {open_objects}"


def test_fuzzed_open_service_conforms_to_its_document(server, tmp_path, report):
    summary = fuzz(server, tmp_path)
    report(f"schemathesis, open service: {summary['test_cases']['generated']} cases")
    assert_conforms(summary)


@pytest.fixture(scope="module")
def token_server(served_model: str, tmp_path_factory: pytest.TempPathFactory):
    """A second server with `SERVING_API_TOKEN` set."""
    log = tmp_path_factory.mktemp("token-server") / "serve.log"
    url, process = start_server(
        ".",
        REPO / "service",
        log,
        SERVING_MODEL=served_model,
        SERVING_MAX_RECORDS="50",
        SERVING_API_TOKEN=TOKEN,
    )
    yield url
    stop_server(process)


def test_fuzzed_token_service_with_the_token_conforms(token_server, tmp_path, report):
    summary = fuzz(token_server, tmp_path, f"Authorization: Bearer {TOKEN}")
    report(f"schemathesis, token service with token: {summary['test_cases']['generated']} cases")
    assert_conforms(summary)


def test_fuzzed_token_service_without_the_token_conforms(token_server, tmp_path, report):
    # Else fuzzing without the header would test nothing the open service's run did not.
    refused = httpx.post(f"{token_server}/predict", json={"records": [ROW]}, timeout=30)
    assert refused.status_code == 401, (refused.status_code, refused.text[:500])
    summary = fuzz(token_server, tmp_path)
    report(f"schemathesis, token service without token: {summary['test_cases']['generated']} cases")
    assert_conforms(summary)
