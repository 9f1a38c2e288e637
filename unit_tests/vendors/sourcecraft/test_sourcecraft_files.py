"""Staging artifact files: hostile paths stay inside their folder, bytes are copied as they are."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from source_exports.errors import DownloadError
from source_exports.vendors.sourcecraft.files import ArtifactFileWriter, safe_relative_path


@pytest.mark.parametrize(
    "local_path, expected",
    [
        ("reports/junit.xml", "reports/junit.xml"),
        ("../../etc/passwd", "etc/passwd"),
        ("/etc/passwd", "etc/passwd"),
        ("..\\..\\windows\\win.ini", "windows/win.ini"),
        ("a/./b/../../../c.txt", "a/b/c.txt"),
        ("C:\\temp\\x.txt", "C_/temp/x.txt"),
        ("odd\x00na\nme?*<>|.txt", "odd_na_me_____.txt"),
        ("...", "artifact"),
        ("", "artifact"),
        ("//", "artifact"),
        (".hidden/.env", "hidden/env"),
        ("ünïcødé/名前.xml", "ünïcødé/名前.xml"),
    ],
)
def test_given_local_path_when_made_safe_then_relative_plain_segments(local_path, expected):
    assert safe_relative_path(local_path) == expected


def test_given_very_long_segment_when_made_safe_then_bounded_in_bytes():
    assert len(safe_relative_path("é" * 500).encode()) <= 200


@pytest.mark.parametrize("local_path", ["../../../escape.txt", "/abs/escape.txt", "..\\escape.txt", "a/../../escape"])
def test_given_hostile_path_when_written_then_file_is_inside_a_fresh_folder_of_the_files_dir(tmp_path, local_path):
    files = tmp_path / "files"
    staged = ArtifactFileWriter(str(files)).write(io.BytesIO(b"\x00\xffdata"), local_path, "artifact")
    path = Path(staged.absolute_path)
    assert path.read_bytes() == b"\x00\xffdata" and staged.size == 6
    assert path.resolve().is_relative_to(files.resolve())
    assert len(path.relative_to(files).parts[0]) == 32  # the unique per-artifact folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["files"]


def test_given_same_path_twice_when_written_then_two_folders_and_no_overwrite(tmp_path):
    writer = ArtifactFileWriter(str(tmp_path))
    first = writer.write(io.BytesIO(b"one"), "r/x.txt", "a")
    second = writer.write(io.BytesIO(b"two"), "r/x.txt", "b")
    assert first.absolute_path != second.absolute_path
    assert Path(first.absolute_path).read_bytes() == b"one" and Path(second.absolute_path).read_bytes() == b"two"


class BrokenBody(io.RawIOBase):
    def __init__(self) -> None:
        self.calls = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self.calls += 1
        if self.calls > 1:
            raise OSError("connection lost")
        buffer[:4] = b"part"
        return 4


def test_given_download_failing_midway_when_written_then_no_partial_file_is_left(tmp_path):
    with pytest.raises(OSError):
        ArtifactFileWriter(str(tmp_path)).write(BrokenBody(), "big.bin", "big")
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []


def test_given_files_directory_unwritable_when_written_then_download_error_names_file(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(DownloadError, match="Could not create the staged file") as raised:
        ArtifactFileWriter(str(blocker)).write(io.BytesIO(b"x"), "a.txt", "run/wf/task/cube/a.txt")
    assert "file: run/wf/task/cube/a.txt" in str(raised.value)
