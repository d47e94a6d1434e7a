"""One blueprint module per domain; each view is parse → load → policy → service → commit → dump."""

from api.routes import (
    audit,
    auth,
    comments,
    contributions,
    delegations,
    estate_rules,
    exports,
    feedback,
    home,
    me,
    notices,
    opinions,
    payments,
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
        contributions,
        voting,
        delegations,
        exports,
        supervision,
        feedback,
        comments,
        notices,
        opinions,
        payments,
        home,
        me,
        audit,
        estate_rules,
    ):
        api.register_blueprint(module.blp)
