"""`procmem memory remove | receipt verify | scan`: erasure with proof, checked again later.

A removal names exactly one selector (ids, a label or class name, an exact source prefix or
case-sensitive glob, or example images: forget by example, Rodriguez-Munoz et al. 2025, Fig.
13); `--dry-run` shows what would go (and draws it) without changing anything; an empty
selection is an error unless `--allow-empty`. The receipt's checks failing makes the command
fail (exit 1) and the memory report "erasure incomplete" until they pass. Part of
`procmem.cli.memory`; handlers import the memory stage lazily.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

from procmem.cli.options import deprecation

SELECTORS = ("ids", "label", "label_name", "source_prefix", "source_glob", "source_like", "like")


def register(msub) -> None:
    """Add `memory remove`, `memory receipt verify` and `memory scan` to `procmem memory`."""
    r = msub.add_parser("remove", help="remove items and print the unlearning receipt",
                        description="Remove items and print the unlearning receipt: the ids are "
                                    "gone from search and every byte of their vectors gone from "
                                    "the memory directory; exit 1 if a check fails.")
    r.add_argument("memory")
    g = r.add_argument_group("selector (exactly one)")
    g.add_argument("--ids", help="comma-separated ids, or @FILE with one id per line")
    g.add_argument("--label", type=int, help="every item of this class label")
    g.add_argument("--label-name", help="every item of the class with this name (case-sensitive)")
    g.add_argument("--source-prefix", metavar="PREFIX",
                   help="every item whose source path starts with PREFIX (exact, case-sensitive)")
    g.add_argument("--source-glob", metavar="GLOB",
                   help="every item whose source path matches GLOB, case-sensitive: * and ? match "
                        "any characters (/ included), [abc] one of them; e.g. '*/camera3/*'")
    g.add_argument("--like", nargs="+", metavar="IMAGE",
                   help="forget by example: every item at least --min-similarity similar to any "
                        "of these images (files, folders, quoted patterns), embedded with --model "
                        "(Rodriguez-Munoz et al. 2025)")
    g.add_argument("--source-like", metavar="PATTERN",
                   help="deprecated (goes in the next release): a SQL LIKE pattern (%%, _), now "
                        "matched case-sensitively, as the --source-glob it translates to")
    r.add_argument("--model", help="encoder spec embedding the --like images: the memory's own "
                                   "encoder (its fingerprint is checked)")
    r.add_argument("--min-similarity", type=float,
                   help="cosine similarity an item must reach to a --like image to be removed "
                        "(look at a --dry-run's similarities first)")
    r.add_argument("--dry-run", action="store_true",
                   help="print the count, labels and sources that would go and draw them "
                        "(--plot); change nothing")
    r.add_argument("--plot", metavar="PNG",
                   help="the dry run's picture (default: MEMORY.dry-run.png beside the memory)")
    r.add_argument("--limit", type=int, default=20, help="sources a dry run prints (default 20)")
    r.add_argument("--allow-empty", action="store_true",
                   help="a selection matching nothing is not an error: record it in a receipt")
    r.set_defaults(func=cmd_remove)

    rp = msub.add_parser("receipt", help="re-check an unlearning receipt",
                         description="Re-check an unlearning receipt against its memory.")
    rsub = rp.add_subparsers(dest="receipt_command", metavar="COMMAND")
    rv = rsub.add_parser("verify", help="re-run a receipt's checks against the memory now "
                                        "(exit 1 if one fails)")
    rv.add_argument("receipt", help="a receipt: MEMORY/receipts/remove-v*.json")
    rv.add_argument("memory", nargs="?", help="the memory (default: the one the receipt names)")
    rv.set_defaults(func=cmd_receipt_verify)
    rp.set_defaults(func=lambda args: rp.print_help() or 2)

    sc = msub.add_parser("scan", help="search any files for the vectors a receipt removed",
                         description="Search files (folders: every file under them) for the "
                                     "vectors a receipt removed: whole copies at any byte offset, "
                                     "and rows of .npy/.npz arrays, as stored or once normalised "
                                     "(the embeddings files the items came from, feature caches, "
                                     "backups). Exit 1 if any is found.")
    sc.add_argument("--receipt", required=True, help="the receipt of the removal")
    sc.add_argument("paths", nargs="+", metavar="PATH")
    sc.set_defaults(func=cmd_scan)


def print_receipt(r) -> None:
    print(f"removed {len(r.removed_ids)} items; version {r.version_before} -> {r.version_after}")
    for name, c in r.checks.items():
        print(f"  {'PASS' if c['passed'] else 'FAIL'} {name}: {c['detail']}")
    if r.not_covered.get("copies"):
        print(f"  not covered (copies outside the memory): {', '.join(r.not_covered['copies'])}")
    print(f"receipt: {r.path}")
    if not r.passed:
        print("erasure incomplete: the memory reports it until the checks pass (they run again "
              "on every open, or with `procmem memory verify --repair`)")


def _ids(text: str) -> tuple[list[int], dict]:
    from procmem.core.hashing import sha256_file
    from procmem.memory.errors import MemoryStoreError

    given = {}
    if text.startswith("@"):
        path = Path(text[1:])
        if not path.is_file():
            raise MemoryStoreError(f"--ids {text}: no file {path}; give a file with one id per "
                                   f"line (or comma-separated ids)")
        given = {"ids_file": str(path.resolve()), "ids_file_sha256": sha256_file(path)}
        text = path.read_text()
    try:
        return [int(t) for t in text.replace(",", " ").split()], given
    except ValueError:
        raise MemoryStoreError(f"--ids takes integers separated by commas or lines, got "
                               f"{text[:60]!r}") from None


def _like(args, mem) -> tuple[dict, dict]:
    """select() keywords and the selector as given for --like: the images embedded with the
    memory's encoder (fingerprint checked), their sha256 recorded."""
    from procmem.core.hashing import sha256_file
    from procmem.encoder.imagefolder import read_rgb
    from procmem.encoder.spec import make_encoder
    from procmem.memory.embeddings import image_paths
    from procmem.memory.errors import MemoryStoreError

    if not args.model or args.min_similarity is None:
        raise MemoryStoreError("--like needs --model (the memory's encoder) and --min-similarity")
    paths = image_paths(args.like, "--like")
    images = [read_rgb(p) for p in paths]
    enc = make_encoder(args.model)
    mem.check_fingerprint(enc.fingerprint, enc.dim)
    given = {"like_images": [{"path": str(Path(p).resolve()), "sha256": sha256_file(p)}
                             for p in paths],
             "model": args.model, "fingerprint": enc.fingerprint}
    return {"like": enc.embed(images), "min_similarity": args.min_similarity}, given


def cmd_remove(args) -> int:
    from procmem.memory.errors import MemoryStoreError
    from procmem.memory.store import VisualMemory

    chosen = [s for s in SELECTORS if getattr(args, s, None) is not None]
    if len(chosen) != 1:
        raise MemoryStoreError("give exactly one selector: --ids, --label, --label-name, "
                               f"--source-prefix, --source-glob or --like (got {len(chosen)})")
    with VisualMemory.open(args.memory) as mem:
        name, given = chosen[0], {}
        if name == "ids":
            ids, given = _ids(args.ids)
            kw = {"ids": ids}
        elif name == "like":
            kw, given = _like(args, mem)
        else:
            kw = {name: getattr(args, name)}
        if name == "source_like":  # not a rename: the pattern's meaning changed (case)
            print(deprecation("--source-like", "--source-glob"), file=sys.stderr)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # --source-like printed its note
            sel = mem.select(**kw, given=given, allow_empty=args.allow_empty)
        if args.dry_run:
            return _dry_run(mem, sel, args)
        r = mem.remove(selection=sel)
    print_receipt(r)
    return 0 if r.passed else 1


def _dry_run(mem, sel, args) -> int:
    from collections import Counter

    names = mem.label_names
    ids = sel.ids
    labels = mem.labels_of(ids)
    sources = mem.sources(ids)
    print(f"dry run: {len(ids)} of {len(mem)} items of {mem.path} (version {mem.version}) would "
          f"be removed; nothing was changed")
    print("selector:", ", ".join(f"{k}={v}" for k, v in sel.selector.items()))
    counts = Counter(labels.tolist())
    print("labels:", ", ".join(f"{lab}:{names.get(lab, '?')} ({n})" for lab, n in sorted(counts.items()))
          or "none")
    print(f"sources (first {min(args.limit, len(ids))} of {len(ids)}):")
    captions = []
    for i, lab, src in zip(ids.tolist(), labels.tolist(), sources):
        sim = f"  similarity {sel.similarity[i]:.4f}" if i in sel.similarity else ""
        if len(captions) < args.limit:
            print(f"  id {i}  label {lab} {names.get(lab, '')}  {src or '-'}{sim}")
        captions.append(f"id {i}\n{names.get(lab, lab)}" + (f"\n{sel.similarity[i]:.3f}" if sim else ""))
    if len(ids):
        from procmem.eval.plots import removal_sheet

        png = Path(args.plot) if args.plot else Path(f"{Path(args.memory).resolve()}.dry-run.png")
        removal_sheet(png, sources, captions, f"{len(ids)} items of {Path(args.memory).name} "
                                              f"v{mem.version} a removal would take")
        print(f"picture: {png}")
    return 0


def cmd_receipt_verify(args) -> int:
    from procmem.memory import receipts
    from procmem.memory.recheck import verify_receipt
    from procmem.memory.store import VisualMemory

    r = receipts.load(args.receipt)
    with VisualMemory.open(args.memory or r.memory, read_only=True) as mem:
        checks = verify_receipt(r, mem)
    print(f"receipt {args.receipt}: removal of {len(r.removed_ids)} items at version "
          f"{r.version_after}, re-checked against {args.memory or r.memory}")
    for name, c in checks.items():
        print(f"  {'PASS' if c['passed'] else 'FAIL'} {name}: {c['detail']}")
    ok = all(c["passed"] for c in checks.values())
    print("receipt holds" if ok else "receipt does NOT hold")
    return 0 if ok else 1


def cmd_scan(args) -> int:
    from procmem.memory import receipts
    from procmem.memory.errors import MemoryStoreError
    from procmem.memory.scan import find_in_arrays, find_unit_vectors

    r = receipts.load(args.receipt)
    if r.dim is None:
        raise MemoryStoreError(f"{args.receipt} does not record the vectors' dimension (a format-1 "
                               f"receipt): scan with a receipt issued by this version")
    files = []
    for p in map(Path, args.paths):
        if not p.exists():
            raise MemoryStoreError(f"no file or folder {p}")
        files += sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
    found = 0
    for f in files:
        hits = [(r.removed_ids[j], f"byte offset {at}") for j, at in
                find_unit_vectors([f], r.sha256, r.dim).get(str(f), [])]
        if f.suffix in (".npz", ".npy"):
            hits += [(r.removed_ids[j], f"array {a!r} row {row} ({how})")
                     for a, row, j, how in find_in_arrays(f, r.sha256, r.dim)]
        found += len(hits)
        print(f"{f}: " + ("none of the removed vectors" if not hits else
                          f"{len(hits)} copies: " + "; ".join(f"id {i} at {w}" for i, w in hits[:10])))
    print(f"scanned {len(files)} files for the {len(r.removed_ids)} vectors of {args.receipt}: "
          + ("none found" if not found else f"{found} copies found"))
    return 1 if found else 0

