"""A resident's rights over their personal data (PIPL arts. 45 and 47): a copy of everything
held about them, and its erasure. Both are served before the privacy notice is accepted: a
resident who refuses the notice may still take their data and leave."""

from api import auth
from api.core import commit, utcnow
from api.http import Blueprint
from feedback.service import personal as feedback_personal
from notices.service import personal as notices_personal
from participation.schemas.personal import ExportSchema
from participation.service import erasure
from participation.service import personal as participation_personal
from voting.service import personal as voting_personal

blp = Blueprint(
    "me", __name__, url_prefix="/api/v1", description="A resident's own data: export, erasure"
)


@blp.get("/me/export")
@auth.resident_required
@auth.consent_exempt
@blp.response(200, ExportSchema)
@blp.errors(401, 403)
def export_me():
    """Everything held about the signed-in resident, as JSON: their account, consents, claims
    and memberships, ballots cast for their household, comments, likes and reports, supervision,
    tickets with their answers, ratings, acceptances, uploads (described, not the files),
    message consents and notices. Another resident's records never appear."""
    resident = auth.current_resident()
    return {
        "generated_at": utcnow(),
        **participation_personal.export(resident),
        **voting_personal.export(resident.id),
        **feedback_personal.export(resident.id),
        **notices_personal.export(resident.id),
    }


@blp.delete("/me")
@auth.resident_required
@auth.consent_exempt
@blp.response(204)
@blp.errors(401, 403)
def erase_me():
    """Erase the signed-in resident's personal data: the WeChat identity (a later sign-in with
    the same WeChat account is a new resident), the nickname, every household claim and
    consent; comments stay without their author (shown as 已注销用户), sign-ups still pending
    are withdrawn, and the resident leaves the electorate of every consultation still open.
    The household's ballots and every count stay exactly as they were. The token stops working
    at once: a second call answers 401."""
    erasure.erase_resident(auth.current_resident().id)
    commit()
