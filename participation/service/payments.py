"""The one seam through which money enters a household's contribution account (缴款登记).

`record` is called by the clerk's route today and by a payment adapter later; nothing else
writes a `ContributionEntry`. What an adapter must give:

- the scheme (loaded, adopted) and the household id the money is for;
- an `EntryIn` with `kind="payment"`, `amount_fen` (int, > 0, fen), `paid_on` (the day the money
  arrived, not in the future), `channel` (`bank_transfer` or `other`), its own transaction id as
  `idempotency_key` (8–64 of [A-Za-z0-9_-]: a notification delivered twice is one entry);
- `source="adapter"`, `staff=None`, `external_ref` its transaction reference (≤ 64 chars).

It gets back the entry and whether it was created now (False: the same key was recorded
before with the same content); it must commit. A refusal is a `DomainError` (a 409 when the
scheme is not collecting, `idempotency_key_reused` when its key named other content).

Rules that hold whoever calls (the database holds the last two even without this module):
a scheme collects only while adopted; a household's account is serialized (its frozen due
row locked FOR UPDATE), so two corrections or refunds at once cannot take what it has paid
below zero; the same idempotency key in a scheme is one entry (UNIQUE(scheme_id,
idempotency_key), inserted with ON CONFLICT DO NOTHING, so two clerks racing never see a
500); an entry exists only for a household the scheme froze a due for (composite foreign key).

Functions flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

from sqlalchemy import func, select

from api.core import Conflict, InvalidInput, db, dialect_insert, local_today
from api.core.audit import note_row
from participation.models import ContributionDue, ContributionEntry, ContributionScheme, Staff
from participation.service.contributions import HouseholdNotInScheme, hold_status

# The fields of an entry that make its content: the same key with other content is refused.
CONTENT = (
    "household_id",
    "kind",
    "amount_fen",
    "paid_on",
    "channel",
    "receipt_no",
    "photo_upload_id",
    "note",
    "corrects_id",
)


@dataclass(frozen=True)
class EntryIn:
    """An entry as its recorder gives it. `amount_fen` is signed: payment > 0, refund < 0,
    correction ≠ 0 naming `corrects_id`."""

    kind: str
    amount_fen: int
    paid_on: date
    channel: str
    idempotency_key: str
    receipt_no: str | None = None
    photo_upload_id: int | None = None
    note: str | None = None
    corrects_id: int | None = None

    def values(self) -> dict:
        """The fields as a dict (shallow: `dataclasses.asdict` deep-copies every value)."""
        return {field.name: getattr(self, field.name) for field in fields(self)}

    @classmethod
    def from_args(cls, args: dict) -> EntryIn:
        """From the route's loaded body (`photo_id` is the upload's id)."""
        return cls(
            kind=args["kind"],
            amount_fen=args["amount_fen"],
            paid_on=args["paid_on"],
            channel=args["channel"],
            idempotency_key=args["idempotency_key"],
            receipt_no=args.get("receipt_no"),
            photo_upload_id=args.get("photo_id"),
            note=args.get("note"),
            corrects_id=args.get("corrects_id"),
        )


class SchemeNotAdopted(Conflict):
    code = "scheme_not_adopted"
    message = "出资方案尚未经业主共同决定通过，不能登记缴款"


class KeyReused(Conflict):
    code = "idempotency_key_reused"
    message = "该登记编号已用于另一笔内容不同的记录，请重新打开登记窗口后再提交"


def net_paid(scheme_id: int, household_id: int) -> int:
    """What the household has paid under the scheme: the sum of its entries (fen)."""
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(ContributionEntry.amount_fen), 0)).where(
                ContributionEntry.scheme_id == scheme_id,
                ContributionEntry.household_id == household_id,
            )
        )
    )


def _by_key(scheme_id: int, key: str) -> ContributionEntry | None:
    return db.session.scalar(
        select(ContributionEntry)
        .where(ContributionEntry.scheme_id == scheme_id, ContributionEntry.idempotency_key == key)
        .execution_options(populate_existing=True)
    )


def _same(existing: ContributionEntry, household_id: int, entry: EntryIn) -> ContributionEntry:
    """The existing entry of this key, when it records the same thing; else 409."""
    wanted = {**entry.values(), "household_id": household_id}
    if any(getattr(existing, name) != wanted[name] for name in CONTENT):
        raise KeyReused(details={"entry_id": existing.id})
    return existing


def _locked_due(scheme: ContributionScheme, household_id: int) -> ContributionDue | None:
    """The household's frozen due (None: none was frozen), locked until the transaction
    ends: every write to one household's account of a scheme goes one at a time, so a balance
    read after it is still true when the entry is inserted."""
    due = db.session.scalar(
        select(ContributionDue)
        .where(ContributionDue.scheme_id == scheme.id, ContributionDue.household_id == household_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return due


def _check_payment(scheme: ContributionScheme) -> None:
    if scheme.status == "cancelled":
        raise SchemeNotAdopted("出资方案已取消，不能再登记缴款")
    if scheme.status != "adopted":
        raise SchemeNotAdopted()


def _check_refund(scheme: ContributionScheme, due: ContributionDue, paid: int, amount: int):
    """A cancelled scheme refunds up to what was paid; an adopted one what was paid beyond
    the household's amount (an overpayment)."""
    if scheme.status == "cancelled":
        refundable = paid
    elif scheme.status == "adopted":
        refundable = max(paid - due.amount_fen, 0)
    else:
        raise SchemeNotAdopted("出资方案尚未通过，没有可退的款项")
    if -amount > refundable:
        raise Conflict(
            "退款金额超过可退金额"
            + ("（已缴金额）" if scheme.status == "cancelled" else "（多缴的部分）"),
            code="refund_too_large",
            details={"paid_fen": paid, "refundable_fen": refundable},
        )


def _check_correction(scheme: ContributionScheme, household_id: int, entry: EntryIn, paid: int):
    corrected = db.session.get(ContributionEntry, entry.corrects_id) if entry.corrects_id else None
    if (
        corrected is None
        or corrected.scheme_id != scheme.id
        or corrected.household_id != household_id
    ):
        raise InvalidInput(
            "更正须指向本方案中该户的一条已登记记录",
            code="corrected_entry_invalid",
            details={"corrects_id": entry.corrects_id},
        )
    if corrected.kind == "correction":
        raise InvalidInput(
            "更正须指向一条缴款或退款记录，而不是另一条更正",
            code="corrected_entry_invalid",
            details={"corrects_id": entry.corrects_id},
        )
    # What the corrected entry stands for now, its earlier corrections included: a correction
    # mends it, never turns a payment into a refund (or the other way round).
    standing = corrected.amount_fen + (
        db.session.scalar(
            select(func.coalesce(func.sum(ContributionEntry.amount_fen), 0)).where(
                ContributionEntry.corrects_id == corrected.id
            )
        )
        or 0
    )
    after = standing + entry.amount_fen
    if (corrected.kind == "payment" and after < 0) or (corrected.kind == "refund" and after > 0):
        raise Conflict(
            "更正金额超过被更正记录的金额",
            code="correction_too_large",
            details={"standing_fen": standing, "amount_fen": entry.amount_fen},
        )
    if paid + entry.amount_fen < 0:
        raise Conflict(
            "更正后该户已缴金额将小于零",
            code="balance_negative",
            details={"paid_fen": paid, "amount_fen": entry.amount_fen},
        )


def record(
    scheme: ContributionScheme,
    household_id: int,
    entry: EntryIn,
    *,
    source: str = "clerk",
    staff: Staff | None = None,
    external_ref: str | None = None,
) -> tuple[ContributionEntry, bool]:
    """Record one entry of the household's account under the scheme; (the entry, created).

    The same `idempotency_key` in the scheme with the same content is the entry recorded
    before (created False, whatever the scheme's state now); with other content 409
    `idempotency_key_reused`. Else: 409 `scheme_not_adopted` (a payment on a draft or a
    cancelled scheme, anything on a draft), 404 `household_not_found`, 422
    `paid_on_in_future`, 422 `corrects_id_unexpected` / `corrected_entry_invalid`, 409
    `refund_too_large` / `balance_negative`. Nothing is written on a refusal.
    """
    # The household's account is locked first: another clerk recording this key (or another
    # entry of this household) now waits until this one commits, then reads it below.
    hold_status(scheme)
    due = _locked_due(scheme, household_id)
    existing = _by_key(scheme.id, entry.idempotency_key)
    if existing is not None:
        return _same(existing, household_id, entry), False
    if due is None:
        # Only adoption freezes dues: a draft has none for any household.
        if scheme.status == "draft":
            raise SchemeNotAdopted()
        raise HouseholdNotInScheme()
    if entry.kind != "correction" and entry.corrects_id is not None:
        raise InvalidInput("只有更正记录可以指向另一条记录", code="corrects_id_unexpected")
    if entry.paid_on > local_today():
        raise InvalidInput("缴款日期不能晚于今天", code="paid_on_in_future")
    if entry.kind == "payment":
        _check_payment(scheme)
    elif entry.kind == "refund":
        _check_refund(scheme, due, net_paid(scheme.id, household_id), entry.amount_fen)
    else:
        _check_correction(scheme, household_id, entry, net_paid(scheme.id, household_id))
    values = {
        **entry.values(),
        "scheme_id": scheme.id,
        "household_id": household_id,
        "source": source,
        "external_ref": external_ref,
        "staff_id": staff.id if staff is not None else None,
    }
    statement = (
        dialect_insert(ContributionEntry)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["scheme_id", "idempotency_key"])
        .returning(ContributionEntry)
    )
    made = db.session.scalars(statement).first()
    if made is None:
        # The key was committed by another transaction between the read and the insert (a
        # different household's account, so the lock did not order the two).
        return _same(_by_key(scheme.id, entry.idempotency_key), household_id, entry), False
    note_row(db.session, "contribution_entries", made.id, "insert", after=values)
    return made, True
