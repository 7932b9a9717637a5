"""The dashboard's event log: the contract's event line on stderr (the journal keeps it)."""

from __future__ import annotations

from cc_ci.contract.eventline import EventLog, format_event

__all__ = ["format_event", "log"]

log = EventLog()
