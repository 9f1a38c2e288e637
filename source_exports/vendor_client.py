"""`VendorClient`: what every vendor client shares — sessions, one send, JSON decoding, one classify hook.

A vendor client subclasses it, names the methods its retry policy may retry, and says in three
hooks how its failures read: `classify` (an HTTP error answer), `unreachable` (no answer at all)
and `not_json` (an answer that does not decode). Everything between — the session and its retry
policy, catching the transport error, the status check, decoding — is written once, here.

    class AcmeClient(VendorClient):
        retried_methods = frozenset({"GET"})

        def classify(self, response, call):
            return acme_errors.classify(response, call["action"])
"""

from __future__ import annotations

from typing import Any, Collection, Mapping, Optional, Tuple

import requests

from source_exports.errors import ExportsError, TransientError, UnreadableAnswer
from source_exports.http import build_session, create_policy, retry_policy
from source_exports.redact import strip_query

Call = Mapping[str, Any]
"""What one request is for, as the vendor's hooks need it (an action, a stream, a job id…)."""
TIMEOUT = (15, 120)  # (connect, read) seconds


class VendorClient:
    """The shared plumbing of a vendor's API client.

    `retried_methods` None keeps the shared policy's default (GET and HEAD only); a client that
    vouches its POSTs are read-only queries names them. `creates` gives the client a second session,
    `create_session`, on the policy for requests that create something (`http.create_policy`).
    """

    retried_methods: Optional[Collection[str]] = None
    creates: bool = False
    timeout: Tuple[float, float] = TIMEOUT

    def __init__(self, session: Optional[requests.Session] = None, headers: Optional[Mapping[str, str]] = None) -> None:
        self.session = session or build_session(retry_policy(methods=self.retried_methods))
        self.create_session = (session or build_session(create_policy())) if self.creates else self.session
        for each in {self.session, self.create_session}:
            each.headers.update(headers or {})

    # the hooks
    def classify(self, response: requests.Response, call: Call) -> ExportsError:
        """The classified error for an HTTP error answer (each vendor's errors module decides)."""
        raise NotImplementedError

    def unreachable(self, error: requests.exceptions.RequestException, url: str, call: Call) -> ExportsError:
        """The error for a request that got no answer: transient, naming the host without a query string."""
        return TransientError(f"Could not reach the API ({type(error).__name__})", url=strip_query(url))

    def not_json(self, response: requests.Response, url: str, call: Call) -> ExportsError:
        """The error for a success answer whose body does not decode as JSON (a proxy, an outage page)."""
        return UnreadableAnswer(
            f"The API answered HTTP {response.status_code} with a body that is not JSON", url=strip_query(url)
        )

    # the plumbing
    def send(
        self, method: str, url: str, call: Call, session: Optional[requests.Session] = None, **kwargs: Any
    ) -> requests.Response:
        """One request on `session` (default: the retried one); no answer raises `unreachable`'s error."""
        try:
            response = (session or self.session).request(method, url, timeout=self.timeout, **kwargs)
        except requests.exceptions.RequestException as error:
            raise self.unreachable(error, url, call) from error
        self.answered(response)
        return response

    def answered(self, response: requests.Response) -> None:
        """Hears every answer before it is checked (Cargo reads its clock from it); nothing by default."""

    def decode(self, response: requests.Response, url: str, call: Call) -> Any:
        """The JSON body of an answer; a body that does not decode raises `not_json`'s error."""
        try:
            return response.json()
        except ValueError as error:
            raise self.not_json(response, url, call) from error

    def request(
        self, method: str, url: str, call: Call, session: Optional[requests.Session] = None, **kwargs: Any
    ) -> Any:
        """Send, raise `classify`'s error for an HTTP error answer, else the decoded JSON body."""
        response = self.send(method, url, call, session=session, **kwargs)
        if not response.ok:
            raise self.classify(response, call)
        return self.decode(response, url, call)
