"""Typed view of the settings shared by every vendor, and the one set of validators every config uses.

Each validator names the field it refuses (`cargo.window_days`), so a message points at the form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Pattern, Sequence, Tuple

import pendulum

from source_exports.errors import ConfigError

UUID4 = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$")
STREAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class CommonConfig:
    """Settings that apply to every vendor."""

    start_date: Optional[pendulum.DateTime]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CommonConfig:
        raw = config.get("start_date")
        return cls(start_date=parse_datetime(raw, "start_date") if raw else None)


def parse_datetime(value: Any, field: str) -> pendulum.DateTime:
    """Parse an ISO-8601 timestamp (UTC assumed when no offset is given) or name the field."""
    try:
        parsed = pendulum.parse(str(value), tz="UTC")
    except (ValueError, TypeError, pendulum.parsing.exceptions.ParserError) as error:
        raise ConfigError(
            f"'{value}' is not an ISO-8601 date-time", field=field, hint="Use a value like 2025-01-01T00:00:00Z"
        ) from error
    if not isinstance(parsed, pendulum.DateTime):
        raise ConfigError(f"'{value}' is not a date-time", field=field, hint="Use a value like 2025-01-01T00:00:00Z")
    return parsed.in_timezone("UTC")


def require_string(block: Mapping[str, Any], key: str, prefix: str) -> str:
    """Return a non-empty string setting or raise a ConfigError naming `prefix.key`."""
    value = block.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("is required and must be a non-empty string", field=f"{prefix}.{key}")
    return value.strip()


def require_match(value: Any, pattern: Pattern[str], field: str, what: str, hint: str) -> str:
    """A string `pattern` matches, or a ConfigError saying it is not `what` (e.g. "a version-4 UUID")."""
    if not isinstance(value, str) or not pattern.match(value):
        raise ConfigError(f"'{value}' is not {what}", field=field, hint=hint)
    return value


def require_uuid4(value: Any, field: str) -> str:
    """Validate a v4 UUID the way the vendors' APIs pattern-check them."""
    hint = "Copy the identifier from the vendor's app; it looks like 3c90c3cc-0d44-4b50-8888-8dd25736052a"
    return require_match(value, UUID4, field, "a version-4 UUID", hint)


def require_number(
    block: Mapping[str, Any],
    key: str,
    prefix: str,
    default: float,
    minimum: float,
    maximum: float,
    integer: bool = False,
    exclusive_minimum: bool = False,
    hint: Optional[str] = None,
) -> float:
    """The optional number `block[key]` within its range (`default` when absent), or a ConfigError naming `prefix.key`.

    Every numeric setting goes through a range: an absurd value (1e300 days) is a config error, not
    an overflow deep inside a date computation.
    """
    value = block.get(key)
    if value is None:
        return default
    number = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value  # NaN is not
    whole = number and (not integer or float(value).is_integer())
    above = number and (value > minimum if exclusive_minimum else value >= minimum)
    if not (whole and above and value <= maximum):
        kind = "an integer" if integer else "a number"
        low = f"more than {minimum:g}" if exclusive_minimum else f"from {minimum:g}"
        hint = hint or f"Leave it empty for {default:g}"
        raise ConfigError(f"'{value}' must be {kind} {low} to {maximum:g}", field=f"{prefix}.{key}", hint=hint)
    return int(value) if integer else value


def require_bool(value: Any, field: str) -> bool:
    """true or false, nothing that merely looks like one ("true", 1)."""
    if not isinstance(value, bool):
        raise ConfigError(f"'{value}' is not true or false", field=field)
    return value


def optional_strings(block: Mapping[str, Any], key: str, prefix: str) -> Tuple[str, ...]:
    """An optional list of non-empty strings, each stripped; a bad item is named by its position."""
    values = block.get(key) or []
    if not isinstance(values, list):
        raise ConfigError("must be a list of strings", field=f"{prefix}.{key}")
    for index, value in enumerate(values):
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"'{value}' must be a non-empty string", field=f"{prefix}.{key}[{index}]")
    return tuple(value.strip() for value in values)


def require_choice(value: Any, choices: Sequence[str], field: str) -> str:
    """Validate an enumerated option and list the valid values when it is not one of them."""
    if value not in choices:
        raise ConfigError(f"'{value}' is not a valid value", field=field, hint=f"Valid values: {', '.join(choices)}")
    return str(value)


def require_url(value: Any, field: str) -> str:
    """Validate an http(s) base URL and return it without a trailing slash."""
    if not isinstance(value, str) or not re.match(r"^https?://[^/\s]+", value):
        raise ConfigError(
            f"'{value}' is not an http(s) URL", field=field, hint="Use a value like https://api.example.com"
        )
    return value.rstrip("/")


def require_stream_name(value: Any, field: str) -> str:
    """Stream names become table names: letters, digits and underscores, not starting with a digit."""
    hint = "Use letters, digits and underscores, starting with a letter or underscore (e.g. enriched_leads)"
    return require_match(value, STREAM_NAME, field, "a valid stream name", hint)
