"""One blueprint module per domain; each view is parse → load → policy → service → commit → dump."""

from api.routes import auth, places, projects, registry, voting


def register_blueprints(api) -> None:
    for module in (auth, places, registry, projects, voting):
        api.register_blueprint(module.blp)
