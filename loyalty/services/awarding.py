"""Turning a `Decision` into what the customer gets: award rows, ledger lots, grants, approvals.

`once_per` is the database's UNIQUE(customer_id, rule_id, once_key): an award row that is not
inserted (someone already has it) posts nothing. Budgets and caps are checked first, under the
programme's lock. A goodwill credit above its rule's `approve_above` waits as an approval; the
other parts of such an award are given at once.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from loyalty.engine import award_build, decide as deciding
from loyalty.engine.award_build import Award as Decided
from loyalty.engine.decide import Decision, PassedOver
from loyalty.engine.model import Rule, Ruleset
from loyalty.services.event_state import AppliedEvent
from loyalty.services.ingest_result import ClawedBack, GivenAward, Stopped
from loyalty.services.limits import check_limits, lock_budgets
from loyalty.services.reward_stock import StockLeft
from loyalty.store.audit import record_now
from loyalty.store.insert_once import insert_once
from loyalty.store.ledger import clawback, earn, void_pending
from loyalty.store.tables import Approval, Award, Customer, Membership, RewardGrant

ACTOR = "rules"
GIVEN_BEFORE = select(Award.id).where(
    Award.customer_id == bindparam("customer_id"), Award.rule_id == bindparam("rule_id"),
    Award.once_key == bindparam("once_key"),
)
"""Built once: building a statement cost more than running it."""
PASSED_OVER_CODES = {
    deciding.OUTSIDE_WINDOW: "window",
    deciding.BEATEN_IN_GROUP: "group",
    award_build.NO_CONTRACT: "no_contract",
    award_build.BELOW_THRESHOLD: "below_threshold",
    award_build.NOTHING_TO_AWARD: "nothing_to_award",
}


def give_awards(session: Session, ruleset: Ruleset, applied: AppliedEvent, decision: Decision,
                received_at: datetime) -> tuple[list[GivenAward], list[Stopped]]:
    """Give every award that fits its limits and was not already given; say why the others were not."""
    if not decision.awards and not decision.passed_over:
        return [], []
    stopped = [passed_over_stop(p) for p in decision.passed_over]
    rules = {rule.id: rule for rule in ruleset.rules}
    lock_budgets(session, [ruleset.programme(a.programme_id) for a in decision.awards])
    stock = StockLeft(session, ruleset, (a.reward for a in decision.awards))
    given: list[GivenAward] = []
    for wanted in decision.awards:
        rule, programme = rules[wanted.rule_id], ruleset.programme(wanted.programme_id)
        award, refusal, out_of_stock = wanted, None, None
        if programme.budget or programme.cap:
            refusal = check_limits(session, programme, wanted, applied.customer.id, applied.today)
        if refusal is None:
            award, out_of_stock = stock.fit(wanted)
            refusal = out_of_stock if award is None else None
        if refusal and _already_given(session, wanted, rule, applied):
            refusal = once_per_stop(wanted, rule)  # the real reason, which a spent limit or stock hid
        award_id = None if refusal else _insert_award(session, award, rule, applied, received_at)
        if refusal is None and award_id is None:
            stock.give_back(award)
            refusal = once_per_stop(wanted, rule)
        if refusal:
            stopped.append(refusal)
            continue
        given.append(_deliver(session, award_id, award, applied, received_at))
        if out_of_stock:
            stopped.append(out_of_stock)
    stock.write()
    return given, stopped


def _already_given(session: Session, award: Decided, rule: Rule, applied: AppliedEvent) -> bool:
    """Whether the customer has this award already: asked only when a limit refused it, to say
    `once_per` rather than `budget`; otherwise the unique key decides, on insert."""
    key = {"customer_id": applied.customer.id, "rule_id": award.rule_id, "once_key": award.once_key}
    return session.scalar(GIVEN_BEFORE, key) is not None


def once_per_stop(award: Decided, rule: Rule) -> Stopped:
    return Stopped(award.rule_id, "once_per", f"already given once per {rule.once_per} ({award.once_key})")


def passed_over_stop(passed: PassedOver) -> Stopped:
    code = next((c for prefix, c in PASSED_OVER_CODES.items() if passed.reason.startswith(prefix)), "passed_over")
    return Stopped(passed.rule_id, code, passed.reason)


def _insert_award(session: Session, award: Decided, rule: Rule, applied: AppliedEvent,
                  received_at: datetime) -> int | None:
    """The new award's id, or None when UNIQUE(customer, rule, once_key) says it was already given."""
    values = dict(
        customer_id=applied.customer.id, rule_id=award.rule_id, programme_id=award.programme_id,
        ruleset_version=award.ruleset_version, event_id=award.event_id, contract_id=award.contract_id,
        once_key=award.once_key, awarded_on=applied.today, points=award.points,
        status_points=award.status_points, expires_on=award.expires_on, vests_on=award.vests_on,
        reward=award.reward, membership=award.membership, tier=award.tier, goodwill=award.goodwill,
        clawback_on=rule.clawback_on, status="pending_approval" if award.needs_approval else "granted",
        created_at=received_at,
    )
    return insert_once(session, Award, values, ["customer_id", "rule_id", "once_key"])


def _deliver(session: Session, award_id: int, award: Decided, applied: AppliedEvent,
             received_at: datetime) -> GivenAward:
    """Post the points and write the grants, membership, tier and approval the award carries."""
    customer = applied.customer
    why = award.reason
    status = "pending_approval" if award.needs_approval else "granted"
    audit = dict(actor=ACTOR, action=f"award.{status}", subject_type="award", subject_id=award_id,
                 occurred_at=received_at, customer_id=customer.id, reason=why,
                 ruleset_version=award.ruleset_version, details=award_details(award))
    if award.points or award.status_points:  # the award's audit row stands for its posting's
        earn(session, customer.id, points=award.points, status_points=award.status_points,
             occurred_at=received_at, reference=award_reference(award_id), programme=award.programme_id,
             expires_on=award.expires_on, vests_on=award.vests_on, actor=ACTOR, reason=why,
             ruleset_version=award.ruleset_version, for_new_award=True, audited_as=audit)
    if award.reward:
        session.add(RewardGrant(customer_id=customer.id, award_id=award_id, kind="reward",
                                reward_id=award.reward, status="pending", granted_at=received_at))
    if award.goodwill and award.needs_approval:
        session.add(Approval(award_id=award_id, customer_id=customer.id, kind="goodwill",
                             amount=award.goodwill, status="pending", requested_at=received_at))
    elif award.goodwill:
        session.add(RewardGrant(customer_id=customer.id, award_id=award_id, kind="bill_credit",
                                amount=award.goodwill, status="pending", granted_at=received_at))
    if award.membership:
        insert_once(session, Membership, {"customer_id": customer.id, "programme_id": award.membership,
                                          "award_id": award_id, "since": applied.today},
                    ["customer_id", "programme_id"])
    if award.tier:
        session.execute(update(Customer).where(Customer.id == customer.id).values(tier=award.tier)
                        .execution_options(synchronize_session=False))
    if not (award.points or award.status_points):
        record_now(session, **audit)
    return GivenAward(
        award_id=award_id, rule_id=award.rule_id, programme_id=award.programme_id,
        ruleset_version=award.ruleset_version, status=status, contract_id=award.contract_id,
        points=award.points, status_points=award.status_points, expires_on=award.expires_on,
        vests_on=award.vests_on, reward=award.reward, membership=award.membership, tier=award.tier,
        goodwill=award.goodwill,
    )


def award_reference(award_id: int) -> str:
    """The ledger reference of an award's points: one earn per award, found again for a clawback."""
    return f"award:{award_id}"


def award_details(award: Decided) -> dict:
    return {k: v.isoformat() if isinstance(v, date) else v
            for k, v in vars(award).items() if v not in (None, 0, False)}


def claw_back_cancelled_contract(session: Session, customer: Customer, contract_id: str, event_id: str,
                                 today: date, received_at: datetime) -> list[ClawedBack]:
    """Take back what the contract's awards still hold: those marked `clawback_on: contract.cancelled`,
    and points still pending (a cancellation within the cooling-off voids them)."""
    query = select(Award).where(
        Award.customer_id == customer.id, Award.contract_id == contract_id, Award.status == "granted",
        or_(Award.clawback_on == "contract.cancelled", Award.vests_on > today),
        or_(Award.points > 0, Award.status_points > 0),
    ).order_by(Award.id)
    return [_take_back(session, award, event_id, today, received_at) for award in session.scalars(query)]


def _take_back(session: Session, award: Award, event_id: str, today: date,
               received_at: datetime) -> ClawedBack:
    still_pending = award.vests_on is not None and award.vests_on > today
    release = void_pending if still_pending and award.clawback_on != "contract.cancelled" else clawback
    released = release(session, award.customer_id, [award_reference(award.id)],
                       reference=f"{award_reference(award.id)}:{event_id}", occurred_at=received_at,
                       actor=ACTOR, reason=f"contract {award.contract_id} cancelled (event {event_id})",
                       ruleset_version=award.ruleset_version)
    award.status = "clawed_back"
    return ClawedBack(award_id=award.id, rule_id=award.rule_id,
                      points=released.points + released.pending_points + released.status_points,
                      shortfall=released.shortfall)
