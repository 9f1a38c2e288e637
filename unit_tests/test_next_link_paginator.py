"""NextLinkPaginator: DRF `next` links (offset or cursor), re-based on the configured API URL."""

from source_exports.paginators import NextLinkPaginator

BASE = "https://eu.posthog.test"


def serve(pages):
    """A fetch answering `pages[url]`, recording each url and its params."""
    asked = []

    def fetch(url, params):
        asked.append((url, dict(params)))
        return pages[url]

    return fetch, asked


def test_given_cursor_links_when_walked_then_results_in_order_params_only_on_the_first_and_count_heard():
    fetch, asked = serve(
        {
            f"{BASE}/runs/": {"count": 3, "results": [1, 2], "next": f"{BASE}/runs/?cursor=abc"},
            f"{BASE}/runs/?cursor=abc": {"results": [3], "next": None},
        }
    )
    counts = []

    items = list(NextLinkPaginator(BASE, fetch).items(f"{BASE}/runs/", {"limit": 2}, on_count=counts.append))

    assert items == [1, 2, 3]
    assert asked == [(f"{BASE}/runs/", {"limit": 2}), (f"{BASE}/runs/?cursor=abc", {})]
    assert counts == [3]


def test_given_an_unpaginated_list_when_walked_then_it_is_yielded_whole():
    fetch, asked = serve({f"{BASE}/logs/": [{"a": 1}, {"a": 2}]})

    assert list(NextLinkPaginator(BASE, fetch).items(f"{BASE}/logs/")) == [{"a": 1}, {"a": 2}]
    assert len(asked) == 1


def test_given_a_next_link_on_another_host_when_followed_then_it_is_rebased_on_the_api_url():
    paginator = NextLinkPaginator(BASE)

    rebased = paginator.next_url({"next": "http://internal-lb:8000/api/runs/?offset=100&limit=100#x"})

    assert rebased == f"{BASE}/api/runs/?offset=100&limit=100"


def test_given_a_relative_next_link_when_followed_then_it_resolves_against_the_api_url():
    assert NextLinkPaginator(BASE).next_url({"next": "/api/runs/?offset=2"}) == f"{BASE}/api/runs/?offset=2"
    assert NextLinkPaginator(BASE).next_url({"next": None}) is None
