"""aws-lambda-powertools' SES models as an independent, strict check of the JSON consumers
receive (spec aws-testing.md, "Lambda events: aws-lambda-powertools as an independent check")."""

from __future__ import annotations

import json
from typing import Any

import pytest

# The SES parser model's known gaps (aws-testing.md): the only complaints allowed.
MODEL_GAPS = {
    ("invocationType", "RequestResponse"),
    ("status", "DISABLED"),  # verdicts when scanning is off
    ("processingTimeMillis", 0),
}


def _models() -> Any:
    return pytest.importorskip("aws_lambda_powertools.utilities.parser.models")


def _complaints(validate: Any, payload: bytes) -> set[tuple[Any, Any]]:
    import pydantic

    try:
        validate(payload, strict=True)
    except pydantic.ValidationError as exc:
        return {(e["loc"][-1], e["input"]) for e in exc.errors()}
    return set()


def strict_ses_model(payload: bytes) -> None:
    """A Lambda event through `SesModel` in strict mode: only the model's known gaps fail."""
    complaints = _complaints(_models().SesModel.model_validate_json, payload)
    assert complaints <= MODEL_GAPS, complaints


def strict_ses_mail(mail: dict[str, Any]) -> None:
    """A notification's `mail` object (SNS action, alerts) through `SesMail` in strict mode:
    Powertools has no model of the notification itself, and its `SesReceipt` is Lambda's."""
    assert _complaints(_models().SesMail.model_validate_json, json.dumps(mail).encode()) == set()
