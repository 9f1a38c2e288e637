"""A large export streams in flat memory: peak RSS does not grow with the file.

A generated CSV (gzip-compressed on the fly, so the decode path is exercised too) is served over
a real socket and read through the download core in a child process, which reports its peak RSS
and a checksum of every value. Two sizes are read; the bigger one must not cost more memory.
"""

import hashlib
import json
import subprocess
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest

ROW_TEMPLATE = '{i},"name {i}, with comma","line one\nline two {i}",{v:.3f},żółć\n'


def generate_rows(rows: int) -> Iterator[bytes]:
    yield b"id,name,note,value,unicode\n"
    batch = []
    for i in range(rows):
        batch.append(ROW_TEMPLATE.format(i=i, v=i / 7))
        if len(batch) == 10_000:
            yield "".join(batch).encode()
            batch = []
    yield "".join(batch).encode()


def expected_digest(rows: int) -> str:
    digest = hashlib.sha256()
    for i in range(rows):
        digest.update(f"{i}|name {i}, with comma|line one\nline two {i}|{i / 7:.3f}|żółć".encode())
    return digest.hexdigest()


class GeneratedCsvHandler(BaseHTTPRequestHandler):
    """Streams `rows` generated rows, gzip-compressed, without ever holding the file."""

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        rows = int(self.path.rsplit("/", 1)[-1].split(".")[0])
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: gzip container
        for chunk in generate_rows(rows):
            self.wfile.write(compressor.compress(chunk))
        self.wfile.write(compressor.flush())

    def log_message(self, *args) -> None:
        pass


CHILD = r"""
import hashlib, json, sys
from source_exports.download.reader import ExportFile, ExportFileReader
url = sys.argv[1]
digest = hashlib.sha256()
count = 0
for row in ExportFileReader().read(ExportFile("big.csv", mint=lambda: url, format="csv")):
    digest.update("|".join((row["id"], row["name"], row["note"], row["value"], row["unicode"])).encode())
    count += 1
# VmHWM, not ru_maxrss: ru_maxrss survives exec and may report the parent's size
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"rows": count, "digest": digest.hexdigest(), "peak_rss_mb": peak_kb / 1024}))
"""


@pytest.fixture(scope="module")
def csv_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), GeneratedCsvHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def read_in_child(url: str) -> dict:
    completed = subprocess.run([sys.executable, "-c", CHILD, url], capture_output=True, text=True, check=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_given_large_gzip_csv_when_read_then_every_row_is_exact_and_memory_stays_flat(csv_server):
    small_rows, large_rows = 50_000, 1_000_000  # the large file is ~95 MB uncompressed
    small = read_in_child(f"{csv_server}/{small_rows}.csv.gz")
    large = read_in_child(f"{csv_server}/{large_rows}.csv.gz")
    assert small["rows"] == small_rows and small["digest"] == expected_digest(small_rows)
    assert large["rows"] == large_rows and large["digest"] == expected_digest(large_rows)
    print(
        f"\npeak RSS: {small['peak_rss_mb']:.0f} MB for {small_rows:,} rows, "
        f"{large['peak_rss_mb']:.0f} MB for {large_rows:,} rows"
    )
    assert large["peak_rss_mb"] < 150
    assert large["peak_rss_mb"] - small["peak_rss_mb"] < 15, "memory grew with the file size"
