"""Refuses an error page served in place of an export file.

Storage hosts and proxies answer some failures with status 200 and an HTML or XML page (a login
page, a quota notice, an S3 `<Error>` document). Parsed as CSV that page gives garbage rows and a
"successful" sync, so the declared `Content-Type` and the first bytes are checked before parsing.
"""

from __future__ import annotations

import html
import io
import re
from typing import Any, Optional

from source_exports.errors import ErrorPageError

TEXT_FORMATS = frozenset({"csv", "json", "jsonl", "parquet"})
"""Formats that never start with markup (JUnit reports are XML, so their bodies are not sniffed)."""
MARKUP_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml", b"<error")
HTML_TYPES = ("text/html", "application/xhtml+xml")
PEEK = 2048
_TAGS = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.S | re.I)


def refuse_error_page(decoded: io.BufferedReader, body: Any, name: str, file_format: str) -> None:
    """Raise `ErrorPageError` when the body is an HTML/XML page where a data file was expected."""
    content_type: Optional[str] = getattr(body, "content_type", None)
    html_type = bool(content_type) and content_type.split(";", 1)[0].strip().lower() in HTML_TYPES
    head = decoded.peek(PEEK)[:PEEK]
    markup = file_format in TEXT_FORMATS and head.lstrip(b"\xef\xbb\xbf \t\r\n").lower().startswith(MARKUP_STARTS)
    if not (html_type or markup):
        return
    answered = f"a {content_type.split(';', 1)[0]} page" if html_type else "an HTML/XML document"
    raise ErrorPageError(
        f"The storage host answered with {answered} instead of the {file_format} file: {summary(head)!r}",
        file=name,
        hint="The download link led to an error or login page, not the export; run the sync again, and if it "
        "persists check the vendor's storage (the page's text is quoted above)",
    )


def summary(head: bytes) -> str:
    """The page's title, or its first words without markup, short enough for one message."""
    text = head.decode("utf-8", errors="replace")
    title = _TITLE.search(text)
    words = title.group(1) if title else _TAGS.sub(" ", text)
    return _SPACE.sub(" ", html.unescape(words)).strip()[:160]
