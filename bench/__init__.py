"""The clinic's benchmark (run.py, measure.py and what they measure) and the
generator of its data (bench/generator/). Not part of the installed project: it is
imported from the repository's root, as `manage.py`, `make` and the tests run."""
