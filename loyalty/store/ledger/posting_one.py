"""A ledger transaction written by one statement on PostgreSQL: one round trip instead of six.

`write_plan` sends the transaction, its entries, balances, lots, allocations and audit row one
statement after the other. Over a network each waits for the one before: on PostgreSQL an award's
posting cost six round trips, most of the engine's single-event latency (decision 25). PostgreSQL
runs data-modifying CTEs in one statement, each seeing the transaction's id through the `tx` CTE,
with foreign keys and checks verified at its end, so the same rows go in one round trip.

The statement is built per shape (entries, new lots, lots changed, status points moved or not),
compiled once per shape, and run at driver level (`DriverStatement`). Plans this cannot write the
same way as `write_plan` take `write_plan`'s path: lots revoked (a second UPDATE of a lot in the
same statement would be lost), two new lots in one account (their ids could not be told apart), or
new lots beside allocations of lots held before (a vesting: two INSERTs would not keep the
allocations' order).
"""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Select, String, bindparam, cast, insert, literal_column, select, true, update
from sqlalchemy.orm import Session

from loyalty.ledger import STATUS_POINTS, Plan
from loyalty.store.driver import DriverStatement
from loyalty.store.tables import Customer, LedgerAccount, LedgerEntry, LedgerTransaction, Lot, LotAllocation
from loyalty.store.tables.audit import AuditRecord

MOST_ROWS = 16
"""Shapes with more entries, lots or lot changes than this take `write_plan`'s path: every shape is a
statement of its own, compiled and prepared once, and large plans (a redemption over many lots) are rare."""

_TRANSACTIONS, _ENTRIES, _ACCOUNTS = LedgerTransaction.__table__, LedgerEntry.__table__, LedgerAccount.__table__
_LOTS, _ALLOCATIONS, _AUDIT, _CUSTOMERS = Lot.__table__, LotAllocation.__table__, AuditRecord.__table__, Customer.__table__
TRANSACTION_COLUMNS = ("kind", "customer_id", "occurred_at", "effective_on", "reference", "reason", "actor",
                       "ruleset_version", "reverses_id", "shortfall")
LOT_COLUMNS = ("customer_id", "account_id", "amount", "remaining", "earned_at", "expires_on", "vests_on",
               "programme", "reference", "origin_lot_id")
AUDIT_COLUMNS = ("occurred_at", "actor", "action", "subject_type", "customer_id", "reason", "ruleset_version",
                 "details")


def fits_one_statement(plan: Plan) -> bool:
    """Whether `write_in_one_statement` writes this plan's rows as `write_plan`'s statements would."""
    accounts = [new.account for new in plan.new_lots]
    return (not plan.revoke_lot_ids and len(set(accounts)) == len(accounts)
            and not (plan.new_lots and plan.allocations)
            and max(len(plan.entries), len(plan.new_lots), len(plan.allocations)) <= MOST_ROWS)


@lru_cache(maxsize=256)
def one_statement(entries: int, lots: int, lot_changes: int, allocations: int, status_points: bool,
                  audit_names_transaction: bool) -> DriverStatement:
    """The statement for a plan of this shape, its parameters named as `write_in_one_statement` gives them."""
    tx = (insert(_TRANSACTIONS).values({c: bindparam(f"tx_{c}") for c in TRANSACTION_COLUMNS})
          .returning(_TRANSACTIONS.c.id).cte("tx"))
    tx_id = select(tx.c.id).scalar_subquery()
    ctes = [insert(_ENTRIES).values([
        {"transaction_id": tx_id, "account_id": _bind(f"e{i}_account", _ENTRIES.c.account_id),
         "amount": _bind(f"e{i}_amount", _ENTRIES.c.amount)}
        for i in range(entries)
    ]).cte("entries")]
    ctes += [update(_ACCOUNTS).where(_ACCOUNTS.c.id == bindparam(f"e{i}_account"))
             .values(balance=_ACCOUNTS.c.balance + bindparam(f"e{i}_amount")).cte(f"balance{i}")
             for i in range(entries)]
    ctes += [update(_LOTS).where(_LOTS.c.id == bindparam(f"c{i}_lot"))
             .values(remaining=_LOTS.c.remaining + bindparam(f"c{i}_change")).cte(f"lot_change{i}")
             for i in range(lot_changes)]
    new_lots = None
    if lots:
        new_lots = (insert(_LOTS).values([{**{c: _bind(f"l{i}_{c}", _LOTS.c[c]) for c in LOT_COLUMNS},
                                           "created_by_id": tx_id}
                                          for i in range(lots)])
                    .returning(_LOTS.c.id, _LOTS.c.amount).cte("new_lots"))
        ctes.append(insert(_ALLOCATIONS).from_select(
            ["transaction_id", "lot_id", "amount"],
            select(tx.c.id, new_lots.c.id, new_lots.c.amount).order_by(new_lots.c.id),
        ).cte("new_lot_allocations"))
    if allocations:
        ctes.append(insert(_ALLOCATIONS).values([
            {"transaction_id": tx_id, "lot_id": _bind(f"a{i}_lot", _ALLOCATIONS.c.lot_id),
             "amount": _bind(f"a{i}_amount", _ALLOCATIONS.c.amount)}
            for i in range(allocations)
        ]).cte("allocations"))
    if status_points:
        ctes.append(update(_CUSTOMERS).where(_CUSTOMERS.c.id == bindparam("tx_customer_id"))
                    .values(status_points=_CUSTOMERS.c.status_points + bindparam("status_change")).cte("status"))
    audit_row = {c: _bind(f"audit_{c}", _AUDIT.c[c]) for c in (*AUDIT_COLUMNS, "subject_id")}
    if audit_names_transaction:
        audit_row["subject_id"] = select(cast(tx.c.id, String)).scalar_subquery()
    ctes.append(insert(_AUDIT).values(audit_row).cte("audit"))
    final: Select = select(tx.c.id, new_lots.c.id) if new_lots is not None else select(tx.c.id, literal_column("NULL"))
    if new_lots is not None:
        final = final.select_from(tx).outerjoin(new_lots, true()).order_by(new_lots.c.id)
    return DriverStatement(final.add_cte(*ctes))


def _bind(name: str, column):
    """A parameter of the column's type: in a VALUES of several rows only the first row's parameters
    take their column's type by themselves (and with it its conversion: UTC times, JSON)."""
    return bindparam(name, type_=column.type)


def write_in_one_statement(session: Session, plan: Plan, account_ids: dict, transaction: dict, audit: dict,
                           audit_names_transaction: bool = True) -> tuple[int, tuple[int, ...]]:
    """Write `plan` (which `fits_one_statement`): the new transaction's id and its new lots' ids, in the
    plan's order. `account_ids` maps the plan's accounts to their rows' ids; `transaction` and `audit` hold
    the columns `TRANSACTION_COLUMNS` and `AUDIT_COLUMNS` name; the audit row's subject is the new
    transaction, or with `audit_names_transaction` false the `subject_id` it holds (an award's)."""
    moves = sorted((account_ids[ref], amount) for ref, amount in plan.nonzero_entries())
    changes = plan.lot_changes()
    allocations = [(lot_id, delta) for lot_id, _kind, delta in plan.allocations if delta]
    status_change = plan.points(STATUS_POINTS)
    parameters = {f"tx_{c}": transaction[c] for c in TRANSACTION_COLUMNS}
    parameters |= {f"audit_{c}": audit[c] for c in AUDIT_COLUMNS}
    for i, (account_id, amount) in enumerate(moves):
        parameters[f"e{i}_account"], parameters[f"e{i}_amount"] = account_id, amount
    for i, new in enumerate(plan.new_lots):
        parameters |= {f"l{i}_customer_id": plan.customer_id, f"l{i}_account_id": account_ids[new.account],
                       f"l{i}_amount": new.amount, f"l{i}_remaining": new.amount, f"l{i}_earned_at": new.earned_at,
                       f"l{i}_expires_on": new.expires_on, f"l{i}_vests_on": new.vests_on,
                       f"l{i}_programme": new.programme, f"l{i}_reference": new.reference,
                       f"l{i}_origin_lot_id": new.origin_lot_id}
    for i, (lot_id, change) in enumerate(changes.items()):
        parameters[f"c{i}_lot"], parameters[f"c{i}_change"] = lot_id, change
    for i, (lot_id, delta) in enumerate(allocations):
        parameters[f"a{i}_lot"], parameters[f"a{i}_amount"] = lot_id, delta
    if status_change:
        parameters["status_change"] = status_change
    if not audit_names_transaction:
        parameters["audit_subject_id"] = str(audit["subject_id"])
    statement = one_statement(len(moves), len(plan.new_lots), len(changes), len(allocations), bool(status_change),
                              audit_names_transaction)
    rows = statement.execute(session, parameters)
    return rows[0][0], tuple(lot_id for _tx, lot_id in rows if lot_id is not None)
