"""One static HTML page for a run directory, read top-down: the summary (headline numbers with
intervals and verdicts) first, then contents, what the run used, every result table, and the
pictures last (the user's encoder first, baselines after). No external assets, no script;
pictures are linked by relative path and only files that exist are listed.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from procmem.core.atomic import atomic_write_text
from procmem.eval.markdown_html import markdown_to_html

ORDER = ("paper", "knn", "linear", "nights", "segment", "scaling", "add_classes", "privacy",
         "unlearn", "compartment")
TASKS = ("knn", "linear", "nights", "segment", "paper-coco", "privacy", "scaling", "unlearn",
         "add_classes")
CSS = """body{font-family:sans-serif;max-width:1200px;margin:1em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}td,th{border:1px solid #ccc;
padding:2px 6px;text-align:left;vertical-align:top}th{background:#f0f0f0}
img{max-width:100%;margin:.4em 0;border:1px solid #ddd}h1{font-size:24px;margin:.3em 0}
h2{border-bottom:1px solid #ccc;padding-bottom:.2em}figure{margin:1em 0}
figcaption{font-size:12px;color:#555}#summary{background:#f7fbff;border:1px solid #bcd;
padding:.2em .8em}nav li{display:inline;margin-right:1em}"""


def _pictures(rundir: Path, names: list[str], pics: list[Path]) -> list[tuple[str, list[Path]]]:
    """Pictures per section: the order the section's JSON lists (its encoders' order), else
    those whose name starts with the section's; the rest under 'other'."""
    used, out = set(), []
    for n in names:
        data = {}
        if (rundir / f"{n}.json").is_file():
            data = json.loads((rundir / f"{n}.json").read_text())
        listed = list(data.get("pictures") or [])
        for r in (data.get("results") or {}).values():
            for v in (r.values() if isinstance(r, dict) else []):
                listed += v.get("pictures", []) if isinstance(v, dict) else []
        mine = [rundir / p for p in dict.fromkeys(listed) if (rundir / p).is_file()]
        prefix = n.replace("_", "-")
        mine += [p for p in pics if p not in mine and p not in used
                 and (p.name.startswith(prefix + "-") or p.name.startswith(n + "-"))]
        used |= set(mine)
        out.append((n, mine))
    out.append(("other", [p for p in pics if p not in used]))
    return [(n, ps) for n, ps in out if ps]


def build_report(rundir, title: str | None = None) -> Path:
    """Write `<rundir>/report.html` from the run's stored results, `.md` tables and pictures."""
    from procmem.core.errors import ProcmemError
    from procmem.eval import store
    from procmem.eval.report_summary import summary, used

    rundir = Path(rundir)
    if not rundir.is_dir():
        raise ProcmemError(f"run directory {rundir} does not exist; run `procmem eval knn --out "
                           f"{rundir}` (or another eval command) first")
    names = [p.stem for p in rundir.glob("*.md")]
    names = [n for n in ORDER if n in names] + sorted(n for n in names if n not in ORDER)
    pics = sorted((rundir / "pictures").glob("*.png")) if (rundir / "pictures").is_dir() else []
    sets = list(dict.fromkeys(r["dataset"]["name"] for t in TASKS for r in store.records(rundir, t)))
    title = title or "procmem evaluation" + (f": {', '.join(sets)}" if sets else "")
    head, _ = summary(rundir)
    what = used(rundir, TASKS)
    body = [f"<h1>{html.escape(title)}</h1>", '<section id="summary"><h2>Summary</h2>'
            + (markdown_to_html(head) if head else "<p>No stored results with baselines in this "
               "run directory; the sections below hold what it has.</p>") + "</section>"]
    by_section = _pictures(rundir, names, pics)
    toc = [("summary", "Summary")] + ([("used", "What the run used")] if what else [])
    toc += [(n, n.replace("_", " ")) for n in names] + ([("pictures", "Pictures")] if pics else [])
    body.append("<nav><h2>Contents</h2><ul>" + "".join(
        f'<li><a href="#{html.escape(a)}">{html.escape(t)}</a></li>' for a, t in toc) + "</ul></nav>")
    if what:
        body.append('<section id="used"><h2>What the run used</h2>' + markdown_to_html(what)
                    + f"<p>Run directory: <code>{html.escape(str(rundir.resolve()))}</code></p></section>")
    if not names and not pics:
        body.append("<p>No results in this run directory yet.</p>")
    for n in names:
        body.append(f'<section id="{html.escape(n)}">' + markdown_to_html((rundir / f"{n}.md").read_text())
                    + (f'<p><a href="#pictures-{html.escape(n)}">pictures</a></p>'
                       if any(s == n for s, _ in by_section) else "") + "</section>")
    if pics:
        body.append('<section id="pictures"><h2>Pictures</h2>' + "".join(
            f'<div id="pictures-{html.escape(n)}"><h3>{html.escape(n.replace("_", " "))}</h3>'
            + "".join(_figure(p, rundir) for p in ps) + "</div>" for n, ps in by_section)
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
