"""The simulated network's own rules: who is a user, throughput per number, the pair rate limit."""

from __future__ import annotations

import pytest

from wagate.upstreams.simulator.network import PAIR_BURST, PAIR_INTERVAL, Faults, NetworkRules


def test_users_are_valid_mobiles_outside_the_test_range() -> None:
    rules = NetworkRules()
    assert rules.is_user("79161234567")
    assert not rules.is_user("79161230000")
    assert not rules.is_user("74955550100")  # a landline
    assert not rules.is_user("123")


def test_throughput_is_a_sliding_second() -> None:
    rules = NetworkRules()
    assert all(rules.take_throughput(1, 10, 0.0 + i * 0.01) for i in range(10))
    assert not rules.take_throughput(1, 10, 0.5)
    assert rules.take_throughput(2, 10, 0.5)  # other numbers have their own window
    assert rules.take_throughput(1, 10, 1.001)
    assert rules.refused_throughput == 1


def test_pair_rate_allows_a_burst_then_one_per_interval() -> None:
    rules = NetworkRules()
    assert all(rules.take_pair(1, "79161234567", 0.0) for _ in range(PAIR_BURST))
    assert not rules.take_pair(1, "79161234567", 0.0)
    assert rules.take_pair(1, "79160000001", 0.0)
    assert rules.take_pair(1, "79161234567", PAIR_INTERVAL)


def test_faults_are_probabilities() -> None:
    faults = Faults()
    faults.update({"server_error": 0.5})
    assert faults.server_error == 0.5
    with pytest.raises(ValueError):
        faults.update({"server_error": 2})
    with pytest.raises(ValueError):
        faults.update({"meteor": 0.1})
