"""The log guard fails a test on a warning it did not expect, and lets declared ones through."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

TESTS = """
import logging

import pytest

log = logging.getLogger("needle.demo")


def test_quiet() -> None:
    log.info("fine")


def test_surprised() -> None:
    log.warning("the disk is on fire")


@pytest.mark.expect_log("disk is on fire")
def test_expects_it() -> None:
    log.warning("the disk is on fire")


@pytest.mark.expect_log("something else")
def test_expects_another() -> None:
    log.error("the disk is on fire")
"""


# The inner run shares this process's logging: its records reach this test's guard too.
@pytest.mark.expect_log("needle.demo: the disk is on fire")
def test_unexpected_warnings_fail_and_declared_ones_pass(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_demo=TESTS)
    result = pytester.runpytest("-p", "tests.helpers.log_guard", "-q")
    result.assert_outcomes(passed=4, errors=2)
    result.stdout.fnmatch_lines(["*WARNING needle.demo: the disk is on fire*"])
