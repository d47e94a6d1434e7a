"""The clock: every stored time is UTC; deadlines and what people read are on the prefecture's
local clock (Asia/Shanghai)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC. Every stored time goes through here."""
    return datetime.now(UTC)


def local_today() -> date:
    """Today on the prefecture's clock (deadlines are local dates)."""
    return utcnow().astimezone(LOCAL).date()


def local_text(when: datetime) -> str:
    """A moment as residents read it: `2026年12月01日 09:30`, local time."""
    return when.astimezone(LOCAL).strftime("%Y年%m月%d日 %H:%M")
