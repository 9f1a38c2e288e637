"""OffsetPaginator: limit/offset paging, with a total (Cargo) or over a bare array (Spaaza)."""

from source_exports.paginators import OffsetPaginator


class Server:
    """Serves `items` by limit/offset, capping `limit` at `cap`; records what was asked."""

    def __init__(self, items, cap=None, total=False, ignore_offset=False):
        self.items, self.cap, self.total, self.ignore_offset = items, cap, total, ignore_offset
        self.asked = []

    def __call__(self, limit, offset):
        self.asked.append((limit, offset))
        size = min(limit, self.cap) if self.cap else limit
        start = 0 if self.ignore_offset else offset
        return self.items[start : start + size], (len(self.items) if self.total else None)


def test_given_250_items_when_walked_then_pages_of_100_until_the_short_page():
    server = Server(list(range(250)))

    assert list(OffsetPaginator(server, 100).items()) == list(range(250))
    assert server.asked == [(100, 0), (100, 100), (100, 200)]


def test_given_a_total_when_walked_then_it_stops_at_the_total_without_an_empty_page_and_reports_it_first():
    server = Server(list(range(200)), total=True)
    heard = []

    def on_total(total):
        heard.append((total, len(server.asked)))

    assert list(OffsetPaginator(server, 100).items(on_total=on_total)) == list(range(200))
    assert server.asked == [(100, 0), (100, 100)]
    assert heard == [(200, 1)]


def test_given_a_server_capping_limit_when_limit_not_trusted_then_nothing_is_cut_short():
    server = Server(list(range(7)), cap=3)

    assert list(OffsetPaginator(server, 100, trust_limit=False).items()) == list(range(7))
    assert [offset for _, offset in server.asked] == [0, 3, 6]


def test_given_an_exact_multiple_when_limit_not_trusted_then_one_empty_page_ends_the_walk():
    server = Server(list(range(4)))

    assert list(OffsetPaginator(server, 2, trust_limit=False).items()) == [0, 1, 2, 3]
    assert [offset for _, offset in server.asked] == [0, 2, 4]


def test_given_a_server_ignoring_offset_when_walked_then_it_stops_at_the_repeat_and_says_where():
    server = Server(list(range(5)), ignore_offset=True)
    repeats = []

    items = OffsetPaginator(server, 2, trust_limit=False, ids_of=set, on_repeat=repeats.append).items()

    assert list(items) == [0, 1]
    assert repeats == [2]


def test_given_an_empty_listing_when_limit_not_trusted_then_one_request_and_nothing():
    server = Server([])

    assert list(OffsetPaginator(server, 2, trust_limit=False).items()) == []
    assert server.asked == [(2, 0)]
