"""One blueprint module per domain; each view is parse → load → policy → service → commit → dump."""

from api.routes import (
    audit,
    auth,
    comments,
    delegations,
    exports,
    feedback,
    home,
    me,
    notices,
    opinions,
    places,
    privacy,
    progress,
    projects,
    registry,
    supervision,
    voting,
)


def register_blueprints(api) -> None:
    for module in (
        auth,
        privacy,
        places,
        registry,
        projects,
        progress,
        voting,
        delegations,
        exports,
        supervision,
        feedback,
        comments,
        notices,
        opinions,
        home,
        me,
        audit,
    ):
        api.register_blueprint(module.blp)
