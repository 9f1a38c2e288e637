"""Validates a config against the spec with messages that name the field and the fix.

The CDK's own check prints jsonschema's text ("'x' does not match '^(…)$'") without saying
which field; users need `cargo.run_outputs[0].workflow_uuid` and an example of a good value.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError, best_match

from source_exports.errors import ConfigError


def field_path(parts: Iterable[Any]) -> str:
    """`('cargo', 'run_outputs', 0, 'name')` → `cargo.run_outputs[0].name`."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(config)"


def describe(error: ValidationError, secret: bool) -> tuple:
    """A short message and a hint for one jsonschema error."""
    value = "the value" if secret else repr(error.instance)
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    examples = schema.get("examples")
    hint: Optional[str] = f"Example: {examples[0]}" if examples else None
    if error.validator == "pattern":
        return f"{value} does not have the expected format", hint or schema.get("description")
    if error.validator == "enum":
        return f"{value} is not a valid value", "Valid values: " + ", ".join(map(str, error.validator_value))
    if error.validator == "required":
        return error.message, None
    if error.validator == "type":
        return f"{value} should be of type {error.validator_value}", hint
    return error.message if not secret else f"the value is invalid ({error.validator})", hint


def validate_config(config: Mapping[str, Any], spec_schema: Mapping[str, Any]) -> None:
    """Raise a ConfigError naming the field of the most relevant spec violation, if any."""
    error = best_match(Draft7Validator(spec_schema).iter_errors(config))
    if error is None:
        return
    secret = bool(isinstance(error.schema, Mapping) and error.schema.get("airbyte_secret"))
    message, hint = describe(error, secret)
    raise ConfigError(message, field=field_path(error.absolute_path), hint=hint)
