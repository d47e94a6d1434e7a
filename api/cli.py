"""The `flask --app wsgi ...` commands: seed-demo, create-staff, import-households, worker."""

from __future__ import annotations

import random
import secrets
import sys
from decimal import Decimal
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import select

from api import auth, demo
from api.core import DomainError, commit, db
from api.jobs import QUEUES, describe_queues, make_worker
from feedback import jobs as feedback_jobs
from notices import jobs as notice_jobs
from participation.models import ROLES, Community, County, Estate, Plan, PlanItem, Project, Staff
from participation.service import projects as project_service
from participation.service import registry as service
from participation.service import roster
from voting import jobs as voting_jobs

DEMO_COUNTY = "芒市"
DEMO_COMMUNITY = "勐焕社区"
DEMO_ESTATES = (("团结小区", "团结大街88号", 6), ("建设小区", "建设路12号", 4))
SURNAMES = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何林罗高"
GIVEN = (
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "艳",
    "勇",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "桂英",
    "建华",
    "志强",
    "玉兰",
    "德明",
)
# The first household of the first estate: the README's curl lines claim it.
DEMO_OWNER = {
    "building": "1栋",
    "unit": "1单元",
    "room": "101",
    "name": "张伟",
    "phone_last4": "1234",
}


def _fail(message: str):
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _demo_rows(estate_index: int, buildings: int) -> list[roster.RosterRow]:
    rng = random.Random(estate_index)
    rows = []
    for b in range(1, buildings + 1):
        for unit in (1, 2):
            for floor in range(1, 6):
                for door in (1, 2):
                    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
                    rows.append(
                        roster.RosterRow(
                            len(rows) + 2,
                            f"{b}栋",
                            f"{unit}单元",
                            f"{floor}0{door}",
                            name,
                            f"{rng.randrange(10000):04d}",
                            Decimal(rng.randrange(4500, 13000)) / 100,
                        )
                    )
    if estate_index == 0:
        first = rows[0]
        first.owner_name, first.owner_phone_last4 = DEMO_OWNER["name"], DEMO_OWNER["phone_last4"]
    return rows


def _set_password(username: str, role: str, scope_id: int | None, passwords: dict):
    password = secrets.token_urlsafe(9)
    staff = db.session.scalar(select(Staff).where(Staff.username == username))
    if staff is None:
        service.create_staff(
            None,
            {"username": username, "grants": [{"role": role, "scope_id": scope_id}]},
            auth.hash_password(password),
        )
    else:
        staff.password_hash = auth.hash_password(password)
    passwords[username] = (password, role, scope_id)


def register_commands(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo():
        """Demo data: a county, a community, two estates (~200 households) and staff.

        Safe to run again: the places are kept and the staff passwords are renewed.
        """
        county = db.session.scalar(select(County).where(County.name == DEMO_COUNTY))
        if county is None:
            county = service.create_county(DEMO_COUNTY)
            community = service.create_community(county, DEMO_COMMUNITY)
            for index, (name, address, buildings) in enumerate(DEMO_ESTATES):
                estate = service.create_estate(community, name, address)
                roster.apply(estate, _demo_rows(index, buildings))
        community_id = county_community_id(county)
        passwords: dict = {}
        _set_password("admin", "prefecture", None, passwords)
        _set_password("county", "county", county.id, passwords)
        _set_password("clerk", "committee", community_id, passwords)
        project = _demo_project(county)
        _set_password("owner", "owner", project.id, passwords)
        estates = db.session.scalars(select(Estate).order_by(Estate.id)).all()
        staff = {
            s.username: s
            for s in db.session.scalars(select(Staff).where(Staff.username.in_(("clerk", "owner"))))
        }
        building_site = demo.project_in_construction(
            county.id, estates[1], staff["clerk"], staff["owner"]
        )
        commit()
        click.echo("Demo data ready:")
        for estate in estates:
            click.echo(f"  estate {estate.id}: {estate.name}")
        click.echo("Staff accounts (passwords are new on every run):")
        for username, (password, role, scope) in passwords.items():
            click.echo(
                f"  {username:8} {password}   ({role}{'' if scope is None else f' {scope}'})"
            )
        click.echo(
            "A resident who signs in with code demo-zhang can claim estate "
            f"{estates[0].id}, {DEMO_OWNER['building']} {DEMO_OWNER['unit']} {DEMO_OWNER['room']}, "
            f"name {DEMO_OWNER['name']}, phone digits {DEMO_OWNER['phone_last4']}."
        )
        click.echo(
            f"Project {building_site.id} ({building_site.name}) passed its satisfaction gate and is "
            f"under construction; code {demo.SUPERVISOR_CODE} signs in a verified resident of "
            f"estate {estates[1].id} who can sign up to supervise it."
        )

    @app.cli.command("create-staff")
    @click.argument("username")
    @click.option("--password", required=True, help="at least 8 characters")
    @click.option("--role", required=True, type=click.Choice(ROLES))
    @click.option(
        "--scope", "scope_id", type=int, default=None, help="county, community or project id"
    )
    def create_staff(username, password, role, scope_id):
        """Create a staff account holding one role grant."""
        if len(password) < 8:
            _fail("the password needs at least 8 characters")
        try:
            service.create_staff(
                None,
                {"username": username, "grants": [{"role": role, "scope_id": scope_id}]},
                auth.hash_password(password),
            )
            commit()
        except DomainError as exc:
            db.session.rollback()
            _fail(f"{exc.code}: {exc.message}")
        click.echo(f"created staff {username} ({role}{'' if scope_id is None else f' {scope_id}'})")

    @app.cli.command("import-households")
    @click.argument("estate_id", type=int)
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--skip-bad", is_flag=True, help="import the good rows even if some are bad")
    def import_households(estate_id, file, skip_bad):
        """Import an estate's roster from an xlsx or csv file."""
        estate = db.session.get(Estate, estate_id)
        if estate is None:
            _fail(f"no estate with id {estate_id}")
        data = file.read_bytes()
        lines = roster.count_lines(data)
        try:
            if lines:
                with click.progressbar(length=max(lines - 1, 1), label="checking rows") as bar:
                    result = roster.import_roster(
                        estate, data, file.name, skip_bad=skip_bad, progress=bar.update
                    )
            else:  # an xlsx that does not say how many rows it has
                click.echo("checking rows…", err=True)
                result = roster.import_roster(estate, data, file.name, skip_bad=skip_bad)
            commit()
        except DomainError as exc:
            db.session.rollback()
            click.echo(f"error: {exc.message}", err=True)
            for bad in exc.details.get("bad_rows", []):
                click.echo(f"  row {bad['row']}: {'; '.join(bad['errors'])}", err=True)
            sys.exit(1)
        for bad in result.skipped:
            click.echo(f"skipped row {bad['row']}: {'; '.join(bad['errors'])}", err=True)
        click.echo(
            f"rows {result.rows}: created {result.created}, updated {result.updated}, "
            f"unchanged {result.unchanged}, skipped {len(result.skipped)}"
        )

    @app.cli.command("worker")
    @click.argument("queues", nargs=-1)
    @click.option("--burst", is_flag=True, help="stop when the queues are empty")
    @click.option("--name", default=None, help="worker name (unique per host)")
    def worker(queues, burst, name):
        """Run an RQ worker, with the scheduler, inside this app."""
        if current_app.extensions["jobs"].inline:
            _fail("REDIS_URL is not set: jobs run in-process and no worker is needed")
        w = make_worker(current_app._get_current_object(), queues or QUEUES, name=name)
        voting_jobs.schedule_reconcile()
        notice_jobs.schedule_sweep()
        feedback_jobs.schedule_reconcile()
        w.work(burst=burst, with_scheduler=True)

    @app.cli.command("reconcile")
    def reconcile():
        """Open and close consultations whose time has come; recount every stale tally and
        completion satisfaction now; re-check comments waiting for WeChat."""
        done = voting_jobs.reconcile()
        click.echo(
            f"opened {len(done['opened'])}, closed {len(done['closed'])}, "
            f"recounted {len(done['recounted'])}: {done['recounted']}"
        )
        feedback = feedback_jobs.reconcile()
        click.echo(
            f"completion satisfaction recounted {len(feedback['recounted'])}: "
            f"{feedback['recounted']}; comments re-checked {len(feedback['rechecked'])}, "
            f"still waiting for WeChat {feedback['waiting']}"
        )

    @app.cli.command("notices-sweep")
    def notices_sweep():
        """Publish scheduled notices whose time has come, settle interrupted deliveries and
        re-queue stalled ones; then overdue milestones. (Closing reminders are voting's:
        `reconcile` sends any whose job was lost.)"""
        done = notice_jobs.sweep()
        overdue = notice_jobs.milestones_overdue()
        click.echo(
            f"published {done['published']}, interrupted {done['interrupted']}, "
            f"re-queued {done['requeued']}, overdue milestones announced {overdue}"
        )

    @app.cli.command("jobs")
    def jobs():
        """Show queued, running, failed and scheduled jobs of every queue."""
        runner = current_app.extensions["jobs"]
        if runner.inline:
            _fail("REDIS_URL is not set: jobs run in-process, nothing is queued")
        for line in describe_queues(runner):
            click.echo(line)


DEMO_PLAN_ITEMS = (
    ("rain_sewage_separation", "小区雨污分流改造，新建污水管网约800米", "1200000"),
    ("lighting", "更换及新增路灯40盏", "180000"),
    ("barrier_free", "单元入口无障碍坡道12处", "96000"),
    ("greening", "中心绿地提升改造", "350000"),
)


def _demo_project(county: County) -> Project:
    """A renovation project on the first estate, with its first plan version (idempotent)."""
    project = db.session.scalar(select(Project).where(Project.county_id == county.id))
    if project is not None:
        return project
    estate = db.session.scalar(select(Estate).order_by(Estate.id))
    project = project_service.create_project(
        {
            "name": f"{estate.name}老旧小区改造项目",
            "description": "基础类改造：雨污分流、照明、无障碍设施和绿化。",
            "estate_ids": [estate.id],
            "category": "basic",
            "plan_year": 2027,
            "supervisor_cap": 10,
            "funding": [
                {"source": "government", "amount": Decimal("1500000"), "note": "中央补助"},
                {"source": "residents", "amount": Decimal("326000"), "note": "居民出资"},
            ],
        }
    )
    admin = db.session.scalar(select(Staff).where(Staff.username == "county"))
    project.status = "consulting"
    db.session.add(
        Plan(
            project_id=project.id,
            version=1,
            summary="第一版改造方案",
            created_by_id=admin.id,
            items=[
                PlanItem(position=i, category=c, description=d, estimated_cost=Decimal(cost))
                for i, (c, d, cost) in enumerate(DEMO_PLAN_ITEMS, start=1)
            ],
        )
    )
    db.session.flush()
    return project


def county_community_id(county: County) -> int:
    return db.session.scalar(
        select(Community.id).where(Community.county_id == county.id).order_by(Community.id)
    )
