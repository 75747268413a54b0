"""What a person compares after a night: awards, ledger, balances and audit, without ids or clocks.

Ids differ between two databases that did the same work, so every award id is replaced by what
the award is (customer, rule, once key), and every other id is left out.
"""
from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import select

from loyalty.engine.loader import load_ruleset_from_texts
from loyalty.store import Store
from loyalty.store.tables import (
    AuditRecord, Award, Customer, LedgerAccount, LedgerEntry, LedgerTransaction, Lot, RewardGrant,
)

AWARD_REFERENCE = re.compile(r"award:(\d+)")
SETTLING_ONLY = load_ruleset_from_texts({"settle.yaml": """\
programme: settle
name: "Chỉ kết thúc hợp đồng"
rules:
  - id: never
    on: invoice.paid
    then: {points: 1}
"""})
"""No rule of the night's events: `run_daily` with it only ends contracts, vests and expires."""


def ledger_snapshot(store: Store) -> dict[str, list]:
    """Everything the night wrote that a person would check, comparable across databases."""
    with store.reading() as session:
        awards = {a.id: (a.customer_id, a.rule_id, a.once_key) for a in session.scalars(select(Award))}

        def named(text: Any) -> Any:
            if not isinstance(text, str):
                return text
            return AWARD_REFERENCE.sub(lambda m: "award:" + "/".join(awards[int(m.group(1))]), text)

        accounts = {a.id: a.code for a in session.scalars(select(LedgerAccount))}
        transactions = {t.id: (t.kind, t.customer_id, named(t.reference)) for t in session.scalars(select(LedgerTransaction))}
        return {
            "awards": sorted((a.customer_id, a.rule_id, a.once_key, a.programme_id, a.event_id, a.contract_id,
                              a.awarded_on, a.points, a.status_points, a.expires_on, a.vests_on, a.reward,
                              a.membership, a.tier, a.status) for a in session.scalars(select(Award))),
            "transactions": sorted((t.kind, t.customer_id, named(t.reference), t.occurred_at, t.effective_on,
                                    t.actor, t.reason, t.ruleset_version, t.shortfall)
                                   for t in session.scalars(select(LedgerTransaction))),
            "entries": sorted((transactions[e.transaction_id], accounts[e.account_id], e.amount)
                              for e in session.scalars(select(LedgerEntry))),
            "lots": sorted((lot.customer_id, accounts[lot.account_id], lot.amount, lot.remaining, lot.expires_on,
                            lot.vests_on, lot.programme, named(lot.reference), transactions[lot.created_by_id])
                           for lot in session.scalars(select(Lot))),
            "balances": sorted((a.code, a.balance) for a in session.scalars(select(LedgerAccount))),
            "customers": sorted((c.id, c.tier, c.status_points, c.active_contracts, c.main_contract_id)
                                for c in session.scalars(select(Customer))),
            "grants": sorted((g.customer_id, awards[g.award_id], g.kind, g.reward_id, g.status)
                             for g in session.scalars(select(RewardGrant))),
            "audit": sorted((r.action, r.customer_id, r.reason, r.ruleset_version,
                             named(json.dumps(_without_ids(r.details), sort_keys=True, ensure_ascii=False)))
                            for r in session.scalars(select(AuditRecord))),
        }


def _without_ids(details: dict) -> dict:
    return {k: v for k, v in (details or {}).items() if k not in ("award_id",)}
