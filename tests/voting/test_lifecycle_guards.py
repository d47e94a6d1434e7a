"""The rules that guard a project's lifecycle cannot be skipped by any caller: they are
registered when the app is built and `transition` always runs them, whether a route, a job, a
command or the demo calls it."""

from __future__ import annotations

import inspect

import pytest

from api.core import db
from participation.models import Project, Staff
from participation.service import projects as project_service
from tests.support.voting_helpers import build_scene
from voting.policy import GateNotPassed


def test_transition_has_no_parameter_that_leaves_the_guards_out():
    assert list(inspect.signature(project_service.transition).parameters) == [
        "project",
        "staff",
        "to",
    ]


def test_a_direct_call_to_transition_meets_the_gate(app):
    """Not through the route: the service itself refuses `construction` while the gate is shut,
    and the project stays where it was."""
    scene = build_scene(app, households=3)
    with app.app_context():
        project = db.session.get(Project, scene.project_id)
        owner = db.session.get(Staff, scene.owner.id)
        assert project.status == "consulting"  # the scene's project is put to residents
        project_service.transition(project, owner, "approved")
        with pytest.raises(GateNotPassed) as refused:
            project_service.transition(project, owner, "construction")
        assert refused.value.details == {"reason": "no_consultation"}
        assert project.status == "approved"
        db.session.rollback()


def test_an_app_whose_lifecycle_was_never_wired_moves_nothing(app):
    """Without the registered guards `transition` refuses every step rather than moving a project
    past rules nobody installed."""
    scene = build_scene(app, households=1)
    with app.app_context():
        wired = app.extensions.pop("project_lifecycle")
        try:
            project = db.session.get(Project, scene.project_id)
            owner = db.session.get(Staff, scene.owner.id)
            with pytest.raises(RuntimeError, match="not wired"):
                project_service.transition(project, owner, "approved")
            assert project.status == "consulting"
        finally:
            app.extensions["project_lifecycle"] = wired
            db.session.rollback()


def test_the_factory_registers_the_gate_and_the_acceptance_guards(app):
    lifecycle = app.extensions["project_lifecycle"]
    assert [g.__qualname__ for g in lifecycle["guards"]["construction"]] == ["guard_construction"]
    assert [g.__qualname__ for g in lifecycle["guards"]["accepted"]] == ["require_acceptance"]
    assert [e.__qualname__ for e in lifecycle["effects"]["completed"]] == ["open_rating_window"]
