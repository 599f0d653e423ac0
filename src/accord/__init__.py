"""Accord: an open-source account-based experience (ABX) engine."""

from accord.errors import (
    AccordError,
    AuthError,
    ConfigError,
    Conflict,
    DefinitionError,
    InputError,
    NotFound,
)
from accord.workspace import Workspace, open_workspace

__all__ = [
    "AccordError",
    "AuthError",
    "ConfigError",
    "Conflict",
    "DefinitionError",
    "InputError",
    "NotFound",
    "Workspace",
    "open_workspace",
]
__version__ = "0.1.0"
