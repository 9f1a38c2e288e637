"""Config blocks for the vendor tests: a valid block with some keys changed or removed."""

from __future__ import annotations

import copy
from typing import Any, Dict, Mapping


def overridden(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> Dict[str, Any]:
    """A deep copy of `base` with `overrides` applied; an override of None removes the key."""
    result = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result
