"""`in_batches`: rows grouped for the fast read loop, never lost or reordered, errors after the rows before them."""

import pytest

from source_exports.download.batch import RecordBatch, in_batches


def rows_then(count, error=None):
    for number in range(1, count + 1):
        yield {"n": number, "text": f"row {number}", "none": None}
    if error is not None:
        raise error


def test_given_rows_when_batched_then_every_row_in_order_in_batches_of_the_size():
    batches = list(in_batches(rows_then(2_500), 1_000))

    assert [len(batch) for batch in batches] == [1_000, 1_000, 500]
    assert [row for batch in batches for row in batch.rows()] == list(rows_then(2_500))


def test_given_an_error_mid_batch_when_batched_then_the_rows_before_it_come_out_first():
    produced = []
    with pytest.raises(ValueError, match="row 1,235 is bad"):
        for batch in in_batches(rows_then(1_234, ValueError("row 1,235 is bad")), 1_000):
            produced.append(batch)

    assert [len(batch) for batch in produced] == [1_000, 234]
    assert [row["n"] for batch in produced for row in batch.rows()] == list(range(1, 1_235))


def test_given_an_error_on_a_batch_edge_when_batched_then_no_empty_batch():
    produced = []
    with pytest.raises(ValueError):
        produced.extend(in_batches(rows_then(1_000, ValueError("bad")), 1_000))
    assert [len(batch) for batch in produced] == [1_000]


def test_given_no_rows_when_batched_then_no_batch():
    assert list(in_batches(iter([]), 10)) == []


def test_given_rows_with_nulls_when_batched_then_encoded_like_a_single_row_batch():
    (batch,) = in_batches(rows_then(3), 10)
    assert batch.encoded() == RecordBatch.from_rows(list(rows_then(3))).encoded()
    assert b'"none":null' in batch.encoded()[0]
