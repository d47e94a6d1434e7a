"""The demo's estate rules (api/demo_rules.py `seed_rules`): on the building site's estate,
version 1 adopted by a passed owners' decision on 管理规约 and version 2 published with two
residents' comments; running it again changes nothing."""

from sqlalchemy import func, select

from api import demo
from api.core import db
from api.demo_rules import seed_rules
from feedback.models.estate_rules import EstateRules, RulesComment
from participation import queries
from participation.models import Estate
from tests.support.voting_helpers import run_jobs
from voting.models import Consultation


def _seed(app):
    with app.app_context():
        seeded = demo.seed()
        estate = seeded.estates[1]
        clerk, owner = queries.staff_by_username("clerk"), queries.staff_by_username("owner")
        versions = seed_rules(estate, clerk, owner)
        db.session.commit()
        return estate.id, [v.id for v in versions]


def _counts(app):
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(EstateRules)),
            db.session.scalar(select(func.count()).select_from(RulesComment)),
            db.session.scalar(select(func.count()).select_from(Consultation)),
        )


def test_seed_rules_adopts_version_1_and_publishes_version_2(app, client, make, wechat):
    estate_id, (v1, v2) = _seed(app)
    run_jobs(app)
    counts = _counts(app)
    assert counts[:2] == (2, 2)

    clerk = make.headers(make.staff("committee", _community(app, estate_id)))
    current = client.get(f"/api/v1/estates/{estate_id}/rules/current", headers=clerk)
    assert current.status_code == 200, current.json
    assert current.json["id"] == v1 and current.json["version"] == 1
    result = current.json["result"]
    assert result["passed"] is True and result["rule"] == "majority"
    assert result["agree_area_share"] > 0.5 and result["agree_owner_share"] > 0.5
    assert result["participation_owners"] >= 2 / 3
    assert current.json["decision"]["final"] is True

    published = client.get(f"/api/v1/estate-rules/{v2}", headers=clerk).json
    assert published["status"] == "published" and published["comments_open"] is True
    comments = client.get(f"/api/v1/estate-rules/{v2}/comments", headers=clerk).json
    assert comments["total"] == 2
    assert [c["status"] for c in comments["items"]] == ["visible", "visible"]
    assert comments["items"][0]["reply"]

    # Again: nothing new.
    assert _seed(app)[1] == [v1, v2]
    assert _counts(app) == counts


def _community(app, estate_id) -> int:
    with app.app_context():
        return db.session.get(Estate, estate_id).community_id
