"""Every catalogue fact as a SQL expression over the `customers` row, and the batch selects.

The nightly batch asks "which customers does this rule match today?" of the whole table at once.
The customer row carries the tenure columns and the contract summary (docs/decisions.md §4), so
each fact is a column or integer arithmetic on literals of `today`; event facts are NULL (there
is no event in a batch). `loyalty.engine.sql` turns a rule into a predicate over these columns.
"""
from __future__ import annotations

import functools
import operator
from datetime import date
from typing import Any, Callable, Iterator, Sequence

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    false,
    literal,
    null,
    or_,
    select,
    true,
)

from loyalty.engine.facts import CATALOGUE, EVENT_FACTS, is_last_day_of_month
from loyalty.engine.model import Rule
from loyalty.engine.sql import batch_matches, compile_sql_choice
from loyalty.store.tables import Customer
from loyalty.store.tables.customers import SINCE_KEY_DAYS

MONTHS_PER_YEAR = 12
DAYS_KEY = SINCE_KEY_DAYS
"""`Customer.since_key` is since_month_index * 32 + since_day: it orders start dates."""
MAX_TENURE_MONTHS = 12 * 10_000
MASK_BITS = 62
"""Rules per mask column: a signed 64-bit integer on both databases, sign bit left alone."""


def month_index(day: date) -> int:
    """year * 12 + month - 1: the unit of `Customer.since_month_index`."""
    return day.year * MONTHS_PER_YEAR + day.month - 1


def tenure_months_column(today: date) -> ColumnElement[int]:
    """`facts.months_between(customer_since, today)` in SQL: whole months, month-end aware, >= 0.

    `today` is a Python value, so whether it is a month's last day (on which every started month
    counts as complete) is decided here and only the customer's columns are left to SQL.
    """
    customers = Customer.__table__.c
    months = literal(month_index(today)) - customers.since_month_index
    if is_last_day_of_month(today):
        return case((customers.since_month_index >= month_index(today), 0), else_=months)
    return case(
        (customers.since_month_index >= month_index(today), 0),
        (customers.since_day > today.day, months - 1),
        else_=months,
    )


def tenure_at_least(today: date, months: int) -> ColumnElement[bool]:
    """tenure_months >= `months` on `today` as one integer comparison on the start date.

    For months >= 1 the tenure is at least `months` exactly when the start (month index, day)
    is on or before (today's index - months, today's day), every day counting on a month's last:
    one comparison on the stored `since_key` (12% off a 50-rule scan against computing it).
    """
    if months <= 0:
        return true()
    if months > MAX_TENURE_MONTHS:
        return false()
    day = DAYS_KEY - 1 if is_last_day_of_month(today) else today.day
    return Customer.__table__.c.since_key <= (month_index(today) - months) * DAYS_KEY + day


def fact_thresholds(today: date) -> dict[str, Callable[[int], ColumnElement[bool]]]:
    """The cheap "fact >= k" tests `loyalty.engine.sql.compile_sql` may use instead of columns."""
    return {"tenure_months": lambda k: tenure_at_least(today, k),
            "tenure_years": lambda k: tenure_at_least(today, k * MONTHS_PER_YEAR)}


def tenure_years_column(today: date) -> ColumnElement[int]:
    """Whole years of tenure; tenure is never negative, so integer division floors on both databases."""
    return tenure_months_column(today) // MONTHS_PER_YEAR


def fact_columns(today: date) -> dict[str, ColumnElement[Any]]:
    """The SQL expression of every catalogue fact for each customer row on local date `today`."""
    customers = Customer.__table__.c
    columns: dict[str, ColumnElement[Any]] = {
        "tenure_months": tenure_months_column(today),
        "tenure_years": tenure_years_column(today),
        "segment": customers.segment,
        "region": customers.region,
        "locale": customers.locale,
        "tier": customers.tier,
        "status_points": customers.status_points,
        "active_contracts": customers.active_contracts,
        "total_monthly_value": customers.total_monthly_value,
        "contract_value": customers.main_contract_value,
        "term_months": customers.main_term_months,
        "renewals": customers.main_renewals,
    }
    columns.update({name: null() for name in EVENT_FACTS})
    assert columns.keys() == CATALOGUE.keys(), "a catalogue fact has no SQL column"
    return columns


def select_matching_customers(rule: Rule, today: date, where: ColumnElement[bool] | None = None) -> Select:
    """The ids of the customers a rule's condition holds for on `today` (optionally among `where`)."""
    statement = select(Customer.id).where(batch_matches(rule, fact_columns(today), fact_thresholds(today)))
    return statement if where is None else statement.where(where)


def select_rule_matches(
    rules: Sequence[Rule], today: date, where: ColumnElement[bool] | None = None
) -> Select:
    """One scan, many rules: each row is a customer id, then one boolean per rule, in `rules` order.

    Columns are labelled `rule_0`, `rule_1`, ... (rule ids may be longer than a column name may).
    """
    columns = fact_columns(today)
    thresholds = fact_thresholds(today)
    matches = [batch_matches(rule, columns, thresholds).label(f"rule_{i}") for i, rule in enumerate(rules)]
    statement = select(Customer.id, *matches)
    return statement if where is None else statement.where(where)


def select_rule_masks(
    rules: Sequence[Rule], today: date, where: ColumnElement[bool] | None = None
) -> Select:
    """One scan, many rules, two columns: the customer id and a bit mask of the rules that match.

    Bit i of `mask_0` is `rules[i]`; past 62 rules the next 62 go to `mask_1`, and so on. Fetching
    one integer per customer instead of one boolean per rule is what keeps the nightly scan fast.
    Each rule's term chooses its bit or 0 inside its own condition (`compile_sql_choice`).
    """
    columns, thresholds = fact_columns(today), fact_thresholds(today)
    masks = []
    zero = literal(0, BigInteger)
    for first in range(0, max(len(rules), 1), MASK_BITS):
        terms = [compile_sql_choice(rule.when, columns, literal(1 << bit, BigInteger), zero, thresholds)
                 for bit, rule in enumerate(rules[first:first + MASK_BITS])]
        masks.append(functools.reduce(operator.add, terms, literal(0, BigInteger)).label(
            f"mask_{first // MASK_BITS}"))
    statement = select(Customer.id, *masks)
    return statement if where is None else statement.where(where)


def stream_rows(connection: Connection, statement: Select, batch: int = 20_000) -> Iterator[tuple]:
    """The rows of a scan such as `select_rule_masks`, as plain tuples, read `batch` rows at a time.

    Straight from the driver's cursor, in the connection's transaction: a million-row scan then
    costs the client a tuple per row, not SQLAlchemy's Row (its Row cost three times what the
    query did; measured in bench/engine.py). psycopg streams in chunks (libpq's chunked mode), so
    PostgreSQL may still scan in parallel, which a server-side cursor forbids. Only for
    statements whose parameters need no conversion (integers, text): otherwise, and for other
    drivers, it reads through SQLAlchemy with `yield_per`.
    """
    dialect = connection.dialect
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    plain = all(bind.type.bind_processor(dialect) is None for bind in compiled.binds.values())
    driver = dialect.driver
    if not plain or driver not in ("pysqlite", "psycopg"):
        for partition in connection.execution_options(yield_per=batch).execute(statement).partitions():
            yield from (tuple(row) for row in partition)
        return
    params = compiled.construct_params()
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        if driver == "psycopg":
            yield from cursor.stream(compiled.string, params, size=batch)
            return
        cursor.arraysize = batch
        cursor.execute(compiled.string, tuple(params[name] for name in compiled.positiontup))
        while rows := cursor.fetchmany():
            yield from rows
    finally:
        cursor.close()


def rules_in_masks(masks: Sequence[int], rules: Sequence[Rule]) -> list[Rule]:
    """The rules whose bits are set in a row's masks, in `rules` order."""
    return [rule for i, rule in enumerate(rules) if masks[i // MASK_BITS] >> (i % MASK_BITS) & 1]


def is_anniversary(today: date) -> ColumnElement[bool]:
    """Customers whose yearly anniversary is `today`, a full year or more after they started.

    A customer since 29 February celebrates on 28 February in years without one.
    """
    customers = Customer.__table__.c
    same_day = customers.since_day == today.day
    if today.month == 2 and today.day == 28 and is_last_day_of_month(today):
        same_day = or_(same_day, customers.since_day == 29)
    started_a_year_ago = customers.since_month_index <= month_index(today) - MONTHS_PER_YEAR
    return and_(customers.since_month == today.month, same_day, started_a_year_ago)
