"""The floor of the ballot benchmark: a bare Flask app with one endpoint that does one
`INSERT … ON CONFLICT … DO UPDATE` through psycopg into a plain table.

    FLOOR_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_voting \
        gunicorn -w 2 -k gthread --threads 8 bench.floor_app:app

It answers the same request as the ballot endpoint (`PUT /api/v1/consultations/<id>/ballot`
with a bearer token and `{"choice": ...}`), keyed by the token, with no authentication, no
ORM, no checks, no audit row and no job: what a ballot costs at the least on this stack. One
psycopg connection per thread, autocommit (the statement is its own transaction).
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


def create_table(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute(CREATE)
