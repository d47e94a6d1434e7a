"""After the works: completion ratings, the completion satisfaction, the joint acceptance."""

from api import auth
from api.core import NotFound, commit, labels
from api.http import Blueprint, PageArgs, page_schema, paginate
from api.routes.projects import load_project, resident_project, visible_project
from feedback import jobs, policy, queries
from feedback.schemas.acceptance import (
    AcceptanceArgs,
    AcceptanceDocumentArgs,
    AcceptanceDocumentSchema,
    AcceptanceSchema,
    RepresentativeCandidateFilter,
    RepresentativeCandidateSchema,
)
from feedback.schemas.ratings import (
    CompletionSchema,
    DistributionSchema,
    MyRatingQuery,
    RatedSchema,
    RatingArgs,
    RatingFilter,
    RatingSchema,
)
from feedback.service import acceptance, acceptance_documents, ratings
from participation.policy import require_manages_project

blp = Blueprint("feedback", __name__, url_prefix="/api/v1", description="Ratings and acceptance")


class CandidateQuery(PageArgs, RepresentativeCandidateFilter):
    pass


@blp.post("/projects/<int:project_id>/ratings")
@auth.resident_required
@blp.arguments(RatingArgs)
@blp.response(201, RatingSchema)
@blp.alt_response(200, schema=RatingSchema, description="the household's rating, replaced")
@blp.errors(401, 403, 404, 409, 422)
def rate(args, project_id):
    """Rate the completed project for the caller's household, 1–5 per dimension (201); a new
    rating replaces the household's earlier one (200) until the rating window closes (409)."""
    project, resident = resident_project(project_id)
    rating, created = ratings.rate(project, resident, args)
    jobs.request_completion(project.id)
    commit()
    return rating, 201 if created else 200


@blp.get("/projects/<int:project_id>/ratings/mine")
@auth.resident_required
@blp.arguments(MyRatingQuery, location="query")
@blp.response(200, RatingSchema)
@blp.errors(401, 403, 404, 422)
def my_rating(args, project_id):
    """The caller's household rating of the project, or 404."""
    project, resident = resident_project(project_id)
    household_id = policy.rating_household(project, resident, args.get("household_id"))
    rating = queries.household_rating(project, household_id)
    if rating is None:
        raise NotFound("您的住户尚未评价", code="rating_not_found")
    return rating


@blp.get("/projects/<int:project_id>/completion")
@auth.login_required
@blp.response(200, CompletionSchema)
@blp.errors(401, 403, 404)
def completion(project_id):
    """The completion satisfaction: share of rating households with overall 4–5, the mean of
    each dimension, how many rated, when it was counted, and whether rating is still open."""
    return visible_project(project_id)


class RatingQuery(PageArgs, RatingFilter):
    pass


@blp.get("/projects/<int:project_id>/ratings")
@auth.staff_required
@blp.arguments(RatingQuery, location="query")
@blp.response(200, page_schema(RatedSchema, "RatingPage"))
@blp.errors(401, 403, 404, 422)
def list_ratings(args, project_id):
    """Staff who see the project: its households' ratings, the latest first, with their
    comments (`commented=true`: only those with one); which household rated is not shown."""
    project = visible_project(project_id)
    return paginate(queries.ratings_of(project, commented=args.get("commented")), args)


@blp.get("/projects/<int:project_id>/completion/distribution")
@auth.login_required
@blp.response(200, DistributionSchema)
@blp.errors(401, 403, 404)
def completion_distribution(project_id):
    """How many households gave each score 1–5 in each dimension of the completion rating."""
    project = visible_project(project_id)
    counts = queries.score_distribution(project)
    return {
        "project_id": project.id,
        "ratings": sum(counts["overall"]),
        "dimensions": [
            {"dimension": d, "dimension_label": labels.RATING_DIMENSIONS[d], "counts": c}
            for d, c in counts.items()
        ],
    }


@blp.post("/projects/<int:project_id>/acceptance")
@auth.staff_required
@blp.arguments(AcceptanceArgs)
@blp.response(201, AcceptanceSchema)
@blp.errors(401, 403, 404, 409, 422)
def record_acceptance(args, project_id):
    """Record the joint completion acceptance (the owner, county or prefecture), once."""
    project = load_project(project_id)
    staff = auth.current_staff()
    require_manages_project(staff, project)
    record = acceptance.record(project, staff, args)
    commit()
    return record


@blp.get("/projects/<int:project_id>/acceptance")
@auth.login_required
@blp.response(200, AcceptanceSchema)
@blp.errors(401, 403, 404)
def get_acceptance(project_id):
    """The acceptance record, representatives masked; 404 before it is recorded."""
    record = queries.acceptance_of(visible_project(project_id))
    if record is None:
        raise NotFound("尚未登记竣工联合验收", code="acceptance_not_found")
    return record


def _managed_project(project_id: int):
    """The project and the staff member, one of its managers (404 out of sight, 403 in it)."""
    project = load_project(project_id)
    staff = auth.current_staff()
    require_manages_project(staff, project)
    return project, staff


@blp.get("/projects/<int:project_id>/acceptance/candidates")
@auth.staff_required
@blp.arguments(CandidateQuery, location="query")
@blp.response(200, page_schema(RepresentativeCandidateSchema, "AcceptanceCandidatePage"))
@blp.errors(401, 403, 404, 422)
def acceptance_candidates(args, project_id):
    """Who may be a residents' representative at the acceptance: the verified residents of the
    project's estates, with their household's room, found by part of a name, a building or a
    room (`q`). Names are masked; no phone, no relation. For the project's managers (the owner,
    its county, the prefecture), who record the acceptance."""
    project, _ = _managed_project(project_id)
    return paginate(acceptance.representative_candidates(project, args.get("q")), args)


@blp.get("/projects/<int:project_id>/acceptance/documents")
@auth.staff_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(AcceptanceDocumentSchema, "AcceptanceDocumentPage"))
@blp.errors(401, 403, 404, 422)
def list_acceptance_documents(args, project_id):
    """The acceptance documents (验收资料), in the order attached: for staff who see the
    project. Each file is fetched at its `url`."""
    project = visible_project(project_id)
    return paginate(acceptance_documents.documents_of(project), args)


@blp.post("/projects/<int:project_id>/acceptance/documents")
@auth.staff_required
@blp.arguments(AcceptanceDocumentArgs)
@blp.response(201, AcceptanceDocumentSchema)
@blp.errors(401, 403, 404, 409, 422)
def attach_acceptance_document(args, project_id):
    """Attach an acceptance document: a PDF or an image the caller uploaded to this project
    (`POST /projects/{id}/uploads`), with a title. The project's managers, while it is
    `completed` (409 `project_not_completed`)."""
    project, staff = _managed_project(project_id)
    document = acceptance_documents.attach(project, staff, args["upload_id"], args["title"])
    commit()
    return document


@blp.delete("/projects/<int:project_id>/acceptance/documents/<int:document_id>")
@auth.staff_required
@blp.response(200, AcceptanceDocumentSchema)
@blp.errors(401, 403, 404, 409)
def remove_acceptance_document(project_id, document_id):
    """Remove an acceptance document, answered with the document removed (the uploaded file
    stays). The project's managers, while it is `completed` (409 `project_not_completed`); 404
    `document_not_found` for a document of another project."""
    project, _ = _managed_project(project_id)
    document = acceptance_documents.remove(project, document_id)
    commit()
    return document
