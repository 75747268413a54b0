"""Writing the audit log: every service calls `record` in the transaction that makes the change."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from loyalty.store.bulk import insert_rows
from loyalty.store.bulk_rows import reserve_ids
from loyalty.store.driver import DriverStatement
from loyalty.store.tables.audit import AuditRecord

INSERT_AUDIT = DriverStatement(insert(AuditRecord.__table__))
"""Built once: the hot paths (ingest, ledger postings) write audit rows by the thousand."""
BULK_COLUMNS = ("occurred_at", "actor", "action", "subject_type", "subject_id", "customer_id", "reason",
                "ruleset_version", "details")


def record(
    session: Session, *, actor: str, action: str, subject_type: str, subject_id: str | int,
    occurred_at: datetime, customer_id: str | None = None, reason: str | None = None,
    ruleset_version: str | None = None, details: dict[str, Any] | None = None,
) -> AuditRecord:
    """Add one audit row to the caller's transaction, so it commits or rolls back with the change."""
    row = AuditRecord(
        actor=actor, action=action, subject_type=subject_type, subject_id=str(subject_id),
        occurred_at=occurred_at, customer_id=customer_id, reason=reason,
        ruleset_version=ruleset_version, details=details or {},
    )
    session.add(row)
    return row


def record_now(
    session: Session, *, actor: str, action: str, subject_type: str, subject_id: str | int,
    occurred_at: datetime, customer_id: str | None = None, reason: str | None = None,
    ruleset_version: str | None = None, details: dict[str, Any] | None = None,
) -> None:
    """`record`, written at once by a prebuilt insert at driver level, with no ORM object to flush at commit.
    Pending ORM rows are flushed first, so audit ids keep the order of the changes."""
    session.flush()
    INSERT_AUDIT.execute(session, {
        "actor": actor, "action": action, "subject_type": subject_type, "subject_id": str(subject_id),
        "occurred_at": occurred_at, "customer_id": customer_id, "reason": reason,
        "ruleset_version": ruleset_version, "details": details or {},
    })


def insert_audit(session: Session, rows: list[tuple]) -> None:
    """Many audit rows at once (the night's and a batch's awards): every column of `BULK_COLUMNS`,
    `details` already JSON text. The table numbers them in the order given: nothing needs their ids
    back, so none are reserved first (on PostgreSQL a round trip and an id sent back per row)."""
    if rows:
        insert_rows(session, AuditRecord.__table__, BULK_COLUMNS, rows)
