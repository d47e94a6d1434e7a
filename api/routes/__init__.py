"""One blueprint module per domain; each view is parse → load → policy → service → commit → dump."""

from api.routes import auth, places, registry


def register_blueprints(api) -> None:
    for module in (auth, places, registry):
        api.register_blueprint(module.blp)
