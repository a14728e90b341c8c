"""`make bench`: performance figures measured on this machine, written to bench/RESULTS.md."""
