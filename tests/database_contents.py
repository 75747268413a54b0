"""Two databases' rows compared, surrogate ids aside: each row named by what it is (an award by its
customer, rule and once key, a ledger transaction by its reference, an account by its code)."""
from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import select

from loyalty.services.ingest_result import IngestResult
from loyalty.store.base import Base

SKIPPED = {"programme_budget_locks", "facts_clock"}
"""A lock row per budgeted programme: the batch takes (and so creates) them up front, as the
per-event `ingest_many` did; it holds nothing but its key. The change clock counts nights run on
the database, whatever they were."""
SET_BY_DATABASE = {("customers", "created_at"), ("customers", "updated_at"), ("customers", "facts_epoch"),
                   ("customers", "standing_epoch"), ("daily_run_phases", "facts_epoch")}
"""Clocks the database reads (its time, the change clock), which differ between two databases."""


def contents(store) -> dict[str, Any]:
    """Every table as a sorted list of rows in which each surrogate id is replaced by what it names."""
    names: dict[str, dict[int, str]] = {}
    out: dict[str, Any] = {}
    with store.reading() as session:
        awards = {row.id: f"{row.customer_id}/{row.rule_id}/{row.once_key}"
                  for row in session.execute(select(Base.metadata.tables["awards"]))}
        names["awards"] = awards
        for table in Base.metadata.sorted_tables:
            if table.name in SKIPPED or table.name == "audit_log":
                continue
            rows = session.execute(select(table).order_by(*table.primary_key.columns)).mappings().all()
            out[table.name] = _rows(table, rows, names, awards)
        out["audit_log"] = _rows(Base.metadata.tables["audit_log"], session.execute(
            select(Base.metadata.tables["audit_log"])).mappings().all(), names, awards)
    out["_award_keys"] = awards
    return out


def _rows(table, rows, names, awards) -> list[str]:
    surrogate = "id" in table.c and table.name not in ("customers", "contracts", "events")
    foreign = {fk.parent.name: fk.column.table.name for fk in table.foreign_keys}
    mine: dict[int, str] = names.setdefault(table.name, {})
    shown = []
    for row in rows:
        values = {}
        for column, value in row.items():
            if (table.name, column) in SET_BY_DATABASE or (surrogate and column == "id"):
                continue
            if column in foreign and value is not None and foreign[column] in names:
                value = names[foreign[column]].get(value, f"?{value}")
            values[column] = _plain(value, awards)
        if table.name == "audit_log":
            subject = row["subject_id"]
            kind = {"award": "awards", "ledger_transaction": "ledger_transactions"}.get(row["subject_type"])
            if kind and subject.isdigit():
                values["subject_id"] = names[kind].get(int(subject), f"?{subject}")
        text = json.dumps(values, sort_keys=True, default=str)
        if surrogate and table.name != "awards":
            mine[row["id"]] = text
        shown.append(text)
    if table.name == "awards":
        names["awards"] = awards
    return sorted(shown)


def _plain(value: Any, awards: dict[int, str]) -> Any:
    if isinstance(value, str):
        return re.sub(r"award:(\d+)", lambda m: "award:" + awards.get(int(m.group(1)), m.group(1)), value)
    if isinstance(value, dict):
        return {k: (awards.get(v, v) if k == "award_id" else _plain(v, awards)) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, awards) for v in value]
    return value


def answers(results: list, awards: dict[int, str]) -> list:
    return [(type(r).__name__, _plain(r.as_dict(), awards), r.replayed) if isinstance(r, IngestResult)
            else (type(r).__name__, str(r), getattr(r, "errors", None)) for r in results]
