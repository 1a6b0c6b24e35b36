"""The API against its own OpenAPI document, with generated requests (Schemathesis): no server
errors, and every answer matches the documented status codes, content types and schemas."""
from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.helpers.api import api_issuer

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_api_conforms_to_its_openapi_document(make_app):
    """Generated requests to every operation get no 5xx and answers that match the document."""
    app = make_app(API_RATE_LIMIT=100000)
    a = api_issuer(app)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8

    for operation in operations:

        @settings(max_examples=30, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case):
            case.call_and_validate(headers=a.headers(), checks=CHECKS)

        check()
