"""The nightly scan's SQL: a customer row's candidate awards for one time event, as bit masks.

A rule's bit is set in its customer's mask where the rule's condition holds (`select_rule_masks`).
Most of a night's rules need no Python to be decided further: their award is fixed (no fact in
its amount, not once per contract), so within a precedence slot (a group, or an ungrouped rule
alone) the database can pick the winner itself, with one CASE in rank order, and ask whether the
customer already has that award with one probe of `UNIQUE(customer_id, rule_id, once_key)`.
Such a "folded" slot sets a bit only for a winner the customer does not have yet: on an ordinary
night almost every row comes back all zeros (its tier given this year, no anniversary), and
Python skips it at once. The other slots keep a bit per matching rule and a mask of the awards
already given (`given_masks`), and Python applies precedence as before.

The statement is compiled once per phase and run per chunk straight on the DBAPI cursor of the
caller's transaction (`CompiledScan`): building and compiling it per chunk, and SQLAlchemy's Row
per customer, cost more than the scan of a million customers itself.
"""
from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from sqlalchemy import BigInteger, ColumnElement, Connection, Select, case, func, literal, select

from loyalty.engine.model import Rule
from loyalty.engine.sql import compile_sql, compile_sql_choice
from loyalty.store.fact_columns import MASK_BITS
from loyalty.store.tables import Award, Customer


@dataclass(frozen=True)
class Slot:
    """Rules that compete for one award (a group, best first), or one ungrouped rule alone."""

    members: tuple[int, ...]
    folded: bool
    """Whether the database picks the winner and checks it is new (every member's award fixed)."""


def candidate_masks(rules: Sequence[Rule], slots: Sequence[Slot], keys: Sequence[tuple[str, str] | None],
                    columns: Mapping[str, ColumnElement[Any]], thresholds: Mapping) -> list[ColumnElement[int]]:
    """One BIGINT per `MASK_BITS` rules: folded slots set their new winner's bit, the others every match."""
    terms: list[list[ColumnElement[int]]] = [[] for _ in range(max(1, -(-len(rules) // MASK_BITS)))]
    zero = literal(0, BigInteger)
    for slot in slots:
        column = slot.members[0] // MASK_BITS if slot.members else 0
        if slot.folded:
            values = [_unless_given(_bit(i), keys[i]) for i in slot.members]
            if len(slot.members) == 1:
                term = compile_sql_choice(rules[slot.members[0]].when, columns, values[0], zero, thresholds)
            else:
                term = case(*[(compile_sql(rules[i].when, columns, thresholds), value)
                              for i, value in zip(slot.members, values)], else_=zero)
            terms[column].append(term)
            continue
        for i in slot.members:
            terms[i // MASK_BITS].append(compile_sql_choice(rules[i].when, columns, _bit(i), zero, thresholds))
    return [functools.reduce(operator.add, column_terms, zero).label(f"mask_{n}")
            for n, column_terms in enumerate(terms)]


def can_fold(members: Sequence[int]) -> bool:
    """A slot whose members all share one mask column (a CASE can set only one column's bit)."""
    return len({i // MASK_BITS for i in members}) <= 1


def _bit(i: int) -> ColumnElement[int]:
    return literal(1 << (i % MASK_BITS), BigInteger)


def _unless_given(bit: ColumnElement[int], key: tuple[str, str] | None) -> ColumnElement[int]:
    """The bit, or 0 where the customer already has this (rule, once key) award.

    A scalar subquery with LIMIT 1, not EXISTS: PostgreSQL may plan an EXISTS as a hashed subplan,
    which hashes every award of the rule on each chunk's scan (31 s instead of 2.5 for 1M customers
    once the table had been analysed); a scalar subquery is always the one index probe per row.
    """
    if key is None:
        return bit
    given = (select(literal(0, BigInteger)).where(Award.customer_id == Customer.id, Award.rule_id == key[0],
                                                  Award.once_key == key[1]).limit(1).scalar_subquery())
    return func.coalesce(given, bit)


class CompiledScan:
    """A SELECT compiled once for one database, run per chunk on the caller's connection.

    Only for statements whose parameters need no conversion (text and integers), which holds for
    the night's scan; rows come back as the driver's tuples. Every parameter needs a default value
    (`bindparam(name, value)`): the values given per run replace them.
    """

    def __init__(self, statement: Select, connection: Connection):
        dialect = connection.dialect
        compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        self.sql = compiled.string
        self.fixed = compiled.construct_params()  # every parameter has a value: IN lists are rendered
        self.order = compiled.positiontup
        self.plain = dialect.driver in ("pysqlite", "psycopg") and all(
            bound.type.bind_processor(dialect) is None for bound in compiled.binds.values())
        self.statement = statement

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[tuple]:
        if not self.plain:
            return [tuple(row) for row in connection.execute(self.statement, dict(params))]
        values = self.fixed | dict(params)
        arguments = [values[name] for name in self.order] if self.order is not None else values
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            cursor.execute(self.sql, arguments)
            return cursor.fetchall()
        finally:
            cursor.close()

