"""Core statements the per-event path runs by the thousand, sent straight to the DBAPI cursor.

SQLAlchemy's execution path (execution context, events, result wrapping) cost an insert of an
audit row 24 us on SQLite, against 8 us sent this way; an awarded event runs about a dozen such
statements. A `DriverStatement` is compiled once per dialect and set of parameter names, converts
each value by its column's type as SQLAlchemy would (UTC times, dates, JSON), and runs in the
session's transaction on the session's own connection, so BEGIN, the SQLite writer lock and
savepoints apply as to any statement. Driver errors are raised as SQLAlchemy's (`Store.run` retries
on them as before).

On PostgreSQL the statement is sent in the server's own form (`$1, $2, ...`) through psycopg's
`RawCursor`: psycopg's default cursor parses every `%(name)s` statement at each call, and caches
the parse only for statements under 4,096 characters and 50 values, which a posting or an award
written in one statement is not (0.3-0.6 ms of client time each). Here it is converted once.

Only for statements whose values are all given at each call: compiling refuses an insert that
leaves out a column with a Python-side default, since nothing here would fill it in. A SELECT (a
read, or on PostgreSQL a statement of data-modifying CTEs) is not checked: its inserts must name
every such column. A SELECT's rows come back converted by each selected column's type, as
SQLAlchemy would (SQLite's dates and times are stored as text); RETURNING rows as the driver gives
them (ids).
"""
from __future__ import annotations

import re
import threading
from typing import Any, Callable, Mapping, Sequence

from psycopg import RawCursor
from sqlalchemy import Insert, Select, Update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from loyalty.store import explicit_begin, with_commit

executed = 0
"""Statements run here (benchmarks add them to the ones SQLAlchemy's events count)."""


Converters = Sequence[tuple[int, Callable[[Any], Any]]]
PYFORMAT_TOKEN = re.compile(r"%%|%\(([^)]+)\)s")


class _Compiled:
    """`sql` as SQLAlchemy compiled it, its values by `names` (positional when SQLAlchemy's form is);
    `driver_sql`, what the cursor is sent: on psycopg the server's own form, its values in `order`."""

    __slots__ = ("sql", "names", "fixed", "processors", "positional", "driver_sql", "order", "returns_rows",
                 "converters")

    def __init__(self, sql: str, names: list[str], fixed: dict[str, Any],
                 processors: dict[str, Callable[[Any], Any]], positional: bool, native: bool = False,
                 returns_rows: bool = False, converters: Converters = ()):
        self.sql, self.names, self.fixed, self.processors, self.positional = sql, names, fixed, processors, positional
        self.returns_rows = returns_rows  # known when compiled: psycopg builds `description` anew at each look
        self.converters = converters
        """(column index, result processor) of the selected columns whose type converts anything."""
        self.driver_sql, self.order = _numbered(sql) if native else (sql, None)

    def arguments(self, params: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        """The values for `sql` (psycopg's client-side binding, `with_commit`)."""
        if self.positional:
            return self._in_order(params, self.names)
        values = self.fixed | dict(params) if self.fixed else params
        processors = self.processors
        return {name: processors[name](values[name]) if name in processors else values[name] for name in self.names}

    def driver_arguments(self, params: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        """The values for `driver_sql`."""
        return self.arguments(params) if self.order is None else self._in_order(params, self.order)

    def _in_order(self, params: Mapping[str, Any], names: list[str]) -> list[Any]:
        values = self.fixed | dict(params) if self.fixed else params
        processors = self.processors
        return [processors[name](values[name]) if name in processors else values[name] for name in names]


def _numbered(sql: str) -> tuple[str, list[str]]:
    """`%(name)s` placeholders as `$1, $2, ...` (a name used twice keeps its number), `%%` as `%`."""
    order: dict[str, int] = {}

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name is None:
            return "%"
        return f"${order.setdefault(name, len(order) + 1)}"

    return PYFORMAT_TOKEN.sub(replace, sql), list(order)


class DriverStatement:
    """An INSERT, UPDATE or SELECT built once, run on the session's DBAPI connection."""

    def __init__(self, statement: Insert | Update | Select):
        self.statement = statement
        self._compiled: dict[tuple[str, frozenset[str]], _Compiled] = {}
        self._lock = threading.Lock()

    def execute(self, session: Session, params: Mapping[str, Any]) -> list[tuple]:
        """Run with one set of values; the rows it returns, else []: a SELECT's converted by column type,
        RETURNING's as the driver gives them (ids)."""
        connection = session.connection()
        compiled = self._for(connection.dialect, params)
        return _run(connection, compiled, compiled.driver_arguments(params), many=False)

    def execute_with_commit(self, session: Session, params: Mapping[str, Any]) -> None:
        """Run with the transaction's COMMIT on PostgreSQL (`with_commit`), at once on SQLite: for a unit
        of work's last write, which nothing in it reads back. Returns nothing."""
        connection = session.connection()
        compiled = self._for(connection.dialect, params)
        if connection.dialect.name != "postgresql":
            _run(connection, compiled, compiled.driver_arguments(params), many=False)
            return
        global executed
        executed += 1
        with_commit.hold(session, compiled.sql, compiled.arguments(params))

    def execute_many(self, session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run once per set of values (all with the same names), in one executemany."""
        if not rows:
            return
        connection = session.connection()
        compiled = self._for(connection.dialect, rows[0])
        _run(connection, compiled, [compiled.driver_arguments(row) for row in rows], many=True)

    def _for(self, dialect, params: Mapping[str, Any]) -> _Compiled:
        key = (dialect.name, frozenset(params))
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compile(dialect, key[1])
            with self._lock:
                self._compiled[key] = compiled
        return compiled

    def _compile(self, dialect, names: frozenset[str]) -> _Compiled:
        statement = self.statement
        if isinstance(statement, (Insert, Update)):
            compiled = _compile_dml(statement, dialect, names)
        else:
            compiled = statement.compile(dialect=dialect)
        required = [name for name, bound in compiled.binds.items() if bound.required]
        every = compiled.construct_params(dict.fromkeys(required))  # each bind's name, with the statement's own literals
        fixed = {name: value for name, value in every.items() if name not in names}
        processors = {name: processor for name, bound in compiled.binds.items()
                      if (processor := bound.type.dialect_impl(dialect).bind_processor(dialect)) is not None}
        positional = compiled.positiontup is not None
        order = list(compiled.positiontup) if positional else list(every)
        native = dialect.driver == "psycopg" and not positional
        returns_rows = isinstance(statement, Select) or bool(compiled.effective_returning)
        converters = result_converters(statement, dialect) if isinstance(statement, Select) else []
        return _Compiled(compiled.string, order, fixed, processors, positional, native, returns_rows, converters)


def _compile_dml(statement: Insert | Update, dialect, names: frozenset[str]):
    table = statement.table
    inserting = isinstance(statement, Insert)
    unfilled = [column.key for column in table.columns if column.key not in names
                and _python_side(column.default if inserting else column.onupdate)]
    if unfilled:
        raise ValueError(f"{table.name}: give {', '.join(unfilled)} (a Python-side default is not applied here)")
    column_keys = [column.key for column in table.columns if column.key in names] if inserting else None
    return statement.compile(dialect=dialect, column_keys=column_keys)


def _python_side(default) -> bool:
    """A default SQLAlchemy computes in Python (a value or a function), not one the SQL itself holds."""
    return default is not None and not getattr(default, "is_clause_element", False) \
        and not getattr(default, "is_sequence", False)


def execute_together(session: Session, runs: Sequence[tuple[DriverStatement, Mapping[str, Any]]], *,
                     begin: bool = False, commit: bool = False) -> list[list[tuple]]:
    """Run statements one after the other, each with its values; each one's rows, as `execute` gives
    them. On PostgreSQL they are sent together, in one round trip (psycopg's pipeline mode): the
    server still runs each after the one before, on a snapshot of its own, so a statement that
    waited for a lock is followed by one that sees what the lock's holder committed.

    `begin`: the unit of work's first statements; on PostgreSQL its BEGIN goes with them
    (`explicit_begin`). `commit`: its last; on PostgreSQL COMMIT goes with them, so nothing may be
    left to write: no ORM change unflushed, no write held for the COMMIT. On SQLite both change
    nothing: the unit of work begins and commits as always."""
    connection = session.connection()
    compiled = [(statement._for(connection.dialect, params), params) for statement, params in runs]
    if connection.dialect.name != "postgresql":
        return [_run(connection, each, each.driver_arguments(params), many=False) for each, params in compiled]
    global executed
    executed += len(compiled)
    dialect, driver_connection = connection.dialect, connection.connection.driver_connection
    if commit and (session.new or session.dirty or session.deleted or with_commit.holds(driver_connection)):
        raise RuntimeError("COMMIT cannot go with these statements: the unit of work has more to write")
    begin = begin and explicit_begin.begin_explicitly(driver_connection)
    cursors = [RawCursor(driver_connection) for _ in range(len(compiled) + begin + commit)]
    try:
        with driver_connection.pipeline():
            if begin:
                cursors[0].execute("BEGIN", prepare=False)
            for cursor, (each, params) in zip(cursors[begin:], compiled):
                cursor.execute(each.driver_sql, each.driver_arguments(params))
            if commit:
                cursors[-1].execute("COMMIT", prepare=False)
        return [_rows(cursor, each) for cursor, (each, _) in zip(cursors[begin:], compiled)]
    except dialect.loaded_dbapi.Error as error:
        sql = "; ".join(each.driver_sql for each, _ in compiled)
        raise DBAPIError.instance(sql, [p for _, p in compiled], error, dialect.loaded_dbapi.Error) from error
    finally:
        for cursor in cursors:
            cursor.close()


def result_converters(statement: Select, dialect) -> Converters:
    """(index, result processor) of the selected columns whose type converts anything in `dialect`."""
    return [(index, convert) for index, column in enumerate(statement.selected_columns)
            if (convert := column.type.dialect_impl(dialect).result_processor(dialect, None)) is not None]


def converted(rows: list[tuple], converters: Converters) -> list[tuple]:
    """The rows with each converted column's value converted, as SQLAlchemy's result would give it."""
    converted = []
    for row in rows:
        values = list(row)
        for index, convert in converters:
            values[index] = convert(values[index])
        converted.append(tuple(values))
    return converted


def _rows(cursor, compiled: _Compiled) -> list[tuple]:
    if not compiled.returns_rows:
        return []
    rows = cursor.fetchall()
    return converted(rows, compiled.converters) if compiled.converters else rows


def _run(connection, compiled: _Compiled, arguments: Any, *, many: bool) -> list[tuple]:
    global executed
    executed += 1
    dialect = connection.dialect
    driver_connection = connection.connection.driver_connection
    cursor = driver_connection.cursor() if compiled.order is None else RawCursor(driver_connection)
    try:
        if many:
            cursor.executemany(compiled.driver_sql, arguments)
            return []
        cursor.execute(compiled.driver_sql, arguments)
        return _rows(cursor, compiled)
    except dialect.loaded_dbapi.Error as error:
        raise DBAPIError.instance(compiled.driver_sql, arguments, error, dialect.loaded_dbapi.Error) from error
    finally:
        cursor.close()
