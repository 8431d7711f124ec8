"""The installed versioned wheel works on the interpreter it was built for."""

import sys

import versioned


def test_python_version() -> None:
    assert versioned.python_version() == sys.version_info[:2]


def test_fib() -> None:
    a, b = 0, 1
    for _ in range(90):
        a, b = b, a + b
    assert versioned.fib(90) == a
    assert versioned.fib(0) == 0
