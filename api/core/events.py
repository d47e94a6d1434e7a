"""Domain events: a domain announces what happened (`emit`) without knowing who listens.

Voting can say "a consultation opened" while notices publishes about it, and voting still never
imports notices. An event's payload carries everything its listeners need, so a listener never
reads the emitting domain's tables. Listeners are wired per app in `api.app.create_app`.

    consultation_opened   voting, both open paths: consultation_id, project_id, kind, title,
                          opened_at, closes_at
    consultation_closing  voting, when a consultation open longer than 24 h comes within 24 h
                          of its close (a job scheduled at the opening, and every reconcile run
                          after that until the close, so a lost job is made good; listeners
                          act once per consultation): consultation_id, project_id, title,
                          closes_at, households (a SELECT of one column `id`: the electorate's
                          households that have not voted)
    gate_final            voting, the first final tally of a project's gate consultation:
                          project_id, consultation_id, title, threshold, quorum, passed,
                          satisfaction_rate, participation_rate
    ballot_replaced       voting, a clerk's paper or assisted ballot replaced a household's
                          WeChat ballot (never its choice): consultation_id, project_id, title,
                          household_id, revision (the new ballot's; listeners act once per
                          change), channel (`paper` or `assisted`)
    ticket_answered       feedback, an answer recorded: ticket_id, answer_id, project_id,
                          reporter_id, description
    signup_reviewed       feedback, the committee accepted or declined a supervisor sign-up
                          (a sign-up is decided once): signup_id, project_id, resident_id,
                          status (`accepted` or `declined`), reason (the decline's, else None)
    membership_ended      participation, a verified membership of a household ended: the
                          resident left it, or a roster re-import revoked it: claim_id,
                          household_id, resident_id, cause (`left` or `revoked`)
    membership_revoked    participation, a roster re-import changed a household's owner and
                          revoked a claim verified against the previous one (emitted after its
                          `membership_ended`): claim_id, household_id, resident_id, estate_id,
                          address (the estate and the masked building, unit and room), reason
    progress_posted       feedback, a manager of a project published a progress update
                          (进度公示): progress_id, project_id, body (the whole text),
                          photo_count, posted_at
    scheme_adopted        participation, an owners' decision adopted a contribution scheme
                          (居民出资): scheme_id, project_id, title, basis, rate_fen, due_on
    scheme_cancelled      participation, an adopted contribution scheme was cancelled:
                          scheme_id, project_id, title, reason
"""

from __future__ import annotations

from flask import current_app


def listen(app, event: str, handler) -> None:
    """Call `handler(**payload)` whenever `event` is emitted in `app`."""
    app.extensions.setdefault("domain_events", {}).setdefault(event, []).append(handler)


def emit(event: str, **payload) -> None:
    """Run the listeners of `event` now, inside the caller's transaction.

    What they write commits or rolls back with the caller's work, and the jobs they ask for
    run after that commit. A listener that raises fails the caller: listeners decline quietly
    (log and return) when they have nothing to do.
    """
    for handler in current_app.extensions.get("domain_events", {}).get(event, ()):
        handler(**payload)


# --- answers one domain gives another without being imported by it ---------------------------
#
#     decision_outcome      voting: `outcome(consultation_id)` -> `DecisionOutcome` or None: what
#                           an owners' decision (业主共同决定) decided, estate by estate; read by
#                           participation's contribution schemes and feedback's estate rules,
#                           which are adopted only by a passed decision


def provide(app, name: str, answer) -> None:
    """Have `provided(name)` return `answer` in `app` (wired in `api.app.wire_domains`)."""
    app.extensions.setdefault("domain_answers", {})[name] = answer


def provided(name: str):
    """The answer another domain provides under `name`; an app that was never wired (one not
    built by `create_app`) has none, and the caller fails rather than skip the rule."""
    answers = current_app.extensions.get("domain_answers", {})
    if name not in answers:
        raise RuntimeError(f"{name} is not wired: build the app with create_app")
    return answers[name]
