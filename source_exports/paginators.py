"""Named paginators: how a vendor's list endpoint is walked, apart from how one page is fetched.

Each takes a `fetch` callable that returns one page and knows only its paging rule, so a client
says which rule its endpoint follows instead of writing the loop again:

- `OffsetPaginator`: `limit`/`offset`, with or without a total (Cargo's runs, Spaaza's tasks);
- `PageTokenPaginator`: an opaque token handed back with each page (SourceCraft's runs);
- `NextLinkPaginator`: a `next` link to follow, limit/offset and cursor alike (PostHog's DRF lists).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Hashable, Iterator, List, Mapping, Optional, Sequence, Set, Tuple
from urllib.parse import urljoin, urlsplit, urlunsplit

OffsetPage = Tuple[Sequence[Any], Optional[int]]
"""One `limit`/`offset` page: its items, and the total the server reports (None when it reports none)."""


class OffsetPaginator:
    """Pages with `limit`/`offset` until a short page, an empty page or the reported total.

    `trust_limit` True: a page shorter than `page_size` is the last. False, for a server that may cap
    `limit` silently: only a page shorter than an earlier one (or an empty page) is the last.
    `ids_of` names a page's items; a non-empty page of names already seen means the server ignores
    `offset`, so the walk stops (after `on_repeat` hears the offset) instead of looping forever.
    """

    def __init__(
        self,
        fetch: Callable[[int, int], OffsetPage],
        page_size: int,
        trust_limit: bool = True,
        ids_of: Optional[Callable[[Sequence[Any]], Set[Hashable]]] = None,
        on_repeat: Optional[Callable[[int], None]] = None,
    ) -> None:
        self.fetch = fetch
        self.page_size = page_size
        self.trust_limit = trust_limit
        self.ids_of = ids_of
        self.on_repeat = on_repeat

    def items(self, on_total: Optional[Callable[[int], None]] = None) -> Iterator[Any]:
        """Every item in server order; `on_total` hears the first page's total before any item is yielded."""
        offset = 0
        largest = 0
        seen: Set[Hashable] = set()
        while True:
            page, total = self.fetch(self.page_size, offset)
            if offset == 0 and on_total is not None and isinstance(total, int):
                on_total(total)
            if self.ids_of is not None:
                ids = self.ids_of(page)
                if page and ids <= seen:
                    if self.on_repeat is not None:
                        self.on_repeat(offset)
                    return
                seen |= ids
            yield from page
            offset += len(page)
            if self._last(page, largest) or (isinstance(total, int) and offset >= total):
                return
            largest = max(largest, len(page))

    def _last(self, page: Sequence[Any], largest: int) -> bool:
        if self.trust_limit:
            return len(page) < self.page_size
        return not page or len(page) < largest


class PageTokenPaginator:
    """Pages with an opaque token until a page comes without one.

    A token handed back twice would loop forever: `on_repeat` builds the error raised instead.
    `max_pages` bounds the walk the same way for a server that invents new tokens forever.
    """

    def __init__(
        self,
        fetch: Callable[[Optional[str]], Mapping[str, Any]],
        items_key: str,
        on_repeat: Callable[[], Exception],
        token_key: str = "next_page_token",
        max_pages: int = 100_000,
    ) -> None:
        self.fetch = fetch
        self.items_key = items_key
        self.token_key = token_key
        self.on_repeat = on_repeat
        self.max_pages = max_pages

    def pages(self) -> Iterator[List[Any]]:
        """Each page's items, page by page, in server order."""
        token: Optional[str] = None
        seen_tokens: Set[str] = set()
        for _ in range(self.max_pages):
            page = self.fetch(token)
            yield page.get(self.items_key) or []
            token = page.get(self.token_key) or None
            if token is None:
                return
            if token in seen_tokens:
                raise self.on_repeat()
            seen_tokens.add(token)


class NextLinkPaginator:
    """Follows DRF's `next` links (limit/offset and cursor pagination alike) until `next` is null.

    The link is re-based on the configured API URL, so a proxy or a load balancer that reports
    another host never receives the API key.
    """

    def __init__(self, base_url: str, fetch: Optional[Callable[[str, Mapping[str, Any]], Any]] = None) -> None:
        self._base = urlsplit(base_url)
        self.fetch = fetch

    def next_url(self, page: Mapping[str, Any]) -> Optional[str]:
        link = page.get("next")
        if not link:
            return None
        parts = urlsplit(urljoin(urlunsplit(self._base), link))
        return urlunsplit((self._base.scheme, self._base.netloc, parts.path, parts.query, ""))

    def items(
        self, url: str, params: Optional[Mapping[str, Any]] = None, on_count: Optional[Callable[[int], None]] = None
    ) -> Iterator[Dict[str, Any]]:
        """Every `results` item from `url` on; an unpaginated list answer is yielded whole.

        `params` go with the first request only: each `next` link carries its own query.
        `on_count` hears the first page's `count`.
        """
        next_url: Optional[str] = url
        query: Mapping[str, Any] = dict(params or {})
        first = True
        while next_url:
            page = self.fetch(next_url, query)
            if isinstance(page, list):
                yield from page
                return
            if first and on_count is not None and isinstance(page.get("count"), int):
                on_count(page["count"])
            first = False
            yield from page.get("results") or []
            next_url, query = self.next_url(page), {}
