"""Personal data stays out of logs and terminals (issue 9, item 7).

A database error's message used to carry the statement's parameters (an openid, a nickname) into
the log of a 500, and PostgreSQL's DETAIL the refused row; `flask import-households` printed a
roster row (owner's name and phone digits) in a traceback. Each is forced here, and the logs and
output are searched for the personal data.
"""

from __future__ import annotations

import csv
import io
import logging
import traceback
from decimal import Decimal

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from api.core import db
from participation.models import Building, Household
from participation.service import roster
from tests.conftest import count_rows

OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
NICKNAME = "隐私测试张三丰"
OWNER, PHONE = "欧阳隐私", "7351"


def _everything_logged(caplog) -> str:
    """Every record as a handler would write it, tracebacks included."""
    formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")
    return "\n".join(formatter.format(record) for record in caplog.records)


def test_a_database_error_during_a_request_logs_no_parameter(
    app, client, wechat, caplog, monkeypatch
):
    # The database refuses the new resident's row (a DataError: neither a conflict nor an
    # outage, so it is logged as an unhandled error with its traceback).
    wechat.codes["code-private"] = OPENID
    with app.app_context():
        dialect = db.engine.dialect
    real_execute = dialect.do_execute

    def refusing(cursor, statement, parameters, context=None):
        if statement.lstrip().upper().startswith("INSERT INTO RESIDENTS"):
            raise dialect.loaded_dbapi.DataError("the value was refused")
        return real_execute(cursor, statement, parameters, context)

    monkeypatch.setattr(dialect, "do_execute", refusing)
    caplog.set_level(logging.INFO)

    reply = client.post(
        "/api/v1/auth/wechat-login", json={"code": "code-private", "nickname": NICKNAME}
    )

    assert reply.status_code == 500, reply.get_data(as_text=True)
    assert reply.json["error"]["code"] == "internal_error"
    logged = _everything_logged(caplog)
    assert "DataError" in logged and "INSERT INTO residents" in logged  # still says what failed
    assert OPENID not in logged
    assert NICKNAME not in logged


def test_a_refused_row_is_not_quoted_in_the_error(app, make):
    # PostgreSQL's DETAIL repeats the row ("Failing row contains (…, 欧阳隐私, 7351, 0.00, …)");
    # SQLite's message names only the constraint. Either way neither the message nor the
    # traceback carries the row, while the constraint's name stays for the reader.
    estate = make.estate()
    with app.app_context():
        building = db.session.scalar(
            insert(Building).values(estate_id=estate.id, name="9栋").returning(Building.id)
        )
        with pytest.raises(IntegrityError) as refused, db.session.begin_nested():
            db.session.execute(
                insert(Household).values(
                    estate_id=estate.id,
                    building_id=building,
                    unit="",
                    room="901",
                    owner_name=OWNER,
                    owner_phone_last4=PHONE,
                    floor_area=Decimal("0"),
                )
            )
        db.session.rollback()

    told = "".join(traceback.format_exception(refused.value))
    assert "floor_area_positive" in told
    assert OWNER not in told
    assert PHONE not in told


def test_the_roster_command_prints_no_row_when_the_database_refuses_one(
    app, make, tmp_path, monkeypatch
):
    # A rule the row check does not know, which the database holds to: the command says so in
    # one line and prints none of the roster's rows.
    estate = make.estate()
    path = tmp_path / "roster.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["楼栋", "单元", "房号", "业主姓名", "手机后四位", "建筑面积"])
    writer.writerow(["1栋", "1单元", "101", "张伟", "1234", "88.5"])
    writer.writerow(["1栋", "1单元", "102", OWNER, PHONE, "75"])
    path.write_bytes(buffer.getvalue().encode("utf-8"))
    real_check = roster._check_row

    def forgetful_check(number, cells):
        row, errors = real_check(number, cells)
        if row is not None and row.owner_name == OWNER:
            row.floor_area = Decimal("0.00")  # passes the check, refused by the database
        return row, errors

    monkeypatch.setattr(roster, "_check_row", forgetful_check)

    result = app.test_cli_runner().invoke(
        args=["import-households", str(estate.id), str(path)], catch_exceptions=False
    )

    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: the roster was not imported, nothing was written")
    assert "IntegrityError" in lines[0] and "floor_area_positive" in lines[0]
    assert "Traceback" not in result.output
    for private in (OWNER, PHONE, "张伟", "1234"):
        assert private not in result.output
    assert count_rows(app, Household) == 0
