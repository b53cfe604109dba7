"""`procmem eval ...`: the papers' tables, segmentation, privacy, unlearning, report.

Every subcommand stores each (encoder, data set) result under `<out>/results/` and rebuilds
`<out>/<name>.json` + `.md` from all of them, so calls into one `--out` (default eval-run) add
rows; pictures go under `<out>/pictures/`; `procmem eval report OUT` makes one HTML page.
Features are cached per (encoder fingerprint, data set) under `<out>/cache` (or --cache), so
reruns are fast and an interrupted embedding resumes. Heavy libraries are imported inside the
handlers.
"""

from __future__ import annotations

import argparse

from procmem.cli.options import add_alias, add_option, add_overrides, add_quiet

ENCODER_HELP = ("encoder to evaluate (repeatable): procmem:<export> (a `procmem pretrain export`), "
                "random:<export>[:seed] (that export's architecture untrained: the floor a "
                "learned encoder must clear) or random:<arch>:<img_size>:<seed>, "
                "timm:<arch>:<weights.safetensors>[:size] (any timm model from a local file; "
                "nothing is downloaded) or pixels[:size[:patch]] (raw pixels, default 32: the "
                "baseline). Default: pixels")
DATASET_HELP = ("data set: the name of a folder or .npz under the data root (an ImageFolder, "
                "train/ + val/ splits of one, a MedMNIST or Keras .npz, or image/label-map "
                "pairs for segment), e.g. cifar10, imagenette, pneumoniamnist, or a path to one")
PROTOCOL_HELP = ("procmem (default: each encoder's own preprocessing, k=20 and the sweep, every "
                 "rule) or paper (dino's eval_knn.py as Rodriguez-Munoz et al. ran it: resize 256, "
                 "centre crop 224, ImageNet mean/std, softmax vote T=0.07, k in {10, 20, 100, 200}; "
                 "its best-of-k is labelled optimistic)")


def _out(p: argparse.ArgumentParser) -> None:
    add_option(p, "--out", old=("--run",), default="eval-run",
               help="run directory for results and pictures (default eval-run)")


def _common(p: argparse.ArgumentParser, datasets: bool = True) -> None:
    _out(p)
    p.add_argument("--encoder", action="append", dest="encoders", metavar="SPEC",
                   help=ENCODER_HELP)
    p.add_argument("--cache", default=None, help="feature cache directory (default OUT/cache)")
    p.add_argument("--data-root", default=None,
                   help="real-data folder (default $PROCMEM_DATA or ../shared/data)")
    p.add_argument("--seed", type=int, default=0, help="seed of splits and subsets")
    add_quiet(p)
    if datasets:
        p.add_argument("--dataset", action="append", dest="datasets", metavar="SET",
                       help=DATASET_HELP + " (repeatable); default cifar10")
        p.add_argument("--query-fraction", type=float, default=0.2,
                       help="share of each class held out as queries where a set has no "
                            "official split (seeded, stratified); default 0.2")
        add_option(p, "--per-class", old=("--limit-per-class",), type=int, default=None,
                   help="keep at most this many memory items per class (queries: a quarter); "
                        "for quick runs")
        add_option(p, "--res", old=("--size",), type=int, default=None,
                   help="resize images to RES x RES pixels on load (needed when sizes differ)")


def register(sub) -> None:
    """Add `procmem eval` and its subcommands."""
    ev = sub.add_parser("eval", help="evaluate encoders and audit memories on real data",
                        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    es = ev.add_subparsers(dest="eval_command", metavar="EVAL_COMMAND")

    p = es.add_parser("knn", help="kNN accuracy table: encoders x data sets, every voting rule",
                      description="Top-1 kNN accuracy with frozen embeddings (Geirhos et al. 2024 "
                      "Table 1 shape). Reports k=20 (DINO's kNN protocol) and the best k in "
                      "{1,5,10,20,50,100,200}, labelled as tuned on the queries; rules plurality, "
                      "distance, softmax (tau 0.07), rank (alpha 2).")
    _common(p)
    _ks(p, "k values, repeatable (default the sweep)")
    p.add_argument("--protocol", choices=("procmem", "paper"), default="procmem", help=PROTOCOL_HELP)
    p.set_defaults(func=_knn)

    p = es.add_parser("linear", help="linear-probe table on the same features",
                      description="Logistic regression on standardised frozen features "
                      "(Rodriguez-Munoz et al. 2025 Table 5), C=1, max_iter=1000.")
    _common(p)
    p.set_defaults(func=_linear)

    p = es.add_parser("nights", help="NIGHTS 2AFC agreement with human similarity judgements",
                      description="The model picks the distortion more cosine-similar to the "
                      "reference; agreement with the human majority, ties 0.5 (Fu et al. 2023; "
                      "Rodriguez-Munoz et al. 2025 Fig. 5).")
    _common(p, datasets=False)
    p.add_argument("--nights-dir", default=None, help="folder with triplets.csv (default shared nights/)")
    p.add_argument("--split", default=None, help="only rows of this split (train/val/test)")
    p.set_defaults(func=_nights)

    p = es.add_parser("segment", help="zero-shot PCA R^2, in-context and kNN segmentation",
                      description="Patch features read out without training (Rodriguez-Munoz "
                      "et al. 2025 Table 2, Figs. 9-11). Labels reach the patch grid as each "
                      "cell's class fractions of non-void pixels. Zero-shot: per image, R^2 of "
                      "those fractions from a linear fit on the first n PCA components of the "
                      "image's patch features, averaged over images. In-context: image i's mask "
                      "gives foreground/background prototypes that label image i+1's patches. "
                      "kNN: half the images form a patch memory whose votes label the rest. "
                      "Exact definitions: eval/segmentation.py.")
    _common(p, datasets=False)
    p.add_argument("--dataset", default=None, metavar="SET",
                   help="segmentation set: a folder under the data root or a path, holding image "
                        "and label-map folders (val/ + valannot/, images/ + masks/, ...); "
                        "default the shared camvid/CamVid")
    p.add_argument("--seg-root", default=None, help="the same as --dataset PATH")
    add_option(p, "--image-dir", old=("--images",), default=None,
               help="image sub-folder (default: found, e.g. val)")
    add_option(p, "--mask-dir", old=("--masks",), default=None,
               help="label-map sub-folder (default: found, e.g. valannot)")
    add_option(p, "--res", old=("--size",), type=int, default=None,
               help="resize images (bilinear) and label maps (nearest) to RES x RES on load; "
                    "needed when image sizes differ")
    p.add_argument("--num-classes", type=int, default=None,
                   help="classes 0..N-1 (default: CamVid's 11 for camvid, else the largest "
                        "non-void label + 1)")
    p.add_argument("--void", type=int, default=None,
                   help="label of unlabelled pixels, ignored (default: 11 for camvid, else 255)")
    p.add_argument("--limit", type=int, default=None, help="only the first N images")
    p.add_argument("--components", type=int, action="append", default=None,
                   help="PCA components for R^2 (repeatable; default 3, as in Fig. 9's RGB maps)")
    add_option(p, "-k", old=("--k",), type=int, default=20,
               help="neighbours for kNN segmentation (default 20)")
    p.set_defaults(func=_segment)

    p = es.add_parser("privacy", help="exact audit: items whose removal changes a prediction",
                      description="Fraction of memory items whose removal changes at least one "
                      "test prediction (Rodriguez-Munoz et al. 2025 Sec. 6, Fig. 14), exact via "
                      "top-(k+1) re-votes, against accuracy for several k.")
    _common(p)
    _ks(p, "k values, repeatable (default 1 5 10 20 50)")
    p.set_defaults(func=_privacy)

    p = es.add_parser("scaling", help="error vs memory size with a log-log fit",
                      description="Nested stratified memories N, N/2, ...; error at k=20; "
                      "power-law fit (Geirhos et al. 2024 Fig. 3, App. E).")
    _common(p)
    p.set_defaults(func=_scaling)

    p = es.add_parser("unlearn", help="remove a forget set: efficiency, utility, forget quality",
                      description="Geirhos et al. 2024 Sec. 3.4 on a real VisualMemory: remove "
                      "time vs rebuilding, accuracy before/after, no forgotten item retrieved, "
                      "receipt checks.")
    _common(p)
    p.add_argument("--fraction", type=float, default=0.1, help="random share to forget (default 0.1)")
    p.add_argument("--forget-class", type=int, default=None, help="forget one whole class instead")
    p.set_defaults(func=_unlearn)

    p = es.add_parser("add-classes", help="insert new classes without training",
                      description="Geirhos et al. 2024 Table 1: old-class accuracy before and "
                      "after inserting new classes, and new-class accuracy.")
    _common(p)
    p.add_argument("--new-fraction", type=float, default=0.5,
                   help="share of classes (the last ids) held back and then inserted (default 0.5)")
    p.set_defaults(func=_add_classes)

    p = es.add_parser("compartment", help="prove an encoder learned from programs only",
                      description="Follow an encoder export's shard manifest and check every "
                      "sample names programs that resolve (lib/... or gen/<v>/<seed>), with no "
                      "file paths or real images.")
    p.add_argument("export", nargs="?", default=None, help="<name>.json of an encoder export")
    p.add_argument("--shards", default=None, help="shard set folder (overrides the export's)")
    p.add_argument("--rebuild", type=int, default=8,
                   help="also re-render this many seeded-random samples from their JSON alone "
                        "and require the stored PNG back pixel for pixel (default 8; 0 skips; "
                        "the manifest's sample count checks every one)")
    p.add_argument("--seed", type=int, default=0, help="seed choosing the rebuilt samples")
    _out(p)
    add_quiet(p)
    p.set_defaults(func=_compartment)

    p = es.add_parser("orderings", help="the papers' orderings: processes x seeds vs baselines, "
                      "with intervals", description=ORDERINGS_HELP)
    _orderings_options(p)
    p.set_defaults(func=_orderings)

    p = es.add_parser("paper", help="the paper's protocol and tables, published figures beside",
                      description=PAPER_HELP)
    _common(p, datasets=False)
    add_option(p, "--per-class", type=int, default=None,
               help="at most N memory images per class (queries: a quarter); ImageNet-1K in "
                    "full does not fit in memory")
    p.add_argument("--linear", action="store_true", help="also the linear probe (Table 5 shape)")
    p.set_defaults(func=_paper)

    p = es.add_parser("report", help="one static HTML page of a run's tables and pictures")
    p.add_argument("rundir", help="run directory written by the other eval commands")
    p.set_defaults(func=_report)

    ev.set_defaults(func=lambda a: (ev.print_help(), 2)[1])


def _ks(p: argparse.ArgumentParser, help: str) -> None:
    add_option(p, "-k", old=("--k",), type=int, action="append", dest="ks", help=help)


PAPER_HELP = ("Run Rodriguez-Munoz et al. 2025's evaluation (eval/paper_protocol.py: dino's "
              "eval_knn.py with the authors' k sweeps; their COCO R^2) on whichever of Flowers102, "
              "CUB200, Food101, ImageNet-1K, NIGHTS, MedMNIST and COCO the data root holds, and "
              "print the shapes of the paper's tables with the published figures "
              "(eval/published.json, each cited; 'not found' where none was read) beside the "
              "measured ones, each with n and a 95% interval.")
ORDERINGS_HELP = ("Train the preset on each procedural process for each seed (same step budget), "
                  "compare with random init and raw pixels on the real sets (kNN with every rule, "
                  "linear probe, NIGHTS 2AFC, CamVid PCA R^2), aggregate over seeds (mean, 95% "
                  "Student-t CI) and check the papers' orderings. Rerun the same command to "
                  "resume.")


def _orderings_options(p: argparse.ArgumentParser) -> None:
    """`procmem eval orderings`: repeatable --process/--seed/--dataset, trailing overrides."""
    from procmem.eval.claims import PROCESSES
    from procmem.pipeline.orderings import DATASETS  # no heavy import at module level

    p.add_argument("--out", required=True, help="run directory (shards, train, encoders, eval, "
                   "cache, orderings.json/.md, pictures)")
    lists = (("--process", "--processes", "PROCESS", f"a procedural process, repeatable "
              f"(default: {' '.join(PROCESSES)})"),
             ("--seed", "--seeds", "SEED", "a training seed, repeatable; one model per (process, "
              "seed) (default: 0 1 2)"),
             ("--dataset", "--datasets", "SET", f"an evaluation set, repeatable (default: "
              f"{' '.join(DATASETS)}); missing ones are skipped"))
    for name, old, metavar, text in lists:
        dest = old.removeprefix("--")
        p.add_argument(name, action="append", dest=dest, metavar=metavar, help=text)
        add_alias(p, old, dest, f"{name} once per value", action="extend", nargs="+")
    p.add_argument("--preset", default="tiny-cpu",
                   help="pretrain preset name or YAML path (default tiny-cpu; paper-vits16 on GPUs)")
    p.add_argument("--images", type=int, default=5000, help="images per process (default 5000)")
    add_option(p, "--res", old=("--resolution",), type=int, default=64,
               help="render resolution of the shards in px (default 64; the papers: 256)")
    p.add_argument("--data-root", default=None,
                   help="real-data folder (default $PROCMEM_DATA or ../shared/data)")
    add_option(p, "--per-class", old=("--max-per-class",), type=int, default=None,
               help="at most N memory images per class (queries: a quarter) for speed")
    p.add_argument("--device", default=None, choices=("cpu", "cuda"),
                   help="training and embedding device (default: the preset's, auto for embedding)")
    p.add_argument("--workers", type=int, default=1, help="generation worker processes (default 1)")
    add_quiet(p)
    add_overrides(p, "preset overrides for every model, e.g. schedule.max_steps=100")


def _encoders(args):
    from procmem.encoder.spec import make_encoder

    return [make_encoder(s) for s in (args.encoders or ["pixels"])]


def _cache(args):
    from pathlib import Path

    return args.cache or str(Path(args.out) / "cache")


def _datasets(args) -> tuple[dict, dict]:
    """{name: (memory, queries)} of --dataset, and {name: where it was read from}."""
    from procmem.eval.catalogue import find, load_classification

    out, sources = {}, {}
    for spec in args.datasets or ["cifar10"]:
        mem, qry = load_classification(spec, args.data_root, args.query_fraction, args.seed,
                                       args.per_class, args.res)
        name = mem.name.removesuffix("-memory")
        out[name], sources[name] = (mem, qry), str(find(spec, args.data_root)[0])
    return out, sources


def _knn(args):
    from procmem.eval.experiments import run_knn

    encoders, (data, sources) = _encoders(args), _datasets(args)
    ks, rules = args.ks, None
    if args.protocol == "paper":
        from procmem.eval import paper_protocol as pp

        for enc in encoders:
            pp.with_protocol(enc, pp.knn_preprocess())
        ks, rules = ks or list(pp.KS), ("softmax",)
    run_knn(args.out, encoders, data, _cache(args), ks=ks, rules=rules,
            progress=not args.quiet, sources=sources)
    return _done(args, "knn")


def _linear(args):
    from procmem.eval.experiments import run_linear

    data, sources = _datasets(args)
    run_linear(args.out, _encoders(args), data, _cache(args), progress=not args.quiet,
               sources=sources)
    return _done(args, "linear")


def _nights(args):
    from pathlib import Path

    from procmem.eval.datasets import data_root, load_nights
    from procmem.eval.experiments import run_nights

    root = args.nights_dir or Path(data_root(args.data_root)) / "nights"
    run_nights(args.out, _encoders(args), load_nights(root, args.split), _cache(args),
               progress=not args.quiet, name=Path(root).name or "nights", source=str(root))
    return _done(args, "nights")


def _segment(args):
    from procmem.eval.catalogue import load_segmentation_set
    from procmem.eval.experiments import run_segment

    spec = args.seg_root or args.dataset
    segset = load_segmentation_set(spec, args.data_root, image_dir=args.image_dir,
                                   mask_dir=args.mask_dir, num_classes=args.num_classes,
                                   void=args.void, size=args.res, limit=args.limit)
    run_segment(args.out, _encoders(args), segset, _cache(args), tuple(args.components or (3,)),
                args.k, seed=args.seed, progress=not args.quiet, source=spec or "camvid")
    return _done(args, "segment")


def _each(args, run, name: str, **kwargs) -> int:
    """An audit of every (encoder, data set) of the command line, side by side."""
    data, sources = _datasets(args)
    for enc in _encoders(args):
        for dn, (mem, qry) in data.items():
            run(args.out, enc, mem, qry, _cache(args), progress=not args.quiet,
                source=sources[dn], **kwargs)
    return _done(args, name)


def _privacy(args):
    from procmem.eval.experiments import run_privacy

    return _each(args, run_privacy, "privacy", ks=tuple(args.ks or (1, 5, 10, 20, 50)))


def _scaling(args):
    from procmem.eval.experiments import run_scaling

    return _each(args, run_scaling, "scaling", seed=args.seed)


def _unlearn(args):
    from procmem.eval.experiments import run_unlearn

    return _each(args, run_unlearn, "unlearn", fraction=args.fraction,
                 forget_class=args.forget_class, seed=args.seed)


def _add_classes(args):
    from procmem.eval.experiments import run_add_classes

    return _each(args, run_add_classes, "add_classes", new_fraction=args.new_fraction)


def _paper(args):
    from procmem.eval.paper import run_paper

    run_paper(args.out, _encoders(args), args.data_root, args.per_class, _cache(args),
              linear=args.linear, seed=args.seed, progress=not args.quiet)
    return _done(args, "paper")


def _compartment(args):
    from procmem.core.errors import ProcmemError
    from procmem.eval.experiments import run_compartment

    if not args.export and not args.shards:
        raise ProcmemError("give an encoder export (<name>.json) or --shards DIR to audit")
    r = run_compartment(args.out, args.export, args.shards, args.rebuild, args.seed,
                        progress=not args.quiet)
    _done(args, "compartment")
    return 0 if r["verdict"] == "pass" else 1


def _orderings(args):
    from pathlib import Path

    from procmem.eval.claims import PROCESSES
    from procmem.pipeline.orderings import DATASETS, OrderingsError, run_orderings

    try:
        seeds = [int(x) for x in args.seeds or (0, 1, 2)]
    except ValueError:
        raise OrderingsError(f"--seed {' '.join(args.seeds)}: seeds are integers, e.g. "
                             f"--seed 0 --seed 1 --seed 2") from None
    run_orderings(args.out, args.processes or PROCESSES, seeds, args.preset, args.images,
                  args.res, args.data_root, args.per_class, args.datasets or DATASETS,
                  args.device, args.overrides, args.workers, progress=not args.quiet)
    print((Path(args.out) / "orderings.md").read_text())
    return 0


def _report(args):
    from procmem.eval.report import build_report

    print(build_report(args.rundir))
    return 0


def _done(args, name: str) -> int:
    import pathlib

    print((pathlib.Path(args.out) / f"{name}.md").read_text())
    return 0
