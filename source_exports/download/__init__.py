"""Vendor-neutral download and parse machinery: bytes and formats, no vendor knowledge.

- `fetch.Fetcher` streams a short-lived URL (no credentials, retries, re-mint, resume);
- `codecs.open_decoded` unwraps gzip/zstd/bz2/xz by magic bytes;
- `formats` is the format registry (parser, batch encoder, file-name suffixes per format);
- `parsers` turns a byte stream into dicts, one module per format behind `RecordParser`;
- `reader.ExportFileReader` chains the three and adds row metadata;
- `schema` infers conservative JSON schemas from sample rows.
"""
