"""What the awards of an ingested event give: lots, grants, approvals, and the limits that stop them."""
from datetime import datetime, timezone

from ingest_support import (
    RECEIVED,
    award_count,
    contract_signed,
    customer_upserted,
    event,
    invoice_paid,
    lane_outcomes,
    ledger_problems,
    points_of,
    ruleset,
)
from sqlalchemy import select

from loyalty.services.ingest import ingest
from loyalty.store.ledger import spend
from loyalty.store.tables import Approval, AuditRecord, Award, Customer, LedgerTransaction, Membership, RewardGrant

WELCOME = """
    programme: welcome
    name: "Chào mừng khách hàng mới"
    rules:
      - id: welcome
        on: contract.signed
        then: {points: 500, expires_after: P12M, pending_days: 30}
        once_per: customer
        clawback_on: contract.cancelled
    """
LOYAL_SIGNING = """
    programme: loyal-signing
    name: "Cảm ơn hợp đồng"
    rules:
      - id: contract-thanks
        on: contract.signed
        then: {points: 500, status_points: 50}
        once_per: contract
        clawback_on: contract.cancelled
    """
GOODWILL = """
    programme: service-goodwill
    name: "Bồi thường sự cố"
    rules:
      - id: goodwill
        on: service.incident
        when: {event.planned: {eq: false}}
        then: {goodwill: {per_day: 50000, after_days: 1, max: 1000000, approve_above: 100000}}
    """


def signed_up(store, rules, customer_id="C001", contract_id="K1", event_prefix="s"):
    ingest(store, rules, customer_upserted(f"{event_prefix}-1", customer_id), RECEIVED)
    return ingest(store, rules, contract_signed(f"{event_prefix}-2", contract_id, 3_000_000,
                                                customer_id=customer_id), RECEIVED)


def cancel(store, rules, contract_id="K1", event_id="c-1", occurred_at="2026-12-01T03:00:00Z"):
    return ingest(store, rules, event(event_id, "contract.cancelled", {"contract_id": contract_id},
                                      occurred_at=occurred_at), RECEIVED)


def rows(store, table, **where):
    with store.reading() as session:
        return list(session.scalars(select(table).filter_by(**where)))


def test_welcome_points_wait_out_the_cooling_off_period(store):
    signed = signed_up(store, ruleset(WELCOME))
    assert signed.awards[0].vests_on.isoformat() == "2026-12-25"
    assert points_of(store, "C001") == (0, 500, 0)


def test_cancelling_within_the_cooling_off_takes_the_welcome_points_back(store):
    rules = ruleset(WELCOME)
    signed_up(store, rules)
    cancelled = cancel(store, rules)
    assert [(c.rule_id, c.points, c.shortfall) for c in cancelled.clawed_back] == [("welcome", 500, 0)]
    assert points_of(store, "C001") == (0, 0, 0)
    assert [a.status for a in rows(store, Award)] == ["clawed_back"]
    assert ledger_problems(store) == []


def test_a_clawback_takes_only_the_points_not_yet_spent(store):
    rules = ruleset(LOYAL_SIGNING)
    signed_up(store, rules)
    with store.transaction() as session:
        spend(session, "C001", 200, occurred_at=RECEIVED, reference="redemption:1", actor="C001")
    cancelled = cancel(store, rules)
    assert [(c.points, c.shortfall) for c in cancelled.clawed_back] == [(350, 200)]
    assert points_of(store, "C001") == (0, 0, 0)
    assert ledger_problems(store) == []


def test_cancelling_one_contract_leaves_the_other_contracts_awards(store):
    rules = ruleset(LOYAL_SIGNING)
    signed_up(store, rules)
    ingest(store, rules, contract_signed("s-3", "K2", 1_000_000), RECEIVED)
    cancel(store, rules, "K2")
    assert points_of(store, "C001") == (500, 0, 50)
    with store.reading() as session:
        assert session.get(Customer, "C001").status_points == 50


def test_once_per_contract_gives_once_for_each_contract(store):
    rules = ruleset(LOYAL_SIGNING, """
        programme: renewals
        name: "Gia hạn"
        rules:
          - id: first-renewal
            on: contract.renewed
            then: {points: 100}
            once_per: contract
        """)
    signed_up(store, rules)
    first = ingest(store, rules, event("r-1", "contract.renewed", {"contract_id": "K1"}), RECEIVED)
    second = ingest(store, rules, event("r-2", "contract.renewed", {"contract_id": "K1"}), RECEIVED)
    assert [a.points for a in first.awards] == [100]
    assert second.awards == [] and [(s.rule_id, s.reason) for s in second.stopped] == [("first-renewal", "once_per")]
    assert award_count(store, rule_id="first-renewal") == 1


def test_a_programme_budget_stops_the_award_that_would_overspend_it_and_says_so(store):
    rules = ruleset("""
        programme: small-budget
        name: "Ngân sách nhỏ"
        budget: {points: 1000, per: year}
        rules:
          - id: invoice-points
            on: invoice.paid
            then: {points: {per: 10000, of: event.amount}}
        """)
    signed_up(store, rules)
    ingest(store, rules, customer_upserted("s-3", "C002", name="Nhà hàng Sen"), RECEIVED)
    assert ingest(store, rules, invoice_paid("i-1", 6_000_000), RECEIVED).awards[0].points == 600
    stopped = ingest(store, rules, invoice_paid("i-2", 5_000_000, customer_id="C002"), RECEIVED)
    assert stopped.awards == []
    assert (stopped.stopped[0].reason, stopped.stopped[0].rule_id) == ("budget", "invoice-points")
    assert "400 left" in stopped.stopped[0].detail
    assert ingest(store, rules, invoice_paid("i-3", 4_000_000, customer_id="C002"), RECEIVED).awards
    next_year = invoice_paid("i-4", 5_000_000, customer_id="C002", occurred_at="2027-01-02T03:00:00Z")
    assert ingest(store, rules, next_year, RECEIVED).awards[0].points == 500


def test_a_customer_cap_stops_only_that_customer(store):
    rules = ruleset("""
        programme: capped
        name: "Giới hạn mỗi khách"
        cap: {points: 500, per: month}
        rules:
          - id: invoice-points
            on: invoice.paid
            then: {points: 300}
        """)
    signed_up(store, rules)
    ingest(store, rules, customer_upserted("s-3", "C002", name="Nhà hàng Sen"), RECEIVED)
    ingest(store, rules, invoice_paid("i-1", 1), RECEIVED)
    capped = ingest(store, rules, invoice_paid("i-2", 1), RECEIVED)
    other = ingest(store, rules, invoice_paid("i-3", 1, customer_id="C002"), RECEIVED)
    next_month = ingest(store, rules, invoice_paid("i-4", 1, occurred_at="2026-12-01T03:00:00Z"), RECEIVED)
    assert [s.reason for s in capped.stopped] == ["cap"]
    assert [len(r.awards) for r in (other, next_month)] == [1, 1]


def test_goodwill_for_a_two_day_outage_is_a_bill_credit_for_billing(store):
    rules = ruleset(GOODWILL)
    signed_up(store, rules)
    result = ingest(store, rules, event("o-1", "service.incident",
                                        {"incident_id": "INC-1", "outage_hours": 48, "planned": False}), RECEIVED)
    assert [(a.goodwill, a.status) for a in result.awards] == [(50_000, "granted")]
    assert [(g.kind, g.amount, g.status) for g in rows(store, RewardGrant)] == [("bill_credit", 50_000, "pending")]
    assert rows(store, Approval) == []


def test_goodwill_above_the_threshold_waits_for_marketing(store):
    rules = ruleset(GOODWILL)
    signed_up(store, rules)
    result = ingest(store, rules, event("o-1", "service.incident",
                                        {"incident_id": "INC-1", "outage_hours": 100, "planned": False}), RECEIVED)
    assert [(a.goodwill, a.status) for a in result.awards] == [(200_000, "pending_approval")]
    assert [(a.amount, a.status) for a in rows(store, Approval)] == [(200_000, "pending")]
    assert rows(store, RewardGrant) == []


def test_planned_works_earn_no_goodwill(store):
    rules = ruleset(GOODWILL)
    signed_up(store, rules)
    result = ingest(store, rules, event("o-1", "service.incident",
                                        {"incident_id": "INC-1", "outage_hours": 48, "planned": True}), RECEIVED)
    assert (result.awards, result.stopped) == ([], [])


def test_rewards_memberships_and_tiers_are_given_with_an_audit_row(store):
    rules = ruleset("""
        programme: sme-care
        name: "Chăm sóc doanh nghiệp"
        rules:
          - id: big-contract
            on: contract.signed
            when: {contract_value: {gte: 2000000}}
            then: {reward: thank-you-hamper, programme: sme-care, tier: vang}
            once_per: customer
        """)
    signed = signed_up(store, rules)
    assert [(a.reward, a.membership, a.tier) for a in signed.awards] == [("thank-you-hamper", "sme-care", "vang")]
    assert [(g.kind, g.reward_id) for g in rows(store, RewardGrant)] == [("reward", "thank-you-hamper")]
    assert [m.programme_id for m in rows(store, Membership, customer_id="C001")] == ["sme-care"]
    with store.reading() as session:
        assert session.get(Customer, "C001").tier == "vang"
    audit = rows(store, AuditRecord, action="award.granted")
    assert [(a.subject_id, a.ruleset_version) for a in audit] == [(str(signed.awards[0].award_id), rules.version)]


def test_group_and_validity_window_are_reported_as_stopped(store):
    rules = ruleset("""
        programme: invoices
        name: "Hóa đơn"
        rules:
          - id: big
            on: invoice.paid
            then: {points: 100}
            group: invoice
            priority: 10
          - id: small
            on: invoice.paid
            then: {points: 10}
            group: invoice
          - id: last-year
            on: invoice.paid
            then: {points: 5}
            valid: {from: 2025-01-01, until: 2025-12-31}
        """)
    signed_up(store, rules)
    result = ingest(store, rules, invoice_paid("i-1", 1), RECEIVED)
    assert [a.rule_id for a in result.awards] == ["big"]
    assert sorted((s.rule_id, s.reason) for s in result.stopped) == [("last-year", "window"), ("small", "group")]


def test_awards_record_rule_ruleset_version_and_event(store):
    rules = ruleset(LOYAL_SIGNING)
    signed_up(store, rules)
    [award] = rows(store, Award)
    assert (award.rule_id, award.ruleset_version, award.event_id, award.contract_id) == (
        "contract-thanks", rules.version, "s-2", "K1")
    assert award.created_at == datetime(2026, 11, 25, 3, 0, 5, tzinfo=timezone.utc)


def test_an_award_already_given_is_stopped_as_once_per_even_when_the_budget_is_spent(store):
    rules = ruleset("""
        programme: tight
        name: "Ngân sách vừa đủ"
        budget: {points: 100, per: year}
        rules:
          - id: yearly-thanks
            on: invoice.paid
            then: {points: 100}
            once_per: year
        """)
    signed_up(store, rules)
    ingest(store, rules, invoice_paid("i-1", 1), RECEIVED)
    again = ingest(store, rules, invoice_paid("i-2", 1), RECEIVED)
    assert [(s.rule_id, s.reason) for s in again.stopped] == [("yearly-thanks", "once_per")]


def test_points_an_award_gives_are_audited_once_by_the_award_which_their_posting_names(store, monkeypatch):
    """The award's audit row (who, what, when, why, ruleset) stands for its ledger posting, on the
    paid invoice's lane as on the general path; a posting that is no award keeps its own row."""
    rules = ruleset(LOYAL_SIGNING, """
        programme: invoices
        name: "Hóa đơn đúng hạn"
        rules:
          - id: paid
            on: invoice.paid
            then: {points: 120}
        """)
    signed = signed_up(store, rules)
    lane = lane_outcomes(monkeypatch)
    paid = ingest(store, rules, invoice_paid("inv-1", 3_000_000), RECEIVED)
    assert store.engine.dialect.name == "sqlite" or lane == [paid], "on PostgreSQL the lane gave the invoice's award"
    with store.transaction() as session:
        spend(session, "C001", 100, occurred_at=RECEIVED, reference="r1", actor="C001")

    audit = [(a.action, a.subject_id, a.details["points"], a.ruleset_version)
             for a in sorted(rows(store, AuditRecord), key=lambda a: a.id)]
    given = [signed.awards[0].award_id, paid.awards[0].award_id]
    assert audit == [("award.granted", str(given[0]), 500, rules.version),
                     ("award.granted", str(given[1]), 120, rules.version),
                     ("ledger.spend", audit[2][1], -100, None)]
    with store.reading() as session:
        postings = session.execute(select(LedgerTransaction.kind, LedgerTransaction.reference)
                                   .order_by(LedgerTransaction.id)).all()
    assert postings == [("earn", f"award:{given[0]}"), ("earn", f"award:{given[1]}"), ("spend", "r1")]
