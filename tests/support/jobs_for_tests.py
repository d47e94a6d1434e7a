"""Job functions for tests/shell/test_jobs.py, importable by name so that an RQ worker can run them."""

from __future__ import annotations

from api.core import commit, db
from participation.models import Community, County

# Names of the jobs that ran in this process, in order (in-process mode and in-process workers).
RAN: list[str] = []


def add_community(county_id: int, name: str) -> int:
    """Create community `name` in county `county_id`; fail if the county is not committed yet.

    Needs an app context and the database, so a run proves both; the lookup by id proves the
    job saw the transaction that asked for it.
    """
    RAN.append(f"add_community:{name}")
    county = db.session.get(County, county_id)
    if county is None:
        raise LookupError(f"county {county_id} is not there: the job ran before the commit")
    community = Community(county_id=county.id, name=name)
    db.session.add(community)
    commit()
    return community.id


def fail(reason: str) -> None:
    """A job that always fails."""
    RAN.append(f"fail:{reason}")
    raise RuntimeError(reason)
