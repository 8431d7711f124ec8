"""The installed hello_abi3 wheel works."""

import hello_abi3


def test_add() -> None:
    assert hello_abi3.add(2, 40) == 42
    assert hello_abi3.add(-5, 5) == 0


def test_greet() -> None:
    assert hello_abi3.greet("zig") == "Hello, zig!"


def test_thread_sum() -> None:
    assert hello_abi3.sum_on_thread(1000) == sum(range(1000))


def test_version() -> None:
    assert hello_abi3.__version__ == "0.1.0"
