"""The feedback domain's tables, one entity group a module: `supervision` (sign-ups),
`uploads` (photos and documents), `plan_attachments` (the files a plan version carries),
`progress` (progress updates, 进度公示), `tickets` (inspections, tickets and their history),
`ratings` (ratings and their count), `acceptance` (the joint completion acceptance),
`comments`, and `estate_rules` (an estate's management rules and the comments on a draft).

Importing this package registers every one of them with SQLAlchemy.
"""

from feedback.models.acceptance import (
    Acceptance,
    AcceptanceDocument,
    AcceptanceParty,
    AcceptanceRepresentative,
)
from feedback.models.comments import (
    Comment,
    CommentDecision,
    CommentLike,
    CommentReply,
    CommentReport,
)
from feedback.models.estate_rules import EstateRules, RulesComment
from feedback.models.plan_attachments import PlanAttachment
from feedback.models.progress import ProgressUpdate
from feedback.models.ratings import CompletionTally, Rating
from feedback.models.supervision import SupervisorSignup
from feedback.models.tickets import Inspection, Ticket, TicketEvent
from feedback.models.uploads import Upload

__all__ = [
    "Acceptance",
    "AcceptanceDocument",
    "AcceptanceParty",
    "AcceptanceRepresentative",
    "Comment",
    "CommentDecision",
    "CommentLike",
    "CommentReply",
    "CommentReport",
    "CompletionTally",
    "EstateRules",
    "Inspection",
    "PlanAttachment",
    "ProgressUpdate",
    "Rating",
    "RulesComment",
    "SupervisorSignup",
    "Ticket",
    "TicketEvent",
    "Upload",
]
