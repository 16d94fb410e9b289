"""`make bench-serving`: the HTTP service's speed with `hey`, side by side in one run.

Trains and promotes Iris in a throw-away store, then two comparisons, each alternating its two
servers round by round on the same 2 cores (benchmarks/serving.py's `measure`: single-row
/predict at 1 and 32 clients driven by `hey`, a C load generator, and 10,000-row batches):

1. the service as shipped (inference log on) against FastAPI + uvicorn with the same
   validation and model file; targets at 32 clients: throughput ≥ 1.0x, p99 ≤ 1.0x;
2. the same service with its inference log on against off (`SERVING_LOG=off`), single-row
   requests at 1 and 32 clients, ten rounds of short runs in the order A B B A, the servers
   on one core and hey on the other: each round's on/off ratio of throughput, p99 and the
   server's CPU time per request, the CPU of the log's writer thread in the server, and the
   log's own CPU per request measured in-process; target: throughput within 5 % at
   32 clients.

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
    ROW,
    load,
    serving_measures,
    serving_table,
    start,
    wait_ready,
)
from benchmarks.serving_hostile import train
from benchmarks.workspace import PYTHON, REPO
from benchmarks.workspace import isolated_env as workspace_env
from service.inference_log import InferenceLog
from tests.helpers import free_port

MODEL = "bench_hostile"  # serving_hostile.train's model
LOG_TARGET = 0.95  # log on / log off, single-row throughput at 32 clients
LOG_ROUNDS = 2 if QUICK else 10
# Per round, each load in short runs taken in the order A B B A, this many times over.
LOG_QUADS = {1: 1, 32: 1 if QUICK else 4}


def server_processes(server: subprocess.Popen) -> list[psutil.Process]:
    """`bentoml serve` and its worker processes."""
    process = psutil.Process(server.pid)
    return [process, *process.children(recursive=True)]


def server_cpu_seconds(server: subprocess.Popen) -> float:
    """CPU time of `bentoml serve` and its worker processes so far."""
    times = [process.cpu_times() for process in server_processes(server)]
    return sum(t.user + t.system for t in times)


def side_thread_cpu_seconds(server: subprocess.Popen) -> float:
    """CPU time so far of the server's threads other than each process's main one: the
    inference log's writer, with the log on (the event loop runs on the main thread)."""
    return sum(
        thread.user_time + thread.system_time
        for process in server_processes(server)
        for thread in process.threads()
        if thread.id != process.pid
    )


def split_cores() -> tuple[set[int] | None, set[int] | None]:
    """One core for the servers and another for hey, when there are two: hey then cannot
    take the server's core, and the log's few percent do not drown in that noise."""
    cores = sorted(os.sched_getaffinity(0))
    return ({cores[-1]}, {cores[0]}) if len(cores) >= 2 else (None, None)


def log_measures(work: Path, env: dict[str, str]) -> dict[str, dict[str, list[float]]]:
    """The service twice on the same model, inference log on (its own folder) and off:
    throughput and p99 from `hey`, and the server's own CPU time per request, round by round.

    Each round starts both servers afresh, since one process's layout in memory (its hash
    seed, its addresses) can make it a few percent faster or slower for its whole life (the
    reason pyperf spreads a benchmark over processes). Within a round each load is split in
    short runs taken in the order A B B A (A: the side going first, alternating by round),
    LOG_QUADS times over: at 32 clients the service's batching settles into patterns that
    hold for a whole run of hey and move its throughput by a tenth, so many short runs
    average them out better than a few long ones."""
    settings = {
        "log on": {"SERVING_LOG_DIR": str(work / "inference_log")},
        "log off": {"SERVING_LOG": "off"},
    }
    server_cores, load_cores = split_cores()
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in settings}
    for round_number in range(LOG_ROUNDS):
        first, second = settings if round_number % 2 == 0 else reversed(settings)
        servers, urls = {}, {}
        try:
            for name in (first, second):
                port = free_port()
                servers[name] = start(
                    [PYTHON, "-m", "bentoml", "serve", "--host", "127.0.0.1", "--port", str(port)],
                    REPO / "service",
                    {**env, "SERVING_MODEL": MODEL, **settings[name]},
                    work / f"{name.replace(' ', '-')}-{round_number}.log",
                    cpus=server_cores,
                )
                urls[name] = f"http://127.0.0.1:{port}"
            for name in (first, second):
                wait_ready(urls[name], "/readyz")
                load(urls[name], 200, 8, load_cores)  # warm-up
            for clients, count in REQUESTS.items():
                quads = LOG_QUADS[clients]
                size = count // (2 * quads)
                measured = alternating_loads(servers, urls, (first, second), clients, size, quads)
                for name, figures in measured.items():
                    for key, value in figures.items():
                        samples[name].setdefault(f"{key}@{clients}", []).append(value)
        finally:
            for server in servers.values():
                server.terminate()
                server.wait(timeout=30)
    return samples


def alternating_loads(
    servers: dict[str, subprocess.Popen],
    urls: dict[str, str],
    order: tuple[str, str],
    clients: int,
    size: int,
    quads: int,
) -> dict[str, dict[str, float]]:
    """Runs of `size` requests in the order A B B A, `quads` times over; for each side its
    throughput over all its runs, the median of their p99s, its CPU per request (ms) and
    that of its threads besides the event loop's (µs), and its failed requests."""
    _, load_cores = split_cores()
    size -= size % clients  # what load() sends
    totals = {name: {"seconds": 0.0, "cpu": 0.0, "side": 0.0, "failed": 0.0} for name in order}
    p99s: dict[str, list[float]] = {name: [] for name in order}
    for name in (order[0], order[1], order[1], order[0]) * quads:
        cpu, side = server_cpu_seconds(servers[name]), side_thread_cpu_seconds(servers[name])
        result = load(urls[name], size, clients, load_cores)
        total = totals[name]
        total["cpu"] += server_cpu_seconds(servers[name]) - cpu
        total["side"] += side_thread_cpu_seconds(servers[name]) - side
        total["seconds"] += size / result["rps"]
        total["failed"] += result["failed"]
        p99s[name].append(result["p99"])
    sent = 2 * quads * size
    return {
        name: {
            "rps": sent / total["seconds"],
            "p99": statistics.median(p99s[name]),
            "cpu_ms": 1000 * total["cpu"] / sent,
            "side_us": 1e6 * total["side"] / sent,
            "failed": total["failed"],
        }
        for name, total in totals.items()
    }


def log_own_cost(requests: int = 20_000) -> tuple[float, float]:
    """Microseconds of CPU per single-row request that the log itself takes, measured in this
    process: (the request path's append, that plus the writer thread's lines and writes).
    A steady figure where the servers' on/off difference is a few percent inside noise."""
    row = dict(ROW)
    probabilities = [{"setosa": 0.01, "versicolor": 0.04, "virginica": 0.95}]
    with tempfile.TemporaryDirectory() as folder:
        log = InferenceLog(Path(folder))
        started = time.process_time()
        for number in range(requests):
            log.log_predictions(
                f"{number:032x}", "predict", MODEL, "1", [row], ["virginica"], probabilities
            )
        queued = time.process_time()
        log.close()
        finished = time.process_time()
    return 1e6 * (queued - started) / requests, 1e6 * (finished - started) / requests


def paired(samples: dict[str, dict[str, list[float]]], key: str) -> list[float]:
    """Each round's log-on figure over its log-off figure."""
    pairs = zip(samples["log on"][key], samples["log off"][key], strict=True)
    return [on / off for on, off in pairs]


def log_table(samples: dict[str, dict[str, list[float]]], own: tuple[float, float]) -> list[str]:
    rows = [
        ("server CPU per request, 1 client (ms)", "cpu_ms@1"),
        ("server CPU per request, 32 clients (ms)", "cpu_ms@32"),
        ("throughput, 1 client (req/s)", "rps@1"),
        ("p99 latency, 1 client (ms)", "p99@1"),
        ("throughput, 32 clients (req/s)", "rps@32"),
        ("p99 latency, 32 clients (ms)", "p99@32"),
    ]
    side = "CPU of the threads besides the event loop's, 32 clients (µs per request)"
    on, off = samples["log on"], samples["log off"]
    lines = [
        "| measure | log on | log off | on / off, median of the rounds | rounds' range |",
        "|---|---:|---:|---:|---|",
    ]
    for label, key in rows:
        ratios = paired(samples, key)
        lines.append(
            f"| {label} | {statistics.median(on[key]):.3g} | {statistics.median(off[key]):.3g} "
            f"| {statistics.median(ratios):.3f}x | {min(ratios):.2f}-{max(ratios):.2f} |"
        )
    lines.append(
        f"| {side} | {statistics.median(on['side_us@32']):.1f} "
        f"| {statistics.median(off['side_us@32']):.1f} | | |"
    )
    failed = {
        name: sum(sum(figures[f"failed@{c}"]) for c in REQUESTS)
        for name, figures in samples.items()
    }
    throughput = statistics.median(paired(samples, "rps@32"))
    cost = statistics.median(paired(samples, "cpu_ms@32"))
    share = own[1] / 1000 / statistics.median(off["cpu_ms@32"])
    return [
        *lines,
        "",
        f"Target: at 32 clients, throughput with the log on within 5 % of off: "
        f"{throughput:.3f}x ({'yes' if throughput >= LOG_TARGET else '**no**'}); server CPU "
        f"per request {cost:.3f}x ({'yes' if cost <= 1 / LOG_TARGET else '**no**'}). "
        f"Single rounds still differ by up to a tenth either way on this shared machine, so "
        f"the median of the rounds is the figure. Failed requests: log on "
        f"{failed['log on']:.0f}, log off {failed['log off']:.0f}.",
        "",
        f"The log's own work, measured in one process ({log_own_cost.__name__}: 20,000 "
        f"single-row entries): {own[0]:.1f} µs of CPU per request on the request path (an "
        f"append to a deque) and {own[1]:.1f} µs in all (with the writer thread's JSON lines and "
        f"writes), {100 * share:.1f} % of the server's CPU per request with the log off at "
        f"32 clients.",
    ]


def report(
    shipped: dict,
    logged: dict,
    own: tuple[float, float],
    started: float,
    loads: tuple[float, float],
) -> str:
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
            f"{LOG_ROUNDS} rounds, each with both servers started afresh, the two taking turns "
            "going first; within a round each load runs in short runs in the order A B B A "
            f"({LOG_QUADS[32]} times over at 32 clients). Here the servers run on "
            "one core and hey on the other (`sched_setaffinity`), so the load generator does "
            "not take the server's core. Server CPU is the `bentoml serve` process and its "
            "workers (psutil), divided by the requests of the load.",
            "",
            *log_table(logged, own),
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
        own = log_own_cost()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = report(shipped, logged, own, started, (load_start, os.getloadavg()[0]))
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
