"""What a consultation's results show, to whom, and when (docs/gate.md, "What is shown when").

- Until the close, residents see participation only: how many households voted of how many
  are eligible. Never a count per choice, a satisfaction rate or whether it "passes" so far,
  which would press the households that have not voted yet (bandwagon and pressure).
- Staff in scope see the live result only once at least `RESULTS_MIN_BALLOTS` households have
  voted (the prefecture's setting, default 10); below that, participation only: with three
  ballots, a watcher of the turnout list could match the household that just voted to the
  count that moved. In a bundled project an estate with fewer ballots than that keeps its own
  figures hidden even when the pooled count may show.
- After the close everyone in scope sees the full result.

The routes apply these functions on top of what the queries answer, so the rule holds whatever
a query adds: keys that reveal choices are removed at every depth (`scrub`), rather than an
allowed list kept at the top.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from api.core import db
from participation.models import Project, Resident
from voting.models import Consultation, Tally

UNTIL_CLOSE = "until_close"
TOO_FEW_BALLOTS = "too_few_ballots"

# Keys whose value says how households chose, wherever they sit in a gate or tally reply
# (pooled or per estate): removed while the results are hidden.
DROPPED = frozenset(
    {
        "by_choice",  # counts per choice
        "ranking",  # a needs survey's items by households that picked them
        "agree_area_share",  # art. 278: the shares and the owners that agreed
        "agree_owner_share",
        "agree_household_share",
        "agreeing_owners",
        "split_owners",  # owners whose units voted differently
        "agreed",
        "held_by",  # the estates that fail so far
    }
)
# Rates of the result: shown as null while hidden (the replies' schemas keep the key).
NULLED = frozenset({"satisfaction_rate", "plan_satisfaction_rate"})
# Whether it passes: false while hidden, since a live "passed" tells that satisfaction reached
# the threshold (and the gate is not passed while the vote is open, whatever the count).
FALSE = frozenset({"passed", "gate_passed"})


def min_ballots() -> int:
    """`RESULTS_MIN_BALLOTS`: households that must have voted before staff see a live result."""
    return int(current_app.config["RESULTS_MIN_BALLOTS"])


def hidden_reason(consultation: Consultation | None, caller, voted: int) -> str | None:
    """Why the caller may not see this consultation's result now (`until_close` for residents
    before the close, `too_few_ballots` for staff while fewer than `RESULTS_MIN_BALLOTS`
    households voted), or None when the full result shows."""
    if consultation is None or consultation.status == "closed":
        return None
    if isinstance(caller, Resident):
        return UNTIL_CLOSE
    if voted < min_ballots():
        return TOO_FEW_BALLOTS
    return None


class Shown:
    """An object as a reply shows it: the object's own attributes, some replaced. The object
    itself is never changed (a changed ORM row would be written at the next commit)."""

    def __init__(self, obj, **replaced):
        self.__dict__["_shown_object"] = obj
        self.__dict__.update(replaced)

    def __getattr__(self, name):
        return getattr(self.__dict__["_shown_object"], name)


def scrub(value):
    """A copy of a JSON-like value with every choice-revealing key removed, nulled or set
    false, at every depth."""
    if isinstance(value, dict):
        shown = {}
        for key, item in value.items():
            if key in DROPPED:
                continue
            if key in NULLED:
                shown[key] = None
            elif key in FALSE:
                shown[key] = False
            else:
                shown[key] = scrub(item)
        return shown
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    return value


def voted_households(entry: dict) -> int | None:
    """The households that voted according to a gate or tally entry (pooled or one estate's):
    its `counted`, else its figures' `voted.households`; None when it does not say."""
    if isinstance(entry.get("counted"), int):
        return entry["counted"]
    figures = entry.get("figures") if isinstance(entry.get("figures"), dict) else entry
    voted = figures.get("voted")
    if isinstance(voted, dict) and isinstance(voted.get("households"), int):
        return voted["households"]
    return None


def _estate_lists(view: dict) -> list[tuple[dict, str]]:
    """Where a reply keeps its per-estate entries: (the dict holding them, its key `estates`),
    at the top (the gate) or inside `figures` (the tally)."""
    found = []
    for holder in (view, view.get("figures")):
        if isinstance(holder, dict) and isinstance(holder.get("estates"), list):
            found.append((holder, "estates"))
    return found


def _small_estates(view: dict) -> bool:
    """Some estate of the reply has fewer than `RESULTS_MIN_BALLOTS` ballots."""
    floor = min_ballots()
    for holder, key in _estate_lists(view):
        for entry in holder[key]:
            voted = voted_households(entry) if isinstance(entry, dict) else None
            if voted is not None and voted < floor:
                return True
    return False


def _estates_one_by_one(view: dict, shown: dict) -> None:
    """In `shown` (the scrubbed copy of `view`), give back each estate with enough ballots its
    own figures; the others say `too_few_ballots`."""
    floor = min_ballots()
    originals = _estate_lists(view)
    for (holder, key), (target, _) in zip(originals, _estate_lists(shown), strict=True):
        entries = []
        for entry, scrubbed in zip(holder[key], target[key], strict=True):
            voted = voted_households(entry) if isinstance(entry, dict) else None
            if voted is not None and voted >= floor:
                entries.append({**entry, "results_hidden": None})
            elif isinstance(scrubbed, dict):
                entries.append({**scrubbed, "results_hidden": TOO_FEW_BALLOTS})
            else:
                entries.append(scrubbed)
        target[key] = entries


def redact_result(view: dict, caller, consultation: Consultation | None) -> dict:
    """A gate or tally reply (a dict) as `caller` may see it now: whole, or with every
    choice-revealing key removed and `results_hidden` saying why (rule in the module
    docstring). Participation (voted and eligible, `participation_rate`) always shows.

    While a bundled project's vote is open, staff see an estate's result once it has
    `RESULTS_MIN_BALLOTS` ballots, and the pooled result only when every estate has: pooled
    figures beside all but one estate's would give that estate's away by subtraction.
    """
    voted = voted_households(view) or 0
    reason = hidden_reason(consultation, caller, voted)
    split = reason is None and consultation is not None and consultation.status != "closed"
    if split and _small_estates(view):
        reason = TOO_FEW_BALLOTS
    else:
        split = False
    if reason is None:
        return {**view, "results_hidden": None}
    shown = scrub(view)
    if split:
        _estates_one_by_one(view, shown)
    if "reason" in view:
        # The gate is not passed while the vote is open, whatever the running count says.
        shown["reason"] = "consultation_open"
    shown["results_hidden"] = reason
    return shown


def redact_gate(view: dict, caller, consultation: Consultation | None) -> dict:
    """`GET /projects/{id}/gate` as the caller may see it (`redact_result`)."""
    return redact_result(view, caller, consultation)


def redact_tally(tally: Tally, caller, consultation: Consultation, names) -> Shown:
    """`GET /consultations/{id}/tally` as the caller may see it (`redact_result`): the tally
    with each of its attributes `names` (the reply's fields) redacted; the row is unchanged."""
    view = {name: getattr(tally, name) for name in names if hasattr(tally, name)}
    return Shown(tally, **redact_result(view, caller, consultation))


# --- a project's satisfaction fields ---------------------------------------------------------


def project_reasons(projects: list[Project], caller, gates=None) -> dict[int, str | None]:
    """For each project, why the caller may not see its gate result now (see `hidden_reason`),
    read in one statement for a page of projects; `gates`, when given, is that statement's
    answer already read (gate consultation id -> a row with `status` and `counted`, as
    `voting.queries.consultations.open_and_gate` reads it with a project's open ones)."""
    gate_ids = {p.gate_consultation_id for p in projects if p.gate_consultation_id is not None}
    rows = gates if gates is not None else {}
    if gate_ids and gates is None:
        rows = {
            row.id: row
            for row in db.session.execute(
                select(Consultation.id, Consultation.status, Tally.counted)
                .outerjoin(Tally, Tally.consultation_id == Consultation.id)
                .where(Consultation.id.in_(gate_ids))
            )
        }
    reasons = {}
    for project in projects:
        row = rows.get(project.gate_consultation_id)
        if row is None or row.status == "closed":
            reasons[project.id] = None
        elif isinstance(caller, Resident):
            reasons[project.id] = UNTIL_CLOSE
        elif (row.counted or 0) < min_ballots():
            reasons[project.id] = TOO_FEW_BALLOTS
        else:
            reasons[project.id] = None
    return reasons


def redact_projects(projects: list, caller, gates=None) -> list[Shown]:
    """Projects as the caller may see them: while the gate consultation is open, the
    satisfaction rate is null and `gate_passed` false for residents (and for staff below
    `RESULTS_MIN_BALLOTS`); participation shows. Each carries `results_hidden`. (`gates`: see
    `project_reasons`.)"""
    reasons = project_reasons(projects, caller, gates)
    shown = []
    for project in projects:
        reason = reasons[project.id]
        if reason is None:
            shown.append(Shown(project, results_hidden=None))
        else:
            shown.append(
                Shown(
                    project,
                    results_hidden=reason,
                    plan_satisfaction_rate=None,
                    gate_passed=False,
                )
            )
    return shown


def redact_project(project: Project, caller, gates=None) -> Shown:
    """One project as the caller may see it (`redact_projects`)."""
    return redact_projects([project], caller, gates)[0]
