"""The one env-file parser and writer: godotenv's rules, as abra reads an app's .env."""

from __future__ import annotations

import pytest

from cc_ci.contract.envfile import EnvFileError, parse, quote, set_keys, values


def test_plain_assignments_and_export_prefixes():
    assert values("A=1\nexport B=two\n  export   C = 3\n") == {"A": "1", "B": "two", "C": "3"}


def test_comment_lines_blank_lines_and_non_assignments_count_for_nothing():
    text = "# A=commented\n\n   # B=indented comment\nnot an assignment\nC=3\n"
    assert values(text) == {"C": "3"}


def test_an_inline_comment_needs_whitespace_before_the_hash():
    assert values("A=a#b\nB=b #note\nC=c\t# tab\n") == {"A": "a#b", "B": "b", "C": "c"}
    assert parse("B=b # length=48\n")[0].comment == "length=48"


def test_a_hash_inside_quotes_is_part_of_the_value():
    assert values("A='x # y'\nB=\"x # y\" # real comment\n") == {"A": "x # y", "B": "x # y"}
    assert parse('B="x # y" # real comment\n')[0].comment == "real comment"


def test_single_quotes_are_literal():
    assert values("A=1\nB='$A ${A} \\n'\n")["B"] == "$A ${A} \\n"


def test_double_quotes_take_escapes_and_expand():
    text = 'A=1\nB="a\\nb \\"q\\" \\\\ ${A} $A \\$A"\n'
    assert values(text)["B"] == 'a\nb "q" \\ 1 1 $A'


def test_unquoted_values_expand_from_earlier_keys_only():
    assert values("A=1\nB=${A}-$A-${LATER}\nLATER=x\n")["B"] == "1-1-"


def test_compose_file_appends_to_the_value_set_above_it():
    text = 'COMPOSE_FILE="compose.yml"\nCOMPOSE_FILE="$COMPOSE_FILE:compose.postgres.yml"\n'
    assert values(text)["COMPOSE_FILE"] == "compose.yml:compose.postgres.yml"


def test_a_later_assignment_wins():
    assert values("A=1\nA=2\n") == {"A": "2"}


@pytest.mark.parametrize(
    "value",
    ["", "plain", "with space", "it's", 'say "hi"', "$HOME", "${X}", "a#b", "a #b", "\\n", "é"],
)
def test_what_the_writer_writes_reads_back_exactly(value):
    text = set_keys("", {"K": value})
    assert values(text) == {"K": value}, text


def test_the_writer_replaces_the_first_line_drops_repeats_and_appends_new_keys():
    text = "TYPE=demo\nLETS_ENCRYPT_ENV=production\nLETS_ENCRYPT_ENV=again\n# trailing comment"
    out = set_keys(text, {"LETS_ENCRYPT_ENV": "", "NEW": "1"})
    assert out == "TYPE=demo\nLETS_ENCRYPT_ENV=\n# trailing comment\nNEW=1\n"


def test_the_writer_leaves_commented_out_keys_alone_and_can_add_at_the_top():
    out = set_keys("#DOMAIN=old\nA=1\n", {"DOMAIN": "app.ci.test"}, first=True)
    assert out == "DOMAIN=app.ci.test\n#DOMAIN=old\nA=1\n"


def test_the_writer_refuses_what_cannot_read_back():
    with pytest.raises(EnvFileError, match="line break"):
        quote("two\nlines")
    with pytest.raises(EnvFileError, match="not an env key"):
        set_keys("", {"BAD-KEY": "x"})
