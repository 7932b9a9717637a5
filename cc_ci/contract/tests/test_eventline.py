"""Log lines: one event per line, key=value, whatever a value holds."""

from __future__ import annotations

from cc_ci.contract.eventline import format_event


def test_plain_values_are_written_as_they_are():
    line = format_event("request", method="GET", path="/badge/x.svg", status=200, ms="0.12")
    assert line == "event=request method=GET path=/badge/x.svg status=200 ms=0.12"


def test_a_hostile_value_stays_on_one_line_and_cannot_forge_a_key():
    line = format_event("request", path='/x status=500\nevent=forged "q"')
    assert "\n" not in line
    assert line == 'event=request path="/x status=500\\nevent=forged \\"q\\""'


def test_missing_values_are_empty():
    assert format_event("stopped", reason=None) == 'event=stopped reason=""'
