"""StreamEstimate totals, their place among a stream's messages, and the fetcher's size hook."""

import io

import requests_mock as rm
import urllib3

from source_exports.download.fetch import Fetcher
from source_exports.download.reader import ExportFile, ExportFileReader
from source_exports.estimates import StreamEstimate, with_estimates

URL = "https://storage.example/bucket/part-0.jsonl?X-Amz-Signature=sig"
DATA = b"".join(b'{"n": %d}\n' % n for n in range(2_000))


def totals(messages):
    return [(m.trace.estimate.name, m.trace.estimate.row_estimate, m.trace.estimate.byte_estimate) for m in messages]


def test_given_rows_and_bytes_when_drained_then_one_stream_estimate_with_the_running_totals():
    estimate = StreamEstimate("posthog_events", namespace="ns")
    estimate.add_rows(100)
    estimate.add_bytes(2_048)
    estimate.add_bytes(1_024)

    (message,) = estimate.drain()
    assert message.trace.estimate.type.value == "STREAM" and message.trace.estimate.namespace == "ns"
    assert totals([message]) == [("posthog_events", 100, 3_072)]
    assert estimate.drain() == []  # nothing new since
    estimate.add_rows(5)
    assert totals(estimate.drain()) == [("posthog_events", 105, 3_072)]


def test_given_values_that_are_not_counts_when_added_then_ignored():
    estimate = StreamEstimate("cargo_runs")
    for value in (None, True, -3, 2.5, "7", 0):
        estimate.add_rows(value)
        estimate.add_bytes(value)
    assert estimate.drain() == [] and (estimate.rows, estimate.size) == (0, 0)


def test_given_a_report_while_an_item_is_produced_when_interleaved_then_the_estimate_comes_just_before_it():
    estimate = StreamEstimate("s")

    def items():
        yield "first"
        estimate.add_rows(2)
        estimate.add_rows(3)  # two reports before the next item: one message, newest totals
        yield "second"
        estimate.add_bytes(10)  # reported after the last item: still sent, at the end

    out = list(with_estimates(items(), estimate))
    assert out[0] == "first" and out[2] == "second"
    assert totals([out[1]]) == [("s", 5, 0)] and totals([out[3]]) == [("s", 5, 10)] and len(out) == 4


def test_given_no_estimate_when_interleaved_then_messages_unchanged():
    assert list(with_estimates(iter([1, 2]), None)) == [1, 2]


class CutBody(io.RawIOBase):
    def __init__(self, cut: int) -> None:
        self._pos, self._cut = 0, cut

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._pos >= self._cut:
            raise urllib3.exceptions.ProtocolError("Connection broken: IncompleteRead")
        size = min(len(buffer), self._cut - self._pos)
        buffer[:size] = DATA[self._pos : self._pos + size]
        self._pos += size
        return size

    def read1(self, size: int = -1) -> bytes:
        buffer = bytearray(size if size > 0 else len(DATA))
        return bytes(buffer[: self.readinto(buffer)])


def test_given_content_length_and_a_resume_when_downloading_then_the_size_is_told_once(monkeypatch):
    monkeypatch.setattr("source_exports.download.fetch.time.sleep", lambda seconds: None)
    bodies = iter([CutBody(4_000)])

    def body(request, context):
        start = int(request.headers.get("Range", "bytes=0-")[6:-1])
        if start:
            context.status_code = 206
            context.headers["Content-Range"] = f"bytes {start}-{len(DATA) - 1}/{len(DATA)}"
            return io.BytesIO(DATA[start:])
        context.headers["Content-Length"] = str(len(DATA))
        return next(bodies)

    sizes = []
    with rm.Mocker() as mocker:
        mocker.get(URL, body=body)
        handle = Fetcher().open(lambda: URL, "part-0.jsonl", on_size=sizes.append)
        assert handle.read() == DATA
        handle.close()
    assert sizes == [len(DATA)] and len(mocker.request_history) == 2


def test_given_an_export_file_with_a_size_listener_when_read_then_told_but_not_when_sampled():
    sizes = []
    export = ExportFile("part-0.jsonl", mint=lambda: URL, format="jsonl", on_size=sizes.append)
    with rm.Mocker() as mocker:
        mocker.get(URL, content=DATA, headers={"Content-Length": str(len(DATA))})
        reader = ExportFileReader()
        assert len(reader.sample(export, limit=5)) == 5
        assert sizes == []  # a schema sample is not part of the sync's data
        assert len(list(reader.read(export))) == 2_000
    assert sizes == [len(DATA)]
