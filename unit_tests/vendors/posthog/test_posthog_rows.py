"""RowTransform: JSON text columns become objects, timestamps one spelling, bad JSON names its cell."""

import pytest

from source_exports.errors import RecordParseError
from source_exports.vendors.posthog.rows import RowTransform


def test_given_event_row_with_json_text_when_transformed_then_objects_and_nulls_kept():
    row = {
        "properties": '{"a": [1, "ü"], "b": null}',
        "set": None,
        "set_once": "",
        "timestamp": "2025-01-01 00:00:00.5+00:00",
        "_inserted_at": "2025-01-01T00:00:01Z",
        "created_at": None,
        "event": "{not json but not a json column}",
    }
    assert RowTransform("events", "posthog_events")(row) == {
        "properties": {"a": [1, "ü"], "b": None},
        "set": None,
        "set_once": None,
        "timestamp": "2025-01-01T00:00:00.500000Z",
        "_inserted_at": "2025-01-01T00:00:01.000000Z",
        "created_at": None,
        "event": "{not json but not a json column}",
    }


def test_given_already_parsed_properties_when_transformed_then_unchanged():
    assert RowTransform("events", "s")({"properties": {"x": 1}}) == {"properties": {"x": 1}}


def test_given_broken_json_text_when_transformed_then_error_names_stream_file_row_and_field():
    row = {"properties": '{"a": ', "_ab_source_file": "part.jsonl.gz", "_ab_source_row": 7}
    with pytest.raises(RecordParseError) as error:
        RowTransform("events", "posthog_events")(row)
    message = str(error.value)
    for expected in ("posthog_events", "part.jsonl.gz", "row: 7", "field: properties"):
        assert expected in message


def test_given_persons_row_when_transformed_then_only_person_columns_are_parsed():
    row = RowTransform("persons", "posthog_persons")({"properties": '{"email": "a@b"}', "set": '{"x": 1}'})
    assert row == {"properties": {"email": "a@b"}, "set": '{"x": 1}'}


def test_given_many_spellings_when_respelled_then_same_as_normalise_timestamp():
    import random

    from source_exports.vendors.posthog.rows import respell_timestamp
    from source_exports.vendors.posthog.windows import normalise_timestamp
    from unit_tests.vendors.posthog.test_posthog_windows import spellings

    rng = random.Random(5)
    texts = [spellings(rng) for _ in range(5000)]
    texts += [text.replace("Z", "+00:00") for text in texts]
    texts += [
        "2025-02-30 00:00:00+00:00",
        "2025-01-01 24:00:00+00:00",
        "2025-01-01 23:59:60.000000+00:00",
        "2025-01-01 00:00:00.0000a0+00:00",
        "2025-01-01 00:00:00,000000+00:00",
        "2025-01-01T00:00:00.000000+00:00",
        "9999-12-31 23:59:59.999999+00:00",
        "0001-01-01 00:00:00+00:00",
    ]
    assert [respell_timestamp(text) for text in texts] == [normalise_timestamp(text) for text in texts]
    assert respell_timestamp("2025-01-01 00:00:00.086401+00:00") == "2025-01-01T00:00:00.086401Z"
    assert respell_timestamp("2025-01-01 00:00:00+00:00") == "2025-01-01T00:00:00.000000Z"


def test_given_columns_of_every_spelling_when_respelled_together_then_same_as_value_by_value():
    import random

    from source_exports.vendors.posthog.rows import respell_timestamp, respell_timestamps
    from unit_tests.vendors.posthog.test_posthog_windows import spellings

    rng = random.Random(7)
    utc = ["2025-01-01 00:00:00.086401+00:00", "2025-01-31T23:59:59+00:00", "2024-02-29 12:00:00.000001+00:00"]
    odd = [
        "2025-02-30 00:00:00+00:00",  # the pattern allows it; the date check does not
        "2023-02-29 00:00:00.000000+00:00",
        "0000-01-01 00:00:00+00:00",
        "2025-01-01 24:00:00+00:00",
        "2025-01-01 00:00:00.000000+00:00\n2025-01-01 00:00:00+00:00",  # two stamps in one value
        "2025-01-01  00:00:00+00:00",
        "２０２５-01-01 00:00:00+00:00",
        "",
        None,
        17,
    ]
    for _ in range(300):
        column = [rng.choice(utc) for _ in range(rng.randrange(1, 30))]
        if rng.random() < 0.5:
            column[rng.randrange(len(column))] = rng.choice(odd + [spellings(rng)])
        expected = [value if value.__class__ is not str else respell_timestamp(value) or value for value in column]
        assert respell_timestamps(column) == expected
    assert respell_timestamps([]) == []


@pytest.mark.parametrize(
    "odd",
    [
        "2025-00-01 00:00:00+00:00",
        "2025-13-01 00:00:00.000001+00:00",
        "2025-01-00 00:00:00+00:00",
        "2025-01-32 00:00:00+00:00",
        "2025-04-31 00:00:00+00:00",
        "2023-02-29 00:00:00+00:00",
        "1900-02-29 00:00:00+00:00",
        "2000-02-29 00:00:00+00:00",
        "2024-02-29 23:59:59.999999+00:00",
        "2025-01-01 24:00:00+00:00",
        "2025-01-01 00:60:00+00:00",
        "2025-01-01 00:00:60+00:00",
        "0000-01-01 00:00:00+00:00",
        "2025-01-01 00:00:00+01:00",
        "2025-01-01 00:00:00.123456-00:00",
        "2025-01-01T00:00:00.123456+00:00",
        "2025-01-01t00:00:00+00:00",
        "2025-01-01 00:00:00.123456Z",
        "2025-01-01 00:00:00.1234567+00:00",
        "2025-01-01 00:00:00.12345+00:00",
        "２025-01-01 00:00:00+00:00",
        "2025-01-01 00:00:00+00:00\n",
        "",
    ],
)
def test_given_one_odd_stamp_in_a_column_when_respelled_together_then_same_as_value_by_value(odd):
    from source_exports.vendors.posthog.rows import respell_timestamp, respell_timestamps

    column = ["2025-01-31 23:59:59.000001+00:00", "2025-03-01T00:00:00+00:00", odd, "2024-12-31 00:00:00.5+00:00"]
    expected = [respell_timestamp(value) or value for value in column]
    assert respell_timestamps(column) == expected
    assert RowTransform("events", "e").timestamps([{"timestamp": value} for value in column]) == [
        {"timestamp": value} for value in expected
    ]


def test_given_stamps_with_one_character_changed_when_respelled_together_then_same_as_value_by_value():
    import random

    from source_exports.vendors.posthog.rows import respell_timestamp, respell_timestamps

    rng = random.Random(11)
    valid = ["2024-02-29 23:59:59.999999+00:00", "2025-12-31T00:00:00+00:00", "1999-09-09 09:09:09.090909+00:00"]
    for _ in range(3000):
        column = [rng.choice(valid) for _ in range(rng.randrange(1, 8))]
        where = rng.randrange(len(column))
        value = column[where]
        at = rng.randrange(len(value) + 1)
        column[where] = value[:at] + rng.choice("0123456789 T:+-.Z\n２") + value[at + rng.randrange(2) :]
        assert respell_timestamps(column) == [respell_timestamp(value) or value for value in column], column


def test_given_three_timestamp_columns_when_respelled_together_then_each_row_keeps_its_own_values():
    rows = [
        {"timestamp": f"2025-01-0{day} 00:00:0{day}+00:00", "_inserted_at": f"2025-02-0{day} 01:00:00.00000{day}+00:00"}
        for day in range(1, 6)
    ]
    for row in rows[::2]:
        row["created_at"] = "2025-03-01 00:00:00+00:00"
    transformed = RowTransform("events", "e").timestamps([dict(row) for row in rows])
    days = range(1, 6)
    assert [row["timestamp"] for row in transformed] == [f"2025-01-0{day}T00:00:0{day}.000000Z" for day in days]
    assert [row["_inserted_at"] for row in transformed] == [f"2025-02-0{day}T01:00:00.00000{day}Z" for day in days]
    assert [row.get("created_at") for row in transformed] == ["2025-03-01T00:00:00.000000Z", None] * 2 + [
        "2025-03-01T00:00:00.000000Z"
    ]
    assert ["created_at" in row for row in transformed] == [True, False, True, False, True]


def test_given_rows_when_transformed_in_two_steps_then_same_as_row_by_row():
    rows = [
        {"properties": '{"a": 1.0, "b": "\\u00fc"}', "timestamp": "2025-01-01 00:00:00+00:00", "set": ""},
        {"properties": None, "timestamp": None, "created_at": "2025-01-01 00:00:00.5+00:00"},
        {"timestamp": "not a time", "_inserted_at": "2025-03-01T00:00:00.000001+00:00"},
    ]
    transform = RowTransform("events", "posthog_events")
    one_by_one = [transform(dict(row)) for row in rows]
    assert transform.timestamps([transform.objects(dict(row)) for row in rows]) == one_by_one
