"""The `flask --app wsgi ...` commands: seed-demo (its data: `api.demo`), create-staff,
import-households, worker, reconcile, notices-sweep, residents-purge, jobs."""

from __future__ import annotations

import re
import sys
import traceback
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy.exc import DBAPIError

from api import auth, demo
from api.core import DomainError, commit, db
from api.jobs import QUEUES, describe_queues, make_worker
from feedback import jobs as feedback_jobs
from notices import jobs as notice_jobs
from participation import jobs as participation_jobs
from participation.models import ROLES, Estate
from participation.service import registry as service
from participation.service import roster
from voting import jobs as voting_jobs

ROOT = Path(__file__).resolve().parent.parent


def _fail(message: str):
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _failure_without_data(exc: Exception) -> str:
    """What went wrong, in words that carry no row of the input: the error's class, the
    constraint a database names, and where in the code it happened (never the message, which
    may quote a row's name and phone digits)."""
    original = getattr(exc, "orig", None) or exc
    what = type(exc).__name__
    if type(original).__name__ != what:  # the driver's own kind: CheckViolation, …
        what += f" ({type(original).__name__})"
    constraint = getattr(getattr(original, "diag", None), "constraint_name", None)
    if constraint is None and isinstance(exc, DBAPIError):
        # SQLite names the constraint, and nothing of the row: "CHECK constraint failed: ck_…"
        named = re.search(r"constraint failed: ([\w.]+)", str(original))
        constraint = named.group(1) if named else None
    if constraint:
        what += f" on {constraint}"
    ours = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if Path(frame.filename).is_relative_to(ROOT) and "site-packages" not in frame.filename
    ]
    if ours:
        what += f" at {Path(ours[-1].filename).relative_to(ROOT)}:{ours[-1].lineno}"
    return what


def register_commands(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo():
        """Demo data: a county, a community, two estates (200 households), four projects and
        staff.

        The first project has its first plan and waits for the residents' vote; the second has
        passed its satisfaction gate and is under construction (supervisors, inspections,
        tickets, a residents' contribution scheme with pledges and payments); the third is
        completed and rated; the fourth is accepted and in its warranty period. The second
        estate has management rules adopted and a new version out for comment. Safe to run
        again: the places and projects are kept and the staff passwords are renewed.
        """
        seeded = demo.seed()
        commit()
        estates, passwords = seeded.estates, seeded.passwords
        building_site, owner = seeded.building_site, demo.DEMO_OWNER
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
            f"{estates[0].id}, {owner['building']} {owner['unit']} {owner['room']}, "
            f"name {owner['name']}, phone digits {owner['phone_last4']}."
        )
        click.echo(
            f"Project {seeded.consulting.id} ({seeded.consulting.name}) has its first plan and "
            "waits for the residents' vote."
        )
        click.echo(
            f"Project {building_site.id} ({building_site.name}) passed its satisfaction gate and is "
            f"under construction; code {demo.SUPERVISOR_CODE} signs in a verified resident of "
            f"estate {estates[1].id} who can sign up to supervise it."
        )
        if seeded.completed is not None:
            click.echo(
                f"Project {seeded.completed.id} ({seeded.completed.name}) is completed and "
                "rated by the households of its estate."
            )
        if seeded.scheme is not None:
            click.echo(
                f"Contribution scheme {seeded.scheme.id} ({seeded.scheme.title}) of project "
                f"{building_site.id} was adopted by an owners' decision; households have pledged "
                "and paid."
            )
        if seeded.in_warranty is not None:
            click.echo(
                f"Project {seeded.in_warranty.id} ({seeded.in_warranty.name}) is accepted and in "
                f"its warranty period until {seeded.in_warranty.warranty_ends_on}."
            )
        if seeded.rules:
            click.echo(
                f"Estate {seeded.rules[0].estate_id}'s management rules: version 1 adopted, "
                "version 2 out for residents' comments."
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
        except Exception as exc:
            # Not a bad row the check caught: one line, and no traceback, whose messages would
            # quote the roster's rows (owners' names and phone digits) into a terminal or a log.
            db.session.rollback()
            _fail(
                f"the roster was not imported, nothing was written ({_failure_without_data(exc)})"
            )
        for bad in result.skipped:
            click.echo(f"skipped row {bad['row']}: {'; '.join(bad['errors'])}", err=True)
        click.echo(
            f"rows {result.rows}: created {result.created}, updated {result.updated}, "
            f"unchanged {result.unchanged}, skipped {len(result.skipped)}; "
            f"memberships revoked (owner changed) {result.revoked}"
        )

    @app.cli.command("worker")
    @click.argument("queues", nargs=-1)
    @click.option("--burst", is_flag=True, help="stop when the queues are empty")
    @click.option("--name", default=None, help="worker name (unique per host)")
    def worker(queues, burst, name):
        """Run an RQ worker, with the scheduler, inside this app."""
        if current_app.extensions["jobs"].inline:
            _fail("REDIS_URL is not set: jobs run in-process and no worker is needed")
        # The worker schedules the periodic jobs as it starts, and again whenever Redis has
        # lost them (api.jobs.AppWorker).
        w = make_worker(
            current_app._get_current_object(), queues or QUEUES, name=name, keep_periodic=True
        )
        w.work(burst=burst, with_scheduler=True)

    @app.cli.command("reconcile")
    def reconcile():
        """Open and close consultations whose time has come; announce the closing reminders
        that are due; recount every stale tally and completion satisfaction now; re-check
        comments waiting for WeChat."""
        done = voting_jobs.reconcile()
        click.echo(
            f"opened {len(done['opened'])}, closed {len(done['closed'])}, "
            f"reminded {len(done['reminded'])}, "
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

    @app.cli.command("residents-purge")
    @click.option("--dry-run", is_flag=True, help="show who would be erased; change nothing")
    def residents_purge(dry_run):
        """Erase the personal data of residents who have not signed in for
        RESIDENT_RETENTION_DAYS days, as DELETE /me does (the workers do this daily; without
        Redis, run it from cron). Prints resident ids only, never a name or an openid."""
        days = current_app.config["RESIDENT_RETENTION_DAYS"]
        if dry_run:
            due = participation_jobs.due()
            db.session.rollback()
            click.echo(
                f"would erase {len(due)} residents not signed in for {days} days: "
                f"{', '.join(map(str, due)) or 'none'}"
            )
            return
        erased = participation_jobs.purge()
        click.echo(f"erased {len(erased)} residents not signed in for {days} days")

    @app.cli.command("jobs")
    def jobs():
        """Show queued, running, failed and scheduled jobs of every queue."""
        runner = current_app.extensions["jobs"]
        if runner.inline:
            _fail("REDIS_URL is not set: jobs run in-process, nothing is queued")
        for line in describe_queues(runner):
            click.echo(line)
