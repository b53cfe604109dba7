"""One static HTML page for a run directory: every result table and picture, no external assets.

The page embeds the Markdown tables (converted here: headings, paragraphs, bold, lists and
pipe tables, all HTML-escaped) and links pictures by relative path, listing only files that
exist when the page is built, so it never shows a broken image.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from procmem.core.atomic import atomic_write_text

ORDER = ("knn", "linear", "nights", "segment", "scaling", "add_classes", "privacy", "unlearn",
         "compartment")
CSS = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}td,th{border:1px solid #ccc;
padding:3px 8px;text-align:left}th{background:#f0f0f0}img{max-width:100%;margin:.5em 0;
border:1px solid #ddd}h2{border-bottom:1px solid #ccc;padding-bottom:.2em}
figure{margin:1em 0}figcaption{font-size:12px;color:#555}"""


def _inline(text: str) -> str:
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(text))


def markdown_to_html(md: str) -> str:
    """The small Markdown subset eval's results use, as HTML."""
    out, table, items = [], [], []

    def flush():
        if table:
            rows = [r for r in table if not re.fullmatch(r"\|[\s|:-]+\|?", r)]
            cells = [[c.strip() for c in r.strip().strip("|").split("|")] for r in rows]
            out.append("<table><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in cells[0]) + "</tr>"
                       + "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>"
                                 for r in cells[1:]) + "</table>")
            table.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for line in md.splitlines():
        s = line.strip()
        if s.startswith("|"):
            table.append(s)
            continue
        if s.startswith("- "):
            items.append(s[2:])
            continue
        flush()
        if m := re.match(r"^(#{1,6})\s+(.*)", s):
            level = min(len(m.group(1)) + 1, 6)
            out.append(f"<h{level}>{_inline(m.group(2))}</h{level}>")
        elif s:
            out.append(f"<p>{_inline(s)}</p>")
    flush()
    return "\n".join(out)


def build_report(rundir, title: str = "procmem evaluation") -> Path:
    """Write `<rundir>/report.html` from the run's `.md` results and `pictures/*.png`."""
    from procmem.core.errors import ProcmemError

    rundir = Path(rundir)
    if not rundir.is_dir():
        raise ProcmemError(f"run directory {rundir} does not exist; run `procmem eval knn --out "
                           f"{rundir}` (or another eval command) first")
    names = [p.stem for p in rundir.glob("*.md")]
    names = [n for n in ORDER if n in names] + sorted(n for n in names if n not in ORDER)
    pics = sorted((rundir / "pictures").glob("*.png")) if (rundir / "pictures").is_dir() else []
    used: set[Path] = set()
    body = [f"<h1>{html.escape(title)}</h1>",
            f"<p>Run directory: <code>{html.escape(str(rundir.resolve()))}</code></p>"]
    if not names and not pics:
        body.append("<p>No results in this run directory yet.</p>")
    for n in names:
        body.append(f'<section id="{html.escape(n)}">')
        body.append(markdown_to_html((rundir / f"{n}.md").read_text()))
        prefix = n.replace("_", "-")
        for p in pics:
            if p.name.startswith(prefix + "-") or p.name.startswith(n + "-"):
                body.append(_figure(p, rundir))
                used.add(p)
        body.append("</section>")
    rest = [p for p in pics if p not in used]
    if rest:
        body.append("<section><h2>Other pictures</h2>" + "".join(_figure(p, rundir) for p in rest)
                    + "</section>")
    page = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>"
            f"{html.escape(title)}</title><style>{CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
    out = rundir / "report.html"
    atomic_write_text(out, page)
    return out


def _figure(path: Path, rundir: Path) -> str:
    rel = path.relative_to(rundir).as_posix()
    return (f'<figure><img src="{html.escape(rel)}" alt="{html.escape(path.stem)}">'
            f"<figcaption>{html.escape(path.name)}</figcaption></figure>")
