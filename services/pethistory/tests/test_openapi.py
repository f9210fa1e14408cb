"""Real responses checked against the OpenAPI document kept in the repo."""
import json
from pathlib import Path

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from conftest import TRANSACTIONS, seed

DOCUMENT = json.loads((Path(__file__).resolve().parents[1] / "pethistory" / "openapi.json").read_text())


def test_document_is_valid_openapi_3():
    validate(DOCUMENT)


def response_schema(path, method, status):
    responses = DOCUMENT["paths"][path][method]["responses"]
    entry = responses.get(str(status), responses.get("default"))
    if "$ref" in entry:
        entry = DOCUMENT["components"]["responses"][entry["$ref"].rsplit("/", 1)[1]]
    (media,) = entry["content"].values()
    return {**media["schema"], "components": DOCUMENT["components"]}


@pytest.mark.parametrize(
    "method, path, rows",
    [("get", TRANSACTIONS, 0), ("get", TRANSACTIONS, 5), ("delete", TRANSACTIONS, 2),
     ("get", "/health/status", 0), ("get", "/openapi.json", 0), ("get", "/nope", 0),
     ("post", TRANSACTIONS, 0)],
)
def test_responses_match_the_document(app, client, method, path, rows):
    seed(app, rows)
    response = getattr(client, method)(path)
    documented = path if path in DOCUMENT["paths"] and method in DOCUMENT["paths"][path] else None
    if documented:
        schema = response_schema(path, method, response.status_code)
    else:  # undocumented path or method: the generic error
        schema = {**DOCUMENT["components"]["schemas"]["Error"], "components": DOCUMENT["components"]}
    OAS30Validator(schema).validate(response.get_json())


def test_metrics_is_plain_text(client):
    assert client.get("/metrics").mimetype == "text/plain"
