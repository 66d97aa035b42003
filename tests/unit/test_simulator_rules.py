"""The simulated network's own rules: who is a user, throughput per number, the pair rate limit, and
Meta's policy (windows, templates, messaging limits, marketing caps and stops) from its own state."""

from __future__ import annotations

from typing import Any

import pytest

from wagate.upstreams.simulator.network import PAIR_BURST, PAIR_INTERVAL, RULES, Faults, NetworkRules
from wagate.upstreams.simulator.policy import DAY, Admission, Policy, Refusal, expected_template


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


# -- Meta's policy, as the simulated network keeps it ----------------------------------------------
NUMBER, WABA = 11, 21
CUSTOMER = "79161234567"
T0 = 1_700_000_000.0

ORDER_SHIPPED = [
    {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"},
    {"type": "BODY", "text": "Hi {{1}}, order {{2}} has shipped."},
]
PROMO = [{"type": "BODY", "text": "This week only: {{1}} off."}]
NAMED = [{"type": "BODY", "text": "Hi {{first_name}}, your code is {{code}}."}]


def text(to: str = CUSTOMER) -> dict[str, Any]:
    return {"to": to, "type": "text", "text": {"body": "Hello"}}


def template(
    name: str, *body: str, header: list[str] | None = None, language: str = "en_US"
) -> dict[str, Any]:
    components: list[dict[str, Any]] = [
        {"type": "body", "parameters": [{"type": "text", "text": v} for v in body]}
    ]
    if header is not None:
        components.append({"type": "header", "parameters": [{"type": "text", "text": v} for v in header]})
    return {
        "type": "template",
        "template": {"name": name, "language": {"code": language}, "components": components},
    }


def policy_with_templates(**statuses: str) -> Policy:
    policy = Policy(marketing_per_user_day=2)
    known = {"order_shipped": ("UTILITY", ORDER_SHIPPED), "promo": ("MARKETING", PROMO)}
    for i, (name, (category, components)) in enumerate(known.items()):
        status = statuses.get(name, "APPROVED")
        policy.sync_template(
            expected_template(100 + i, WABA, name, "en_US", status, category, "positional", components)
        )
    return policy


def admit(
    policy: Policy, payload: dict[str, Any], to: str = CUSTOMER, now: float = T0
) -> Admission | Refusal:
    return policy.admit(NUMBER, WABA, to, payload, now, is_user=True)


def refusal(outcome: Admission | Refusal) -> tuple[str, int] | None:
    """The rule and code a send broke, synchronously or as its later failure; None if delivered."""
    if isinstance(outcome, Refusal):
        return outcome.rule, outcome.code
    return None if outcome.failure is None else (outcome.failure.rule, outcome.failure.code)


def test_free_form_needs_the_customers_window() -> None:
    policy = Policy(marketing_per_user_day=2)
    assert refusal(admit(policy, text())) == ("window", 131047)
    policy.customer_wrote(NUMBER, CUSTOMER, T0)
    assert refusal(admit(policy, text(), now=T0 + DAY - 1)) is None
    assert refusal(admit(policy, text(), now=T0 + DAY)) == ("window", 131047)
    # The window belongs to the business number the customer wrote to.
    assert isinstance(policy.admit(NUMBER + 1, WABA, CUSTOMER, text(), T0, True), Refusal)
    policy.customer_wrote(NUMBER, CUSTOMER, T0 + DAY)
    assert refusal(admit(policy, text(), now=T0 + DAY + 60)) is None


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("PENDING", 132001),
        ("REJECTED", 132001),
        ("PENDING_DELETION", 132001),
        ("DELETED", 132001),
        ("PAUSED", 132015),
        ("DISABLED", 132016),
    ],
)
def test_a_template_that_is_not_approved_is_refused(status: str, code: int) -> None:
    policy = policy_with_templates(order_shipped=status)
    assert refusal(admit(policy, template("order_shipped", "Anna", "A-1", header=["A-1"]))) == (
        "template",
        code,
    )


def test_unknown_forgotten_or_other_language_templates_do_not_exist() -> None:
    policy = policy_with_templates()
    good = template("order_shipped", "Anna", "A-1", header=["A-1"])
    assert refusal(admit(policy, good)) is None
    assert refusal(admit(policy, template("nope"))) == ("template", 132001)
    assert refusal(
        admit(policy, template("order_shipped", "Anna", "A-1", header=["A-1"], language="ru"))
    ) == (
        "template",
        132001,
    )
    assert policy.template_account(100) == WABA
    assert policy.template_ids(WABA, "order_shipped") == [100]
    policy.forget_template(WABA + 1, 100)  # another account's id: nothing happens
    assert refusal(admit(policy, good)) is None
    policy.forget_template(WABA, 100)
    assert refusal(admit(policy, good)) == ("template", 132001)
    assert policy.template_account(100) is None


def test_parameters_must_match_the_templates_variables() -> None:
    policy = policy_with_templates()
    assert refusal(admit(policy, template("order_shipped", "Anna", header=["A-1"]))) == ("template", 132000)
    assert refusal(admit(policy, template("order_shipped", "Anna", "A-1", "x", header=["A-1"]))) == (
        "template",
        132000,
    )
    assert refusal(admit(policy, template("order_shipped", "Anna", "A-1"))) == ("template", 132000)
    assert refusal(admit(policy, template("order_shipped", "Anna", "A-1", header=["A-1"]))) is None


def test_named_parameters_must_name_the_templates_variables() -> None:
    policy = Policy(marketing_per_user_day=2)
    policy.sync_template(expected_template(7, WABA, "code", "en", "APPROVED", "UTILITY", "named", NAMED))

    def named(*names: str) -> dict[str, Any]:
        parameters = [{"type": "text", "parameter_name": n, "text": "x"} for n in names]
        return {
            "type": "template",
            "template": {
                "name": "code",
                "language": {"code": "en"},
                "components": [{"type": "body", "parameters": parameters}],
            },
        }

    assert refusal(admit(policy, named("first_name", "code"))) is None
    assert refusal(admit(policy, named("first_name", "coupon"))) == ("template", 132000)
    assert refusal(admit(policy, named("first_name"))) == ("template", 132000)


def test_a_new_account_reaches_250_customers_a_day_outside_windows() -> None:
    policy = policy_with_templates()
    send = template("order_shipped", "Anna", "A-1", header=["A-1"])
    customers = [f"7916{i:07d}" for i in range(251)]
    for i, customer in enumerate(customers[:250]):
        assert refusal(admit(policy, send, to=customer, now=T0 + i)) is None
    assert refusal(admit(policy, send, to=customers[250], now=T0 + 300)) == ("tier", 131049)
    # A customer already reached this day is not a new one.
    assert refusal(admit(policy, send, to=customers[0], now=T0 + 301)) is None
    # One inside their window does not count.
    policy.customer_wrote(NUMBER, customers[250], T0 + 302)
    assert refusal(admit(policy, send, to=customers[250], now=T0 + 303)) is None
    # A day after the first customer was last reached, their place is free again.
    assert refusal(admit(policy, send, to="79169999999", now=T0 + 301 + DAY)) is None


def test_the_messaging_limit_is_what_the_account_was_told() -> None:
    policy = policy_with_templates()
    send = template("order_shipped", "Anna", "A-1", header=["A-1"])
    policy.sync_account(WABA, 2)
    outcomes = [refusal(admit(policy, send, to=f"7916{i:07d}")) for i in range(3)]
    assert outcomes == [None, None, ("tier", 131049)]
    policy.sync_account(WABA, None)
    assert all(refusal(admit(policy, send, to=f"7917{i:07d}")) is None for i in range(300))


def test_marketing_per_customer_is_capped_across_accounts() -> None:
    policy = policy_with_templates()
    policy.sync_template(
        expected_template(900, WABA + 1, "promo", "en_US", "APPROVED", "MARKETING", "positional", PROMO)
    )
    promo = template("promo", "20%")
    assert refusal(admit(policy, promo, now=T0)) is None
    assert refusal(policy.admit(NUMBER + 1, WABA + 1, CUSTOMER, promo, T0 + 1, True)) is None
    assert refusal(admit(policy, promo, now=T0 + 2)) == ("marketing_limit", 131049)
    # Utility templates are not capped; other customers have their own count.
    assert (
        refusal(admit(policy, template("order_shipped", "Anna", "A-1", header=["A-1"]), now=T0 + 3)) is None
    )
    assert refusal(admit(policy, promo, to="79160000001", now=T0 + 4)) is None
    # Inside a window the customer opened, marketing does not count.
    policy.customer_wrote(NUMBER, CUSTOMER, T0 + 5)
    assert refusal(admit(policy, promo, now=T0 + 6)) is None
    assert refusal(admit(policy, promo, now=T0 + DAY + 1)) is None


def test_marketing_is_not_delivered_to_us_numbers() -> None:
    policy = policy_with_templates()
    us, canada = "12025550123", "16135550123"
    assert refusal(admit(policy, template("promo", "20%"), to=us)) == ("us_marketing", 131049)
    assert refusal(admit(policy, template("promo", "20%"), to=canada)) is None
    assert refusal(admit(policy, template("order_shipped", "Anna", "A-1", header=["A-1"]), to=us)) is None


def test_a_customer_who_stopped_marketing_gets_none_until_they_resume() -> None:
    policy = policy_with_templates()
    policy.set_marketing_stopped(WABA, CUSTOMER, True)
    assert refusal(admit(policy, template("promo", "20%"))) == ("opted_out", 131050)
    assert refusal(admit(policy, template("order_shipped", "Anna", "A-1", header=["A-1"]))) is None
    # The stop is per business account.
    policy.sync_template(
        expected_template(900, WABA + 1, "promo", "en_US", "APPROVED", "MARKETING", "positional", PROMO)
    )
    assert refusal(policy.admit(NUMBER + 1, WABA + 1, CUSTOMER, template("promo", "20%"), T0, True)) is None
    policy.set_marketing_stopped(WABA, CUSTOMER, False)
    assert refusal(admit(policy, template("promo", "20%"))) is None


def test_refusals_are_counted_by_rule() -> None:
    rules = NetworkRules()
    assert set(rules.refusals) == set(RULES) and not any(rules.refusals.values())
    rules.refuse("window")
    assert rules.refusals["window"] == 1
    assert rules.refused_throughput == 0
