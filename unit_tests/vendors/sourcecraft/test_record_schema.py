"""Which runs discover samples for `sourcecraft_artifact_records`: the newest, whatever the listing order."""

from source_exports.vendors.sourcecraft.record_schema import newest_runs


class PagedRuns:
    """A client stub serving run pages and counting how many were asked for."""

    def __init__(self, slugs_per_page):
        self.pages = [[{"slug": str(slug)} for slug in page] for page in slugs_per_page]
        self.served = 0

    def iter_run_pages(self):
        for page in self.pages:
            self.served += 1
            yield page


def test_given_a_newest_first_listing_when_choosing_sample_runs_then_paging_stops_once_enough_are_listed():
    client = PagedRuns([[9, 8], [7, 6], [5, 4]])
    assert [run["slug"] for run in newest_runs(client, 3)] == ["9", "8", "7"]
    assert client.served == 2


def test_given_an_oldest_first_listing_when_choosing_sample_runs_then_every_page_is_read_and_the_newest_win():
    client = PagedRuns([[1, 2], [3, 4], [5]])
    assert [run["slug"] for run in newest_runs(client, 2)] == ["5", "4"]
    assert client.served == 3
