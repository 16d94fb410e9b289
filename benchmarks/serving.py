"""Serving: our BentoML service against FastAPI + uvicorn, both live on loopback, same run.

`make bench` calls this once the Iris runs have promoted and exported a model. Both services
serve that model; the load alternates between them round by round: single-row /predict at 1
and 32 concurrent clients (throughput, p50, p99; driven by `hey`), and 10,000-row columnar
batches (httpx: one request at a time, where the generator is not the bottleneck).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.workspace import PYTHON, REPO, exported_model_file
from tests.helpers import free_port

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")

ROUNDS = 1 if QUICK else 3
REQUESTS = {1: 300 if QUICK else 1500, 32: 600 if QUICK else 4000}
BATCH_ROWS, BATCH_REPEATS = 10_000, 5 if QUICK else 20
ROW = {"sepal_length": 6.3, "sepal_width": 3.3, "petal_length": 6.0, "petal_width": 2.5}


def start(
    command: list[str], cwd: Path, env: dict[str, str], log: Path, cpus: set[int] | None = None
) -> subprocess.Popen:
    """The server, on `cpus` only when given (its workers inherit them)."""
    return subprocess.Popen(
        command, cwd=cwd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
        preexec_fn=pinned(cpus),
    )  # fmt: skip


def pinned(cpus: set[int] | None):
    """A preexec_fn keeping the child on `cpus` (None: wherever the kernel puts it)."""
    return None if cpus is None else lambda: os.sched_setaffinity(0, cpus)


def wait_ready(url: str, path: str) -> None:
    for _ in range(240):
        try:
            if httpx.get(url + path, timeout=1).status_code in (200, 405):
                return
        except httpx.TransportError:
            time.sleep(0.5)
    raise TimeoutError(url)


def load(
    url: str, requests: int, concurrency: int, cpus: set[int] | None = None
) -> dict[str, float]:
    """Single-row /predict from `concurrency` clients, driven by `hey` (a C load generator:
    a Python one caps near 240 req/s on 2 cores and hides the difference); latencies in ms.

    A request answered with another status than 200, or failed at the socket, is counted
    in `failed`; hey's figures cover all requests.
    """
    requests -= requests % concurrency  # hey sends whole rounds of `concurrency` requests
    with tempfile.NamedTemporaryFile("w", suffix=".json") as body:
        json.dump({"records": [ROW]}, body)
        body.flush()
        output = subprocess.run(
            [hey_path(), "-n", str(requests), "-c", str(concurrency), "-m", "POST",
             "-T", "application/json", "-D", body.name, f"{url}/predict"],
            capture_output=True, text=True, check=True, timeout=600, preexec_fn=pinned(cpus),
        ).stdout  # fmt: skip
    return hey_figures(output, requests)


def hey_figures(output: str, requests: int) -> dict[str, float]:
    """Throughput, p50, p99 (ms) and failures from hey's summary."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    quantile = {
        q: float(seconds) * 1000 for q, seconds in re.findall(r"(\d+)% in ([\d.]+) secs", output)
    }
    ok = sum(int(n) for n in re.findall(r"\[200\]\s+(\d+) responses", output))
    return {"rps": rps, "p50": quantile["50"], "p99": quantile["99"], "failed": requests - ok}


def hey_path() -> str:
    found = shutil.which("hey")
    if found is None:
        raise SystemExit("make bench needs `hey` (Debian: apt-get install hey; `make bench-tools`)")
    return found


def batch_latency(url: str) -> float:
    """Median ms for one 10,000-row columnar request, response fully read."""
    columns = {name: [value] * BATCH_ROWS for name, value in ROW.items()}
    timings = []
    with httpx.Client(base_url=url, timeout=60) as client:
        for _ in range(BATCH_REPEATS):
            started = time.perf_counter()
            response = client.post("/predict_batch", json={"columns": columns})
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200 and len(response.json()["labels"]) == BATCH_ROWS
    return statistics.median(timings)


def measure(urls: dict[str, str]) -> dict[str, dict[str, float]]:
    """Alternate the services round by round, so machine noise hits both; keep medians
    (failures are summed over the rounds)."""
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in urls}
    for url in urls.values():  # warm-up
        load(url, 200, 8)
    for _ in range(ROUNDS):
        for name, url in urls.items():
            for concurrency, count in REQUESTS.items():
                result = load(url, count, concurrency)
                for key, value in result.items():
                    samples[name].setdefault(f"{key}@{concurrency}", []).append(value)
            samples[name].setdefault("batch_10k_ms", []).append(batch_latency(url))
    return {
        name: {
            key: sum(values) if key.startswith("failed") else statistics.median(values)
            for key, values in figures.items()
        }
        for name, figures in samples.items()
    }


def serving_table(results: dict[str, dict[str, float]]) -> list[str]:
    ours, base = results["bentoml"], results["fastapi"]
    rows = [
        ("throughput, 1 client (req/s)", "rps@1"),
        ("p50 latency, 1 client (ms)", "p50@1"),
        ("p99 latency, 1 client (ms)", "p99@1"),
        ("throughput, 32 clients (req/s)", "rps@32"),
        ("p50 latency, 32 clients (ms)", "p50@32"),
        ("p99 latency, 32 clients (ms)", "p99@32"),
        ("10,000-row batch (ms)", "batch_10k_ms"),
    ]
    lines = [
        "| measure | BentoML service | FastAPI + uvicorn (async) | ratio (ours / baseline) |",
        "|---|---:|---:|---:|",
    ]
    for label, key in rows:
        lines.append(
            f"| {label} | {ours[key]:.1f} | {base[key]:.1f} | {ours[key] / base[key]:.2f}x |"
        )
    met = {
        "throughput at 32 clients ≥ baseline's": ours["rps@32"] >= base["rps@32"],
        "p99 at 32 clients ≤ baseline's": ours["p99@32"] <= base["p99@32"],
        "throughput at 1 client ≥ 0.9x baseline's": ours["rps@1"] >= 0.9 * base["rps@1"],
        "10,000 rows ≤ 100 ms": ours["batch_10k_ms"] <= 100,
    }
    verdicts = ", ".join(f"{name}: {'yes' if ok else '**no**'}" for name, ok in met.items())
    failed = {
        name: int(sum(v for k, v in figures.items() if k.startswith("failed")))
        for name, figures in results.items()
    }
    return [
        *lines,
        "",
        f"Targets: {verdicts}. Failed requests over all rounds (not timed): "
        f"BentoML {failed['bentoml']}, FastAPI {failed['fastapi']}.",
    ]


def serving_measures(work: Path, env: dict[str, str], model_name: str) -> dict[str, dict]:
    """Start both services on `model_name`'s export, measure, stop them."""
    ports = {"bentoml": free_port(), "fastapi": free_port()}
    model_file = exported_model_file(env, model_name)
    servers = [
        start(
            [PYTHON, "-m", "bentoml", "serve", "--port", str(ports["bentoml"])],
            REPO / "service", {**env, "SERVING_MODEL": model_name}, work / "bentoml.log",
        ),
        start(
            [PYTHON, "-m", "uvicorn", "benchmarks.fastapi_baseline:app",
             "--port", str(ports["fastapi"])],
            REPO, {**env, "MODEL_FILE": str(model_file)}, work / "fastapi.log",
        ),
    ]  # fmt: skip
    try:
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        wait_ready(urls["bentoml"], "/readyz")
        wait_ready(urls["fastapi"], "/docs")
        return measure(urls)
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
