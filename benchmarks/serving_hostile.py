"""Hostile traffic: one BentoML service under a scanner and oversized bodies, on loopback.

`make bench` runs it after the other benchmarks (`python -m benchmarks.serving_hostile`).
It trains and promotes Iris in a throw-away workspace, serves it with `bentoml serve`, then:
a warm-up; 10,000 single-row /predict requests at 32 clients (errors, throughput, p50, p99);
10,000 hostile requests at 32 clients, half GETs of random unknown paths (a vulnerability
scanner), half POSTs to /predict whose `Content-Length` claims more than the body limit
(`/model`'s `limits.max_body_bytes`, else 20 MB) while only a 64 KB prefix is sent: a
service that refuses by the header answers 413 at once, one that waits for the body times
out. The worker's resident memory (the `bentoml serve` worker processes, summed) after the
warm-up, after the normal and after the hostile phase, and the size of `/metrics` before and
after. Target: RSS after hostile - RSS after warm-up <= 20 MB.

`BENCH_QUICK=1` sends 2,000 of each and writes benchmarks/results/RESULTS-quick.md;
the full run appends its section to benchmarks/RESULTS.md (replacing an older one).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from benchmarks.serving import QUICK, load, start, wait_ready
from benchmarks.workspace import PYTHON, REPO, isolated_env, ours, run_config
from data.make_iris import write_iris
from tests.helpers import free_port

HERE = REPO / "benchmarks"
MODEL = "bench_hostile"
CLIENTS = 32
WARMUP = 500
REQUESTS = 2_000 if QUICK else 10_000
HOSTILE = 2_000 if QUICK else 10_000
FALLBACK_LIMIT = 20 * 1024 * 1024  # before the service reports its limit
PREFIX = b"{" + b" " * (64 * 1024 - 1)  # what an over-limit request actually sends
HOSTILE_TIMEOUT = 2.0  # seconds an over-limit request waits for its answer
RSS_TARGET_MB = 20
HEADING = "## Hostile traffic: one service under random paths and over-limit bodies"


def workers(server: subprocess.Popen) -> list[psutil.Process]:
    """The `bentoml serve` worker processes (the service's code runs there)."""
    children = psutil.Process(server.pid).children(recursive=True)
    found = [p for p in children if "_bentoml_impl.worker" in " ".join(p.cmdline())]
    assert found, f"no worker among {[p.cmdline() for p in children]}"
    return found


def rss_mb(server: subprocess.Popen) -> float:
    return sum(p.memory_info().rss for p in workers(server)) / 2**20


def metrics_kb(client: httpx.Client) -> float:
    response = client.get("/metrics")
    assert response.status_code == 200, response.status_code
    return len(response.content) / 1024


def body_limit(client: httpx.Client) -> tuple[int, str]:
    limits = client.get("/model").json().get("limits", {})
    if "max_body_bytes" in limits:
        return int(limits["max_body_bytes"]), "`/model`'s `limits.max_body_bytes`"
    return FALLBACK_LIMIT, "20 MB (`/model` reports no `max_body_bytes`)"


async def over_limit(host: str, port: int, claimed: int) -> str:
    """POST /predict claiming `claimed` bytes, send a 64 KB prefix; the status, or why none."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
    except (OSError, asyncio.TimeoutError):
        return "connect failed"
    try:
        head = (
            f"POST /predict HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {claimed}\r\n\r\n"
        )
        writer.write(head.encode() + PREFIX)
        try:
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), HOSTILE_TIMEOUT)
        except asyncio.TimeoutError:
            return "no answer"
        except OSError:
            return "reset"
        parts = line.split()
        return parts[1].decode() if len(parts) > 1 and parts[1].isdigit() else "reset"
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def hostile(url: str, requests: int, claimed: int) -> dict[str, object]:
    """Half random-path GETs, half over-limit POSTs, from CLIENTS clients; outcome counts."""
    host, port = url.removeprefix("http://").split(":")
    outcomes: dict[str, dict[str, int]] = {"random path GET": {}, "over-limit POST": {}}
    remaining = iter(range(requests))
    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:

        async def worker() -> None:
            for index in remaining:
                if index % 2:
                    kind = "over-limit POST"
                    outcome = await over_limit(host, int(port), claimed)
                else:
                    kind = "random path GET"
                    path = f"/{secrets.token_hex(6)}/{secrets.token_hex(4)}.php"
                    try:
                        outcome = str((await client.get(path)).status_code)
                    except httpx.TransportError as error:
                        outcome = type(error).__name__
                counts = outcomes[kind]
                counts[outcome] = counts.get(outcome, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - started
    return {"outcomes": outcomes, "seconds": elapsed, "rps": requests / elapsed}


def train(work: Path, env: dict[str, str]) -> None:
    """Train and promote Iris in the workspace; `python run.py` exports it for serving."""
    data = work / "iris.csv"
    write_iris(data)
    config = run_config(REPO / "configs" / "training.yaml", work, data, MODEL)
    result = subprocess.run(ours(config), cwd=work, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def measure(work: Path, env: dict[str, str]) -> dict[str, object]:
    port = free_port()
    server = start(
        [PYTHON, "-m", "bentoml", "serve", "--host", "127.0.0.1", "--port", str(port)],
        REPO / "service",
        {**env, "SERVING_MODEL": MODEL},
        work / "bentoml.log",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, "/readyz")
        with httpx.Client(base_url=url, timeout=60) as client:
            limit, limit_source = body_limit(client)
            figures: dict[str, object] = {"limit": limit, "limit_source": limit_source}
            figures["metrics_kb_before"] = metrics_kb(client)
            print(f"Warm-up: {WARMUP} requests")
            asyncio.run(load(url, WARMUP, 8))
            figures["rss_warm"] = rss_mb(server)
            print(f"Normal: {REQUESTS:,} single-row /predict at {CLIENTS} clients")
            figures["normal"] = asyncio.run(load(url, REQUESTS, CLIENTS))
            figures["rss_normal"] = rss_mb(server)
            print(f"Hostile: {HOSTILE:,} requests at {CLIENTS} clients")
            figures["hostile"] = asyncio.run(hostile(url, HOSTILE, limit + 1))
            figures["rss_hostile"] = rss_mb(server)
            figures["metrics_kb_after"] = metrics_kb(client)
            print("After: 1,000 single-row /predict at 32 clients")
            figures["after"] = asyncio.run(load(url, 1_000, CLIENTS))
            figures["workers"] = len(workers(server))
        return figures
    finally:
        server.terminate()
        server.wait(timeout=30)


def table(figures: dict) -> list[str]:
    normal, after, hostile_run = figures["normal"], figures["after"], figures["hostile"]
    growth = figures["rss_hostile"] - figures["rss_warm"]
    outcomes = "; ".join(
        f"{kind}: " + ", ".join(f"{count:,} {outcome}" for outcome, count in sorted(c.items()))
        for kind, c in hostile_run["outcomes"].items()
    )
    return [
        "| measure | value |",
        "|---|---:|",
        f"| single-row /predict, {CLIENTS} clients: throughput (req/s) | {normal['rps']:.1f} |",
        f"| p50 / p99 latency (ms) | {normal['p50']:.1f} / {normal['p99']:.1f} |",
        f"| failed requests (of {REQUESTS:,}) | {normal['failed']} |",
        f"| hostile requests per second ({HOSTILE:,}) | {hostile_run['rps']:.1f} |",
        f"| after the hostile phase: p50 / p99 (ms), failed of 1,000 "
        f"| {after['p50']:.1f} / {after['p99']:.1f}, {after['failed']} |",
        f"| worker RSS after warm-up (MB) | {figures['rss_warm']:.0f} |",
        f"| worker RSS after the normal phase (MB) | {figures['rss_normal']:.0f} |",
        f"| worker RSS after the hostile phase (MB) | {figures['rss_hostile']:.0f} |",
        f"| `/metrics` before / after (KB) "
        f"| {figures['metrics_kb_before']:.0f} / {figures['metrics_kb_after']:.0f} |",
        "",
        f"Hostile answers: {outcomes}. Body limit {figures['limit']:,} bytes, from "
        f"{figures['limit_source']}; each over-limit request claims one byte more and sends "
        f"{len(PREFIX) // 1024} KB, waiting {HOSTILE_TIMEOUT:.0f} s for an answer "
        f'("no answer": it waited for the rest). {figures["workers"]} worker process(es).',
        "",
        f"Target: RSS after hostile - RSS after warm-up ≤ {RSS_TARGET_MB} MB: "
        f"{'yes' if growth <= RSS_TARGET_MB else '**no**'} ({growth:+.1f} MB; the hostile "
        f"phase alone {figures['rss_hostile'] - figures['rss_normal']:+.1f} MB).",
    ]


def section(figures: dict, started: float) -> str:
    mode = "quick mode (`BENCH_QUICK=1`)" if QUICK else "full mode"
    return "\n".join(
        [
            HEADING,
            "",
            f"Written by `make bench` ({mode}) on {time.strftime('%Y-%m-%d %H:%M')}, in "
            f"{(time.time() - started) / 60:.0f} minutes; load average "
            f"{os.getloadavg()[0]:.1f}. One `bentoml serve` of the Iris model on loopback, the "
            "load generator ([serving_hostile.py](serving_hostile.py), httpx and raw sockets) on "
            f"the same 2 cores: a {WARMUP}-request warm-up, {REQUESTS:,} single-row requests, "
            f"then {HOSTILE:,} hostile ones (half GETs of random unknown paths, half POSTs to "
            "/predict over the body limit), then 1,000 single-row requests again. RSS is the "
            "resident memory of the service's worker processes.",
            "",
            *table(figures),
            "",
        ]
    )


def write(text: str) -> Path:
    """Replace this benchmark's section of the results file, or append it."""
    target = HERE / "results" / "RESULTS-quick.md" if QUICK else HERE / "RESULTS.md"
    target.parent.mkdir(exist_ok=True)
    old = target.read_text() if target.exists() else ""
    if HEADING in old:
        before, _, rest = old.partition(HEADING)
        following = rest.find("\n## ")
        old = before + (rest[following + 1 :] if following >= 0 else "")
    target.write_text(old.rstrip("\n") + ("\n\n" if old.strip() else "") + text)
    return target


def main() -> None:
    started = time.time()
    work = Path(tempfile.mkdtemp(prefix="iris-mlops-hostile-"))
    try:
        env = isolated_env(work)
        print("Training and promoting Iris (throw-away store)")
        train(work, env)
        figures = measure(work, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    output = HERE / "results"
    output.mkdir(exist_ok=True)
    name = "hostile-latest-quick.json" if QUICK else "hostile-latest.json"
    (output / name).write_text(json.dumps(figures, indent=1))
    print("\n" + "\n".join(table(figures)))
    print(f"\nWritten to {write(section(figures, started)).relative_to(REPO)}")


if __name__ == "__main__":
    main()
