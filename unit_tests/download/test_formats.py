"""The format registry: one `Format` per format, and the file-name → format answers every vendor relies on.

The name table holds the answers the vendors' own suffix tables gave before the registry replaced
them (SourceCraft artifact paths look through one compression suffix; Spaaza result files are `.csv`
or `.json` and never looked through), so a change to `format_for_filename` that moves one of them fails.
"""

from __future__ import annotations

import pytest

from source_exports.download.formats import COMPRESSION_SUFFIXES, FORMATS, format_for_filename, get_format
from source_exports.download.parsers.csv_parser import EXTRA_VALUES_COLUMN
from source_exports.errors import ConfigError
from source_exports.vendors.spaaza.jobs import format_of_name

# name → (SourceCraft's format for an artifact path, Spaaza's format for a result file name)
NAMES = {
    "reports/junit.xml": ("junit_xml", None),
    "report.XML": ("junit_xml", None),
    "a/b.CSV": ("csv", "csv"),
    "x.Csv": ("csv", "csv"),
    "Transaction_Export-1.csv": ("csv", "csv"),
    "m.json": ("json", "json"),
    "User_Export-2.JSON": ("json", "json"),
    "e.jsonl": ("jsonl", None),
    "e.ndjson": ("jsonl", None),
    "x.NDJSON": ("jsonl", None),
    "d.parquet": ("parquet", None),
    "r.xml.gz": ("junit_xml", None),
    "c.csv.zst": ("csv", None),
    "x.csv.bz2": ("csv", None),
    "x.JSON.XZ": ("json", None),
    "x.csv.GZ": ("csv", None),
    "x.jsonl.gz": ("jsonl", None),
    "x.parquet.gz": ("parquet", None),
    "x.csv.gz.gz": (None, None),
    "x.json.gzip": (None, None),
    "x.gz": (None, None),
    "archive.tar.gz": (None, None),
    "app.bin": (None, None),
    "build.log": (None, None),
    "x.xlsx": (None, None),
    "x.tsv": (None, None),
    "no_extension": (None, None),
    "dir.json/x": (None, None),
    "a.csv/b": (None, None),
    "file.": (None, None),
    ".csv": ("csv", "csv"),
}


@pytest.mark.parametrize("name, expected", [(name, answers[0]) for name, answers in NAMES.items()])
def test_given_an_artifact_path_when_choosing_its_format_then_by_suffix_through_one_compression_suffix(name, expected):
    found = format_for_filename(name)

    assert (found.name if found else None) == expected


@pytest.mark.parametrize("name, expected", [(name, answers[1]) for name, answers in NAMES.items()])
def test_given_a_spaaza_result_file_name_when_choosing_its_format_then_csv_or_json_never_through_compression(
    name, expected
):
    assert format_of_name(name) == expected


@pytest.mark.parametrize("name", sorted(FORMATS))
@pytest.mark.parametrize("compression", [None, *COMPRESSION_SUFFIXES])
def test_given_any_format_and_compression_when_a_name_is_built_then_it_maps_back_to_the_format(name, compression):
    file_format = get_format(name)

    assert format_for_filename(file_format.file_name("File", compression)) is file_format
    assert format_for_filename(file_format.file_name("File", compression).upper()) is file_format


def test_given_the_registry_when_asking_which_formats_hold_text_only_then_csv_alone_and_it_adds_extra_values():
    assert [name for name, fmt in FORMATS.items() if not fmt.typed_values] == ["csv"]
    assert [name for name, fmt in FORMATS.items() if fmt.extra_columns] == ["csv"]
    assert set(get_format("csv").extra_columns) == {EXTRA_VALUES_COLUMN}


def test_given_the_registry_when_asking_which_formats_have_fixed_columns_then_junit_xml_alone():
    assert [name for name, fmt in FORMATS.items() if fmt.columns is not None] == ["junit_xml"]


def test_given_the_registry_when_listing_batch_encoders_then_csv_jsonl_and_parquet_have_one():
    assert sorted(name for name, fmt in FORMATS.items() if fmt.encoder is not None) == ["csv", "jsonl", "parquet"]


def test_given_an_unknown_format_when_looked_up_then_a_config_error_lists_every_format():
    with pytest.raises(ConfigError) as error:
        get_format("xlsx")

    assert error.value.message == "Unsupported file format 'xlsx'"
    assert error.value.hint == "Supported formats: csv, json, jsonl, junit_xml, parquet"
