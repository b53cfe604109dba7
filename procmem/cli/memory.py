"""`procmem memory ...`: build, edit, query and check a visual memory (Geirhos et al. 2024).

A memory is a directory (contract 6): SQLite holds everything but the floats, `vectors.f32`
the vectors. Classification is `procmem.cli.memory_classify`; removal, receipts and scans
`procmem.cli.memory_remove`; where vectors come from `procmem.cli.memory_vectors`. Handlers
import numpy/FAISS/torch lazily so `procmem --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path

from procmem.cli import memory_classify, memory_remove
from procmem.cli.memory_classify import RULE_HELP
from procmem.cli.memory_vectors import add_vector_source, load_queries, load_vectors
from procmem.cli.options import add_quiet


def register(sub) -> None:
    """Add `procmem memory <command>`."""
    p = sub.add_parser("memory", help="the visual memory of real images: edit, query, classify",
                       description=__doc__)
    msub = p.add_subparsers(dest="memory_command", metavar="COMMAND")

    b = msub.add_parser("build", help="create a memory from embeddings (or images + encoder)")
    b.add_argument("memory", help="directory of the new memory")
    add_vector_source(b)
    b.add_argument("--index", default="flat", choices=["flat", "ivfpq", "numpy", "torch"],
                   help="flat: exact FAISS inner product (default; what the paper uses up to "
                        "millions); ivfpq: approximate for very large memories (recall measured "
                        "in benchmarks/memory.py); numpy / torch: exact without FAISS / on GPU")
    b.add_argument("--nlist", type=int, default=None, help="IVF-PQ lists (default 4*sqrt(N))")
    b.add_argument("--m", type=int, default=None, help="IVF-PQ sub-quantizers (default dim/8)")
    b.add_argument("--nbits", type=int, default=8, help="IVF-PQ bits per code (default 8)")
    b.add_argument("--nprobe", type=int, default=16, help="IVF-PQ lists searched (default 16)")
    b.add_argument("--refine", type=int, default=0,
                   help="IVF-PQ: re-rank REFINE*k candidates with their exact vectors from vectors.f32 "
                        "(PQ codes cap recall; 4 lifts it to about the IVF recall). Default 0: off")
    add_quiet(b)
    b.set_defaults(func=cmd_build)

    a = msub.add_parser("add", help="add samples or whole new classes (no training)",
                        description="Add samples or whole new classes, without training: "
                                    "classes are matched by name, unknown names become new classes.")
    a.add_argument("memory")
    add_vector_source(a)
    a.add_argument("--allow-unknown-encoder", action="store_true",
                   help="accept an npz that names no encoder fingerprint into a memory that has "
                        "one (only if you know the vectors come from the memory's encoder)")
    a.set_defaults(func=cmd_add)

    memory_remove.register(msub)

    q = msub.add_parser("query", help="nearest neighbours of embedded queries, with labels")
    q.add_argument("memory")
    add_vector_source(q, images=True)
    q.add_argument("-k", type=int, default=5, help="neighbours to list (default 5)")
    q.add_argument("--limit", type=int, default=10, help="queries to print (default 10)")
    q.add_argument("--grid", metavar="PNG",
                   help="also draw a neighbour grid: one row per query, its image then its k "
                        "neighbours' images (read from the sources) with label and similarity")
    q.set_defaults(func=cmd_query)

    memory_classify.register(msub)

    pr = msub.add_parser("prune", help="count the items that help wrong decisions; remove the worst",
                         description="Count how often each item helps a wrong decision "
                                     "(self-query, Geirhos App. G); optionally remove the worst.")
    pr.add_argument("memory")
    pr.add_argument("-k", type=int, default=10, help="neighbours in the self-query (default 10)")
    pr.add_argument("--rule", default="rank", choices=["rank", "softmax", "distance", "plurality"],
                    help=RULE_HELP)
    pr.add_argument("--threshold", type=int, default=None,
                    help="hard pruning: remove items with v >= THRESHOLD (a receipt is issued); "
                         "without it the counts are only stored, for soft pruning")
    add_quiet(pr)
    pr.set_defaults(func=cmd_prune)

    i = msub.add_parser("info", help="dimension, encoder fingerprint, counts, recent edits")
    i.add_argument("memory")
    i.set_defaults(func=cmd_info)

    v = msub.add_parser("verify", help="check the files agree and every erasure finished (exit 1 "
                                       "on a problem)")
    v.add_argument("memory")
    v.add_argument("--repair", action="store_true",
                   help="first finish interrupted erasures, sweep temporaries, zero stray "
                        "records, migrate a format-1 memory and rebuild a bad IVF-PQ cache")
    v.set_defaults(func=cmd_verify)

    p.set_defaults(func=lambda args: p.print_help() or 2)


def cmd_build(args) -> int:
    """Create the memory and add the vectors in chunks of 50,000 (one transaction each, with
    progress); item id = the npz's `ids` or the row number, so a killed build resumes when rerun."""
    import hashlib

    import numpy as np

    from procmem.core.progress import progress
    from procmem.memory.errors import MemoryStoreError
    from procmem.memory.store import SQLITE_NAME, VisualMemory

    emb = load_vectors(args)
    digest = hashlib.sha256(memoryview(np.ascontiguousarray(emb.features)).cast("B"))
    digest.update(memoryview(np.ascontiguousarray(emb.labels)).cast("B"))  # no copies
    digest = digest.hexdigest()
    fp = emb.fingerprint or "unknown"
    if (Path(args.memory) / SQLITE_NAME).exists():
        mem = VisualMemory.open(args.memory, fingerprint=fp)
        log = mem.edit_log()
        if not all(e["op"] == "create" or e["detail"].get("build") == digest for e in log):
            mem.close()
            raise MemoryStoreError(f"{args.memory} already holds a visual memory that is not an "
                                   f"unfinished build of these vectors: use `memory add`, or "
                                   f"choose a new directory")
        print(f"resuming the build of {args.memory} at item {len(mem)}")
    else:
        opts = {}
        if args.index == "ivfpq":
            opts = {k: getattr(args, k) for k in ("nlist", "m", "nbits", "nprobe", "refine")
                    if getattr(args, k) is not None}
        mem = VisualMemory.create(args.memory, emb.features.shape[1], fp, index=args.index, **opts)
    n, chunk = len(emb.labels), 50_000
    ids = emb.ids if emb.ids is not None else np.arange(n)
    note = {"build": digest, **({"embeddings": str(Path(args.embeddings).resolve())}
                                if args.embeddings else {})}
    with mem:
        for start in progress(range(len(mem), n, chunk), desc="build", unit="chunk",
                              total=-(-(n - len(mem)) // chunk), disable=args.quiet):
            stop = min(start + chunk, n)
            mem.add(emb.features[start:stop], emb.labels[start:stop],
                    ids=ids[start:stop], note=note,
                    sources=emb.paths[start:stop] if emb.paths else None,
                    label_names=emb.names_map() if start == 0 else None)
        count, kind = len(mem), mem.index_kind
    print(f"built {args.memory}: {count} items, {emb.features.shape[1]}-d, {kind} index, "
          f"encoder {fp}")
    return 0


def cmd_add(args) -> int:
    from procmem.memory.embeddings import to_memory_labels
    from procmem.memory.errors import FingerprintError
    from procmem.memory.store import VisualMemory

    emb = load_vectors(args)
    with VisualMemory.open(args.memory) as mem:
        if emb.fingerprint is None and mem.fingerprint != "unknown" and not args.allow_unknown_encoder:
            raise FingerprintError(
                f"{emb.origin} names no encoder fingerprint, but the memory at {args.memory} holds "
                f"vectors of encoder {mem.fingerprint}: embed with `procmem embed --model SPEC` "
                f"(it records the fingerprint), or pass --allow-unknown-encoder if these vectors "
                f"do come from that encoder")
        labels, names = to_memory_labels(emb, mem.label_names, new_classes=True)
        before = set(mem.labels.tolist())
        note = {"embeddings": str(Path(args.embeddings).resolve())} if args.embeddings else None
        ids = mem.add(emb.features, labels, ids=emb.ids, sources=emb.paths, label_names=names,
                      fingerprint=emb.fingerprint, note=note)
        all_names = mem.label_names
        fresh = ", ".join(f"{lab}:{all_names.get(lab, '?')}"
                          for lab in sorted(set(labels.tolist()) - before)) or "none"
        print(f"added {len(ids)} items (ids {ids.min() if len(ids) else '-'}.."
              f"{ids.max() if len(ids) else '-'}); classes new to the memory: {fresh}; "
              f"version {mem.version}")
    return 0


def cmd_query(args) -> int:
    from procmem.memory.store import VisualMemory

    with VisualMemory.open(args.memory) as mem:
        emb = load_queries(args, mem)
        sims, ids = mem.search(emb.features[: args.limit], args.k, fingerprint=emb.fingerprint)
        names = mem.label_names
        labels = mem.labels_of(ids)
        sources = [mem.sources(row) for row in ids]
    for qi in range(len(ids)):
        print(emb.paths[qi] if emb.paths else f"query {qi}")
        for s, i, lab, src in zip(sims[qi], ids[qi], labels[qi], sources[qi]):
            if i >= 0:
                print(f"  {s:+.4f}  id {i}  {names.get(int(lab), lab)}  {src or ''}")
    if args.grid:
        from procmem.eval.plots import neighbour_grid

        rows, keep = range(len(ids)), ids >= 0  # -1: padding, the memory holds fewer than k
        neighbour_grid(args.grid, [emb.paths[qi] if emb.paths else None for qi in rows], None,
                       [[src for src, f in zip(sources[qi], keep[qi]) if f] for qi in rows],
                       [labels[qi][keep[qi]] for qi in rows], names,
                       sims=[sims[qi][keep[qi]] for qi in rows])
        print(f"wrote {args.grid}")
    return 0


def cmd_prune(args) -> int:
    from procmem.memory import pruning
    from procmem.memory.store import VisualMemory

    with VisualMemory.open(args.memory) as mem:
        stats = pruning.compute(mem, k=args.k, rule=args.rule, progress=not args.quiet)
        v = stats["wrong"]
        print(f"pruning counts over {len(v)} items (k={args.k}, rule={args.rule}): "
              f"{int((v > 0).sum())} items helped at least one wrong decision; max v = "
              f"{int(v.max()) if len(v) else 0}")
        for t in (1, 2, 3, 5, 10):
            print(f"  v >= {t:<3} {int((v >= t).sum())} items")
        if args.threshold is not None:
            r = pruning.hard_prune(mem, args.threshold)
            if r is None:
                print(f"no item has v >= {args.threshold}: nothing removed")
                return 0
            memory_remove.print_receipt(r)
            return 0 if r.passed else 1
        print("counts stored: classify with --pruning soft to down-weight these items")
    return 0


def cmd_info(args) -> int:
    from procmem.memory.store import VisualMemory

    with VisualMemory.open(args.memory) as mem:
        info = mem.info()
        for k, v in info.__dict__.items():
            print(f"{k:12} {v}")
        if len(mem):
            print(f"{'ids':12} {int(mem.ids.min())}..{int(mem.ids.max())}")
        names = mem.label_names
        counts = {}
        for lab in mem.labels.tolist():
            counts[lab] = counts.get(lab, 0) + 1
        print("classes:", ", ".join(f"{lab}:{names.get(lab, '?')}({n})"
                                    for lab, n in sorted(counts.items())))
        stats = mem.prune_stats()
        print("pruning counts:", "none" if stats is None else f"version {stats['version']}, "
              f"config {stats['config']}")
        for r in mem.pending_erasures:
            print(f"erasure incomplete: the removal at version {r['version_after']} has not passed "
                  f"its checks (`procmem memory verify {args.memory}` says why)")
        print("recent edits:")
        for e in mem.edit_log()[-5:]:
            print(f"  v{e['version']} {e['time']} {e['op']} {e['count']}")
    return 0


def cmd_verify(args) -> int:
    from procmem.memory.verify import verify

    r = verify(args.memory, repair=args.repair)
    for done in r["repaired"]:
        print(f"  repaired: {done}")
    print(f"{args.memory}: {'OK' if r['ok'] else 'PROBLEMS'} ({r['count']} items, version "
          f"{r['version']})")
    for p in r["problems"]:
        print(f"  problem: {p}")
    for n in r["notes"]:
        print(f"  note: {n}")
    return 0 if r["ok"] else 1
