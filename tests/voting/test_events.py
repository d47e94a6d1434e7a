"""What voting announces and schedules: the payloads of its events (the contract in
`api.core.events`), the jobs an opening schedules, and the reconciler's own schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from api.core import db, utcnow
from api.core import periodic as periodic_module
from tests.support.voting_helpers import build_scene, open_consultation, resident, run_jobs
from voting import jobs
from voting.models import Consultation
from voting.service import reminders
from voting.service import tally as tally_service


def _vote(client, make, app, resident_id, consultation_id, choice="satisfied"):
    reply = client.put(
        f"/api/v1/consultations/{consultation_id}/ballot",
        json={"choice": choice},
        headers=make.headers(resident(app, resident_id)),
    )
    assert reply.status_code == 200, reply.json


def _recording(monkeypatch, module, name="emit"):
    """Record what `module` emits (or schedules), and still do it."""
    calls = []
    real = getattr(module, name)

    def record(*args, **kwargs):
        calls.append((args, kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, record)
    return calls


def test_an_opening_is_announced_and_schedules_its_close_and_its_reminder(
    app, client, make, monkeypatch
):
    emitted = _recording(monkeypatch, jobs)
    scheduled = _recording(monkeypatch, jobs, "schedule_at")
    scene = build_scene(app, households=2)
    closes_at = (utcnow() + timedelta(days=10)).replace(microsecond=0)
    cid = open_consultation(client, make, scene, closes_at=closes_at.isoformat())

    [(args, payload)] = [call for call in emitted if call[0] == ("consultation_opened",)]
    with app.app_context():
        consultation = db.session.get(Consultation, cid)
        assert payload == {
            "consultation_id": cid,
            "project_id": scene.project_id,
            "kind": "plan_satisfaction",
            "title": consultation.title,
            "opened_at": consultation.opened_at,
            "closes_at": closes_at,
        }
    close_ts, remind_ts = int(closes_at.timestamp()), int(closes_at.timestamp()) - 24 * 3600
    assert [(args[1], args[2:], kw["queue"], kw["job_id"]) for args, kw in scheduled] == [
        (jobs.reconcile, (), "default", f"close-{cid}-{close_ts}"),
        (jobs.closing_reminder, (cid,), "notices", f"closing-reminder-{cid}-{remind_ts}"),
    ]


def test_a_short_consultation_schedules_no_reminder(app, client, make, monkeypatch):
    """A needs survey may be short (a plan's satisfaction consultation may not)."""
    scheduled = _recording(monkeypatch, jobs, "schedule_at")
    scene = build_scene(app, households=2)
    cid = open_consultation(
        client,
        make,
        scene,
        kind="needs_survey",
        plan_id=None,
        closes_at=(utcnow() + timedelta(hours=5)).isoformat(),
    )
    assert [kw["job_id"].rsplit("-", 1)[0] for _, kw in scheduled] == [f"close-{cid}"]


def test_the_closing_reminder_names_the_households_that_have_not_voted(
    app, client, make, monkeypatch
):
    emitted = _recording(monkeypatch, reminders)
    scene = build_scene(app, households=3)
    closes_at = utcnow() + timedelta(days=10)
    cid = open_consultation(client, make, scene, closes_at=closes_at.isoformat())
    _vote(client, make, app, scene.resident_ids[0], cid)

    with app.app_context():
        assert jobs.closing_reminder(cid) is False  # the job ran early: not yet
        assert emitted == []
        consultation = db.session.get(Consultation, cid)
        at = reminders.reminder_at(consultation)
        assert reminders.remind(cid, at) is True
        [(args, payload)] = emitted
        assert args == ("consultation_closing",)
        households = payload.pop("households")
        assert payload == {
            "consultation_id": cid,
            "project_id": scene.project_id,
            "title": consultation.title,
            "closes_at": consultation.closes_at,
        }
        assert set(db.session.scalars(households)) == set(scene.household_ids[1:])
        assert reminders.remind(cid, consultation.closes_at) is False  # closed by then


def test_the_first_final_count_of_a_gate_announces_the_result(app, client, make, monkeypatch):
    emitted = _recording(monkeypatch, tally_service)
    scene = build_scene(app, households=3)
    cid = open_consultation(client, make, scene)
    for resident_id in scene.resident_ids:
        _vote(client, make, app, resident_id, cid)
    run_jobs(app)
    assert emitted == []  # provisional counts announce nothing
    closed = client.post(f"/api/v1/consultations/{cid}/close", headers=make.headers(scene.clerk))
    assert closed.status_code == 200
    run_jobs(app)
    with app.app_context():
        tally_service.recompute(cid)  # a second final count announces nothing more
        db.session.commit()
        title = db.session.get(Consultation, cid).title

    [(args, payload)] = emitted
    assert args == ("gate_final",)
    assert payload == {
        "project_id": scene.project_id,
        "consultation_id": cid,
        "title": title,
        "threshold": Decimal("0.900000"),
        "quorum": Decimal("0.666667"),
        "passed": True,
        "satisfaction_rate": Decimal("1.000000"),
        "participation_rate": Decimal("1.000000"),
    }


def test_the_reconciler_schedules_its_next_minute_with_a_stable_job_id(app, monkeypatch):
    scheduled = []
    monkeypatch.setattr(
        periodic_module, "schedule_at", lambda *args, **kw: scheduled.append((args, kw))
    )
    with app.app_context():
        jobs.schedule_reconcile(datetime(2026, 12, 1, 9, 30, 42, tzinfo=UTC))
    at = datetime(2026, 12, 1, 9, 31, tzinfo=UTC)
    assert scheduled == [
        (
            (at, jobs.reconcile_job),
            {"queue": "default", "job_id": f"reconcile-{int(at.timestamp())}"},
        )
    ]
