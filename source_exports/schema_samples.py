"""The one rule for a file-backed stream's schema sample at discover (see "Schema samples" in vendors/README.md).

A vendor call that fails fails discover, with the error's own failure type: a permissive schema
would hide a wrong token or an outage until the first read. A call that succeeds with nothing to
sample yet (no run, task or file) is not a failure: the stream's schema is its fixed columns,
anything else allowed, and a warning says to refresh the schema once data exists.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Mapping

from airbyte_cdk.models import StreamDescriptor
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_exports.download.schema import permissive_schema
from source_exports.errors import ExportsError, to_traced_exception
from source_exports.redact import redact

LOGGER = logging.getLogger("airbyte")
RETRY_HINT = "Refresh the source schema once this is fixed or the vendor answers again"


def sample_failed(error: ExportsError, stream: str) -> AirbyteTracedException:
    """Discover's error for a failed sample: the vendor's message and failure type, the stream, what to do."""
    traced = to_traced_exception(error, StreamDescriptor(name=stream))
    traced.message = redact(f"Could not sample stream '{stream}' for its schema: {error.user_message}. {RETRY_HINT}")
    return traced


def nothing_to_sample(stream: str, what: str, known: Mapping[str, Any]) -> Dict[str, Any]:
    """The schema while the vendor holds no `what` yet: the `known` columns, any other allowed; with a warning."""
    LOGGER.warning(
        f"{stream}: there is no {what} to sample yet, so the schema has only the connector's own columns and "
        f"allows any other; refresh the source schema after the first {what} exists to get typed columns"
    )
    return permissive_schema(known)
