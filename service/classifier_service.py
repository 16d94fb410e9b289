"""The HTTP service: predictions from the production model, its lineage, and a web page.

`python run.py serve` (or `cd service && bentoml serve`) starts it (docs/serving.md). The
model is the newest export of a model's promotions, i.e. its production version; it is
declared as a class attribute so `bentoml build` packs it into the bento, whose name
follows the model.
"""

import functools
import os
from pathlib import Path
from typing import Annotated, Any

import bentoml
from api_document import service_document
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
from guards import (
    BoundedMetrics,
    RequestGuard,
    cancel_finished_timeouts,
    default_body_limit,
    metrics_text,
    quiet_client_errors,
)
from pydantic import ConfigDict, Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

MAX_RECORDS = int(os.environ.get("SERVING_MAX_RECORDS", "1000"))
MAX_BATCH_ROWS = int(os.environ.get("SERVING_MAX_BATCH_ROWS", "100000"))
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
# Optional shared secret: when set, the APIs and /model need `Authorization: Bearer <token>`;
# /metrics too unless SERVING_METRICS_OPEN=1 (for a scraper that sends no token).
API_TOKEN = os.environ.get("SERVING_API_TOKEN") or None
APIS = ("/predict", "/predict_batch")
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
        },
    }


CARD = model_card()


async def get_model(request: Request) -> JSONResponse:
    return JSONResponse(CARD)


async def get_page(request: Request) -> FileResponse:
    return FileResponse(PAGE, media_type="text/html")


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


quiet_client_errors()
cancel_finished_timeouts()


@bentoml.asgi_app(pages, path="/")
@bentoml.service(
    name=f"{MODEL_NAME}_service",
    traffic={"timeout": 60},
    workers=WORKERS,
    # Loopback unless told otherwise (`--host`, BENTOML_HOST; the image sets 0.0.0.0).
    http={"host": "127.0.0.1"},
    # BentoML's own HTTP metrics label by raw path (unbounded): BoundedMetrics replaces them.
    metrics={"enabled": False},
)
class Classifier:
    """The APIs are async: a prediction takes about a millisecond, so it runs on the event
    loop instead of a thread pool, where concurrent requests would fight over the GIL."""

    model = MODEL

    def __init__(self) -> None:
        self.classifier = bentoml.sklearn.load_model(self.model)
        check_feature_order(self.classifier, NAMES)

    @bentoml.api(input_spec=RecordsInput)
    async def predict(self, records: list[Any]) -> dict[str, Any]:
        """Label and class probabilities for each record (named features)."""
        probs = probabilities(self.classifier, records_matrix(records, NAMES, NUMERIC))
        return {"model_version": CARD["model_version"], "predictions": as_records(probs, CLASSES)}

    @bentoml.api(input_spec=ColumnsInput)
    async def predict_batch(self, columns: Any) -> dict[str, Any]:
        """The same for large batches, as columns: {feature: [values...]} in, lists out."""
        probs = probabilities(self.classifier, columns_matrix(columns, NAMES, NUMERIC))
        return {"model_version": CARD["model_version"], **as_columns(probs, CLASSES)}


# The first added runs first (outermost): refusals are counted too.
Classifier.add_asgi_middleware(BoundedMetrics, routes=ROUTES)
Classifier.add_asgi_middleware(
    RequestGuard,
    routes=ROUTES,
    apis=APIS,
    protected=PROTECTED,
    max_body_bytes=MAX_BODY_BYTES,
    token=API_TOKEN,
)
