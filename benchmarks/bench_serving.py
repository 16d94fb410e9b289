"""`make bench-serving`: the HTTP service's speed with `hey`, side by side in one run.

Trains and promotes Iris in a throw-away store, then two comparisons, each alternating its two
servers round by round on the same 2 cores (benchmarks/serving.py's `measure`: single-row
/predict at 1 and 32 clients driven by `hey`, a C load generator, and 10,000-row batches):

1. the service as shipped (inference log on) against FastAPI + uvicorn with the same
   validation and model file; targets at 32 clients: throughput ≥ 1.0x, p99 ≤ 1.0x;
2. the same service with its inference log on against off (`SERVING_LOG=off`), single-row
   requests at 1 and 32 clients, six rounds: the server's CPU time per request (steady) and
   hey's throughput and p99 (noisy at 32 clients); target: within 5 % at 32 clients.

Writes benchmarks/RESULTS-serving.md (`BENCH_QUICK=1`: benchmarks/results/, fewer requests).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import psutil

from benchmarks.serving import (
    QUICK,
    REQUESTS,
    ROUNDS,
    load,
    serving_measures,
    serving_table,
    start,
    wait_ready,
)
from benchmarks.serving_hostile import train
from benchmarks.workspace import PYTHON, REPO
from benchmarks.workspace import isolated_env as workspace_env
from tests.helpers import free_port

MODEL = "bench_hostile"  # serving_hostile.train's model
LOG_TARGET = 0.95  # log on / log off, single-row throughput at 32 clients
LOG_ROUNDS = 2 if QUICK else 6


def server_cpu_seconds(server: subprocess.Popen) -> float:
    """CPU time of `bentoml serve` and its worker processes so far."""
    process = psutil.Process(server.pid)
    times = [p.cpu_times() for p in (process, *process.children(recursive=True))]
    return sum(t.user + t.system for t in times)


def log_measures(work: Path, env: dict[str, str]) -> dict[str, dict[str, float]]:
    """The service twice on the same model, inference log on (its own folder) and off,
    alternating round by round: throughput and p99 from `hey`, and the server's own CPU
    time per request, which the load generator sharing the 2 cores disturbs far less."""
    settings = {
        "log on": {"SERVING_LOG_DIR": str(work / "inference_log")},
        "log off": {"SERVING_LOG": "off"},
    }
    ports = {name: free_port() for name in settings}
    servers = {
        name: start(
            [PYTHON, "-m", "bentoml", "serve", "--host", "127.0.0.1", "--port", str(port)],
            REPO / "service",
            {**env, "SERVING_MODEL": MODEL, **settings[name]},
            work / f"{name.replace(' ', '-')}.log",
        )
        for name, port in ports.items()
    }
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in settings}
    try:
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        for url in urls.values():
            wait_ready(url, "/readyz")
            load(url, 200, 8)  # warm-up
        for round_number in range(LOG_ROUNDS):
            # Each goes first in every other round, so that neither order is favoured.
            names = list(urls) if round_number % 2 == 0 else list(reversed(urls))
            for name in names:
                url = urls[name]
                for clients, count in REQUESTS.items():
                    before = server_cpu_seconds(servers[name])
                    result = load(url, count, clients)
                    used = server_cpu_seconds(servers[name]) - before
                    figures = samples[name]
                    figures.setdefault(f"rps@{clients}", []).append(result["rps"])
                    figures.setdefault(f"p99@{clients}", []).append(result["p99"])
                    figures.setdefault(f"cpu_ms@{clients}", []).append(1000 * used / count)
                    figures.setdefault("failed", []).append(result["failed"])
    finally:
        for server in servers.values():
            server.terminate()
            server.wait(timeout=30)
    return {
        name: {k: sum(v) if k == "failed" else statistics.median(v) for k, v in figures.items()}
        for name, figures in samples.items()
    }


def log_table(results: dict[str, dict[str, float]]) -> list[str]:
    on, off = results["log on"], results["log off"]
    rows = [
        ("server CPU per request, 1 client (ms)", "cpu_ms@1"),
        ("server CPU per request, 32 clients (ms)", "cpu_ms@32"),
        ("throughput, 1 client (req/s)", "rps@1"),
        ("p99 latency, 1 client (ms)", "p99@1"),
        ("throughput, 32 clients (req/s)", "rps@32"),
        ("p99 latency, 32 clients (ms)", "p99@32"),
    ]
    lines = ["| measure | log on | log off | on / off |", "|---|---:|---:|---:|"]
    lines += [
        f"| {label} | {on[key]:.3g} | {off[key]:.3g} | {on[key] / off[key]:.2f}x |"
        for label, key in rows
    ]
    cost = on["cpu_ms@32"] / off["cpu_ms@32"]
    throughput = on["rps@32"] / off["rps@32"]
    return [
        *lines,
        "",
        f"Target: at 32 clients the log costs at most 5 %: server CPU per request "
        f"{cost:.3f}x ({'yes' if cost <= 1 / LOG_TARGET else '**no**'}); throughput "
        f"{throughput:.3f}x ({'yes' if throughput >= LOG_TARGET else '**no**'}). Throughput "
        f"at 32 clients moves by tens of percent from round to round on 2 shared cores "
        f"(concurrent rows are stacked into one model call, so a little delay changes how "
        f"many): CPU per request is the steadier figure. Failed requests: log on "
        f"{on['failed']:.0f}, log off {off['failed']:.0f}.",
    ]


def report(shipped: dict, logged: dict, started: float, loads: tuple[float, float]) -> str:
    requests = ", ".join(f"{count:,} at {clients} client(s)" for clients, count in REQUESTS.items())
    return "\n".join(
        [
            "# Serving benchmark",
            "",
            f"Written by `make bench-serving`{' (quick mode)' if QUICK else ''} on "
            f"{time.strftime('%Y-%m-%d %H:%M')}, in {(time.time() - started) / 60:.0f} minutes; "
            f"load average {loads[0]:.1f} at the start and {loads[1]:.1f} at the end; "
            f"{os.cpu_count()} CPU cores shared by the servers and the load generator. "
            f"Iris's production model, one worker process per server, on loopback. Single-row "
            f"/predict driven by `hey` ({requests} per round), 10,000-row batches by httpx one "
            f"at a time; {ROUNDS} round(s) alternating the two servers; medians of the rounds.",
            "",
            "## The service against FastAPI + uvicorn",
            "",
            "Ours as shipped (inference log on, access log on); the baseline "
            "([fastapi_baseline.py](fastapi_baseline.py)) has the same pydantic validation "
            "and model call, async handlers, and logs nothing.",
            "",
            *serving_table(shipped),
            "",
            "## The inference log on against off",
            "",
            "The same service twice: `SERVING_LOG_DIR` set against `SERVING_LOG=off`, "
            f"{LOG_ROUNDS} rounds alternating them; medians. Server CPU is the `bentoml "
            "serve` process and its workers (psutil), divided by the requests of the load.",
            "",
            *log_table(logged),
            "",
        ]
    )


def main() -> None:
    started, load_start = time.time(), os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="iris-mlops-serving-"))
    try:
        env = workspace_env(work)
        print("Training and promoting Iris (throw-away store)")
        train(work, env)
        print("The service against FastAPI + uvicorn")
        shipped = serving_measures(work, env, MODEL)
        print("The inference log on against off")
        logged = log_measures(work, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = report(shipped, logged, started, (load_start, os.getloadavg()[0]))
    target = (
        REPO
        / "benchmarks"
        / ("results/RESULTS-serving-quick.md" if QUICK else "RESULTS-serving.md")
    )
    target.parent.mkdir(exist_ok=True)
    target.write_text(text)
    print("\n" + text)
    print(f"Written to {target.relative_to(REPO)}")


if __name__ == "__main__":
    main()
