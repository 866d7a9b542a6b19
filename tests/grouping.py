"""A pytest plugin (loaded by conftest.py): under ``pytest -n`` with ``--dist loadgroup`` (``make test``), every
test that uses the tiny book runs on one worker, which builds the book once.

The group is added as an ``xdist_group`` marker before pytest-xdist reads the markers (``tryfirst``: xdist's own
hook, registered after this one, would otherwise run first and see none, and each worker would build its own
book, minutes of CPU).  ``tests/test_environment.py`` checks that the group holds in a real ``pytest -n 2`` run.
"""

from __future__ import annotations

import pytest

GROUPED_FIXTURES = ("tiny_book",)  # session fixtures that build something slow: their tests share one worker


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    for item in items:
        for name in GROUPED_FIXTURES:
            if name in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.xdist_group(name))
