"""JUnit XML test reports: one row per `<testcase>`, streamed.

The report is read with `xml.etree.ElementTree.iterparse` and every finished element a row does
not need is detached from the tree, so memory stays flat however large the report. The bytes read
without the parser completing a tag are capped (`file_limits`): one element's text or attributes
may hold at most `max_field_bytes`, one test case (or what lies between two) `max_record_bytes`,
and elements nest at most `max_nesting_depth` deep, so a 2 GiB `<system-out>` is refused, not held. XML from
CI jobs is untrusted: `defusedxml` is used when installed; otherwise the stdlib parser is hardened
the same way — any entity declaration (the "billion laughs" expansion) and any external entity
is refused before it is expanded.

Row columns: `suite` (nearest enclosing `<testsuite name>`), `classname`, `name`, `time` (seconds,
float or null), `status` (passed | failed | error | skipped), `failure_message`, `failure_type`,
`failure_details` (the element text, e.g. a stack trace) — the last three null for passed tests.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import xml.etree.ElementTree as ElementTree
from types import ModuleType
from typing import Any, BinaryIO, Iterator, List, Optional, Tuple

from source_exports.download.limits import FileLimits, LimitSignal, current
from source_exports.download.parsers.base import RecordParser, Row
from source_exports.errors import RecordParseError

try:  # only when the environment already has it: not a dependency of the connector
    from defusedxml import DefusedXmlException as _DefusedXmlException
    from defusedxml.ElementTree import iterparse as _defused_iterparse
except ImportError:  # pragma: no cover - depends on the environment
    _defused_iterparse = None
    _DefusedXmlException = None

# Child elements of <testcase> that decide its status, in order of precedence.
OUTCOMES = (("error", "error"), ("failure", "failed"), ("skipped", "skipped"))
OUTCOME_TAGS = frozenset(tag for tag, _ in OUTCOMES)
BOUNDARIES = frozenset(("testcase", "testsuite", "testsuites"))
ROOTS = ("testsuites", "testsuite")


class ForbiddenXml(ValueError):
    """The document declares entities or references external ones: refused, never expanded."""


REFUSED = (ForbiddenXml,) if _DefusedXmlException is None else (ForbiddenXml, _DefusedXmlException)


def _load_pure_python_etree() -> ModuleType:
    """A private copy of `xml.etree.ElementTree` without its C accelerator.

    The C `XMLParser` hides its expat parser, so entity handlers cannot be set on it; the pure
    Python one exposes it as `.parser` (the technique defusedxml uses). `sys.modules` is left as
    it was: other code keeps the fast C module.
    """
    spec = importlib.util.find_spec("xml.etree.ElementTree")
    saved = sys.modules.get("_elementtree")
    sys.modules["_elementtree"] = None  # type: ignore[assignment]  # makes the copy's C import fail
    try:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        if saved is None:
            del sys.modules["_elementtree"]
        else:
            sys.modules["_elementtree"] = saved
    return module


_PURE_ETREE = _load_pure_python_etree() if _defused_iterparse is None else None


def _refuse_entity(*_args: Any) -> None:
    raise ForbiddenXml("entity declarations are not allowed in a test report")


def _refuse_external(*_args: Any) -> None:
    raise ForbiddenXml("external entities are not allowed in a test report")


def iterparse_safely(stream: BinaryIO) -> Iterator[Tuple[str, Any]]:
    """`iterparse(stream, ("start", "end"))` with entity declarations and external entities refused."""
    if _defused_iterparse is not None:
        return _defused_iterparse(stream, events=("start", "end"), forbid_entities=True, forbid_external=True)
    parser = _PURE_ETREE.XMLParser()
    expat = parser.parser
    expat.EntityDeclHandler = _refuse_entity
    expat.UnparsedEntityDeclHandler = _refuse_entity
    expat.ExternalEntityRefHandler = _refuse_external
    return _PURE_ETREE.iterparse(stream, events=("start", "end"), parser=parser)


def local_name(tag: str) -> str:
    """The tag without an XML namespace (`{ns}testcase` → `testcase`)."""
    return tag.rsplit("}", 1)[-1]


def seconds(value: Optional[str]) -> Optional[float]:
    """A `time` attribute as float seconds; null when missing or not a number (e.g. "1,234")."""
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


class BoundedReader:
    """A read-through view of the report that raises `LimitSignal` once more bytes have been read
    since the parser's last event (`field_done`) or the last test case boundary (`record_done`)
    than the limits allow: the parser holds at most that much of one element's text."""

    def __init__(self, stream: BinaryIO, limits: FileLimits) -> None:
        self._stream, self._limits = stream, limits
        self._read = self._field_start = self._record_start = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._read += len(data)
        if self._read - self._field_start > self._limits.max_field_bytes:
            raise LimitSignal("A JUnit XML element's text or tag", "max_field_bytes", self._limits.max_field_bytes)
        if self._read - self._record_start > self._limits.max_record_bytes:
            raise LimitSignal("A JUnit XML test case", "max_record_bytes", self._limits.max_record_bytes)
        return data

    def field_done(self) -> None:
        self._field_start = self._read

    def record_done(self) -> None:
        self._record_start = self._field_start = self._read


COLUMNS = {
    **dict.fromkeys(("suite", "classname", "name"), {"type": ["null", "string"]}),
    "time": {"type": ["null", "number"]},
    "status": {"type": ["null", "string"]},
    **dict.fromkeys(("failure_message", "failure_type", "failure_details"), {"type": ["null", "string"]}),
}
"""The JSON schema of every row: the columns are fixed, so schemas declare them without a sample."""


def testcase_row(case: ElementTree.Element, suite: Optional[str]) -> Row:
    """The row of one finished `<testcase>` element."""
    row: Row = {
        "suite": suite,
        "classname": case.get("classname"),
        "name": case.get("name"),
        "time": seconds(case.get("time")),
        "status": "passed",
        "failure_message": None,
        "failure_type": None,
        "failure_details": None,
    }
    children = {local_name(child.tag): child for child in reversed(list(case))}  # first of each kind wins
    for tag, status in OUTCOMES:
        outcome = children.get(tag)
        if outcome is not None:
            text = (outcome.text or "").strip()
            row.update(
                status=status,
                failure_message=outcome.get("message") or (text.splitlines()[0] if text else None),
                failure_type=outcome.get("type"),
                failure_details=text or None,
            )
            break
    return row


class JUnitXmlParser(RecordParser):
    """JUnit XML (`<testsuites>` or `<testsuite>` root, as written by pytest, Maven, Gradle, Jest, go-junit)."""

    def parse_records(self, stream: BinaryIO, file_name: str, logger: logging.Logger) -> Iterator[Row]:
        limits = current()
        reader = BoundedReader(stream, limits)
        stack: List[ElementTree.Element] = []
        suites: List[Optional[str]] = []
        cases = 0
        try:
            for event, element in iterparse_safely(reader):
                reader.field_done()
                tag = local_name(element.tag)
                if event == "start":
                    if not stack and tag not in ROOTS:
                        raise RecordParseError(
                            f"Not a JUnit XML report: the root element is <{tag}>, not <testsuites> or <testsuite>",
                            file=file_name,
                            hint="Narrow artifact_paths so only JUnit reports match *.xml",
                        )
                    stack.append(element)
                    if len(stack) > limits.max_nesting_depth:
                        depth = limits.max_nesting_depth
                        raise LimitSignal("A JUnit XML element's nesting", "max_nesting_depth", depth)
                    if tag == "testsuite":
                        suites.append(element.get("name"))
                    if tag in BOUNDARIES:
                        reader.record_done()
                    continue
                stack.pop()
                if tag == "testcase":
                    cases += 1
                    yield testcase_row(element, suites[-1] if suites else None)
                elif tag == "testsuite":
                    suites.pop()
                elif stack and local_name(stack[-1].tag) == "testcase" and tag in OUTCOME_TAGS:
                    continue  # the row of its test case reads it
                if tag in BOUNDARIES:
                    reader.record_done()
                element.clear()
                if stack:
                    stack[-1].remove(element)  # detach: a cleared element still costs memory in its parent
        except LimitSignal as signal:
            raise signal.error(file_name, cases + 1) from None
        except REFUSED as error:
            raise RecordParseError(f"Refused to parse the report: {error}", file=file_name) from error
        except SyntaxError as error:  # ElementTree.ParseError of whichever ElementTree module parsed
            raise RecordParseError(
                f"Invalid XML after test case {cases} ({error})",
                file=file_name,
                row=cases + 1,
                hint="The report may be truncated; check the CI job that wrote it",
            ) from error
