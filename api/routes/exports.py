"""The files staff download from the console (issue 13): a consultation's turnout list and
result as Excel, and its result's publicity sheet (公示) as PDF.

Each answers what the JSON endpoint it mirrors answers, to staff only: the same 404 for staff
out of the project's scope as for a missing id, and never more than the API shows (a hidden
result is 409 `results_hidden`, not a file with the numbers in it).
"""

from __future__ import annotations

import re
from urllib.parse import quote

from flask import current_app

from api import auth
from api.core import NotFound, db, local_today
from api.http import Blueprint
from api.routes.voting import visible_consultation
from voting import policy
from voting.exports import publicity, workbooks
from voting.models import Consultation, Tally
from voting.queries import exports as export_queries
from voting.queries import visibility
from voting.queries.gate import is_stale
from voting.schemas import TallySchema

blp = Blueprint(
    "exports",
    __name__,
    url_prefix="/api/v1",
    description="Exports: the files staff download (Excel workbooks, the publicity sheet as PDF)",
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"
# Characters no file system or browser keeps in a file name.
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def download_doc(mimetype: str, description: str):
    """The 200 of a download (`download`) in the OpenAPI document: the file, and its name."""
    return blp.doc(
        responses={
            "200": {
                "description": description,
                "headers": {
                    "Content-Disposition": {
                        "description": "attachment; filename (ASCII) and filename* (UTF-8, "
                        "RFC 5987) with the Chinese name",
                        "schema": {"type": "string"},
                    }
                },
                "content": {mimetype: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    )


def content_disposition(name: str, fallback: str) -> str:
    """`attachment` with the Chinese file name as RFC 5987's `filename*` and an ASCII
    `filename` for clients that do not read it."""
    stem, _, extension = name.rpartition(".")
    stem = _UNSAFE.sub("_", stem).strip(" .")[:80] or "export"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(f'{stem}.{extension}')}"


def download(data: bytes, mimetype: str, name: str, fallback: str):
    """A file to save, never cached: every export of the API (the consultations' and the audit
    trail's) answers with it, beside `download_doc` for its 200 in the OpenAPI document."""
    response = current_app.response_class(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = content_disposition(name, fallback)
    response.headers["Cache-Control"] = "no-store"  # a result changes while the vote is open
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _result(consultation: Consultation) -> tuple[Tally, dict]:
    """The tally as `GET /consultations/{id}/tally` shows it to the caller, as a dict, with
    whether ballots arrived since it counted (`stale`)."""
    tally = db.session.get(Tally, consultation.id)
    if tally is None:
        raise NotFound("表决尚未开始，没有计票结果", code="tally_not_found")
    view = {name: getattr(tally, name) for name in TallySchema().fields if hasattr(tally, name)}
    for rate in ("satisfaction_rate", "participation_rate"):
        view[rate] = float(view[rate]) if view.get(rate) is not None else None
    view = visibility.redact_result(view, auth.current_caller(), consultation)
    view["stale"] = is_stale(consultation, tally)
    return tally, view


@blp.get("/consultations/<int:consultation_id>/turnout.xlsx")
@auth.staff_required
@download_doc(XLSX, "the turnout list as an Excel workbook")
@blp.errors(401, 403, 404, 409)
def turnout_workbook(consultation_id):
    """The frozen electorate as an Excel workbook, one row per household: estate, building,
    unit, the room masked as `/turnout` masks it, voted or not, the channel, whether a
    delegate voted, the day (never a time) and the receipt; never a choice.

    It is the committee's list for door-to-door visits, and so goes to whom `/non-voters` goes:
    the committee of the project's communities (the households of its own communities only, in
    a bundled project), the county and the prefecture. The project owner is refused (403
    `out_of_scope`): the committee, not the party whose plan is voted on, organises the vote
    and knocks on doors, and the owner has no business with which household took part (it
    reads participation from `/tally`). Staff who do not see the project 404; residents 403
    `staff_only`; a draft has no electorate (409 `consultation_not_open`)."""
    consultation, project = visible_consultation(consultation_id)
    communities = policy.canvassed_communities(auth.current_staff(), project)
    policy.require_opened(consultation)
    rows = export_queries.electorate_turnout(consultation, communities)
    subject = export_queries.subject(consultation)
    data = workbooks.turnout_workbook(consultation, subject, rows, local_today())
    return download(
        data, XLSX, f"{consultation.title}-投票名单.xlsx", f"turnout-{consultation.id}.xlsx"
    )


@blp.get("/consultations/<int:consultation_id>/result.xlsx")
@auth.staff_required
@download_doc(XLSX, "the result as an Excel workbook")
@blp.errors(401, 403, 404, 409)
def result_workbook(consultation_id):
    """The result as `/tally` shows it, as an Excel workbook: the summary (rates against the
    threshold and the quorum, passed or not, final or provisional), each estate's figures and
    verdict (a bundled project), the counts per choice, an owners' decision's figures by area
    and by head, a needs survey's ranking. Staff who see the project; while the vote is open,
    only once the result shows to them (else 409 `results_hidden` with the reason); a draft
    409 `consultation_not_open`."""
    consultation, _ = visible_consultation(consultation_id)
    policy.require_opened(consultation)
    _, view = _result(consultation)
    policy.require_result_shown(view)
    subject = export_queries.subject(consultation)
    data = workbooks.result_workbook(consultation, subject, view, local_today())
    return download(
        data, XLSX, f"{consultation.title}-计票结果.xlsx", f"result-{consultation.id}.xlsx"
    )


@blp.get("/consultations/<int:consultation_id>/publicity.pdf")
@auth.staff_required
@download_doc(PDF, "the publicity sheet (公示) as a printable A4 PDF, its CJK font embedded")
@blp.errors(401, 403, 404, 409, 503)
def publicity_sheet(consultation_id):
    """The printable publicity sheet (结果公示) of a consultation's final result, for every
    kind: the estates, the project, the voting period, the electorate, participation against
    the quorum, then
    - a plan satisfaction consultation: the plan version, satisfaction against the threshold
      (at least 90%), passed or not;
    - a needs survey: every item ranked by the households that picked it (their share of the
      households that voted), each estate's ranking too; no verdict (a survey decides nothing);
    - an owners' decision (Civil Code art. 278): the matter and its rule, participation and
      agreement by area and by head count against it, passed or not;
    each estate of a bundled project, the date and a place for the committee's seal; never a
    household's choice. Staff who see the project; 409 `consultation_not_open` (a draft),
    `consultation_not_closed`, `tally_pending`; 503 `font_missing` when the server lacks its
    CJK font."""
    consultation, _ = visible_consultation(consultation_id)
    policy.require_opened(consultation)
    tally, view = _result(consultation)
    policy.require_final_result(consultation, tally)
    policy.require_result_shown(view)
    subject = export_queries.subject(consultation)
    data = publicity.publicity_sheet(consultation, subject, view, local_today())
    return download(
        data, PDF, f"{consultation.title}-结果公示.pdf", f"publicity-{consultation.id}.pdf"
    )
