"""Static assets: the one stylesheet (no inline styles: the CSP forbids them) and the icon."""

from __future__ import annotations

import hashlib

CSS = """
:root {
  --fg: #1b1f24; --muted: #57606a; --bg: #fff; --line: #d8dee4; --soft: #f6f8fa;
  --passed: #1a7f37; --failed: #cf222e; --error: #bc4c00; --running: #0969da;
  --skipped: #8c959f; --link: #0969da;
}
@media (prefers-color-scheme: dark) {
  :root {
    --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --line: #30363d; --soft: #161b22;
    --passed: #3fb950; --failed: #f85149; --error: #db6d28; --running: #4493f8;
    --skipped: #6e7681; --link: #4493f8;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; color: var(--fg); background: var(--bg);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
}
a { color: var(--link); }
header { border-bottom: 1px solid var(--line); background: var(--soft); padding: .6rem 1rem; }
header .home { font-weight: 700; text-decoration: none; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
footer { max-width: 72rem; margin: 2rem auto; padding: 0 1rem; color: var(--muted); font-size: .85rem; }
h1 { font-size: 1.5rem; margin: .2rem 0 .8rem; overflow-wrap: anywhere; }
h2 { font-size: 1.15rem; margin: 1.6rem 0 .6rem; }
h3 { font-size: 1rem; margin: 0 0 .3rem; }
code, pre, .sha, .run-id { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
.run-id { font-size: .9rem; color: var(--muted); font-weight: 400; }
.summary { font-size: 1.05rem; }
.n { white-space: nowrap; font-weight: 600; }
.empty, .note, .legend, .meta, .lang, .count, .tail-head { color: var(--muted); }
.legend { font-size: .85rem; margin-top: 1rem; }

table.runs { width: 100%; border-collapse: collapse; }
.runs th, .runs td { padding: .45rem .5rem; border-bottom: 1px solid var(--line); text-align: left; vertical-align: middle; }
.runs thead th { font-size: .8rem; color: var(--muted); font-weight: 600; white-space: nowrap; }
.runs th.st, .runs td.st { text-align: center; }
.runs tr.a-error, .runs tr.a-failed { background: color-mix(in srgb, var(--failed) 6%, transparent); }
.runs .recipe { font-weight: 600; white-space: nowrap; }
.runs time, .runs td[data-label="took"] { white-space: nowrap; }
.runs .pr { overflow-wrap: anywhere; }
.runs .pr a { white-space: nowrap; }
.reason { overflow-wrap: anywhere; }
img.badge { height: 20px; vertical-align: middle; }

.mark { display: inline-block; min-width: 1.4em; font-weight: 700; text-align: center; }
.pill {
  display: inline-block; padding: .05rem .5rem; border-radius: 1rem; font-size: .8rem;
  font-weight: 600; color: #fff; background: var(--skipped); text-decoration: none; white-space: nowrap;
}
.s-passed { color: var(--passed); } .s-failed { color: var(--failed); }
.s-error { color: var(--error); } .s-running { color: var(--running); }
.s-skipped, .s-pending, .s-none { color: var(--skipped); }
.pill.s-passed { background: var(--passed); color: #fff; }
.pill.s-failed { background: var(--failed); color: #fff; }
.pill.s-error { background: var(--error); color: #fff; }
.pill.s-running { background: var(--running); color: #fff; }
.pill.s-skipped, .pill.s-pending, .pill.s-none { background: var(--skipped); color: #fff; }
.vh { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }

.level { font-size: .9rem; padding: .1rem .55rem; border-radius: .4rem; background: var(--soft); border: 1px solid var(--line); vertical-align: middle; }
.level.l4 { border-color: var(--passed); color: var(--passed); }
.level.l0 { border-color: var(--failed); color: var(--failed); }
ul.stages, ul.snippets { list-style: none; padding: 0; }
ul.stages li { margin: .2rem 0; }
ul.snippets li { margin: 0 0 1rem; }
pre {
  background: var(--soft); border: 1px solid var(--line); border-radius: .4rem; padding: .6rem;
  overflow-x: auto; font-size: .8rem; line-height: 1.35; white-space: pre-wrap; overflow-wrap: anywhere;
}
.snippet { white-space: pre-wrap; word-break: break-all; }
.lang { margin: .3rem 0 0; font-size: .8rem; }

dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0 0 1rem; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
article.stage { border: 1px solid var(--line); border-left-width: 4px; border-radius: .4rem; padding: .7rem; margin: 0 0 1rem; }
article.stage.s-passed { border-left-color: var(--passed); }
article.stage.s-failed { border-left-color: var(--failed); }
article.stage.s-error { border-left-color: var(--error); }
article.stage.s-running { border-left-color: var(--running); }
article.stage { color: var(--fg); }
.message { font-weight: 600; overflow-wrap: anywhere; }
details summary { cursor: pointer; color: var(--link); }
.shots { display: flex; flex-wrap: wrap; gap: .8rem; }
.shots figure { margin: 0; max-width: 100%; }
.shots img { max-width: min(100%, 28rem); height: auto; border: 1px solid var(--line); border-radius: .3rem; }
.shots figcaption { font-size: .8rem; color: var(--muted); overflow-wrap: anywhere; }
ul.leftovers code { overflow-wrap: anywhere; }

@media (max-width: 720px) {
  main { padding: .6rem; }
  table.runs, .runs tbody, .runs tr, .runs th, .runs td { display: block; width: 100%; }
  .runs thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  .runs tr {
    display: grid; grid-template-columns: repeat(4, 1fr); gap: .2rem .4rem;
    border: 1px solid var(--line); border-radius: .5rem; margin: 0 0 .7rem; padding: .5rem;
  }
  .runs th, .runs td { border: 0; padding: .1rem 0; }
  .runs tr > th[scope="row"] { grid-column: 1 / span 3; font-size: 1.05rem; }
  .runs tr > td:nth-child(2) { grid-column: 4; text-align: right; }
  .runs td.st { text-align: left; font-size: .85rem; }
  .runs td.st::before, .runs td:not(.st)[data-label]::before {
    content: attr(data-label); display: block; font-size: .7rem; color: var(--muted);
  }
  .runs td.reason, .runs td.pr { grid-column: 1 / -1; }
  .runs td[data-label="badge"] { grid-column: span 2; }
  dl.facts { grid-template-columns: 1fr; gap: 0; }
  dl.facts dd { margin-bottom: .4rem; }
}
"""

CSS_BYTES = CSS.encode()
VERSION = hashlib.sha256(CSS_BYTES).hexdigest()[:12]
HREF = f"/static/style.css?v={VERSION}"

FAVICON = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    b'<rect width="16" height="16" rx="3" fill="#1a7f37"/>'
    b'<path d="M4 8.5l2.5 2.5L12 5.5" fill="none" stroke="#fff" stroke-width="2"/></svg>'
)
