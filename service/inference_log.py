"""The inference log: every prediction the service makes, one JSON line per row, on disk.

Why a writer of our own rather than `bentoml.monitor`: BentoML's monitor writes through its
own logging configuration with no bound on disk and no reader; here the files rotate,
the folder stays under a size bound, S3 gets each closed segment, and `read_log` reads it
back for `python run.py monitor` (steps/monitoring.py).

Cost on the request path: `log_predictions` and `log_feedback` only append a tuple to a
deque (never block, never raise; past `queue_size` waiting entries one is dropped and counted
in `dropped`). A daemon thread wakes when the first entry arrives, gathers for 50 ms, turns
the entries into lines (pydantic-core's Rust JSON encoder: a few microseconds a row, where
the standard library's took about 15 with the time stamp), writes them and flushes, so a
reader sees a row within a tenth of a second.

Files: two streams, `predictions` and `feedback`, in one folder. Each process writes
segments of its own, `<stream>-<UTC yyyymmddTHHMMSS>-<pid>-<n>.jsonl`, so the workers of one
service never share a file. When a segment passes `segment_bytes` (between requests, so a
request's rows stay in one file) it is closed, uploaded to the S3 prefix when one is set,
and the oldest closed segments of the folder (every process's, both streams) are deleted
until the folder fits in `max_bytes` minus room for the open segments to grow.

Only the standard library, numpy and pydantic-core (BentoML's own dependency) here: the
bento packs service/ alone. boto3 is imported only when an S3 prefix is used.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import math
import os
import re
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from pydantic_core import to_json

# Settings the service reads (docs/monitoring.md); the names, in one place.
LOG_VARIABLE = "SERVING_LOG"  # "off" turns the log off
LOG_DIR_VARIABLE = "SERVING_LOG_DIR"  # default: <BENTOML_HOME or ~/bentoml>/inference_log
LOG_MAX_BYTES_VARIABLE = "SERVING_LOG_MAX_BYTES"  # default: 64 MiB
LOG_S3_VARIABLE = "SERVING_LOG_S3"  # s3://bucket/prefix: closed segments are uploaded there

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
STREAMS = ("predictions", "feedback")
REQUIRED_KEYS = {
    "predictions": ("request_id", "row", "time", "model_version", "features", "label"),
    "feedback": ("feedback_for", "row", "time", "label"),
}
GATHER_SECONDS = 0.05  # the writer thread's pause between its wake-up and its drain
RECENT_IDS = 200_000  # request ids `knows` answers from memory
SEGMENT_NAME = re.compile(
    r"^(?P<stream>predictions|feedback)-(?P<stamp>\d{8}T\d{6})-(?P<pid>\d+)-(?P<seq>\d+)\.jsonl$"
)
_STOP = object()
_logger = logging.getLogger(__name__)


def iso_time(stamp: float) -> str:
    """`2026-12-02T19:05:00.123Z`: UTC, milliseconds (sorts as text in time order)."""
    moment = datetime.fromtimestamp(stamp, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _plain(value: Any) -> Any:
    """A JSON value: numpy scalars as Python ones, NaN as null (a missing value)."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _line(record: dict[str, Any]) -> bytes:
    """One compact JSON line; NaN and infinities as null, numpy scalars as Python ones."""
    return to_json(record, inf_nan_mode="null", fallback=_plain) + b"\n"


def segment_key(path: Path) -> tuple[str, int, int]:
    """Oldest first: by the time the segment was opened, then its number."""
    match = SEGMENT_NAME.match(path.name)
    assert match is not None
    return match["stamp"], int(match["seq"]), int(match["pid"])


def segments(folder: Path, stream: str | None = None) -> list[Path]:
    """The folder's log segments (of one stream, or both), oldest first."""
    if not folder.is_dir():
        return []
    found = [
        path
        for path in folder.iterdir()
        if (match := SEGMENT_NAME.match(path.name)) and stream in (None, match["stream"])
    ]
    return sorted(found, key=segment_key)


def process_running(pid: int) -> bool:
    """Whether `pid` is a live process (of any user) in this pid namespace."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class InferenceLog:
    """Predictions and feedback of one process, written by a thread of its own."""

    def __init__(
        self,
        folder: Path,
        max_bytes: int = DEFAULT_MAX_BYTES,
        segment_bytes: int | None = None,
        s3_prefix: str | None = None,
        queue_size: int = 10000,
    ) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes or max(max_bytes // 16, 1)
        self.s3_prefix = s3_prefix.rstrip("/") if s3_prefix else None
        self.dropped = 0
        self.upload_failures = 0
        self.queue_size = queue_size
        # deque.append is atomic and takes no lock: the request path's whole cost. The
        # event is set by the first entry after a drain only (is_set is a plain read).
        self._pending: deque = deque()
        self._arrived = threading.Event()
        self._second = (0, "")  # the writer's last whole second and its text
        self._recent: OrderedDict[str, int] = OrderedDict()
        self._pid = os.getpid()
        self._sequence = 0
        self._open: dict[str, tuple[Path, Any]] = {}
        self._s3 = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="inference-log", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    # --- the request path: an append, nothing else ------------------------------------

    def log_predictions(
        self,
        request_id: str,
        api: str,
        model: str,
        model_version: str,
        rows: list[dict[str, Any]],
        labels: list[str],
        probabilities: list[dict[str, float]],
    ) -> None:
        """Record a request's rows (written later, one line per row); never blocks or raises."""
        entry = (
            "predictions", time.time(), request_id, api, model, model_version, rows, labels,
            probabilities,
        )  # fmt: skip
        if not self._enqueue(entry):
            return
        # No lock: each OrderedDict call is one step under the GIL (C, str keys).
        self._recent[request_id] = len(rows)
        if len(self._recent) > RECENT_IDS:
            self._recent.popitem(last=False)

    def log_feedback(self, request_id: str, row: int, label: str) -> None:
        """Record the true label of one row of a logged request; never blocks or raises."""
        self._enqueue(("feedback", time.time(), request_id, row, label))

    def _enqueue(self, entry: tuple) -> bool:
        if len(self._pending) >= self.queue_size:
            self.dropped += 1
            return False
        self._pending.append(entry)
        if not self._arrived.is_set():
            self._arrived.set()
        return True

    def knows(self, request_id: str) -> bool:
        return self.rows_of(request_id) is not None

    def rows_of(self, request_id: str) -> int | None:
        """How many rows the request had, or None for an id this log never saw.

        Ids this process logged recently (the last RECENT_IDS) are answered from memory;
        others (another worker's, or from before a restart) by a byte search of the
        folder's prediction segments, newest first: up to one read of the whole folder
        (max_bytes, 64 MiB by default: tens of milliseconds) for an unknown id. Call it
        off the event loop in a service with several workers.
        """
        if (rows := self._recent.get(request_id)) is not None:
            return rows
        needle = b'"request_id":' + to_json(request_id) + b","  # as _line wrote it
        for path in reversed(segments(self.folder, "predictions")):
            try:
                content = path.read_bytes()
            except FileNotFoundError:  # deleted by a rotation since the listing
                continue
            if needle in content:
                return content.count(needle)
        return None

    # --- the writer thread -----------------------------------------------------------

    def _run(self) -> None:
        try:
            self._trim()  # what earlier processes left
        except OSError as error:
            _logger.warning("inference log: could not trim %s: %s", self.folder, error)
        while True:
            self._arrived.wait()
            self._arrived.clear()  # before the drain: an entry after it sets it again
            # Gather for a moment: a wake-up per request would take the GIL from the
            # event loop a thousand times a second under load.
            time.sleep(GATHER_SECONDS)
            batch = [self._pending.popleft() for _ in range(len(self._pending))]
            stopping = False
            for entry in batch:
                if entry is _STOP:
                    stopping = True
                    continue
                try:
                    self._write(entry)
                except Exception as error:  # a full disk, say: one line, never the request
                    _logger.warning("inference log: could not write an entry: %s", error)
            for _, handle in self._open.values():
                try:
                    handle.flush()
                except OSError as error:
                    _logger.warning("inference log: could not flush: %s", error)
            if stopping:
                for stream in list(self._open):
                    self._close_segment(stream)
                return

    def _write(self, entry: tuple) -> None:
        stream, stamp = entry[0], self._time_text(entry[1])
        if stream == "predictions":
            _, _, request_id, api, model, version, rows, labels, probabilities = entry
            lines = b"".join(
                _line(
                    {
                        "request_id": request_id,
                        "row": index,
                        "time": stamp,
                        "api": api,
                        "model": model,
                        "model_version": version,
                        "features": row,
                        "label": label,
                        "probabilities": shares,
                    }
                )
                for index, (row, label, shares) in enumerate(
                    zip(rows, labels, probabilities or [None] * len(rows), strict=True)
                )
            )
        else:
            _, _, request_id, row, label = entry
            lines = _line({"feedback_for": request_id, "row": row, "time": stamp, "label": label})
        _, handle = self._segment(stream)
        handle.write(lines)
        if handle.tell() >= self.segment_bytes:
            handle.flush()
            self._close_segment(stream)
            self._trim()

    def _time_text(self, stamp: float) -> str:
        """iso_time, with the text of the second kept: a row's stamp in half a microsecond."""
        second = int(stamp)
        if second != self._second[0]:
            self._second = (second, iso_time(second)[:-4])
        return f"{self._second[1]}{int((stamp - second) * 1000):03d}Z"

    def _segment(self, stream: str) -> tuple[Path, Any]:
        if stream not in self._open:
            while True:
                self._sequence += 1
                stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
                path = self.folder / f"{stream}-{stamp}-{self._pid}-{self._sequence:06d}.jsonl"
                try:
                    self._open[stream] = (path, path.open("xb"))
                    break
                except FileExistsError:  # another process with this pid (another pod)
                    continue
        return self._open[stream]

    def _close_segment(self, stream: str) -> None:
        path, handle = self._open.pop(stream)
        handle.close()
        if self.s3_prefix and path.exists() and path.stat().st_size:
            self._upload(path)

    def _upload(self, path: Path) -> None:
        try:
            if self._s3 is None:
                import boto3  # only with an S3 prefix; AWS_ENDPOINT_URL points it elsewhere

                self._s3 = boto3.client("s3")
            bucket, prefix = split_s3(self.s3_prefix)
            key = f"{prefix}/{path.name}" if prefix else path.name
            self._s3.upload_file(str(path), bucket, key)
        except Exception as error:  # never the service's problem: one line in its log
            self.upload_failures += 1
            _logger.warning(
                "inference log: upload of %s to %s failed: %s", path.name, self.s3_prefix, error
            )

    def _trim(self) -> None:
        """Delete the oldest closed segments until the folder fits, leaving room for the
        open segments (this process's two streams) to grow to `segment_bytes` each."""
        files = segments(self.folder)
        sizes = {}
        for path in files:
            try:
                sizes[path] = path.stat().st_size
            except FileNotFoundError:
                continue
        total = sum(sizes.values())
        budget = self.max_bytes - 2 * self.segment_bytes
        for path in self._deletable(list(sizes)):
            if total <= budget:
                break
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            total -= sizes[path]

    def _deletable(self, files: list[Path]) -> list[Path]:
        """Closed segments, oldest first: all but this process's open ones and each other
        live process's newest segment per stream (which it may still be writing)."""
        mine = {path for path, _ in self._open.values()}
        newest: dict[tuple[str, int], Path] = {}
        for path in files:  # oldest first, so the last one seen is the newest
            match = SEGMENT_NAME.match(path.name)
            newest[(match["stream"], int(match["pid"]))] = path
        open_elsewhere = {
            path for (_, pid), path in newest.items() if pid != self._pid and process_running(pid)
        }
        return [path for path in files if path not in mine and path not in open_elsewhere]

    def close(self) -> None:
        """Write what is queued, close (and upload) the open segments, stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._pending.append(_STOP)  # past the bound too: it must reach the writer
        self._arrived.set()
        self._thread.join(timeout=30)


def split_s3(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> ("bucket", "some/prefix")."""
    if not url.startswith("s3://"):
        raise ValueError(f"not an s3:// address: {url}")
    bucket, _, prefix = url[len("s3://") :].partition("/")
    return bucket, prefix.strip("/")


def default_log_dir() -> Path:
    """SERVING_LOG_DIR, or `inference_log` in BentoML's home: a place every service has
    and can write, inside a container too (the working directory of a bento may not be)."""
    if configured := os.environ.get(LOG_DIR_VARIABLE):
        return Path(configured).expanduser()
    home = os.environ.get("BENTOML_HOME") or str(Path.home() / "bentoml")
    return Path(home).expanduser() / "inference_log"


def from_environment() -> InferenceLog | None:
    """The log the environment asks for, or None when SERVING_LOG=off."""
    if os.environ.get(LOG_VARIABLE, "on").strip().lower() in {"off", "false", "0", "no"}:
        return None
    max_bytes = DEFAULT_MAX_BYTES
    if text := os.environ.get(LOG_MAX_BYTES_VARIABLE):
        try:
            max_bytes = int(text)
        except ValueError:
            raise ValueError(
                f"{LOG_MAX_BYTES_VARIABLE}={text!r}: give the log's size bound in bytes"
            ) from None
        if max_bytes < 1024:
            raise ValueError(f"{LOG_MAX_BYTES_VARIABLE}={text}: at least 1024 bytes")
    s3_prefix = os.environ.get(LOG_S3_VARIABLE) or None
    if s3_prefix:
        split_s3(s3_prefix)  # a bad address fails at start-up, not at the first upload
    return InferenceLog(default_log_dir(), max_bytes=max_bytes, s3_prefix=s3_prefix)


# --- reading it back ------------------------------------------------------------------


@dataclass
class LogRead:
    """What a read found: the rows (oldest first), lines skipped as unreadable, files read."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0
    files: int = 0


def parse_lines(content: bytes, stream: str, read: LogRead, since: datetime | None) -> None:
    """Add the content's rows to `read`; a line that is not a JSON object with the stream's
    keys (a file cut mid-line, say) is counted in `skipped`."""
    required = REQUIRED_KEYS[stream]
    for line in content.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or any(key not in record for key in required):
                raise ValueError("not a log row")
            moment = parse_time(record["time"])
        except (ValueError, TypeError, AttributeError):
            read.skipped += 1
            continue
        if since is None or moment >= since:
            read.rows.append(record)


def read_log(
    source: str | Path,
    stream: str = "predictions",
    since: datetime | None = None,
    last: int | None = None,
) -> LogRead:
    """The rows of one stream from a folder or an `s3://bucket/prefix`, oldest first.

    `since` (timezone-aware) keeps rows logged at or after it; segments last written before
    it are not opened. `last` keeps the newest N rows.
    """
    if stream not in STREAMS:
        raise ValueError(f"stream must be one of {STREAMS}, not {stream!r}")
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=timezone.utc)
    read = LogRead()
    for content in _contents(source, stream, since):
        read.files += 1
        parse_lines(content, stream, read, since)
    read.rows.sort(key=lambda record: record["time"])  # workers' files interleave
    if last is not None:
        read.rows = read.rows[-last:] if last > 0 else []
    return read


def _contents(source: str | Path, stream: str, since: datetime | None):
    if str(source).startswith("s3://"):
        yield from _s3_contents(str(source), stream, since)
        return
    for path in segments(Path(source).expanduser(), stream):
        try:
            if since is not None and path.stat().st_mtime < since.timestamp():
                continue
            yield path.read_bytes()
        except FileNotFoundError:  # rotated away while we read
            continue


def _s3_contents(url: str, stream: str, since: datetime | None):
    import boto3  # AWS_ENDPOINT_URL (boto3's own setting) points it at another S3 server

    bucket, prefix = split_s3(url)
    client = boto3.client("s3")
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=f"{prefix}/" if prefix else ""
    )
    listed = [
        item
        for page in pages
        for item in page.get("Contents", [])
        if (match := SEGMENT_NAME.match(item["Key"].rsplit("/", 1)[-1]))
        and match["stream"] == stream
    ]
    for item in sorted(listed, key=lambda item: segment_key(Path(item["Key"]))):
        if since is not None and item["LastModified"] < since:
            continue
        yield client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()


# --- the window `monitor` reads ---------------------------------------------------------

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhd])\s*$")
UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def window_start(text: str, now: datetime | None = None) -> datetime:
    """`--since`: a duration back from now (`90m`, `24h`, `7d`) or an ISO date/time (UTC
    unless it says otherwise). ValueError names the accepted forms."""
    now = now or datetime.now(timezone.utc)
    if match := DURATION.match(text):
        return now - timedelta(**{UNITS[match[2]]: float(match[1])})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a duration (90m, 24h, 7d) nor a date/time (2026-12-01T08:00)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def describe_window(since: datetime | None, last: int | None) -> str:
    """`the last 500 rows since 2026-12-01 08:00:00 UTC`, as summaries say it."""
    parts = []
    if last is not None:
        parts.append(f"the last {last} rows")
    if since is not None:
        parts.append(f"since {since.strftime('%Y-%m-%d %H:%M:%S')} UTC")
    return " ".join(parts) or "everything logged"
