"""A pytest plugin: a WARNING or ERROR log record during a test is a problem the test did not look
at, so it fails the test, unless the test declares it with `@pytest.mark.expect_log(pattern, ...)`
(regexes searched in "logger: message"). Loaded by tests/conftest.py."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "expect_log(*patterns): WARNING/ERROR records this test causes on purpose; each pattern "
        "is a regex searched in 'logger: message'",
    )


@pytest.fixture(autouse=True)
def fail_on_unexpected_log_records(request: pytest.FixtureRequest) -> Iterator[None]:
    """A warning or error logged during a test is a problem the test did not look at: it fails
    the test unless the test declares it with `@pytest.mark.expect_log(pattern, ...)`."""
    collector = _Records()
    root = logging.getLogger()
    root.addHandler(collector)
    try:
        yield
    finally:
        root.removeHandler(collector)
    patterns = [
        re.compile(pattern)
        for marker in request.node.iter_markers("expect_log")
        for pattern in marker.args
    ]
    unexpected = [
        f"{record.levelname} {record.name}: {record.getMessage()}"
        for record in collector.records
        if not any(p.search(f"{record.name}: {record.getMessage()}") for p in patterns)
    ]
    if unexpected:
        pytest.fail(
            "unexpected log records (declare them with @pytest.mark.expect_log):\n"
            + "\n".join(unexpected[:20]),
            pytrace=False,
        )
