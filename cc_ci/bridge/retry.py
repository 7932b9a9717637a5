"""Whether a finished build is retried by itself. Pure: what the run record says and whether
the command was retried already in, a decision out.

A run that could not be carried out because of the machine, not the recipe (the Docker
daemon did not answer, an image could not be pulled), is worth one more try: the record
says so with `retryable` and its `error_class`. Anything else is reported as it is, and so
is the second try, whatever it ends in.
"""

from __future__ import annotations

from dataclasses import dataclass

from cc_ci.bridge.identity import RecordMismatch
from cc_ci.bridge.report import RunSummary
from cc_ci.contract.record import RETRYABLE, ErrorClass, RunStatus


@dataclass(frozen=True, slots=True)
class Retry:
    """Retry the build once, because of `error_class`."""

    error_class: ErrorClass


def retry_decision(
    run: RunSummary | RecordMismatch | None, retried_build: int | None
) -> Retry | None:
    """`Retry` when the run ended in an error of a retried class that the record calls
    retryable and this command has not been retried yet; else None (report it as it is).
    Without a run record of this command's own nothing is known of the cause, so nothing is
    retried."""
    if retried_build is not None or not isinstance(run, RunSummary):
        return None
    if run.status != RunStatus.ERROR or not run.retryable or run.error_class is None:
        return None
    if run.error_class not in RETRYABLE:
        return None
    return Retry(ErrorClass(run.error_class))
