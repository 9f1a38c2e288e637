"""PageTokenPaginator: an opaque token per page until a page comes without one."""

import pytest

from source_exports.errors import TransientError
from source_exports.paginators import PageTokenPaginator

LOOP = TransientError("looped")


def serve(pages):
    """A fetch answering `pages[token]`, recording the tokens asked for."""
    asked = []

    def fetch(token):
        asked.append(token)
        return pages[token]

    return fetch, asked


def test_given_three_pages_when_walked_then_each_page_in_order_and_the_token_of_the_one_before():
    fetch, asked = serve(
        {
            None: {"runs": [1, 2], "next_page_token": "t1"},
            "t1": {"runs": [3], "next_page_token": "t2"},
            "t2": {"runs": [], "next_page_token": ""},
        }
    )

    assert list(PageTokenPaginator(fetch, "runs", on_repeat=lambda: LOOP).pages()) == [[1, 2], [3], []]
    assert asked == [None, "t1", "t2"]


def test_given_a_token_handed_back_twice_when_walked_then_the_repeat_error_after_the_pages_before_it():
    fetch, _ = serve({None: {"runs": [1], "next_page_token": "t1"}, "t1": {"runs": [2], "next_page_token": "t1"}})
    seen = []

    with pytest.raises(TransientError, match="looped"):
        for page in PageTokenPaginator(fetch, "runs", on_repeat=lambda: LOOP).pages():
            seen.append(page)

    assert seen == [[1], [2]]


def test_given_endless_new_tokens_when_walked_then_max_pages_bounds_it():
    paginator = PageTokenPaginator(
        lambda token: {"items": [token], "next_page_token": f"{token}+"}, "items", on_repeat=lambda: LOOP, max_pages=3
    )

    assert list(paginator.pages()) == [[None], ["None+"], ["None++"]]
