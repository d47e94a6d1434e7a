"""Entries of a household's contribution account (issue 15, item 2): a clerk records payments,
corrections as new entries (never edits) and refunds when a scheme is cancelled; the same
idempotency key is one entry; a scheme collects nothing before its owners' decision passes,
and the database refuses an entry for a scheme that was never adopted even if the service's
check were skipped."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError

from api.core import db, local_today
from participation.models import ContributionEntry, ContributionScheme
from participation.service import payments
from tests.contributions.money_world import (
    DUE_FEN,
    entry_body,
    entry_count,
    make_scheme,
    post_entry,
    tomorrow,
    yesterday,
)
from tests.support.voting_world import assert_error_shape, build_world, diff, snapshot


@pytest.fixture(scope="module")
def world(app, module_make):
    w = build_world(app, module_make)
    w.adopted = make_scheme(app, w, decided=True, adopt=True)
    w.draft = make_scheme(app, w, title="草案方案", decided=True)
    return w


def _paid(client, w, scheme_id, household_id) -> int:
    reply = client.get(
        f"/api/v1/contribution-schemes/{scheme_id}/entries?household_id={household_id}&per_page=100",
        headers=w.headers["clerk"],
    )
    assert reply.status_code == 200, reply.get_json()
    return sum(item["amount_fen"] for item in reply.get_json()["items"])


def test_a_payment_is_recorded_and_shown_with_its_household(app, client, world):
    household = world.scene.household_ids[0]
    body = entry_body(household, amount_fen=40_000, channel="bank_transfer", note="第一期")
    reply = post_entry(client, world.headers["clerk"], world.adopted, body)

    assert reply.status_code == 201, reply.get_json()
    entry = reply.get_json()
    assert entry["amount_fen"] == 40_000 and isinstance(entry["amount_fen"], int)
    assert entry["kind"] == "payment" and entry["kind_label"] == "缴款"
    assert entry["channel_label"] == "银行转账" and entry["source"] == "clerk"
    assert (entry["building"], entry["unit"]) == ("1栋", "1单元")
    assert entry["household_id"] == household and entry["paid_on"] == local_today().isoformat()
    listed = client.get(
        f"/api/v1/contribution-schemes/{world.adopted}/entries", headers=world.headers["clerk"]
    ).get_json()
    assert [item["id"] for item in listed["items"]] == [entry["id"]]
    # The household's own member reads its entries too.
    own = client.get(
        f"/api/v1/contribution-schemes/{world.adopted}/entries?household_id={household}",
        headers=world.members[0],
    )
    assert own.status_code == 200 and own.get_json()["total"] == 1


def test_the_same_key_twice_is_one_entry(app, client, world):
    body = entry_body(world.scene.household_ids[0])
    first = post_entry(client, world.headers["clerk"], world.adopted, body)
    again = post_entry(client, world.headers["county_officer"], world.adopted, body)

    assert first.status_code == 201 and again.status_code == 200, again.get_json()
    assert again.get_json() == first.get_json()
    assert entry_count(app, world.adopted) == 1


def test_the_same_key_with_other_content_is_refused(app, client, world):
    body = entry_body(world.scene.household_ids[0])
    assert post_entry(client, world.headers["clerk"], world.adopted, body).status_code == 201
    before = snapshot(app)

    for change in ({"amount_fen": 10_001}, {"household_id": world.scene.household_ids[1]}):
        reply = post_entry(client, world.headers["clerk"], world.adopted, {**body, **change})
        assert_error_shape(reply, 409, "idempotency_key_reused")
    assert snapshot(app) == before


def test_a_correction_is_a_new_entry_naming_the_one_it_corrects(app, client, world):
    household = world.scene.household_ids[1]
    clerk = world.headers["clerk"]
    paid = post_entry(client, clerk, world.adopted, entry_body(household, amount_fen=12_000))
    wrong = paid.get_json()["id"]
    fix = entry_body(household, kind="correction", amount_fen=-2_000, corrects_id=wrong)
    fix["note"] = "收据金额为100元，登记有误"
    reply = post_entry(client, clerk, world.adopted, fix)

    assert reply.status_code == 201, reply.get_json()
    assert reply.get_json()["corrects_id"] == wrong
    assert _paid(client, world, world.adopted, household) == 10_000
    with app.app_context():  # the original entry is untouched
        assert db.session.get(ContributionEntry, wrong).amount_fen == 12_000


def test_a_correction_may_not_take_the_balance_below_zero(app, client, world):
    household = world.scene.household_ids[2]
    clerk = world.headers["clerk"]
    paid = post_entry(client, clerk, world.adopted, entry_body(household, amount_fen=5_000))
    before = snapshot(app)

    too_much = entry_body(
        household, kind="correction", amount_fen=-5_001, corrects_id=paid.get_json()["id"]
    )
    error = assert_error_shape(post_entry(client, clerk, world.adopted, too_much), 409)
    # The entry corrected stands for 5,000 fen: a correction mends it, never past zero.
    assert error["code"] == "correction_too_large" and error["details"]["standing_fen"] == 5_000
    assert snapshot(app) == before, diff(before, snapshot(app))
    # A correction is mended through the entry it corrects, never by correcting the correction.
    fix = entry_body(
        household, kind="correction", amount_fen=-100, corrects_id=paid.get_json()["id"]
    )
    fixed = post_entry(client, clerk, world.adopted, fix)
    assert fixed.status_code == 201, fixed.get_json()
    before = snapshot(app)
    again = entry_body(
        household, kind="correction", amount_fen=50, corrects_id=fixed.get_json()["id"]
    )
    assert_error_shape(
        post_entry(client, clerk, world.adopted, again), 422, "corrected_entry_invalid"
    )
    assert snapshot(app) == before


def test_a_correction_names_an_entry_of_the_same_household(app, client, world):
    clerk = world.headers["clerk"]
    first = world.scene.household_ids[0]
    other = post_entry(client, clerk, world.adopted, entry_body(first)).get_json()["id"]
    before = snapshot(app)
    for corrects in (other, None, 987_654):
        body = entry_body(
            world.scene.household_ids[1], kind="correction", amount_fen=100, corrects_id=corrects
        )
        assert_error_shape(
            post_entry(client, clerk, world.adopted, body), 422, "corrected_entry_invalid"
        )
    unexpected = entry_body(first, corrects_id=other)
    assert_error_shape(
        post_entry(client, clerk, world.adopted, unexpected), 422, "corrects_id_unexpected"
    )
    assert snapshot(app) == before


def test_refunds_return_an_overpayment_only(app, client, world):
    household = world.scene.household_ids[3]
    clerk = world.headers["clerk"]
    post_entry(client, clerk, world.adopted, entry_body(household, amount_fen=DUE_FEN + 3_000))
    before = snapshot(app)
    too_large = entry_body(household, kind="refund", amount_fen=-3_001)
    error = assert_error_shape(post_entry(client, clerk, world.adopted, too_large), 409)
    assert error["code"] == "refund_too_large"
    assert error["details"] == {"paid_fen": DUE_FEN + 3_000, "refundable_fen": 3_000}
    assert snapshot(app) == before

    refund = entry_body(household, kind="refund", amount_fen=-3_000, channel="bank_transfer")
    assert post_entry(client, clerk, world.adopted, refund).status_code == 201
    assert _paid(client, world, world.adopted, household) == DUE_FEN


def test_a_cancelled_scheme_refunds_what_was_paid_and_collects_no_more(app, client, world):
    scheme = make_scheme(app, world, title="将取消的方案", decided=True, adopt=True)
    household = world.scene.household_ids[0]
    clerk = world.headers["clerk"]
    payment = post_entry(client, clerk, scheme, entry_body(household, amount_fen=30_000))
    with app.app_context():
        from participation.service import contributions

        contributions.cancel(scheme, "方案调整")
        db.session.commit()
    before = snapshot(app)

    late = post_entry(client, clerk, scheme, entry_body(household))
    assert_error_shape(late, 409, "scheme_not_adopted")
    too_large = post_entry(
        client, clerk, scheme, entry_body(household, kind="refund", amount_fen=-30_001)
    )
    assert_error_shape(too_large, 409, "refund_too_large")
    assert snapshot(app) == before

    for part in (-10_000, -20_000):
        body = entry_body(household, kind="refund", amount_fen=part, paid_on=yesterday())
        assert post_entry(client, clerk, scheme, body).status_code == 201
    assert _paid(client, world, scheme, household) == 0
    last = post_entry(client, clerk, scheme, entry_body(household, kind="refund", amount_fen=-1))
    assert_error_shape(last, 409, "refund_too_large")
    # All refunded: a correction of the payment that stays within the payment would still take
    # the household's account below zero.
    before = snapshot(app)
    mend = entry_body(
        household, kind="correction", amount_fen=-1, corrects_id=payment.get_json()["id"]
    )
    error = assert_error_shape(post_entry(client, clerk, scheme, mend), 409, "balance_negative")
    assert error["details"]["paid_fen"] == 0
    assert snapshot(app) == before


# --- a scheme cannot collect before its owners' decision passes --------------------------------


def test_a_draft_scheme_collects_nothing(app, client, world):
    household = world.scene.household_ids[0]
    before = snapshot(app)
    for body in (
        entry_body(household),
        entry_body(household, kind="refund", amount_fen=-100),
    ):
        error = assert_error_shape(
            post_entry(client, world.headers["clerk"], world.draft, body), 409, "scheme_not_adopted"
        )
        assert "业主共同决定" in error["message"] or "尚未通过" in error["message"]
    assert snapshot(app) == before
    assert entry_count(app, world.draft) == 0


def test_a_scheme_whose_decision_did_not_pass_cannot_be_adopted_nor_collect(app, client, world):
    """No decision at all: adoption is refused, and the scheme stays a draft that collects
    nothing."""
    scheme = make_scheme(app, world, title="没有业主决定的方案")
    with app.app_context():
        from api.core import Conflict
        from participation.models import Project
        from participation.service import contributions

        with pytest.raises(Conflict) as refused:
            contributions.adopt(scheme, db.session.get(Project, world.project_id))
        assert refused.value.code == "decision_not_passed"
        db.session.rollback()
    reply = post_entry(
        client, world.headers["clerk"], scheme, entry_body(world.scene.household_ids[0])
    )
    assert_error_shape(reply, 409, "scheme_not_adopted")


def test_the_database_refuses_an_entry_of_a_scheme_never_adopted(app, world):
    """Even if the service's check were skipped, an entry needs the household's frozen due
    (composite foreign key onto contribution_dues), which only adoption writes."""
    with app.app_context():
        if (
            db.engine.dialect.name == "sqlite"
            and not db.session.execute(text("PRAGMA foreign_keys")).scalar()
        ):
            pytest.skip("this SQLite connection does not enforce foreign keys (PRAGMA off)")
        draft = db.session.get(ContributionScheme, world.draft)
        assert draft.status == "draft"
        row = {
            "scheme_id": world.draft,
            "household_id": world.scene.household_ids[0],
            "kind": "payment",
            "amount_fen": 100,
            "paid_on": local_today(),
            "channel": "cash",
            "idempotency_key": "sneaked-in-0001",
            "source": "clerk",
        }
        with pytest.raises(IntegrityError):
            with db.session.begin_nested():
                db.session.execute(insert(ContributionEntry), [row])
        db.session.rollback()
        assert (
            db.session.scalar(
                select(ContributionEntry.id).where(ContributionEntry.scheme_id == world.draft)
            )
            is None
        )


def test_the_service_refuses_a_draft_whoever_calls_it(app, world):
    """The seam an adapter will call applies the same rule as the clerk's route."""
    with app.app_context():
        draft = db.session.get(ContributionScheme, world.draft)
        entry = payments.EntryIn(
            kind="payment",
            amount_fen=100,
            paid_on=local_today(),
            channel="bank_transfer",
            idempotency_key="adapter-tx-0001",
        )
        with pytest.raises(payments.SchemeNotAdopted):
            payments.record(draft, world.scene.household_ids[0], entry, source="adapter")
        db.session.rollback()


def test_an_adapter_records_through_the_same_seam(app, world):
    with app.app_context():
        scheme = db.session.get(ContributionScheme, world.adopted)
        entry = payments.EntryIn(
            kind="payment",
            amount_fen=2_500,
            paid_on=local_today(),
            channel="bank_transfer",
            idempotency_key="adapter-tx-0002",
        )
        household = world.scene.household_ids[1]
        made, created = payments.record(
            scheme, household, entry, source="adapter", external_ref="WX4200001"
        )
        again, created_again = payments.record(
            scheme, household, entry, source="adapter", external_ref="WX4200001"
        )
        db.session.commit()
        assert (created, created_again) == (True, False) and again.id == made.id
        assert (made.source, made.external_ref, made.staff_id) == ("adapter", "WX4200001", None)
        assert payments.net_paid(scheme.id, household) == 2_500


def test_a_payment_dated_in_the_future_is_refused(app, client, world):
    before = snapshot(app)
    body = entry_body(world.scene.household_ids[0], paid_on=tomorrow())
    assert_error_shape(
        post_entry(client, world.headers["clerk"], world.adopted, body), 422, "paid_on_in_future"
    )
    assert snapshot(app) == before


def test_a_receipt_photo_is_the_clerks_own_upload_kept_as_evidence(app, client, world):
    body = entry_body(world.scene.household_ids[2], photo_id=world.uploads["clerk"])
    reply = post_entry(client, world.headers["clerk"], world.adopted, body)
    assert reply.status_code == 201, reply.get_json()
    assert reply.get_json()["photo_id"] == world.uploads["clerk"]
