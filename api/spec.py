"""The OpenAPI document: flask-smorest's Api, with every error described as problem+json."""
from __future__ import annotations

import http

import flask_smorest
from flask_smorest.utils import prepare_response

from api.auth import BEARER_SCHEME
from api.errors import PROBLEM_MIMETYPE, ProblemSchema

SPEC_DEFAULTS = {
    "API_TITLE": "Loyalty engine",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    "OPENAPI_SWAGGER_UI_URL": "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/",
}
DOC_ENDPOINTS = ("api-docs.openapi_json", "api-docs.openapi_swagger_ui")


class LoyaltyApi(flask_smorest.Api):
    """The Api whose error responses are documented as they are sent: problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self):
        """Errors are handled by `api.errors`, registered on the app by the factory."""

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_MIMETYPE)
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, PROBLEM_MIMETYPE)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, default, lazy=True)


def describe_security(api: LoyaltyApi) -> None:
    """Name the bearer scheme that `@roles` endpoints require."""
    api.spec.components.security_scheme(BEARER_SCHEME, {
        "type": "http", "scheme": "bearer",
        "description": "An API key from `loyalty keys create`: Authorization: Bearer lk_...",
    })
