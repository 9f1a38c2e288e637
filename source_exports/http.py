"""The one retry policy every HTTP session here uses (vendor clients and the file fetcher).

urllib3's `Retry` does the looping; this subclass only caps an absurd `Retry-After` and says
so in the log, so no request ever waits unbounded and no retry loop is written by hand.
"""

from __future__ import annotations

import logging
import os
from typing import Collection, Optional

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

LOGGER = logging.getLogger("airbyte")

# 429: rate limited, honour Retry-After; 5xx: vendor or storage hiccups that clear on retry.
SAFE_METHODS = frozenset({"GET", "HEAD"})
"""Retried by default. A POST is retried only where a client names it as a read-only query (Cargo's
`runs/list`, `download-outputs`); one that creates something is sent once and, after an ambiguous
failure, the client looks up whether it took effect before sending it again."""
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_FACTOR = 0.5
"""urllib3's backoff factor: waits of 0, 1, 2, 4 and 8 s between the 5 retries (unless Retry-After says)."""
BACKOFF_ENV = "SOURCE_EXPORTS_RETRY_BACKOFF_FACTOR"
"""Environment variable overriding BACKOFF_FACTOR (0 to 10; tests make it tiny)."""
MAX_RETRY_AFTER_SECONDS = 120.0
MAX_RETRY_AFTER_ENV = "SOURCE_EXPORTS_MAX_RETRY_AFTER_SECONDS"
"""Environment variable overriding MAX_RETRY_AFTER_SECONDS (operators behind strict proxies; tests make it tiny)."""


def env_number(name: str, default: float, minimum: float, maximum: float) -> float:
    """A numeric operator setting from the environment, kept within [minimum, maximum]; `default` when unset."""
    value = os.environ.get(name, "").strip()
    try:
        number = float(value) if value else default
    except ValueError:
        LOGGER.warning(f"{name}={value!r} is not a number; using {default:g}")
        return default
    if number != number:  # NaN
        return default
    return min(max(number, minimum), maximum)


def max_retry_after_seconds() -> float:
    """The cap on one `Retry-After` wait: MAX_RETRY_AFTER_SECONDS unless the environment variable sets another."""
    return env_number(MAX_RETRY_AFTER_ENV, MAX_RETRY_AFTER_SECONDS, 0.0, MAX_RETRY_AFTER_SECONDS)


class CappedRetry(Retry):
    """A `Retry` that caps `Retry-After` at `max_retry_after` seconds and logs when it does."""

    def __init__(self, *args, max_retry_after: Optional[float] = None, **kwargs) -> None:
        self.max_retry_after = max_retry_after_seconds() if max_retry_after is None else max_retry_after
        super().__init__(*args, **kwargs)

    def new(self, **kwargs) -> CappedRetry:
        retry = super().new(**kwargs)
        retry.max_retry_after = self.max_retry_after
        return retry

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):  # noqa: ANN001,ANN201 (urllib3 signature)
        """Count one retry as urllib3 does, and log it: a request being retried is never silent."""
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        cause = f"HTTP {response.status}" if response is not None and response.status else type(error).__name__
        host = _pool.host if _pool is not None else "the server"
        LOGGER.info(f"{method} to {host} failed ({cause}); retrying ({retry.total} retries left)")
        return retry

    def parse_retry_after(self, retry_after: str) -> float:
        seconds = super().parse_retry_after(retry_after)  # urllib3 may already clip it (6 h): say what was asked
        if seconds > self.max_retry_after:
            asked = retry_after.strip()
            asked = f"{asked} s" if asked.isdigit() else f"until {asked}"
            LOGGER.warning(f"Server asked to wait {asked} (Retry-After); waiting {self.max_retry_after:g} s instead")
            return self.max_retry_after
        return seconds


def backoff_factor() -> float:
    """BACKOFF_FACTOR unless SOURCE_EXPORTS_RETRY_BACKOFF_FACTOR sets another."""
    return env_number(BACKOFF_ENV, BACKOFF_FACTOR, 0.0, 10.0)


def retry_policy(
    total: int = 5,
    backoff: Optional[float] = None,
    methods: Optional[Collection[str]] = None,
    max_retry_after: Optional[float] = None,
) -> CappedRetry:
    """Bounded retries on connection errors and RETRYABLE_STATUSES, honouring Retry-After.

    `methods` None: SAFE_METHODS only (never a POST unless the caller vouches it is read-only).

    `max_retry_after` None: the cap from `max_retry_after_seconds()` (env SOURCE_EXPORTS_MAX_RETRY_AFTER_SECONDS).
    """
    return CappedRetry(
        total=total,
        connect=total,
        read=total,
        status=total,
        backoff_factor=backoff_factor() if backoff is None else backoff,
        backoff_max=30,
        status_forcelist=RETRYABLE_STATUSES,
        allowed_methods=frozenset(methods) if methods is not None else SAFE_METHODS,
        respect_retry_after_header=True,
        raise_on_status=False,
        max_retry_after=max_retry_after,
    )


def create_policy(total: int = 5) -> CappedRetry:
    """For requests that create something: retried only where the server cannot have acted on them.

    A connection that was never made, or a 429, is retried (honouring Retry-After). A 5xx or a
    connection lost after the request went out is ambiguous — the job may exist — so it is not
    retried here: the caller looks the job up before creating it again.
    """
    return CappedRetry(
        total=total,
        connect=total,
        read=0,
        status=total,
        backoff_factor=backoff_factor(),
        backoff_max=30,
        status_forcelist=frozenset({429}),
        allowed_methods=frozenset({"POST"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )


def build_session(retry: Optional[Retry] = None, user_agent: str = "airbyte-source-exports") -> requests.Session:
    """A requests session with the shared retry policy mounted for http and https."""
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry or retry_policy(), pool_maxsize=16)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent
    return session
