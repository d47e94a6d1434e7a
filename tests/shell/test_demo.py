"""`flask --app wsgi seed-demo`: the demo data the README's walk-through relies on."""

from sqlalchemy import func, select

from api import demo
from api.core import db
from participation.models import Household, Project, Resident, Staff
from tests.support.demo import printed_passwords
from tests.support.voting_helpers import run_jobs


def seed(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    return result.output


def test_seed_demo_builds_the_walk_through_and_is_safe_to_run_again(app, client, make, wechat):
    first = seed(app)
    passwords = printed_passwords(first)
    assert set(passwords) == {"admin", "county", "clerk", "owner"}
    # It says what each of the three projects is for.
    assert "Project 1 (团结小区老旧小区改造项目) has its first plan" in first
    assert "Project 2 (建设小区老旧小区改造项目) passed its satisfaction gate" in first
    assert "Project 3 (勐焕社区2025年楼道照明提升工程) is completed and rated" in first
    assert "was adopted by an owners' decision" in first
    assert "Project 4 (" in first and "in its warranty period until" in first
    assert "management rules: version 1 adopted" in first
    run_jobs(app)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Household)) == 200
        projects = db.session.scalars(select(Project).order_by(Project.id)).all()
        assert [p.status for p in projects] == [
            "consulting",
            "construction",
            "completed",
            "accepted",
        ]
        assert projects[3].warranty_ends_on is not None
        site = projects[1]
        assert site.gate_passed and site.gate_final
        assert site.plan_satisfaction_rate >= 0.9 and site.participation_rate >= 2 / 3
        wang = db.session.scalar(select(Resident).where(Resident.openid == "demo-openid-wang"))
        db.session.expunge(wang)

    # The README's logins work with the printed passwords, and the owner sees both projects.
    login = client.post(
        "/api/v1/auth/staff-login", json={"username": "owner", "password": passwords["owner"]}
    )
    assert login.status_code == 200, login.json
    owner = {"Authorization": f"Bearer {login.json['token']}"}
    gate = client.get(f"/api/v1/projects/{site.id}/gate", headers=owner).json
    assert gate["passed"] is True and gate["final"] is True
    # The building site (工地) and the completion (竣工验收) pages have something to show.
    tickets = client.get(f"/api/v1/projects/{site.id}/tickets?per_page=100", headers=owner).json
    assert {t["status"] for t in tickets["items"]} == {"open", "answered", "reopened", "resolved"}
    assert any(t["overdue"] for t in tickets["items"])
    signups = client.get(f"/api/v1/projects/{site.id}/supervisors", headers=owner).json
    assert {s["status"] for s in signups["items"]} == {"pending", "accepted", "declined"}
    inspections = client.get(f"/api/v1/projects/{site.id}/inspections", headers=owner).json
    assert any(i["photos"] for i in inspections["items"])
    completion = client.get(f"/api/v1/projects/{projects[2].id}/completion", headers=owner).json
    assert completion["ratings"] == 40 and completion["rating_open"] is True
    # The comments' moderation (评论管理): hidden by reports, reported once, held for review.
    queue = client.get("/api/v1/comments/moderation", headers=owner).json
    assert sorted(c["status"] for c in queue["items"]) == ["pending_review", "reported", "visible"]
    # 居民出资: the building site's scheme is adopted, with pledges and payments to show.
    schemes = client.get(f"/api/v1/projects/{site.id}/contribution-schemes", headers=owner).json
    assert [s["status"] for s in schemes] == ["adopted"]
    scheme_id = schemes[0]["id"]
    figures = client.get(f"/api/v1/contribution-schemes/{scheme_id}/figures", headers=owner).json
    assert figures["totals"]["pledged"] > 0 and figures["totals"]["paid_fen"] > 0
    # 保修期: the accepted project's warranty problems wait for the owner's answer.
    warranty = client.get(
        f"/api/v1/projects/{projects[3].id}/tickets?phase=warranty", headers=owner
    ).json
    assert {t["status"] for t in warranty["items"]} == {"open", "answered", "resolved"}

    # demo-wang can sign up to supervise the project under construction.
    signed = client.post(
        f"/api/v1/projects/{site.id}/supervisors",
        json={"trade": "水电工", "days_available": ["sat", "sun"]},
        headers=make.headers(wang),
    )
    assert signed.status_code == 201, signed.json
    problem = client.post(
        f"/api/v1/projects/{site.id}/problems",
        json={"aspects": ["safety"], "description": "3栋门口沟槽夜里没有围挡", "severity": "major"},
        headers=make.headers(wang),
    )
    assert problem.status_code == 201, problem.json
    assert problem.json["status"] == "open"

    # A second run keeps the data and renews the passwords.
    second = seed(app)
    assert passwords["clerk"] not in second
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Project)) == 4
        assert db.session.scalar(select(func.count()).select_from(Staff)) == 4


def test_seed_demo_has_a_notice_read_in_some_buildings_more_than_others(app, client, wechat):
    """The clerk's pinned notice to the second estate (the console's 通知公告): published,
    read by more of 1栋's households than of 4栋's, its messages all `no_consent` (the demo's
    residents accepted no template, so the fake WeChat receives nothing); once, however often
    the demo is seeded."""
    seed(app)
    passwords = printed_passwords(seed(app))
    run_jobs(app)  # with Redis, the deliveries wait in the queue (the demo runs them in-process)
    login = client.post(
        "/api/v1/auth/staff-login", json={"username": "clerk", "password": passwords["clerk"]}
    )
    clerk = {"Authorization": f"Bearer {login.json['token']}"}
    listed = client.get("/api/v1/notices?status=published&per_page=100", headers=clerk).json
    [notice] = [n for n in listed["items"] if n["title"] == demo.DEMO_NOTICE_TITLE]
    assert notice["pinned"] is True
    shares = client.get(f"/api/v1/notices/{notice['id']}/buildings", headers=clerk).json
    read = [b["read_share"] for b in shares["items"]]
    assert len(read) == 4 and read[0] > read[-1] and 0 < shares["read_share"] < 1
    report = client.get(f"/api/v1/notices/{notice['id']}/delivery-report", headers=clerk).json
    assert report["deliveries"]["no_consent"] == report["deliveries"]["total"] > 0
    unreached = client.get(f"/api/v1/notices/{notice['id']}/unreached", headers=clerk).json
    assert unreached["not_reached"] == shares["households_targeted"] - shares["households_read"]
    assert wechat.messages == []
