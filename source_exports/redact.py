"""Removes secrets from text: signed-URL query strings and registered secret values.

Signed storage URLs carry their credentials in the query string, so any URL we print is
reduced to scheme, host and path. Secret config values are registered with the CDK's secret
filter and masked too.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from airbyte_cdk.utils.airbyte_secrets_utils import filter_secrets

_URL = re.compile(r"https?://[^\s\"'<>]+")


def strip_query(url: str) -> str:
    """Return the URL without query string or fragment: safe to log, never a signature."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, "", ""))


def file_name_of(url: str) -> str:
    """The last path segment of a URL, without its query: a file name safe for records."""
    path = urlsplit(url).path
    return path.rstrip("/").rsplit("/", 1)[-1] or path


def redact(text: str) -> str:
    """Strip query strings from every URL in `text` and mask registered secrets."""
    return filter_secrets(_URL.sub(lambda match: strip_query(match.group(0)), text))
