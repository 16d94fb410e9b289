"""The HTTP service: predictions from the production model, its lineage, and a web page.

`python run.py serve` (or `cd service && bentoml serve`) starts it (docs/serving.md). The
model is the newest export of a model's promotions, i.e. its production version; it is
declared as a class attribute so `bentoml build` packs it into the bento, whose name
follows the model.
"""

import functools
import gc
import logging
import os
from pathlib import Path
from typing import Annotated, Any, Literal

import bentoml
from api_document import service_document
from batching import RowBatcher, in_thread
from bentoml_patches import cancel_finished_timeouts, json_responses, quiet_client_errors
from connection_limits import ConnectionLimits, install
from contract import (
    as_columns,
    as_records,
    check_feature_order,
    columns_matrix,
    columns_model,
    is_numeric,
    probabilities,
    record_model,
    records_matrix,
)
from export_contract import (
    NOTHING_PROMOTED,
    ExportLabels,
    ExportMetadata,
    bentoml_store,
    no_model_in_store,
)
from guards import RequestGuard, default_body_limit, page_headers
from inference_log import from_environment
from pydantic import ConfigDict, Field
from request_metrics import REQUEST_ID, BoundedMetrics, metrics_folder_per_server, metrics_text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

MAX_RECORDS = int(os.environ.get("SERVING_MAX_RECORDS", "1000"))
MAX_BATCH_ROWS = int(os.environ.get("SERVING_MAX_BATCH_ROWS", "20000"))
WORKERS = int(os.environ.get("SERVING_WORKERS", "1"))  # processes; one per core at most
PAGE = Path(__file__).with_name("static") / "index.html"


def served_model_name() -> str:
    """Which model to serve, so no variable has to follow a bento to another machine.

    `--arg model=NAME` (`python run.py serve`/`bento` pass it; a built bento records it),
    else SERVING_MODEL, else the newest export in BentoML's store, which inside a bento is
    the store of the bento's own models.
    """
    chosen = getattr(bentoml.use_arguments(), "model", None) or os.environ.get("SERVING_MODEL")
    if chosen:
        return chosen
    exports = [model for model in bentoml.models.list() if ExportLabels.of(model.info.labels)]
    if not exports:
        raise SystemExit(
            f"No exported model in the BentoML store ({bentoml_store()}): {NOTHING_PROMOTED}"
        )
    return max(exports, key=lambda model: model.info.creation_time).tag.name


MODEL_NAME = served_model_name()
MODEL = bentoml.models.BentoModel(f"{MODEL_NAME}:latest")
if MODEL.stored is None:  # checked here: BentoML would otherwise go looking in BentoCloud
    raise SystemExit(no_model_in_store(MODEL_NAME))
INFO = MODEL.stored.info
LABELS = ExportLabels.model_validate(INFO.labels)
METADATA = ExportMetadata.model_validate(INFO.metadata)
FEATURES: list[dict[str, Any]] = METADATA.feature_dicts()
NAMES = METADATA.feature_names
NUMERIC = is_numeric(FEATURES)  # a float array for the model, else objects (categories)
CLASSES: list[str] = METADATA.classes
Record = record_model(FEATURES)
Columns = columns_model(FEATURES, MAX_BATCH_ROWS)
MAX_BODY_BYTES = int(
    os.environ.get("SERVING_MAX_BODY_BYTES") or default_body_limit(MAX_BATCH_ROWS, len(NAMES))
)
BODY_TIMEOUT = float(os.environ.get("SERVING_BODY_TIMEOUT") or 10)  # s without a body byte
CONNECTION_LIMITS = ConnectionLimits.from_environment()
# OpenTelemetry spans cost ~9 % of a worker under load: off unless asked for (then
# BentoML's `tracing` settings, e.g. its sample rate and exporter, apply).
TRACING = os.environ.get("SERVING_TRACING") == "1"
# Optional shared secret: when set, the APIs and /model need `Authorization: Bearer <token>`;
# /metrics too unless SERVING_METRICS_OPEN=1 (for a scraper that sends no token).
API_TOKEN = os.environ.get("SERVING_API_TOKEN") or None
APIS = ("/predict", "/predict_batch", "/feedback")
PROTECTED = [*APIS, "/model"] + (
    [] if os.environ.get("SERVING_METRICS_OPEN") == "1" else ["/metrics"]
)
PAGE_ROUTES = ("/model", "/ui", "/metrics", "/docs.json")
BENTOML_ROUTES = ("/", "/healthz", "/livez", "/readyz", "/schema.json")
ROUTES = (*APIS, *PAGE_ROUTES, *BENTOML_ROUTES)


def model_card() -> dict[str, Any]:
    """Everything a caller needs to trace a prediction back to its run and data."""
    return {
        "model": LABELS.model,
        "model_version": LABELS.version,
        "bentoml_tag": str(INFO.tag),
        "training_run_id": LABELS.run_id,
        "data_md5": LABELS.data_md5,
        "exported_at": INFO.creation_time.isoformat(),
        "model_family": METADATA.model_family,
        "hyperparameters": METADATA.hyperparameters,
        "metrics": METADATA.metrics(),
        "schema": {"features": FEATURES, "target": METADATA.target, "classes": CLASSES},
        "limits": {
            "max_records": MAX_RECORDS,
            "max_batch_rows": MAX_BATCH_ROWS,
            "max_body_bytes": MAX_BODY_BYTES,
            "body_timeout_seconds": BODY_TIMEOUT,
            **CONNECTION_LIMITS.shown(),
        },
    }


CARD = model_card()


async def get_model(request: Request) -> JSONResponse:
    return JSONResponse(CARD)


PAGE_HEADERS = page_headers(PAGE.read_text())


async def get_page(request: Request) -> FileResponse:
    return FileResponse(PAGE, media_type="text/html", headers=PAGE_HEADERS)


async def get_metrics(request: Request) -> Response:
    body, media_type = metrics_text()
    return Response(body, media_type=media_type)


@functools.cache
def document() -> dict[str, Any]:
    """Built once: it depends only on the model's schema and the settings read at start-up."""
    generated = Classifier.openapi_spec.asdict()
    return service_document(generated, APIS, PROTECTED, token=bool(API_TOKEN))


async def get_document(request: Request) -> JSONResponse:
    return JSONResponse(document())


# Served before BentoML's own routes of the same paths (its /docs.json; its /metrics is off).
pages = Starlette(
    routes=[
        Route("/model", get_model),
        Route("/ui", get_page),
        Route("/metrics", get_metrics),
        Route("/docs.json", get_document),
    ]
)


class Strict(bentoml.IODescriptor):
    """A request body with a field the API does not take is refused (400), not ignored."""

    model_config = ConfigDict(extra="forbid")


class RecordsInput(Strict):
    records: Annotated[list[Record], Field(min_length=1, max_length=MAX_RECORDS)]


class ColumnsInput(Strict):
    columns: Columns


class FeedbackInput(Strict):
    """The true label of a logged prediction, for live accuracy (`python run.py monitor`)."""

    request_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
    label: Literal[tuple(CLASSES)]  # type: ignore[valid-type]
    row: Annotated[int, Field(ge=0, description="which record of the request (0: the first)")] = 0


quiet_client_errors()
cancel_finished_timeouts()
install(CONNECTION_LIMITS)
metrics_folder_per_server()


@bentoml.asgi_app(pages, path="/")
@bentoml.service(
    name=f"{MODEL_NAME}_service",
    traffic={"timeout": 60},
    workers=WORKERS,
    # Loopback unless told otherwise (`--host`, BENTOML_HOST; the image sets 0.0.0.0).
    http={"host": "127.0.0.1"},
    # BentoML's own HTTP metrics label by raw path (unbounded): BoundedMetrics replaces them.
    metrics={"enabled": False},
    # request_metrics.BoundedMetrics writes one escaped line per request instead.
    logging={"access": {"enabled": False}},
    tracing={} if TRACING else {"excluded_urls": [".*"]},
)
class Classifier:
    """The APIs are async: a one-row prediction takes about a millisecond, so it runs on the
    event loop, stacked with the other requests waiting there (batching.RowBatcher); a
    columnar batch runs on a worker thread so the loop keeps answering meanwhile."""

    model = MODEL

    def __init__(self) -> None:
        self.classifier = bentoml.sklearn.load_model(self.model)
        check_feature_order(self.classifier, NAMES)
        self.batcher = RowBatcher(self.probabilities, max_rows=MAX_RECORDS)
        # Every prediction, for `python run.py monitor` (SERVING_LOG=off: none). A folder
        # it cannot write (a read-only container) turns it off with a warning, not a crash.
        try:
            self.log = from_environment()
        except OSError as error:
            logging.getLogger("bentoml.serve").warning("inference log off: %s", error)
            self.log = None
        # What is loaded now lives as long as the worker: out of the collector's sight, a
        # full collection no longer walks it (tens of ms, felt as p99 under load).
        gc.freeze()

    def probabilities(self, matrix: Any) -> Any:
        return probabilities(self.classifier, matrix)

    @bentoml.api(input_spec=RecordsInput)
    async def predict(self, records: list[Any], ctx: bentoml.Context) -> dict[str, Any]:
        """Label and class probabilities for each record (named features)."""
        probs = await self.batcher(records_matrix(records, NAMES, NUMERIC))
        predictions = as_records(probs, CLASSES)
        request_id = request_id_of(ctx)
        if self.log is not None:
            self.log.log_predictions(
                request_id,
                "predict",
                LABELS.model,
                LABELS.version,
                [record.__dict__ for record in records],
                [prediction["label"] for prediction in predictions],
                [prediction["probabilities"] for prediction in predictions],
            )
        return {
            "model_version": CARD["model_version"],
            "request_id": request_id,
            "predictions": predictions,
        }

    @bentoml.api(input_spec=ColumnsInput)
    async def predict_batch(self, columns: Any, ctx: bentoml.Context) -> dict[str, Any]:
        """The same for large batches, as columns: {feature: [values...]} in, lists out."""
        return await in_thread(self.columns_answer, columns, request_id_of(ctx))

    def columns_answer(self, columns: Any, request_id: str) -> dict[str, Any]:
        probs = self.probabilities(columns_matrix(columns, NAMES, NUMERIC))
        answer = as_columns(probs, CLASSES)
        if self.log is not None:
            self.log.log_predictions(
                request_id, "predict_batch", LABELS.model, LABELS.version,
                *logged_rows(columns, answer, LOGGED_BATCH_ROWS),
            )  # fmt: skip
        return {"model_version": CARD["model_version"], "request_id": request_id, **answer}

    @bentoml.api(input_spec=FeedbackInput)
    async def feedback(self, request_id: str, label: str, row: int) -> Any:
        """The true label of one logged prediction: 404 for a request id the log never
        saw, 400 for a label outside the model's classes or a row the request lacked."""
        if self.log is None:
            return refused(404, "the inference log is off (SERVING_LOG=off): no feedback is kept")
        rows = await in_thread(self.log.rows_of, request_id)
        if rows is None:
            return refused(404, f"no logged prediction has request_id {request_id!r}")
        if row >= rows:
            return refused(400, f"request {request_id!r} had {rows} row(s): row {row} is out")
        self.log.log_feedback(request_id, row, label)
        return {"request_id": request_id, "row": row, "label": label, "recorded": True}


LOGGED_BATCH_ROWS = int(os.environ.get("SERVING_LOG_BATCH_ROWS") or 1000)


def refused(status: int, error: str) -> JSONResponse:
    """A client error in the shape of the others (BentoML's own wraps it in a list)."""
    return JSONResponse({"error": error}, status_code=status)


def request_id_of(ctx: Any) -> str:
    """The id request_metrics gave the request (also its X-Request-Id header)."""
    return ctx.request.scope.get(REQUEST_ID, "")


def logged_rows(columns: Any, answer: dict[str, Any], limit: int) -> tuple[list, list, list]:
    """A columnar batch's first `limit` rows as records, labels and probabilities: a
    100,000-row batch must not write 100,000 lines per request."""
    values = {name: getattr(columns, name)[:limit] for name in NAMES}
    count = len(next(iter(values.values()))) if values else 0
    rows = [{name: values[name][index] for name in NAMES} for index in range(count)]
    probs = answer["probabilities"]
    return (
        rows,
        answer["labels"][:limit],
        [{label: probs[label][index] for label in CLASSES} for index in range(count)],
    )


json_responses(Classifier)
# The first added runs first (outermost): refusals are counted too.
Classifier.add_asgi_middleware(BoundedMetrics, routes=ROUTES)
Classifier.add_asgi_middleware(
    RequestGuard,
    routes=ROUTES,
    apis=APIS,
    protected=PROTECTED,
    max_body_bytes=MAX_BODY_BYTES,
    token=API_TOKEN,
    body_timeout=BODY_TIMEOUT,
)
