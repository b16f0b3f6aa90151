"""Conversions between Python and JavaScript, and the one place a foreign error becomes an EdgeBoxError."""

from __future__ import annotations

import traceback
from typing import Any

import js
from pyodide.ffi import JsException, to_js

from .._errors import EdgeBoxError

__all__ = ["to_wire_js", "translate"]


def to_wire_js(value: Any) -> Any:
    """A Python value as JavaScript: dicts become plain objects."""
    return to_js(value, dict_converter=js.Object.fromEntries)


def translate(error: BaseException, what: str) -> EdgeBoxError:
    if isinstance(error, EdgeBoxError):
        return error
    if isinstance(error, JsException):
        return EdgeBoxError(f"{what}: {error}")
    return EdgeBoxError(f"{what}: {type(error).__name__}: {error}", stack=traceback.format_exc())
