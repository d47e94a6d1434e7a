"""One blueprint module per domain; each view is parse → load → policy → service → commit → dump."""

from api.routes import (
    auth,
    comments,
    delegations,
    feedback,
    notices,
    opinions,
    places,
    projects,
    registry,
    supervision,
    voting,
)


def register_blueprints(api) -> None:
    for module in (
        auth,
        places,
        registry,
        projects,
        voting,
        delegations,
        supervision,
        feedback,
        comments,
        notices,
        opinions,
    ):
        api.register_blueprint(module.blp)
