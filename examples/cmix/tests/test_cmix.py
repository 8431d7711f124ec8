"""The installed cmix wheel: C threads, libm and a C++ thread_local all work."""

import math

import pytest

import cmix


def test_parallel_sum() -> None:
    assert cmix.parallel_sum(1_000_003) == sum(range(1_000_003))
    assert cmix.parallel_sum(0) == 0


@pytest.mark.parametrize("x", [0.5, 1.0, 2.0, 10.0])
def test_log_pow_exp(x: float) -> None:
    expected = math.log(x) + x**1.5 + math.exp(x / 10.0)
    assert cmix.log_pow_exp(x) == pytest.approx(expected, rel=1e-12)


def test_thread_local_counter() -> None:
    assert cmix.thread_local_counter(1000) == 1000
    assert cmix.thread_local_counter(0) == 0
