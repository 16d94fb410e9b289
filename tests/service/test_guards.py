"""What the service logs for a refused request and for its own failure."""

from __future__ import annotations

import logging
import sys

import pytest
from pydantic import BaseModel, ValidationError

from service.guards import QuietClientErrors


class Row(BaseModel):
    width: float


def logged(error: BaseException) -> logging.LogRecord:
    """The record BentoML's log_exception writes for `error` (see QuietClientErrors)."""
    try:
        raise error
    except BaseException:
        record = logging.LogRecord(
            "bentoml._internal.server.http_app",
            logging.ERROR,
            __file__,
            1,
            "Exception on %s [%s]",
            ("/predict", "POST"),
            sys.exc_info(),
        )
    QuietClientErrors().filter(record)
    return record


def test_a_client_error_becomes_one_warning_line_without_its_values():
    with pytest.raises(ValidationError) as refused:
        Row(width="98765.4321 wide")
    record = logged(refused.value)
    assert record.levelname == "WARNING" and record.exc_info is None
    assert record.getMessage() == "400 /predict ValidationError"


def test_a_server_error_keeps_its_traceback():
    record = logged(RuntimeError("the model broke"))
    assert record.levelname == "ERROR" and record.exc_info[0] is RuntimeError
    assert record.getMessage() == "Exception on /predict [POST]"
