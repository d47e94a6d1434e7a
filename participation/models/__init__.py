"""The participation domain's tables: the registry (places, households, residents, staff and
their grants) in `registry`, residents' consents to the privacy notice in `privacy`,
projects with their plans in `projects`, and residents' contributions to them in `contributions`.

Importing this package registers them all with SQLAlchemy, so that the relationships between them
(an estate and the projects covering it) resolve whichever module a caller names.
"""

from participation.models.contributions import (
    ContributionDue,
    ContributionEntry,
    ContributionPledge,
    ContributionScheme,
    ProjectExpense,
)
from participation.models.privacy import PrivacyConsent
from participation.models.projects import (
    CATEGORIES,
    FUNDING_SOURCES,
    MILESTONES,
    PLAN_ITEM_CATEGORIES,
    STATUSES,
    FundingLine,
    Milestone,
    Plan,
    PlanItem,
    Project,
    ProjectTransition,
    project_estates,
)
from participation.models.registry import (
    CLAIM_STATUSES,
    RELATIONS,
    ROLES,
    Building,
    Community,
    County,
    Estate,
    Household,
    HouseholdClaim,
    Resident,
    RoleGrant,
    Staff,
)

__all__ = [
    "CATEGORIES",
    "CLAIM_STATUSES",
    "FUNDING_SOURCES",
    "MILESTONES",
    "PLAN_ITEM_CATEGORIES",
    "RELATIONS",
    "ROLES",
    "STATUSES",
    "Building",
    "Community",
    "ContributionDue",
    "ContributionEntry",
    "ContributionPledge",
    "ContributionScheme",
    "County",
    "Estate",
    "FundingLine",
    "Household",
    "HouseholdClaim",
    "Milestone",
    "Plan",
    "PlanItem",
    "PrivacyConsent",
    "ProjectExpense",
    "Project",
    "ProjectTransition",
    "Resident",
    "RoleGrant",
    "Staff",
    "project_estates",
]
