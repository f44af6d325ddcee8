"""The ``headwater`` command line: a thin adapter over the public Python API."""
