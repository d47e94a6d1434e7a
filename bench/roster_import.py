"""Benchmark: import a 10,000-row roster on SQLite and on PostgreSQL.

    .venv/bin/python -m bench.roster_import                     # both databases
    .venv/bin/python -m bench.roster_import --databases sqlite  # SQLite only

For each database it measures, in one run:

- floor:     a bare bulk INSERT of the same number of equivalent rows with SQLAlchemy Core into
             a plain table (no constraints but the primary key), one transaction;
- import:    `participation.service.roster.import_roster` + commit into a new, empty estate (the file is
             read and checked, then written), and of that the read-and-check step alone (parse);
- reimport:  the same file again into that estate (every row unchanged, nothing written);
- http:      `POST /api/v1/estates/{id}/households:import` through Flask's test client, as a clerk,
             into a new estate (upload parsing, auth, policy, import, commit, JSON reply);
- http re:   the same upload again.

Each figure is the best of `--repeat` runs, with the ratio to that database's floor. The
PostgreSQL figures use their own database (`bench_roster` by default, created if missing), so the
test database is left alone. Nothing here asserts a time; bench/README.md records the figures.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    create_engine,
    insert,
    text,
)
from sqlalchemy.engine import make_url

from api import auth
from api.app import create_app
from api.core import UTCDateTime, commit, db, utcnow
from participation.models import Community, County, Estate, Household, RoleGrant, Staff
from participation.service import roster

HEADER = ["楼栋", "单元", "房号", "业主姓名", "手机后四位", "建筑面积"]
SURNAMES = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何林罗高欧阳"
GIVEN = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "秀英", "桂英", "建华", "志强")
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_roster"


def roster_rows(count: int, seed: int = 7) -> list[tuple]:
    """`count` distinct households: buildings of 2 units x 18 floors x 4 doors (144 each)."""
    rng = random.Random(seed)
    rows = []
    building = 0
    while len(rows) < count:
        building += 1
        for unit in (1, 2):
            for floor in range(1, 19):
                for door in range(1, 5):
                    rows.append(
                        (
                            f"{building}栋",
                            f"{unit}单元",
                            f"{floor}{door:02d}",
                            rng.choice(SURNAMES) + rng.choice(GIVEN),
                            f"{rng.randrange(10000):04d}",
                            rng.randrange(4500, 15000) / 100,  # a number cell, as Excel keeps it
                        )
                    )
    return rows[:count]


def roster_xlsx(rows: list[tuple]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def ensure_pg_database(url: str) -> None:
    """Create the benchmark's own PostgreSQL database if it is missing."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        )
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


FLOOR = Table(
    "bench_floor_households",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("estate_id", Integer),
    Column("building", String(50)),
    Column("unit", String(20)),
    Column("room", String(20)),
    Column("floor_area", Numeric(10, 2)),
    Column("owner_name", String(100)),
    Column("owner_phone_last4", String(4)),
    Column("created_at", UTCDateTime),
    Column("updated_at", UTCDateTime),
)


def time_floor(rows: list[tuple]) -> float:
    """A bare Core bulk INSERT of the rows into a plain table, in one transaction."""
    FLOOR.drop(db.engine, checkfirst=True)
    FLOOR.create(db.engine)
    now = utcnow()
    values = [
        {
            "estate_id": 1,
            "building": b,
            "unit": u,
            "room": r,
            "floor_area": Decimal(str(a)).quantize(Decimal("0.01")),
            "owner_name": n,
            "owner_phone_last4": p,
            "created_at": now,
            "updated_at": now,
        }
        for b, u, r, n, p, a in rows
    ]
    start = time.perf_counter()
    with db.engine.begin() as conn:
        conn.execute(insert(FLOOR), values)
    elapsed = time.perf_counter() - start
    FLOOR.drop(db.engine)
    return elapsed


class Bench:
    def __init__(self, app, data: bytes, rows: int):
        self.app = app
        self.data = data
        self.rows = rows
        self.n = 0
        with app.app_context():
            db.drop_all()
            db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
            db.session.commit()
            db.create_all()
            county = County(name="基准县")
            db.session.add(county)
            db.session.flush()
            community = Community(county_id=county.id, name="基准社区")
            db.session.add(community)
            db.session.flush()
            clerk = Staff(username="bench-clerk", password_hash="-")
            db.session.add(clerk)
            db.session.flush()
            db.session.add(RoleGrant(staff_id=clerk.id, role="committee", scope_id=community.id))
            db.session.commit()
            self.community_id = community.id
            with app.test_request_context():
                self.headers = {"Authorization": f"Bearer {auth.issue_token(auth.STAFF, clerk.id)}"}

    def new_estate(self) -> int:
        self.n += 1
        estate = Estate(community_id=self.community_id, name=f"基准小区{self.n}")
        db.session.add(estate)
        db.session.commit()
        return estate.id

    def parse(self) -> float:
        start = time.perf_counter()
        parsed = roster.parse(self.data, "bench.xlsx")
        elapsed = time.perf_counter() - start
        assert len(parsed.rows) == self.rows and not parsed.bad, parsed.bad[:3]
        return elapsed

    def _import(self, estate_id: int, expect: str) -> float:
        db.session.expire_all()
        estate = db.session.get(Estate, estate_id)
        start = time.perf_counter()
        result = roster.import_roster(estate, self.data, "bench.xlsx")
        commit()
        elapsed = time.perf_counter() - start
        assert getattr(result, expect) == self.rows, result
        return elapsed

    def import_and_reimport(self) -> tuple[float, float]:
        with self.app.app_context():
            estate_id = self.new_estate()
            first = self._import(estate_id, "created")
            again = self._import(estate_id, "unchanged")
            count = db.session.query(Household).filter_by(estate_id=estate_id).count()
            assert count == self.rows, count
            return first, again

    def _upload(self, client, estate_id: int, expect: str) -> float:
        start = time.perf_counter()
        reply = client.post(
            f"/api/v1/estates/{estate_id}/households:import",
            headers=self.headers,
            data={"file": (io.BytesIO(self.data), "bench.xlsx")},
            content_type="multipart/form-data",
        )
        elapsed = time.perf_counter() - start
        assert reply.status_code == 200 and reply.json[expect] == self.rows, reply.json
        return elapsed

    def http(self) -> tuple[float, float]:
        with self.app.app_context():
            estate_id = self.new_estate()
        client = self.app.test_client()
        first = self._upload(client, estate_id, "created")
        return first, self._upload(client, estate_id, "unchanged")


def _plain(data: bytes) -> list[tuple]:
    """The file's rows as plain tuples, for the floor (read outside its timing)."""
    return [
        (r.building, r.unit, r.room, r.owner_name, r.owner_phone_last4, float(r.floor_area))
        for r in roster.parse(data).rows
    ]


def run(name: str, url: str, data: bytes, rows: int, repeat: int, scratch: Path) -> dict:
    app = create_app(
        {
            "APP_ENV": "test",
            "DATABASE_URL": url,
            "REDIS_URL": "",
            "SECRET_KEY": "bench-secret-key-0123456789",
            "WECHAT_API_BASE": "http://127.0.0.1:9/",
            "UPLOAD_DIR": str(scratch / "uploads"),
            "RATELIMIT_ENABLED": False,
        }
    )
    bench = Bench(app, data, rows)
    plain = None
    floors, parses, imports, reimports, https, rehttps = [], [], [], [], [], []
    for _ in range(repeat):
        with app.app_context():
            plain = plain or _plain(data)
            floors.append(time_floor(plain))
        parses.append(bench.parse())
        first, again = bench.import_and_reimport()
        imports.append(first)
        reimports.append(again)
        first, again = bench.http()
        https.append(first)
        rehttps.append(again)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return {
        "database": name,
        "floor": floors,
        "parse": parses,
        "import": imports,
        "reimport": reimports,
        "http": https,
        "http re": rehttps,
    }


def report(results: list[dict], rows: int, repeat: int) -> None:
    print(f"\n{rows:,} rows; best of {repeat} (median in brackets); ratio = best / floor best\n")
    columns = ("floor", "parse", "import", "reimport", "http", "http re")
    print(f"{'database':<11}" + "".join(f"{c:>22}" for c in columns))
    for result in results:
        floor = min(result["floor"])
        cells = []
        for column in columns:
            best, median = min(result[column]), statistics.median(result[column])
            ratio = "" if column == "floor" else f" x{best / floor:.0f}"
            cells.append(f"{best:6.2f}s ({median:5.2f}){ratio:>5}")
        print(f"{result['database']:<11}" + "".join(f"{c:>22}" for c in cells))
    print()
    aim = max(max(min(r["import"]), min(r["http"])) for r in results)
    print(f"slowest import (best run): {aim:.2f} s — aim: under 10 s")


def main() -> None:
    parser = argparse.ArgumentParser(description="Roster import benchmark (see bench/README.md).")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG))
    parser.add_argument("--sqlite-dir", default=None, help="SQLite file's folder")
    parser.add_argument("--save-xlsx", type=Path, default=None, help="also save the file")
    options = parser.parse_args()

    start = time.perf_counter()
    data = roster_xlsx(roster_rows(options.rows))
    print(
        f"generated {options.rows:,}-row xlsx ({len(data) / 1024:.0f} KiB) "
        f"in {time.perf_counter() - start:.2f} s"
    )
    if options.save_xlsx:
        options.save_xlsx.parent.mkdir(parents=True, exist_ok=True)
        options.save_xlsx.write_bytes(data)

    results = []
    with tempfile.TemporaryDirectory(prefix="bench-roster-") as scratch:
        for name in options.databases.split(","):
            if name == "sqlite":
                path = Path(options.sqlite_dir or scratch) / "bench.db"
                path.unlink(missing_ok=True)
                url = f"sqlite:///{path}"
            elif name == "postgresql":
                url = options.pg_url
                ensure_pg_database(url)
            else:
                parser.error(f"unknown database {name!r}: sqlite or postgresql")
            print(f"{name}: {make_url(url).render_as_string(hide_password=True)}")
            results.append(run(name, url, data, options.rows, options.repeat, Path(scratch)))
    report(results, options.rows, options.repeat)


if __name__ == "__main__":
    main()
