"""A small schema language for validating client events like the service: each checker takes
(value, param path) and returns the service's `RealtimeError` for the first problem, or None."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tui.protocol import errors
from tui.protocol.errors import RealtimeError

Checker = Callable[[Any, str], RealtimeError | None]


def any_value(value: Any, param: str) -> RealtimeError | None:
    return None


def string(value: Any, param: str) -> RealtimeError | None:
    return None if isinstance(value, str) else errors.invalid_type(param, "a string", value)


def boolean(value: Any, param: str) -> RealtimeError | None:
    return None if isinstance(value, bool) else errors.invalid_type(param, "a boolean", value)


def number(minimum: float | None = None, maximum: float | None = None, *, integer: bool = False) -> Checker:
    def check(value: Any, param: str) -> RealtimeError | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            return errors.invalid_type(param, "an integer" if integer else "a number", value)
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            return errors.out_of_range(param, value, minimum=minimum, maximum=maximum)
        return None

    return check


def enum(*values: Any) -> Checker:
    def check(value: Any, param: str) -> RealtimeError | None:
        if value in values and not isinstance(value, bool):
            return None
        if isinstance(value, (dict, list)) or value is None:
            expected = "a string" if all(isinstance(v, str) for v in values) else "an integer"
            return errors.invalid_type(param, expected, value)
        return errors.invalid_value(param, value, [str(v) for v in values])

    return check


def nullable(checker: Checker) -> Checker:
    def check(value: Any, param: str) -> RealtimeError | None:
        return None if value is None else checker(value, param)

    return check


def one_of(*checkers: Checker) -> Checker:
    """Accepts what any checker accepts; otherwise reports the first checker's error."""

    def check(value: Any, param: str) -> RealtimeError | None:
        first = None
        for checker in checkers:
            error = checker(value, param)
            if error is None:
                return None
            first = first or error
        return first

    return check


def string_or_object(for_string: Checker, for_object: Checker) -> Checker:
    """A string judged by one checker, anything else by the other (`tool_choice`, `truncation`): the
    error names what the value is, not the first alternative tried."""

    def check(value: Any, param: str) -> RealtimeError | None:
        return for_string(value, param) if isinstance(value, str) else for_object(value, param)

    return check


def each_value(checker: Checker) -> Checker:
    """An object whose every value the checker accepts (its keys are free)."""

    def check(value: Any, param: str) -> RealtimeError | None:
        if not isinstance(value, dict):
            return errors.invalid_type(param, "an object", value)
        for key, element in value.items():
            error = checker(element, f"{param}.{key}")
            if error is not None:
                return error
        return None

    return check


def array(item: Checker) -> Checker:
    def check(value: Any, param: str) -> RealtimeError | None:
        if not isinstance(value, list):
            return errors.invalid_type(param, "an array", value)
        for index, element in enumerate(value):
            error = item(element, f"{param}[{index}]")
            if error is not None:
                return error
        return None

    return check


def obj(fields: dict[str, Checker], required: tuple[str, ...] = (), *, open_: bool = False) -> Checker:
    def check(value: Any, param: str) -> RealtimeError | None:
        if not isinstance(value, dict):
            return errors.invalid_type(param, "an object", value)
        if not open_:
            for key in value:
                if key not in fields:
                    return errors.unknown_parameter(f"{param}.{key}")
        for key in required:
            if key not in value:
                return errors.missing_required_parameter(f"{param}.{key}")
        for key, element in value.items():
            checker = fields.get(key, any_value)
            error = checker(element, f"{param}.{key}")
            if error is not None:
                return error
        return None

    return check


def with_one_of(checker: Checker, keys: tuple[str, ...]) -> Checker:
    """What `checker` accepts, holding at least one of `keys` (an MCP tool names its server by URL,
    connector or tunnel)."""

    def check(value: Any, param: str) -> RealtimeError | None:
        error = checker(value, param)
        if error is None and not any(key in value for key in keys):
            return errors.missing_one_of(param, keys)
        return error

    return check


def tagged(variants: dict[str, Checker]) -> Checker:
    """An object whose `type` picks its schema (audio formats, turn detection)."""

    def check(value: Any, param: str) -> RealtimeError | None:
        if not isinstance(value, dict):
            return errors.invalid_type(param, "an object", value)
        kind = value.get("type")
        if kind is None:
            return errors.missing_required_parameter(f"{param}.type")
        if not isinstance(kind, str) or kind not in variants:
            return enum(*variants)(kind, f"{param}.type")
        return variants[kind](value, param)

    return check


string_map = each_value(string)  # `metadata`, MCP `headers`
