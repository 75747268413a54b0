"""The business refusals of the engine, one class each, all under `LoyaltyError`.

The API maps each class to an HTTP status in one place (`api/errors.py`); the CLI prints the
message and exits 1. Every error carries what a person needs to fix the problem.
"""
from __future__ import annotations

from dataclasses import dataclass, field


class LoyaltyError(Exception):
    """Root of every refusal the engine can give; `str()` is a sentence for a person."""


@dataclass(frozen=True)
class RuleProblem:
    """One thing wrong in a rule file, located for the person who has to fix it."""

    file: str
    line: int | None
    message: str
    rule_id: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        rule = f" [rule {self.rule_id}]" if self.rule_id else ""
        return f"{where}{rule}: {self.message}"


class RulesetInvalid(LoyaltyError):
    """A rules directory with at least one problem; the previous ruleset stays in force."""

    def __init__(self, problems: list[RuleProblem]):
        self.problems = list(problems)
        count = len(self.problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the rules:\n{lines}")


@dataclass
class FieldErrors(LoyaltyError):
    """Input that does not fit its form; `errors` maps each field to what is wrong with it."""

    errors: dict[str, list[str]] = field(default_factory=dict)
    message: str = "The input is not valid."

    def __str__(self) -> str:
        fields = "; ".join(f"{k}: {', '.join(v)}" for k, v in self.errors.items())
        return f"{self.message} {fields}".strip()


class NotFound(LoyaltyError):
    """Something asked for by id does not exist (or is not visible to the asker)."""


class Conflict(LoyaltyError):
    """The request contradicts what is already recorded (same key, different body; wrong state)."""


class EventConflict(Conflict):
    """An event id already recorded with a different body: billing must not reuse ids."""


class UnknownCustomer(NotFound):
    """A customer id the engine has not been told about (billing sends the customer first)."""

    def __init__(self, customer_id: str):
        self.customer_id = customer_id
        super().__init__(f"Customer {customer_id!r} is not known to the engine.")


class UnknownContract(NotFound):
    """A contract id the engine has not seen signed, or that belongs to another customer."""

    def __init__(self, contract_id: str, customer_id: str | None = None):
        self.contract_id, self.customer_id = contract_id, customer_id
        owner = f" for customer {customer_id!r}" if customer_id else ""
        super().__init__(f"Contract {contract_id!r}{owner} is not known to the engine.")


class EventOutOfOrder(Conflict):
    """An event that needs an earlier one first; nothing was applied, send it again after that one."""


class DuplicateEvent(Conflict):
    """A second event, under a new id, about an invoice, incident or referral already reported."""


class KeyRefused(LoyaltyError):
    """An API key that is missing, malformed, unknown or revoked: the caller is not identified."""


class InsufficientPoints(Conflict):
    """A debit larger than the customer's spendable points; nothing was taken."""

    def __init__(self, available: int, requested: int):
        self.available, self.requested = available, requested
        super().__init__(f"Only {available:,} points are available; {requested:,} were requested.")


class DuplicatePosting(Conflict):
    """A ledger posting whose reference was already posted for this customer: it pays only once."""

    def __init__(self, kind: str, reference: str, transaction_id: int):
        self.kind, self.reference, self.transaction_id = kind, reference, transaction_id
        super().__init__(
            f"A {kind} with reference {reference!r} is already posted (transaction {transaction_id})."
        )


class NotReversible(Conflict):
    """A ledger transaction that cannot be reversed as asked (already reversed, spent, wrong kind)."""


class LedgerInvariantBroken(LoyaltyError):
    """The ledger disagrees with itself; `problems` names every check that failed and its ids."""

    def __init__(self, problems: list):
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"The ledger is inconsistent ({len(self.problems)} problems):\n{lines}")


class UnknownRedemption(NotFound):
    """A redemption id that does not exist, or belongs to another customer than the asker."""

    def __init__(self, redemption_id: int):
        self.redemption_id = redemption_id
        super().__init__(f"Redemption {redemption_id} does not exist.")


class UnknownGrant(NotFound):
    """A reward grant id that does not exist."""

    def __init__(self, grant_id: int):
        self.grant_id = grant_id
        super().__init__(f"Reward grant {grant_id} does not exist.")


class GrantSettled(Conflict):
    """Fulfilling a reward grant that was cancelled, or cancelling one that was fulfilled."""

    def __init__(self, grant_id: int, status: str, wanted: str):
        self.grant_id, self.status = grant_id, status
        super().__init__(f"Reward grant {grant_id} is already {status}; it cannot be {wanted}.")


class NotEnoughPointsForReward(InsufficientPoints):
    """A reward costing more than the customer can spend now; nothing was taken."""

    def __init__(self, reward_id: str, available: int, needed: int):
        self.reward_id = reward_id
        super().__init__(available, needed)
        self.args = (f"{reward_id!r} needs {needed:,} points; only {available:,} are available.",)

    @property
    def needed(self) -> int:
        return self.requested


class OutOfStock(Conflict):
    """A reward whose whole stock is taken by pending and fulfilled redemptions."""

    def __init__(self, reward_id: str):
        self.reward_id = reward_id
        super().__init__(f"{reward_id!r} is out of stock; none is left to redeem.")


class RewardNotOffered(Conflict):
    """A reward the ruleset in force no longer offers; redemptions made earlier stay valid."""

    def __init__(self, reward_id: str):
        self.reward_id = reward_id
        super().__init__(f"{reward_id!r} is no longer offered.")


class RedemptionLimitReached(Conflict):
    """A customer who already holds as many of this reward as its per-customer limit allows."""

    def __init__(self, reward_id: str, limit: int):
        self.reward_id, self.limit = reward_id, limit
        super().__init__(f"{reward_id!r} can be redeemed at most {limit} time{'s' if limit != 1 else ''} "
                         "per customer, and that limit is reached.")


class IdempotencyKeyReused(Conflict):
    """An Idempotency-Key already used for a different request: a new request needs a new key."""


class RedemptionSettled(Conflict):
    """A settlement that contradicts the one recorded: fulfilling a cancelled one, cancelling a fulfilled one."""

    def __init__(self, redemption_id: int, status: str, wanted: str):
        self.redemption_id, self.status = redemption_id, status
        super().__init__(f"Redemption {redemption_id} is already {status}; it cannot be {wanted}.")
