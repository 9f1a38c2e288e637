"""The names and formats PostHog export parts are read under: the suffix says the format and whole-file compression."""

import pytest

from source_exports.download.formats import format_for_filename
from source_exports.vendors.posthog.config import PostHogConfig
from source_exports.vendors.posthog.jobs import CompletedExport
from source_exports.vendors.posthog.streams import PostHogFileDownloadStream


class NamingClient:
    def file_location(self, export_id, file_id):
        return f"https://storage/{export_id}/{file_id}"


class RecordingReader:
    """Reads no rows; keeps every `ExportFile` it was handed."""

    def __init__(self):
        self.files = []

    def read_chunks(self, export_file, size, bare=False):
        self.files.append(export_file)
        return iter(())


@pytest.mark.parametrize(
    "file_format, compression, name, parser_format",
    [
        ("JSONLines", "gzip", "part-0.jsonl.gz", "jsonl"),
        ("JSONLines", "zstd", "part-0.jsonl.zst", "jsonl"),
        ("JSONLines", "none", "part-0.jsonl", "jsonl"),
        ("Parquet", "gzip", "part-0.parquet", "parquet"),  # Parquet's compression is inside the file
        ("Parquet", "zstd", "part-0.parquet", "parquet"),
        ("Parquet", "none", "part-0.parquet", "parquet"),
    ],
)
def test_given_file_settings_when_an_export_part_is_read_then_its_name_and_format_follow_them(
    file_format, compression, name, parser_format
):
    config = PostHogConfig.from_block(
        {"api_key": "k", "environment_id": "7", "file_download": {"format": file_format, "compression": compression}}
    )
    reader = RecordingReader()
    stream = PostHogFileDownloadStream(NamingClient(), config, "events", None, reader=reader)

    assert list(stream.rows_of(CompletedExport("e-1", ("part-0",), 1))) == []

    (export_file,) = reader.files
    assert (export_file.name, export_file.format) == (name, parser_format)
    assert format_for_filename(export_file.name).name == parser_format
