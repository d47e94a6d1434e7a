"""The floors of the ballot and read benchmarks: a bare Flask app whose ballot endpoint does one
`INSERT … ON CONFLICT … DO UPDATE`, and whose read endpoints do one `SELECT` by primary key,
through psycopg into plain tables.

    FLOOR_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_voting \
        gunicorn -w 2 -k gthread --threads 8 bench.floor_app:app

It answers the same request as the ballot endpoint (`PUT /api/v1/consultations/<id>/ballot`
with a bearer token and `{"choice": ...}`), keyed by the token, with no authentication, no
ORM, no checks, no audit row and no job: what a ballot costs at the least on this stack. One
psycopg connection per thread, autocommit (the statement is its own transaction).

The read floor answers the paths of the screens a resident opens most (`GET
/api/v1/projects/<id>`, `…/projects/<id>/gate`, `/api/v1/consultations/<id>`, `/api/v1/notices`)
with one `SELECT … WHERE id = %s` on a plain table of ROWS rows and the row as JSON: no
authentication, no visibility, no ORM, no schema. What a read costs at the least on this stack.
"""

from __future__ import annotations

import os
import threading

import psycopg
from flask import Flask, jsonify, request

TABLE = "bench_floor_ballots"
CREATE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id serial PRIMARY KEY,
    token_key text NOT NULL UNIQUE,
    choice varchar(12) NOT NULL,
    revision integer NOT NULL,
    updated_at timestamptz NOT NULL
)
"""
UPSERT = f"""
INSERT INTO {TABLE} (token_key, choice, revision, updated_at)
VALUES (%s, %s, 1, now())
ON CONFLICT (token_key) DO UPDATE
SET choice = excluded.choice, revision = {TABLE}.revision + 1, updated_at = excluded.updated_at
RETURNING revision
"""

READ_TABLE = "bench_floor_rows"
ROWS = 1000
CREATE_READ = f"""
CREATE TABLE IF NOT EXISTS {READ_TABLE} (
    id integer PRIMARY KEY,
    name text NOT NULL,
    status varchar(16) NOT NULL,
    counted integer NOT NULL,
    rate numeric(6, 4) NOT NULL,
    body text NOT NULL,
    updated_at timestamptz NOT NULL
)
"""
FILL_READ = f"""
INSERT INTO {READ_TABLE} (id, name, status, counted, rate, body, updated_at)
SELECT i, '基准改造项目' || i, 'consulting', i % 997, 0.9123, repeat('路灯、雨污分流、外墙保温。', 8),
       now()
FROM generate_series(1, {ROWS}) AS i
"""
SELECT_ROW = (
    f"SELECT id, name, status, counted, rate, body, updated_at FROM {READ_TABLE} WHERE id = %s"
)

app = Flask(__name__)
_local = threading.local()


def _connection() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = _local.conn = psycopg.connect(os.environ["FLOOR_DATABASE_URL"], autocommit=True)
    return conn


@app.put("/api/v1/consultations/<int:consultation_id>/ballot")
def ballot(consultation_id):
    token = request.headers.get("Authorization", "")
    choice = (request.get_json(silent=True) or {}).get("choice", "satisfied")
    (revision,) = _connection().execute(UPSERT, (token[-24:], choice)).fetchone()
    return jsonify(receipt="FLOOR", revision=revision, choice=choice)


def _row(row_id: int):
    row = _connection().execute(SELECT_ROW, ((row_id - 1) % ROWS + 1,)).fetchone()
    if row is None:
        return jsonify(code="not_found"), 404
    id_, name, status, counted, rate, body, updated_at = row
    return jsonify(
        id=id_,
        name=name,
        status=status,
        counted=counted,
        rate=float(rate),
        body=body,
        updated_at=updated_at.isoformat(),
    )


@app.get("/api/v1/projects/<int:row_id>")
@app.get("/api/v1/projects/<int:row_id>/gate")
@app.get("/api/v1/consultations/<int:row_id>")
def read(row_id):
    return _row(row_id)


@app.get("/api/v1/notices")
def notices():
    return _row(1)


def create_table(url: str) -> None:
    """(Re)create the floor's tables: the ballots (empty) and the rows it reads (ROWS)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute(CREATE)
        conn.execute(f"DROP TABLE IF EXISTS {READ_TABLE}")
        conn.execute(CREATE_READ)
        conn.execute(FILL_READ)
        conn.execute(f"ANALYZE {READ_TABLE}")
