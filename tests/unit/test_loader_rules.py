"""Programme and rule keys: what loads, and every mistake reported with file, line and rule."""
from __future__ import annotations

from datetime import date

import pytest
from ruletexts import HEADER, only_problem, problems, rule_file, the_rule

from loyalty.engine.loader import load_ruleset_from_texts
from loyalty.engine.model import Limit, SourceRef, Validity

A_RULE = "on: anniversary\nthen: {points: 10}"


def test_a_full_rule_is_loaded_with_every_key():
    rule = the_rule(rule_file("""
        description: Cảm ơn khách hàng hai năm
        on: anniversary
        then: {points: 10}
        once_per: year
        group: anniversary-gift
        priority: -5
        valid: {from: 2026-01-01, until: 2026-12-31}
        clawback_on: contract.cancelled
    """))
    assert (rule.id, rule.programme, rule.on, rule.source) == ("r1", "thanks", "anniversary", SourceRef("a.yaml", 4))
    assert (rule.description, rule.once_per, rule.group, rule.priority) == (
        "Cảm ơn khách hàng hai năm", "year", "anniversary-gift", -5
    )
    assert rule.valid == Validity(date(2026, 1, 1), date(2026, 12, 31))
    assert rule.clawback_on == "contract.cancelled"


def test_a_rule_gets_the_defaults_of_the_language():
    rule = the_rule(rule_file(A_RULE))
    assert (rule.when, rule.once_per, rule.group, rule.priority, rule.valid, rule.clawback_on) == (
        None, "event", None, 0, Validity(), None
    )


def test_a_programme_with_budget_and_cap_is_loaded_with_its_name_in_vietnamese():
    text = HEADER.replace("rules:\n", "budget: {points: 5000000}\ncap: {points: 2000, per: month}\nrules:\n")
    ruleset = load_ruleset_from_texts({"a.yaml": text + "  - id: r1\n    on: daily\n    then: {tier: bac}\n"})
    (programme,) = ruleset.programmes
    assert (programme.id, programme.name, programme.source) == ("thanks", "Tri ân khách hàng", SourceRef("a.yaml", 1))
    assert (programme.budget, programme.cap) == (Limit(5000000, "year"), Limit(2000, "month"))


def test_rules_keep_their_order_across_files():
    ruleset = load_ruleset_from_texts({
        "b.yaml": rule_file(A_RULE, "b1").replace("thanks", "second"),
        "a.yaml": rule_file(A_RULE, "a1") + f"  - id: a2\n    {A_RULE.replace(chr(10), chr(10) + '    ')}\n",
    })
    assert [(rule.id, rule.order) for rule in ruleset.rules] == [("a1", 0), ("a2", 1), ("b1", 2)]


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        (A_RULE + "\nprioriti: 3", 7, "unknown key 'prioriti' in the rule; did you mean 'priority'?"),
        (A_RULE + "\ncolour: red", 7, "unknown key 'colour' in the rule; the keys allowed are id, description, "
                                      "on, when, then, once_per, group, priority, valid, clawback_on"),
        ("then: {points: 10}", 4, "the rule is missing 'on'"),
        ("on: anniversary", 4, "the rule is missing 'then'"),
        ("on: anniversery\nthen: {points: 1}", 5, "'on': 'anniversery' is not an event; did you mean 'anniversary'?"),
        (A_RULE + "\nonce_per: yaer", 7, "'once_per': 'yaer' is not a period; did you mean 'year'?"),
        (A_RULE + "\npriority: high", 7, "'priority' should be a whole number, got text 'high'"),
        (A_RULE + "\npriority: true", 7, "'priority' should be a whole number, got true (yes/no)"),
        (A_RULE + "\ngroup: [a]", 7, "'group' should be text, got a list"),
        (A_RULE + "\ndescription:", 7, "'description' should be text, got nothing"),
        (A_RULE + "\nclawback_on: refund", 7, "'clawback_on': 'refund' is not an event; it should be one of "
                                              "customer.upserted, contract.signed, contract.renewed, contract.cancelled, "
                                              "invoice.paid, service.incident, referral.converted, anniversary, daily"),
        (A_RULE + "\nvalid: {from: 2026-02-30}", 7, "'from' '2026-02-30' is not a date; write it as YYYY-MM-DD"),
        (A_RULE + "\nvalid: {from: 2026-01-01T08:00:00}", 7,
         "'from' should be a date written as YYYY-MM-DD, got the date and time 2026-01-01T08:00:00"),
        (A_RULE + "\nvalid: {from: 2026-12-31, until: 2026-01-01}", 7,
         "'valid' ends on 2026-01-01 before it starts on 2026-12-31"),
        (A_RULE + "\nvalid: {}", 7, "'valid' should give 'from', 'until' or both"),
        (A_RULE + "\nvalid: {start: 2026-01-01}", 7, "unknown key 'start' in 'valid'; the keys allowed are from, until"),
    ],
)
def test_a_mistake_in_a_rule_is_reported_at_its_line_with_the_rule_id(body, line, message):
    problem = only_problem(rule_file(body))
    assert (problem.file, problem.line, problem.rule_id, problem.message) == ("a.yaml", line, "r1", message)


def test_a_misspelt_rules_key_is_suggested_and_the_missing_rules_reported():
    found = problems("programme: p\nname: x\nrule:\n  - {id: r, on: daily, then: {tier: a}}\n")
    assert [(p.line, p.message) for p in found] == [
        (1, "the programme is missing 'rules'"),
        (3, "unknown key 'rule' in the programme; did you mean 'rules'?"),
    ]


def test_a_quoted_date_is_accepted_too():
    rule = the_rule(rule_file(A_RULE + "\nvalid: {until: '2026-06-30'}"))
    assert rule.valid == Validity(None, date(2026, 6, 30))


def test_a_rule_without_an_id_is_reported_without_a_rule_label():
    problem = only_problem(HEADER + "  - on: daily\n    then: {tier: bac}\n")
    assert (problem.line, problem.rule_id, problem.message) == (4, None, "the rule is missing 'id'")


def test_a_badly_written_rule_id_still_labels_the_rule_problems():
    found = problems(rule_file("on: dayly\nthen: {tier: bac}", rule_id="Second Anniversary"))
    assert [(p.line, p.rule_id) for p in found] == [(4, "Second Anniversary"), (5, "Second Anniversary")]
    assert found[0].message.startswith("the rule id 'Second Anniversary' should use only lower-case letters")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("name: x\nrules:\n  - {id: r, on: daily, then: {tier: a}}\n", 1, "the programme is missing 'programme'"),
        ("programme: Thanks\nname: x\nrules:\n  - {id: r, on: daily, then: {tier: a}}\n", 1,
         "'programme' 'Thanks' should use only lower-case letters, digits and hyphens, such as 'second-anniversary'"),
        ("programme: p\nrules:\n  - {id: r, on: daily, then: {tier: a}}\n", 1, "the programme is missing 'name'"),
        ("programme: p\nname: x\n", 1, "the programme is missing 'rules'"),
        ("programme: p\nname: x\nrules: []\n", 3, "'rules' should not be an empty list"),
        ("programme: p\nname: ''\nrules:\n  - {id: r, on: daily, then: {tier: a}}\n", 2, "'name' should not be empty"),
        ("programme: p\nname: x\nbudget: {points: 0}\nrules:\n  - {id: r, on: daily, then: {tier: a}}\n", 3,
         "'points' in 'budget' should be more than 0, got 0"),
        ("programme: p\nname: x\ncap: {points: 10, per: week}\nrules:\n  - {id: r, on: daily, then: {tier: a}}\n", 3,
         "'per' in 'cap': 'week' is not a period; it should be one of year, month, programme"),
        ("programme: p\nname: x\nbudget: 100\nrules:\n  - {id: r, on: daily, then: {tier: a}}\n", 3,
         "'budget' should be a mapping of keys to values, got the number 100"),
        ("- programme: p\n", 1, "a programme file should be a mapping of keys to values, got a list"),
        ("programme: p\nname: x\nrules:\n  - r1\n", 4, "a rule should be a mapping of keys to values, got text 'r1'"),
    ],
)
def test_a_mistake_in_a_programme_is_reported_at_its_line(text, line, message):
    problem = only_problem(text)
    assert (problem.file, problem.line, problem.rule_id, problem.message) == ("a.yaml", line, None, message)
