"""Errors a user can act on.

    AccordError                 base; `code` is stable, `http_status` for the API
    ├── DefinitionError         YAML definitions: file, line, field path      (exit 2, 422)
    ├── InputError              CSV/JSON/payload: source, line or row, column (exit 2, 400)
    ├── ConfigError             settings and environment                      (exit 2, 400)
    ├── NotFound                an id that does not exist                     (exit 1, 404)
    ├── Conflict                state that forbids the operation              (exit 1, 409)
    └── AuthError               missing or wrong credentials                  (exit 1, 401)

Internal invariants raise ordinary exceptions: a bug stays a bug.
"""

from __future__ import annotations


class AccordError(Exception):
    """Base for errors a user can act on."""

    code = "accord_error"
    http_status = 400
    exit_code = 1

    def __init__(self, message: str, *, errors: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []


class DefinitionError(AccordError):
    code = "definition_error"
    http_status = 422
    exit_code = 2


class InputError(AccordError):
    code = "input_error"
    http_status = 400
    exit_code = 2


class ConfigError(AccordError):
    code = "config_error"
    http_status = 400
    exit_code = 2


class NotFound(AccordError):
    code = "not_found"
    http_status = 404


class Conflict(AccordError):
    code = "conflict"
    http_status = 409


class AuthError(AccordError):
    code = "auth_error"
    http_status = 401
