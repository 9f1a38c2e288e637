"""The vendor contract's failure type per HTTP status (source_exports/vendors/README.md), for every vendor's tests."""

from typing import List, Tuple

from airbyte_cdk.models import FailureType

TRANSIENT_CLIENT_STATUSES = (408, 409, 425, 429)


def expected_failure_types(*statuses: int) -> List[Tuple[int, FailureType]]:
    """(status, failure type) pairs: an unexpected 4xx is the user's to fix unless it means "try again"."""
    return [
        (
            status,
            FailureType.transient_error
            if status in TRANSIENT_CLIENT_STATUSES or status >= 500
            else FailureType.config_error,
        )
        for status in statuses
    ]
