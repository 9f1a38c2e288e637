"""JUnit XML test reports: one row per `<testcase>`, streamed.

The report is read with `xml.etree.ElementTree.iterparse` and every finished `<testcase>` (and
`<testsuite>`) is detached from the tree, so memory stays flat however large the report. XML from
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

from source_exports.download.parsers.base import RecordParser, Row, register
from source_exports.errors import RecordParseError

try:  # only when the environment already has it: not a dependency of the connector
    from defusedxml import DefusedXmlException as _DefusedXmlException
    from defusedxml.ElementTree import iterparse as _defused_iterparse
except ImportError:  # pragma: no cover - depends on the environment
    _defused_iterparse = None
    _DefusedXmlException = None

# Child elements of <testcase> that decide its status, in order of precedence.
OUTCOMES = (("error", "error"), ("failure", "failed"), ("skipped", "skipped"))
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


@register
class JUnitXmlParser(RecordParser):
    """JUnit XML (`<testsuites>` or `<testsuite>` root, as written by pytest, Maven, Gradle, Jest, go-junit)."""

    format = "junit_xml"

    def parse_records(self, stream: BinaryIO, file_name: str, logger: logging.Logger) -> Iterator[Row]:
        stack: List[ElementTree.Element] = []
        suites: List[Optional[str]] = []
        cases = 0
        try:
            for event, element in iterparse_safely(stream):
                tag = local_name(element.tag)
                if event == "start":
                    if not stack and tag not in ROOTS:
                        raise RecordParseError(
                            f"Not a JUnit XML report: the root element is <{tag}>, not <testsuites> or <testsuite>",
                            file=file_name,
                            hint="Narrow artifact_paths so only JUnit reports match *.xml",
                        )
                    stack.append(element)
                    if tag == "testsuite":
                        suites.append(element.get("name"))
                    continue
                stack.pop()
                if tag == "testcase":
                    cases += 1
                    yield testcase_row(element, suites[-1] if suites else None)
                elif tag == "testsuite":
                    suites.pop()
                else:
                    continue
                element.clear()
                if stack:
                    stack[-1].remove(element)  # detach: a cleared element still costs memory in its parent
        except REFUSED as error:
            raise RecordParseError(f"Refused to parse the report: {error}", file=file_name) from error
        except SyntaxError as error:  # ElementTree.ParseError of whichever ElementTree module parsed
            raise RecordParseError(
                f"Invalid XML after test case {cases} ({error})",
                file=file_name,
                row=cases + 1,
                hint="The report may be truncated; check the CI job that wrote it",
            ) from error
