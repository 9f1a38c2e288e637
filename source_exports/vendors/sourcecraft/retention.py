"""When a failed artifact download is SourceCraft's 14-day retention at work, and when it is an error.

SourceCraft keeps artifact contents for 14 days but does not say from which moment. So nothing
is skipped on age: every artifact SourceCraft lists as `success` is downloaded. A refusal —
storage answering 400/401/403/404/410, or SourceCraft giving no download URL — is expected only
when the artifact is past the retention by every reading: 14 days after the latest of its own
dates and its run's finish. Any other failure, and any refusal of a younger artifact, stays an
error.

    fetcher = StatusTrackingFetcher()
    ...                                     # a download through `fetcher` raised `error`
    refusal = refusal_of(error, fetcher)    # "storage answered HTTP 404", or None
    if refusal and is_past_retention(artifact, run, now):
        ...                                 # warn and go on
"""

from __future__ import annotations

import threading
from typing import Any, Mapping, Optional

import pendulum
import requests

from source_exports.download.fetch import Fetcher
from source_exports.errors import DownloadError, ExportsError
from source_exports.vendors.sourcecraft.artifacts import Artifact
from source_exports.vendors.sourcecraft.errors import SourceCraftNoDownloadUrl
from source_exports.vendors.sourcecraft.run_scan import date_of

DOWNLOADABLE_DAYS = 14
"""SourceCraft keeps artifact contents downloadable for 14 days."""
RETENTION = pendulum.duration(days=DOWNLOADABLE_DAYS)
REFUSED_STATUSES = frozenset({400, 401, 403, 404, 410})
"""What object stores answer for an object that is gone or a link that no longer grants access."""
ARTIFACT_DATES = ("registered_at", "obtained_at", "updated_at")


class StatusTrackingFetcher(Fetcher):
    """A `Fetcher` that remembers the HTTP status storage last answered.

    A download error alone does not say whether storage refused the file or the connection
    dropped; `last_status` does. It is None while no answer came (a connection that failed).
    Each thread has its own, so artifacts downloading at once never see each other's status.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._local = threading.local()

    @property
    def last_status(self) -> Optional[int]:
        return getattr(self._local, "status", None)

    @last_status.setter
    def last_status(self, status: Optional[int]) -> None:
        self._local.status = status

    def request(self, url: str, start: int) -> requests.Response:
        self.last_status = None
        response = super().request(url, start)
        self.last_status = response.status_code
        return response


def refusal_of(error: ExportsError, fetcher: StatusTrackingFetcher) -> Optional[str]:
    """How the download was refused ("storage answered HTTP 404"), or None for any other failure."""
    if isinstance(error, SourceCraftNoDownloadUrl):
        return "SourceCraft gave no download URL for it"
    if isinstance(error, DownloadError) and fetcher.last_status in REFUSED_STATUSES:
        return f"storage answered HTTP {fetcher.last_status}"
    return None


def retention_start(artifact: Artifact, run: Mapping[str, Any]) -> Optional[pendulum.DateTime]:
    """The latest moment the 14 days could count from: the artifact's dates and its run's finish."""
    moments = [date_of(artifact.data, name) for name in ARTIFACT_DATES] + [date_of(run, "finished_at")]
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else None


def is_past_retention(artifact: Artifact, run: Mapping[str, Any], now: pendulum.DateTime) -> bool:
    """True when the artifact is older than the retention whichever of its dates it counts from."""
    start = retention_start(artifact, run)
    return start is not None and now - start > RETENTION
