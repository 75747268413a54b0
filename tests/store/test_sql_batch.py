"""The batch path: fact columns at a date, the customers a rule selects, many rules in one scan."""
from __future__ import annotations

from datetime import date

from rulebuilders import all_of, fact, not_, rule
from sqlalchemy import select, update

from loyalty.engine.facts import ContractSnapshot, months_between, summarize_contracts
from loyalty.engine.predicate import compile_predicate
from loyalty.engine.sql import compile_sql
from loyalty.store.fact_columns import (
    fact_columns,
    fact_thresholds,
    is_anniversary,
    rules_in_masks,
    select_matching_customers,
    select_rule_masks,
    select_rule_matches,
    stream_rows,
)
from loyalty.store.tables import Customer

STARTS = (date(2024, 1, 31), date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1),
          date(2024, 3, 30), date(2024, 3, 31), date(2025, 1, 15), date(2025, 2, 28),
          date(2026, 3, 14), date(2026, 3, 15), date(2026, 3, 16), date(2027, 1, 1))
TODAYS = (date(2025, 2, 28), date(2026, 2, 28), date(2028, 2, 28), date(2028, 2, 29),
          date(2026, 3, 14), date(2026, 3, 15), date(2026, 3, 31), date(2026, 4, 30),
          date(2026, 1, 30), date(2029, 12, 31))


def add_customers(store, *customers: Customer) -> None:
    with store.transaction() as session:
        session.add_all(customers)


def customer(cid: str, since: date, segment: str = "sme", region: str | None = None,
             tier: str | None = None, contracts: tuple[ContractSnapshot, ...] = ()) -> Customer:
    row = Customer(id=cid, name=f"Khách hàng {cid}", segment=segment, customer_since=since,
                   region=region, tier=tier, locale="vi")
    row.apply_contract_summary(summarize_contracts(contracts))
    return row


def ids(store, statement) -> set[str]:
    with store.reading() as session:
        return set(session.scalars(statement))


def test_sql_tenure_counts_whole_months_like_python_around_month_ends_and_leap_days(store):
    add_customers(store, *(customer(f"c{i}", since) for i, since in enumerate(STARTS)))
    for today in TODAYS:
        columns = fact_columns(today)
        statement = select(Customer.customer_since, columns["tenure_months"], columns["tenure_years"])
        with store.reading() as session:
            for since, months, years in session.execute(statement):
                expected = months_between(since, today)
                assert (months, years) == (expected, expected // 12), (since, today)


def test_the_tenure_threshold_test_agrees_with_python_for_every_operator(store):
    add_customers(store, *(customer(f"c{i}", since) for i, since in enumerate(STARTS)))
    for today in TODAYS:
        thresholds = fact_thresholds(today)
        tests = [(name, op, value) for name in ("tenure_months", "tenure_years")
                 for op in ("eq", "ne", "gt", "gte", "lt", "lte") for value in range(-1, 40, 3)]
        tests += [("tenure_months", "between", (12, 24)), ("tenure_years", "in", (0, 2)),
                  ("tenure_months", "not_in", (11, 12, 13))]
        labelled = [compile_sql(fact(*test), {}, thresholds).label(f"t{i}") for i, test in enumerate(tests)]
        with store.reading() as session:
            for since, *outcomes in session.execute(select(Customer.customer_since, *labelled)):
                months = months_between(since, today)
                facts = {"tenure_months": months, "tenure_years": months // 12}
                expected = [compile_predicate(fact(*test))(facts) for test in tests]
                assert [bool(o) for o in outcomes] == expected, (since, today)


def test_a_rule_selects_the_customers_its_condition_holds_for(store):
    k = ContractSnapshot("k1", monthly_value=2_500_000, term_months=24, start=date(2023, 1, 1),
                         renewals=1)
    add_customers(
        store,
        customer("an-phat", date(2023, 1, 10), region="Hà Nội", contracts=(k,)),
        customer("hue", date(2023, 1, 10), region="Thừa Thiên Huế", contracts=(k,)),
        customer("new", date(2025, 6, 1), region="Hà Nội", contracts=(k,)),
        customer("home", date(2020, 1, 1), segment="home", region="Hà Nội"),
    )
    loyal_north = rule("north", when=all_of(fact("tenure_months", "gte", 24),
                                            fact("region", "in", ["Hà Nội", "Đà Nẵng"]),
                                            fact("renewals", "gte", 1)))
    assert ids(store, select_matching_customers(loyal_north, date(2026, 3, 15))) == {"an-phat"}


def test_event_facts_have_no_value_in_the_batch(store):
    add_customers(store, customer("a", date(2020, 1, 1)), customer("b", date(2021, 1, 1)))
    today = date(2026, 3, 15)
    assert ids(store, select_matching_customers(rule("r", when=fact("event.amount", "gte", 0)),
                                                today)) == set()
    planned = rule("r", when=not_(fact("event.planned", "eq", True)))
    assert ids(store, select_matching_customers(planned, today)) == {"a", "b"}
    assert ids(store, select_matching_customers(rule("always"), today)) == {"a", "b"}


def test_many_rules_are_evaluated_in_one_scan_with_one_column_per_rule(store):
    add_customers(store, customer("gold", date(2020, 3, 15), tier="gold"),
                  customer("plain", date(2024, 3, 15)),
                  customer("not-today", date(2020, 3, 16), tier="gold"))
    rules = [rule("gold", when=fact("tier", "eq", "gold")),
             rule("not-gold", when=not_(fact("tier", "eq", "gold"))),
             rule("five-years", when=fact("tenure_years", "gte", 5))]
    today = date(2026, 3, 15)
    with store.reading() as session:
        rows = {row.id: tuple(bool(v) for v in row[1:])
                for row in session.execute(select_rule_matches(rules, today, is_anniversary(today)))}
    assert rows == {"gold": (True, False, True), "plain": (False, True, False)}


def test_anniversaries_fall_on_the_same_day_and_leap_day_customers_on_28_february(store):
    add_customers(store, customer("leap", date(2024, 2, 29)), customer("feb28", date(2023, 2, 28)),
                  customer("this-year", date(2025, 2, 28)), customer("march", date(2024, 3, 1)))
    everyone = select(Customer.id)
    assert ids(store, everyone.where(is_anniversary(date(2025, 2, 28)))) == {"leap", "feb28"}
    assert ids(store, everyone.where(is_anniversary(date(2026, 2, 28)))) == {
        "leap", "feb28", "this-year"}
    assert ids(store, everyone.where(is_anniversary(date(2028, 2, 28)))) == {"feb28", "this-year"}
    assert ids(store, everyone.where(is_anniversary(date(2028, 2, 29)))) == {"leap"}
    assert ids(store, everyone.where(is_anniversary(date(2025, 3, 1)))) == {"march"}


def test_rule_masks_carry_one_bit_per_rule_even_past_62_rules(store):
    add_customers(store, customer("gold", date(2020, 3, 15), tier="gold"),
                  customer("plain", date(2024, 3, 15)))
    rules = [rule(f"r{i}", when=fact("tier", "eq", "gold") if i % 2 else not_(fact("tier", "eq", "gold")))
             for i in range(70)]
    with store.reading() as session:
        rows = {row[0]: tuple(row[1:]) for row in session.execute(select_rule_masks(rules, date(2026, 3, 15)))}
    assert [r.id for r in rules_in_masks(rows["gold"], rules)] == [f"r{i}" for i in range(1, 70, 2)]
    assert [r.id for r in rules_in_masks(rows["plain"], rules)] == [f"r{i}" for i in range(0, 70, 2)]
    assert len(rows["gold"]) == 2


def test_the_database_keeps_since_key_from_the_start_date_through_updates(store):
    add_customers(store, customer("leap", date(2024, 2, 29)), customer("new-year", date(2025, 1, 1)))
    with store.transaction() as session:
        session.get(Customer, "new-year").customer_since = date(2023, 12, 31)
        session.execute(update(Customer).where(Customer.id == "leap").values(since_day=28))
    with store.reading() as session:
        rows = session.execute(select(Customer.id, Customer.since_month_index, Customer.since_day,
                                      Customer.__table__.c.since_key)).all()
    assert {cid: key for cid, _, _, key in rows} == {cid: index * 32 + day for cid, index, day, _ in rows}
    assert {cid: key for cid, _, _, key in rows} == {"leap": (2024 * 12 + 1) * 32 + 28,
                                                     "new-year": (2023 * 12 + 11) * 32 + 31}


def test_streamed_rows_are_the_rows_the_statement_selects(store):
    add_customers(store, *(customer(f"c{i:02d}", since, tier=("gold", None)[i % 2], region="Hà Nội")
                           for i, since in enumerate(STARTS)))
    rules = [rule("gold", when=fact("tier", "eq", "gold")),
             rule("north-two-years", when=all_of(fact("region", "in", ["Hà Nội", "Huế"]),
                                                 fact("tenure_months", "gte", 24))),
             rule("not-gold", when=not_(fact("tier", "in", ["gold"])))]
    statement = select_rule_masks(rules, date(2026, 3, 15)).order_by(Customer.id)
    with store.reading() as session:
        expected = [tuple(row) for row in session.execute(statement)]
        assert list(stream_rows(session.connection(), statement, batch=5)) == expected
        assert len(expected) == len(STARTS) and any(row[1] for row in expected)
