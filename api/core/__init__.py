"""The shared kernel: the one package every domain may import.

It imports no domain and no Flask request state, and does nothing when imported.

- `db`: the database handle, `UTCDateTime`, `choice_check`, `dialect_insert`, `get_or_404`
- `errors`: `DomainError` and its kinds (`InvalidInput`, `NotFound`, `Forbidden`, …)
- `clock`: `utcnow`, the local clock (`LOCAL`, `local_today`, `local_text`)
- `jobs`: `enqueue_after_commit`, `release_dedupe`, `schedule_at`, `commit`
- `periodic`: the scaffold of a job that schedules its next run, and the registry of them a
  worker keeps scheduled
- `events`: `emit` and `listen`, how one domain learns of another's events
- `numbers`: `rounded`, fractions to stored decimals
- `fields`: schema fields (`Text`, `text`, `id_field`, `query_id`, `Date`, `DateTime`) and
  masks of personal data
- `labels`: the Chinese labels of the enumerations people read
- `codes`: a reply's enumeration codes and their labels beside them (`status_label`, …)
- `i18n`: marshmallow's and webargs' validation messages in Chinese (a 422's field details)
- `trace`: the id of the request being served, which the jobs it asks for carry
"""

from api.core.clock import LOCAL, local_text, local_today, utcnow
from api.core.db import (
    Base,
    UTCDateTime,
    choice_check,
    db,
    dialect_insert,
    get_or_404,
    insert_for_dialect,
)
from api.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
)
from api.core.events import emit, listen, provide, provided
from api.core.jobs import (
    PendingJob,
    commit,
    dispatch_ready_jobs,
    enqueue_after_commit,
    release_dedupe,
    schedule_at,
)
from api.core.numbers import rounded

__all__ = [
    "LOCAL",
    "Base",
    "Conflict",
    "DomainError",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "PendingJob",
    "ServiceUnavailable",
    "UTCDateTime",
    "Unauthorized",
    "choice_check",
    "commit",
    "db",
    "dialect_insert",
    "dispatch_ready_jobs",
    "emit",
    "enqueue_after_commit",
    "get_or_404",
    "insert_for_dialect",
    "listen",
    "provide",
    "provided",
    "local_text",
    "local_today",
    "release_dedupe",
    "rounded",
    "schedule_at",
    "utcnow",
]
