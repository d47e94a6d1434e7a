"""Review probe of issue 13's workbooks: text is text. A project, consultation, estate or
building name that begins with "=" (a roster imported from someone else's spreadsheet, a title
typed by a clerk) was written by openpyxl as a formula, which Excel runs when the committee
opens the turnout list (formula injection: `=HYPERLINK(...)` links, `=cmd|...` DDE)."""

from __future__ import annotations

from io import BytesIO

import pytest
from openpyxl import load_workbook

from api.core import db
from participation.models import Building, Estate, Project
from tests.support.voting_world import World, build_world, consultation_in
from voting.models import Consultation

FORMULA = '=HYPERLINK("http://example.invalid/","点此")'


@pytest.fixture(scope="module")
def world(app, module_make) -> World:
    return build_world(app, module_make)


def _rename(app, w: World, cid: int) -> None:
    with app.app_context():
        db.session.get(Project, w.project_id).name = "=1+1项目"
        db.session.get(Consultation, cid).title = "=SUM(1,2)"
        estate = db.session.get(Estate, w.scene.estate_id)
        estate.name = "+小区"
        for building in db.session.query(Building).filter_by(estate_id=estate.id):
            building.name = FORMULA
        db.session.commit()


@pytest.mark.parametrize("suffix", ["turnout.xlsx", "result.xlsx"])
def test_names_beginning_with_an_equals_sign_are_text_not_formulas(app, client, world, suffix):
    w = world
    cid = consultation_in(app, client, w, "closed")
    _rename(app, w, cid)
    reply = client.get(f"/api/v1/consultations/{cid}/{suffix}", headers=w.headers["clerk"])
    assert reply.status_code == 200, reply.get_json()
    book = load_workbook(BytesIO(reply.data))
    cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row]
    formulas = [(cell.coordinate, cell.value) for cell in cells if cell.data_type == "f"]
    assert formulas == []
    texts = [cell.value for cell in cells if isinstance(cell.value, str)]
    assert any(t.startswith("=1+1项目") for t in texts)
    if suffix == "turnout.xlsx":
        assert FORMULA in texts
