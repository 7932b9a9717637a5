"""What Gitea would render of the bot's markdown as code and as plain text (CommonMark code
spans: a run of backticks opens one, the next run of the same length closes it)."""

from __future__ import annotations


def split_code(markdown: str) -> tuple[str, list[str]]:
    """(the text outside code spans, the contents of the code spans)."""
    plain: list[str] = []
    spans: list[str] = []
    i = 0
    while i < len(markdown):
        if markdown[i] != "`":
            plain.append(markdown[i])
            i += 1
            continue
        j = i
        while j < len(markdown) and markdown[j] == "`":
            j += 1
        close = _closing(markdown, j, j - i)
        if close is None:
            plain.append(markdown[i:j])  # no closing run: literal backticks
            i = j
            continue
        content = markdown[j:close]
        if len(content) >= 2 and content[0] == content[-1] == " " and content.strip():
            content = content[1:-1]
        spans.append(content)
        i = close + (j - i)
    return "".join(plain), spans


def _closing(markdown: str, start: int, length: int) -> int | None:
    k = start
    while k < len(markdown):
        if markdown[k] != "`":
            k += 1
            continue
        end = k
        while end < len(markdown) and markdown[end] == "`":
            end += 1
        if end - k == length:
            return k
        k = end
    return None


def table_rows(markdown: str) -> list[list[str]]:
    """The cells of each table row, split on the pipes GFM splits on (unescaped ones, code
    spans or not)."""
    rows = []
    for line in markdown.splitlines():
        if not line.startswith("|"):
            continue
        cells, cell, escaped = [], "", False
        for ch in line[1:]:
            if ch == "|" and not escaped:
                cells.append(cell.strip())
                cell = ""
            else:
                cell += ch
            escaped = ch == "\\" and not escaped
        rows.append(cells)
    return rows
