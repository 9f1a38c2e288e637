"""Copies artifact files into Airbyte's files directory for file transfer, byte for byte.

Artifact paths come from CI configs and from the API, so they are untrusted: `safe_relative_path`
turns any `local_path` (with `..`, absolute paths, backslashes, control or odd characters) into a
relative path of plain segments, and `ArtifactFileWriter` still checks the final path lies inside
the artifact's own folder before it creates the file (never following a symlink). Each artifact
gets a fresh folder `<files directory>/<random hex>/`, as the CDK's file-based streams do, so two
artifacts with the same path never share (or overwrite) a staged file.

The relative path the destination writes to starts with folders that name the artifact (its
cube's slugs and its id), each kept to one segment by `unique_segment`: two artifacts with the
same `local_path`, even in one cube, never get the same destination path.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import unicodedata
import uuid
from dataclasses import dataclass
from typing import BinaryIO, Optional, Sequence

from airbyte_cdk.sources.utils.files_directory import get_files_directory

from source_exports.errors import DownloadError

COPY_CHUNK = 1 << 20
MAX_SEGMENT_BYTES = 200  # below the 255-byte limit of common file systems, leaving room for a suffix
DIGEST_CHARS = 12
_UNSAFE = re.compile(r"[^\w.\-+=@ ]", re.UNICODE)  # word characters and a few harmless punctuation marks

LOGGER = logging.getLogger("airbyte")


def safe_segment(segment: str) -> str:
    """One path segment made safe: no separators, control characters, `.`/`..`, or leading dots/spaces."""
    text = unicodedata.normalize("NFC", segment)
    text = "".join("_" if unicodedata.category(char).startswith("C") else char for char in text)
    text = _UNSAFE.sub("_", text).strip(" ")
    if set(text) <= {"."}:
        return ""
    text = text.lstrip(".") or "_"
    while len(text.encode("utf-8")) > MAX_SEGMENT_BYTES:
        text = text[:-1]
    return text


def safe_relative_path(path: str, fallback: str = "artifact") -> str:
    """A relative POSIX path that cannot leave the folder it is joined to.

    >>> safe_relative_path("../../etc/passwd")
    'etc/passwd'
    >>> safe_relative_path("/abs/C:\\\\dir\\\\report.xml")
    'abs/C_/dir/report.xml'
    """
    parts = [safe_segment(part) for part in re.split(r"[/\\]+", path or "")]
    parts = [part for part in parts if part]
    return "/".join(parts) or fallback


def unique_segment(value: str) -> str:
    """One segment for a name that must stay distinct (a slug, an id), even when it is not safe as is.

    A safe name is kept; any other gets a digest of the original appended, so two names never
    share a folder after sanitising (`a/b` and `a_b` stay apart).

    >>> unique_segment("pytest"), unique_segment("a/b")
    ('pytest', 'a_b-c14cddc033f6')
    """
    safe = safe_segment(value)
    if safe and safe == value:
        return safe
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:DIGEST_CHARS]
    stem = safe or "_"
    while len(stem.encode("utf-8")) > MAX_SEGMENT_BYTES - DIGEST_CHARS - 1:
        stem = stem[:-1]
    return f"{stem}-{digest}"


@dataclass(frozen=True)
class StagedFile:
    """A file written into the files directory, as the file reference describes it."""

    absolute_path: str
    relative_path: str
    size: int


class ArtifactFileWriter:
    """Writes byte streams to `<files directory>/<unique folder>/<safe relative path>`."""

    def __init__(self, files_directory: Optional[str] = None) -> None:
        self.files_directory = os.path.abspath(files_directory or get_files_directory())

    def write(self, body: BinaryIO, local_path: str, name: str, folders: Sequence[str] = ()) -> StagedFile:
        """Copy `body` in chunks (no decoding) into a fresh folder, at `<folders>/<local_path>` made safe.

        `folders` name the file's owner, one segment each; `name` is used in messages.
        """
        safe_local = safe_relative_path(local_path)
        if safe_local != local_path:
            LOGGER.warning(
                f"{name}: the artifact path {local_path!r} is unsafe (it could leave the files directory, or "
                f"holds odd characters); staged as {safe_local!r} inside its own folder. Nothing to do unless the "
                "path was meant as is: rename the artifact in the workflow"
            )
        relative = "/".join([*(unique_segment(folder) for folder in folders), safe_local])
        folder = os.path.join(self.files_directory, uuid.uuid4().hex)
        target = os.path.normpath(os.path.join(folder, *relative.split("/")))
        if os.path.commonpath([folder, target]) != folder or target == folder:
            raise DownloadError("Refused to write outside the artifact's folder", file=name)  # defence in depth
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        try:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            descriptor = os.open(target, flags, 0o644)
        except OSError as error:
            raise DownloadError(
                f"Could not create the staged file ({error.strerror})",
                file=name,
                hint="Check that the files directory is writable and has space",
            ) from error
        try:
            with os.fdopen(descriptor, "wb") as handle:
                shutil.copyfileobj(body, handle, COPY_CHUNK)
                size = handle.tell()
        except BaseException:
            os.unlink(target)  # never leave a partial file for the destination to pick up
            raise
        return StagedFile(target, relative, size)
