"""`make bench`: rows/s, MB/s and peak memory of full `source-exports read`s against a lean reference."""
