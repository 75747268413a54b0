"""The proof that both compilations of a rule decide the same: for generated customers, contracts,
conditions and dates, the customers the SQL expression selects are exactly those for which the
Python predicate over `compute_facts` holds, on SQLite and on PostgreSQL."""
from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from loyalty.engine.awards import add_months
from loyalty.engine.facts import (
    CATALOGUE,
    EVENT_FACTS,
    ContractSnapshot,
    CustomerSnapshot,
    FactType,
    compute_facts,
    summarize_contracts,
)
from loyalty.engine.model import SEGMENTS, AllOf, AnyOf, Comparison, Not, Rule, SourceRef, Then
from loyalty.engine.predicate import compile_predicate
from loyalty.engine.sql import compile_sql
from loyalty.store.fact_columns import (
    fact_columns,
    rules_in_masks,
    select_rule_masks,
    select_rule_matches,
    stream_rows,
)
from loyalty.store.tables import Contract, Customer

HERE = SourceRef("generated.yaml", 1)
Seen = dict[str, tuple]
REGIONS = ("Hà Nội", "Thừa Thiên Huế", "Đà Nẵng", "Hồ Chí Minh", "Ha Noi", "Cần Thơ", "Zalo", "")
TIERS = ("silver", "gold", "platinum", "Kim cương", "Vàng")
LOCALES = ("vi", "en", "zh")
MONEY = (0, 1, 499_999, 500_000, 1_999_999, 2_000_000, 2_000_001, 9_999_999_999)
THRESHOLDS: dict[str, tuple] = {
    "tenure_months": (0, 1, 11, 12, 13, 23, 24, 25, 36, 120),
    "tenure_years": (0, 1, 2, 3, 10),
    "segment": SEGMENTS + ("vip",),
    "region": REGIONS,
    "locale": LOCALES,
    "tier": TIERS,
    "status_points": (0, 999, 1000, 1001, 5000),
    "active_contracts": (0, 1, 2, 3),
    "total_monthly_value": MONEY,
    "contract_value": MONEY,
    "term_months": (1, 11, 12, 13, 24, 36),
    "renewals": (0, 1, 2, 3),
    "event.amount": MONEY,
    "event.outage_hours": (0, 24, 48),
    "event.planned": (True, False),
}
OPERATORS = {
    FactType.INT: ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "between"),
    FactType.TEXT: ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "between"),
    FactType.BOOL: ("eq", "ne", "in", "not_in"),
}
VIETNAMESE = "aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵHĐT "


def value_of(name: str, seen: Seen) -> st.SearchStrategy:
    """Values the customers have (and one either side), the thresholds rules use, or anything."""
    kind = CATALOGUE[name].type
    other = {FactType.INT: st.integers(-3, 200), FactType.TEXT: st.text(VIETNAMESE, max_size=5),
             FactType.BOOL: st.booleans()}[kind]
    choices = [st.sampled_from(THRESHOLDS[name]), other]
    if seen.get(name):
        choices.insert(0, st.sampled_from(seen[name]))
    return st.one_of(choices)


def values_seen(all_facts: list[dict]) -> Seen:
    """Every value each fact takes in a population, integers with their neighbours."""
    seen: dict[str, set] = {}
    for facts in all_facts:
        for name, value in facts.items():
            if value is None:
                continue
            near = {value - 1, value, value + 1} if CATALOGUE[name].type is FactType.INT else {value}
            seen.setdefault(name, set()).update(near)
    return {name: tuple(sorted(values)) for name, values in seen.items()}


@st.composite
def comparisons(draw, seen: Seen) -> Comparison:
    name = draw(st.sampled_from(sorted(CATALOGUE)))
    op = draw(st.sampled_from(OPERATORS[CATALOGUE[name].type]))
    if op in ("in", "not_in"):
        value = tuple(draw(st.lists(value_of(name, seen), max_size=4)))
    elif op == "between":
        value = (draw(value_of(name, seen)), draw(value_of(name, seen)))
    else:
        value = draw(value_of(name, seen))
    return Comparison(name, op, value, HERE)


def conditions(seen: Seen, depth: int = 3) -> st.SearchStrategy:
    """Random trees of all/any/not up to `depth` levels over every fact and operator."""
    if depth == 0:
        return comparisons(seen)
    below = conditions(seen, depth - 1)
    return st.one_of(
        comparisons(seen),
        st.lists(below, max_size=3).map(lambda parts: AllOf(tuple(parts), HERE)),
        st.lists(below, max_size=3).map(lambda parts: AnyOf(tuple(parts), HERE)),
        below.map(lambda part: Not(part, HERE)),
    )


def dates_near(today: date) -> st.SearchStrategy[date]:
    """A start date whole months before `today`, give or take a few days, or anywhere at all."""
    months = st.one_of(st.sampled_from(THRESHOLDS["tenure_months"]), st.integers(-3, 130))
    around = st.builds(lambda m, d: add_months(today, -m) + timedelta(days=d),
                       months, st.sampled_from((0, 0, -1, 1, -2, 2)))
    leap_days = st.sampled_from((date(2016, 2, 29), date(2020, 2, 29), date(2024, 2, 29),
                                 date(2028, 2, 29)))
    return st.one_of(around, leap_days, st.dates(date(2005, 1, 1), date(2035, 12, 31)))


@st.composite
def contracts(draw, customer_id: str, today: date) -> list[ContractSnapshot]:
    count = draw(st.integers(0, 3))
    return [
        ContractSnapshot(
            id=f"{customer_id}-k{i}",
            monthly_value=draw(st.sampled_from(MONEY[:-1])),
            term_months=draw(st.sampled_from(THRESHOLDS["term_months"])),
            start=draw(dates_near(today)),
            renewals=draw(st.integers(0, 3)),
            status=draw(st.sampled_from(("active", "active", "cancelled", "ended"))),
        )
        for i in range(count)
    ]


@st.composite
def customers(draw, number: int, today: date) -> tuple[CustomerSnapshot, list[ContractSnapshot]]:
    customer_id = f"c{number}"
    customer = CustomerSnapshot(
        id=customer_id,
        segment=draw(st.sampled_from(SEGMENTS)),
        customer_since=draw(dates_near(today)),
        region=draw(st.one_of(st.none(), st.sampled_from(REGIONS))),
        locale=draw(st.sampled_from(LOCALES)),
        tier=draw(st.one_of(st.none(), st.sampled_from(TIERS))),
        status_points=draw(st.one_of(st.sampled_from(THRESHOLDS["status_points"]),
                                     st.integers(0, 10**12))),
    )
    return customer, draw(contracts(customer_id, today))


@st.composite
def scenarios(draw):
    month_ends = (date(2028, 2, 29), date(2027, 2, 28), date(2026, 4, 30), date(2026, 12, 31))
    mid_months = (date(2028, 2, 28), date(2026, 3, 15), date(2027, 3, 1), date(2026, 1, 30))
    today = draw(st.one_of(st.dates(date(2020, 1, 1), date(2032, 12, 31)),
                           st.sampled_from(month_ends), st.sampled_from(mid_months)))
    size = draw(st.integers(1, 25))
    population = [draw(customers(n, today)) for n in range(size)]
    seen = values_seen([compute_facts(c, k, today) for c, k in population])
    return today, population, draw(st.lists(conditions(seen), min_size=1, max_size=8))


def save(store, population) -> None:
    with store.transaction() as session:
        session.execute(delete(Contract))
        session.execute(delete(Customer))
        for customer, its_contracts in population:
            row = Customer(id=customer.id, name=f"Công ty {customer.id}", segment=customer.segment,
                           customer_since=customer.customer_since, region=customer.region,
                           locale=customer.locale, tier=customer.tier,
                           status_points=customer.status_points)
            row.apply_contract_summary(summarize_contracts(its_contracts))
            session.add(row)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(scenario=scenarios())
def test_sql_selects_exactly_the_customers_the_python_predicate_matches(store, scenario):
    today, population, generated = scenario
    save(store, population)
    columns = fact_columns(today)
    facts = {c.id: compute_facts(c, k, today) for c, k in population}
    assert sql_facts(store, columns) == {cid: drop_event_facts(f) for cid, f in facts.items()}
    expected = [{cid for cid, f in facts.items() if compile_predicate(c)(f)} for c in generated]
    with store.reading() as session:
        for condition, matching in zip(generated, expected):
            selected = set(session.scalars(select(Customer.id).where(compile_sql(condition, columns))))
            assert selected == matching, condition
        rules = [as_rule(c) for c in generated]
        one_scan = session.execute(select_rule_matches(rules, today)).all()
        masks = {row[0]: row[1:] for row in session.execute(select_rule_masks(rules, today))}
        streamed = {row[0]: row[1:] for row in stream_rows(session.connection(), select_rule_masks(rules, today))}
    assert streamed == masks
    for i, matching in enumerate(expected):
        assert {row.id for row in one_scan if row[i + 1]} == matching, generated[i]
        assert {cid for cid, mask in masks.items() if rules[i] in rules_in_masks(mask, rules)} == matching


def sql_facts(store, columns) -> dict[str, dict]:
    """Every non-event fact as the SQL columns compute it, per customer id."""
    names = [name for name in columns if name not in EVENT_FACTS]
    statement = select(Customer.id, *[columns[name].label(f"f{i}") for i, name in enumerate(names)])
    with store.reading() as session:
        return {row[0]: dict(zip(names, row[1:])) for row in session.execute(statement)}


def drop_event_facts(facts: dict) -> dict:
    return {name: value for name, value in facts.items() if name not in EVENT_FACTS}


def as_rule(condition) -> Rule:
    return Rule(id="generated", programme="p", on="daily", then=Then(), source=HERE, order=1,
                when=condition)
