"""`procmem demo`: the whole system end to end on built-in defaults, resumable, with a report.

Stages, in order (each one is skipped when its output is already complete on disk, so a
killed demo resumes where it stopped when run again):

1. `library`   every hand-written program rendered into a contact sheet (the EGL check);
2. `shards`    a small KML-Mixup shard set (generators.jobs: resumable per shard) and a
               contact sheet of its first images, the only images the encoder ever sees;
3. `pretrain`  DINO with a preset (tiny-cpu: ~10 minutes on 2 cores; pretrain.train resumes
               from its checkpoint);
4. `export`    the teacher as `<out>/encoder.safetensors` + `.json` (pretrain.export);
5. `memory`    real images that ship with dependencies (scikit-learn's digits, scikit-image's
               `lfw_subset` faces and non-faces; or `--data FOLDER`), 20% of each class held
               back as queries: a VisualMemory of the rest, the queries classified by kNN
               voting (against the same network before pretraining), one decision
               with its neighbours, one class forgotten with its receipt, the store verified;
6. `privacy`   the exact privacy audit of the memory (eval.privacy);
7. `compartment` the audit that every training image came from a program (eval.compartment);
8. `report`    `<out>/report.html` (eval.report) and a printout of what each number means.

Stage summaries live in `<out>/demo-state.json`, each with the key of its inputs: a stage
runs again when its inputs changed (another `--steps`, `--data` or encoder).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

from procmem.core.errors import ProcmemError

STATE_NAME = "demo-state.json"
DEFAULT_FORGET = "face"
HELD_BACK = 0.2
RULE = "rank"
SHARD_SIZE = 250
PRIVACY_KS = (1, 5, 10, 20, 50)
STAGES = ("library", "shards", "pretrain", "export", "memory", "privacy", "compartment", "report")


# --------------------------------------------------------------------------- state on disk


class State:
    """`<out>/demo-state.json`: per stage, the key of its inputs and its summary."""

    def __init__(self, out: Path):
        self.path = out / STATE_NAME
        self.stages: dict = {}
        if self.path.is_file():
            try:
                self.stages = json.loads(self.path.read_text()).get("stages", {})
            except (json.JSONDecodeError, AttributeError):
                self.stages = {}  # a damaged state only costs recomputation

    def done(self, name: str, key) -> dict | None:
        entry = self.stages.get(name)
        if entry and entry.get("key") == _plain(key):
            return entry["summary"]
        return None

    def save(self, name: str, key, summary: dict) -> dict:
        from procmem.core.atomic import atomic_write_json

        self.stages[name] = {"key": _plain(key), "summary": _plain(summary)}
        atomic_write_json(self.path, {"stages": self.stages})
        return self.stages[name]["summary"]


def _plain(obj):
    """JSON round trip: what is compared with the state file is what was written to it."""
    return json.loads(json.dumps(obj, sort_keys=True, default=str))


def _stage(n: int, text: str) -> None:
    print(f"\n[{n}/{len(STAGES)}] {text}", flush=True)


def _skip(summary: dict, what: str) -> dict:
    print(f"  done already ({what}); skipped", flush=True)
    return summary


# --------------------------------------------------------------------------- real images


def builtin_images(size: int):
    """scikit-learn's digits (10 classes) and scikit-image's lfw_subset (face, not a face) as
    one labelled set of uint8 RGB images `size` px wide; nothing is downloaded."""
    import numpy as np
    from skimage.data import lfw_subset

    from procmem.eval.datasets import LabelledImages, resize_images, sklearn_digits

    d, digit_labels = sklearn_digits()
    faces = lfw_subset()  # 100 faces, then 100 patches of background
    if faces.dtype != np.uint8:
        faces = np.round(np.clip(faces, 0, 1) * 255).astype(np.uint8)
    grey = np.concatenate([resize_images(d, size), resize_images(faces, size)])
    images = np.repeat(grey[..., None], 3, axis=-1)
    labels = np.concatenate([digit_labels, np.full(100, 10), np.full(100, 11)])
    names = [f"digit {i}" for i in range(10)] + ["face", "not a face"]
    ids = [f"digits/{i}" for i in range(len(d))] + [f"lfw_subset/{i}" for i in range(200)]
    return LabelledImages("digits+faces", images, labels, names, ids)


def real_images(data: str | None, size: int, per_class: int, seed: int = 0):
    """(memory set, query set): each class split 80/20, seeded and stratified."""
    from procmem.eval.datasets import load_classification, per_class_subset, stratified_split

    limit = per_class or None
    if data is not None:
        mem, qry = load_classification(data, query_fraction=HELD_BACK, seed=seed,
                                       limit_per_class=limit, size=size)
    else:
        everything = builtin_images(size)
        if limit:
            everything = everything.subset(per_class_subset(everything.labels, limit, seed))
        mi, qi = stratified_split(everything.labels, HELD_BACK, seed)
        mem, qry = everything.subset(mi, "digits+faces-memory"), everything.subset(qi, "digits+faces-query")
    if mem.num_classes < 2 or len(set(mem.labels.tolist())) < 2 or len(qry) == 0:
        raise ProcmemError(f"--data {data}: the demo needs at least 2 classes with 2 or more "
                           f"images each (found {len(mem) + len(qry)} images in "
                           f"{mem.num_classes} classes); arrange them as <folder>/<class>/<image>")
    return mem, qry


def forget_label(names: list[str], wanted: str | None, builtin: bool) -> int:
    name = wanted or (DEFAULT_FORGET if builtin else names[0])
    if name not in names:
        raise ProcmemError(f"--forget {name!r}: no such class; choose one of {', '.join(names)}")
    return names.index(name)


# --------------------------------------------------------------------------- the stages


def stage_library(out: Path, state: State, size: int, frames: int) -> dict:
    from procmem.generators.render import Renderer
    from procmem.generators.sheet import render_program_sheet, save_png
    from procmem.shaders import registry

    programs = registry.library()
    _stage(1, f"rendering the {len(programs)} library programs ({frames} frames each, {size} px)")
    path = out / "pictures" / "data-library.png"
    key = {"size": size, "frames": frames, "programs": [p.id for p in programs]}
    if (s := state.done("library", key)) and path.is_file():
        return _skip(s, str(path))
    with Renderer(size=size) as renderer:
        sheet, failures = render_program_sheet(renderer, programs, per_program=frames,
                                               size=size, seed=0)
        gl = renderer.info["GL_RENDERER"]
    save_png(path, sheet)
    for f in failures:
        print(f"  failed: {f}", file=sys.stderr)
    print(f"  renderer: {gl}\n  library contact sheet: {path.resolve()}")
    return state.save("library", key, {"programs": len(programs), "failed": failures,
                                       "renderer": gl, "sheet": str(path)})


def stage_shards(out: Path, state: State, images: int, res: int, workers: int) -> dict:
    from procmem.core.hashing import sha256_file
    from procmem.generators import jobs
    from procmem.generators.sheet import shard_sheet

    cfg = jobs.GenerateConfig(process="kml-mixup", res=res, num_images=images,
                              shard_size=min(SHARD_SIZE, images)).check()
    shard_dir = out / "shards"
    sheet = out / "pictures" / "data-shards.png"
    _stage(2, f"generating {images} kml-mixup images ({res} px) into {shard_dir}")
    key = cfg.to_json()
    if ((s := state.done("shards", key)) and sheet.is_file()
            and len(jobs.complete_shards(shard_dir)) == cfg.num_shards):
        return _skip(s, f"{cfg.num_shards} shards")
    summary = jobs.run(cfg, shard_dir, workers=max(1, workers), progress=True)
    print("  " + summary.text().replace("\n", "\n  "))
    shard_sheet(shard_dir, 64, sheet)
    return state.save("shards", key, {
        "images": images, "shards": cfg.num_shards, "res": res, "process": cfg.process,
        "images_per_s": summary.images_per_s, "rejected_frames": summary.timing.pool.rejected,
        "manifest_sha256": sha256_file(shard_dir / "manifest.json"), "dir": str(shard_dir)})


def stage_pretrain(out: Path, state: State, cfg: dict, shards: dict) -> dict:
    from procmem.pretrain import config as config_mod

    run_dir = out / "run"
    total = config_mod.total_steps(cfg)
    _stage(3, f"pretraining DINO ({cfg['model']['arch']}, {total} steps of "
              f"{cfg['optim']['batch_size']} images) in {run_dir}")
    key = {"config": cfg, "shards": shards["manifest_sha256"]}
    if (s := state.done("pretrain", key)) and (run_dir / "checkpoint.pt").is_file():
        return _skip(s, f"step {s['step']}")
    from procmem.pretrain.train import pretrain, resumable_under

    if not resumable_under(run_dir, cfg, str(out / "shards")):
        print(f"  {run_dir} holds a run of another recipe or shard set (an earlier demo): "
              "starting it again")
        shutil.rmtree(run_dir)
    t0 = time.perf_counter()
    result = pretrain(cfg, str(out / "shards"), run_dir, progress=True)
    if (run_dir / "curves.png").is_file():
        shutil.copyfile(run_dir / "curves.png", out / "pictures" / "pretrain-curves.png")
    summary = {"step": result["step"], "final_loss": _final_loss(run_dir, result),
               "seconds": time.perf_counter() - t0, "resumed_from": result["resumed_from"]}
    print(f"  step {summary['step']}, final loss {summary['final_loss']}")
    return state.save("pretrain", key, summary)


def _final_loss(run_dir: Path, result: dict):
    if result["final_loss"] is not None:
        return result["final_loss"]
    from procmem.pretrain.metrics import read_metrics

    losses = [r["loss"] for r in read_metrics(run_dir) if "loss" in r]
    return losses[-1] if losses else None


def stage_export(out: Path, state: State, trained: dict) -> dict:
    from procmem.encoder.encoder import encoder_files
    from procmem.pretrain.export import export_run

    name = out / "encoder"
    weights, meta = encoder_files(name)
    _stage(4, f"exporting the teacher as {weights.name} + {meta.name}")
    key = trained
    if (s := state.done("export", key)) and weights.is_file() and meta.is_file():
        return _skip(s, str(weights))
    export_run(out / "run", name)
    m = json.loads(meta.read_text())
    print(f"  wrote {weights} and {meta}")
    return state.save("export", key, {"name": str(name), "weights_sha256": m["weights_sha256"],
                                      "step": m["step"], "embed_dim": m["embed_dim"]})


class Encoders:
    """The encoders compared, made on first use: the export, its architecture at random
    init with the training's seed (the very network pretraining started from), and raw
    pixels (32 px, centred, unit norm: the baseline with no network at all)."""

    def __init__(self, export: str):
        self.export = export
        self._made: dict = {}

    def get(self, which: str):
        if which not in self._made:
            from procmem.encoder.spec import make_encoder, random_like

            self._made[which] = {"pretrained": lambda: make_encoder(f"procmem:{self.export}"),
                                 "random init": lambda: random_like(self.export, 0),
                                 "raw pixels": lambda: make_encoder("pixels:32:4")}[which]()
        return self._made[which]


ENCODER_ROLES = ("pretrained", "random init", "raw pixels")


def stage_memory(out: Path, state: State, encoders: Encoders, mem_set, qry_set, k: int,
                 forget: int, export: dict, cache: Path) -> dict:
    import numpy as np

    from procmem.eval import plots
    from procmem.eval.features import compute_features
    from procmem.eval.results import markdown_table, pct, pictures_dir, write_result
    from procmem.eval.unlearning import build_memory
    from procmem.memory import receipts
    from procmem.memory.verify import verify

    mem_dir = out / "memory"
    names = mem_set.class_names
    _stage(5, f"visual memory of {len(mem_set)} real images ({mem_set.num_classes} classes), "
              f"{len(qry_set)} held back as queries; then forgetting {names[forget]!r}")
    key = {"encoder": export["weights_sha256"], "memory": mem_set.fingerprint(),
           "queries": qry_set.fingerprint(), "k": k, "rule": RULE, "forget": forget,
           "shown": "first right of the forgotten class", "baselines": ENCODER_ROLES[1:]}
    if (s := state.done("memory", key)) and Path(s["receipt"]).is_file():
        return _skip(s, f"{mem_dir}, receipt {s['receipt']}")
    pics = pictures_dir(out)
    y = qry_set.labels
    accuracy, top5 = {}, {}
    with _scratch(out) as tmp:
        for role in ENCODER_ROLES:
            enc = encoders.get(role)
            mf = compute_features(enc, mem_set, cache)
            qf = compute_features(enc, qry_set, cache)
            path = mem_dir if role == "pretrained" else tmp / role.replace(" ", "-")
            if role == "pretrained":
                shutil.rmtree(mem_dir, ignore_errors=True)  # a half-built or edited memory
            mem = build_memory(path, mf, mem_set.labels, enc.fingerprint, names,
                               sources=mem_set.ids)
            dec = mem.classify(qf, k, RULE, fingerprint=enc.fingerprint)
            accuracy[role] = float(np.mean(dec.pred == y))
            top5[role] = float(np.mean((dec.topk(5) == y[:, None]).any(axis=1)))
            print(f"  {role:>11}: top-1 accuracy {pct(accuracy[role])}% "
                  f"({int(np.sum(dec.pred == y))} of {len(y)} queries)")
            if role == "pretrained":
                memory, queries, before = mem, qf, dec
            else:
                mem.close()
    # the decision shown: a query of the class to forget that the memory gets right, if any
    candidates = [*np.flatnonzero((y == forget) & (before.pred == y)),
                  *np.flatnonzero(y == forget), 0]
    shown = int(candidates[0])
    explained = before.explain(shown, memory.label_names)
    _print_decision("a decision and its neighbours", qry_set.ids[shown], names[int(y[shown])],
                    explained)
    rows = [int(np.flatnonzero(y == c)[0]) for c in range(len(names)) if (y == c).any()]
    grid = _neighbour_grid(pics / "knn-neighbours.png", mem_set, qry_set, before, rows, names)
    plots.confusion_matrix(pics / "knn-confusion.png", y, before.pred, names,
                           f"pretrained encoder: {RULE} voting, k={k}")

    # forget one class: the receipt's checks run inside remove()
    kept = y != forget
    acc_kept_before = float(np.mean(before.pred[kept] == y[kept])) if kept.any() else None
    called_before = int(np.sum(before.pred[~kept] == forget))
    receipt = memory.remove(label=forget)
    memory.flush()
    after = memory.classify(queries, k, RULE)
    acc_kept_after = float(np.mean(after.pred[kept] == y[kept])) if kept.any() else None
    now_called = Counter(names[int(p)] if p >= 0 else "(no vote)" for p in after.pred[~kept])
    still_forgotten_label = int(np.sum(after.pred == forget))
    remaining = int(len(memory))
    left_with_label = int(np.sum(memory.labels == forget))
    explained_after = after.explain(shown, memory.label_names)
    memory.close()
    reloaded = receipts.load(receipt.path)
    store = verify(mem_dir)
    print(f"  forgot {len(receipt.removed_ids)} items of {names[forget]!r}: version "
          f"{receipt.version_before} -> {receipt.version_after}")
    for n, c in reloaded.checks.items():
        print(f"    {'PASS' if c['passed'] else 'FAIL'} {n}: {c['detail']}")
    print(f"  receipt: {receipt.path} ({'passed' if reloaded.passed else 'FAILED'}); store "
          f"verify: {'ok' if store['ok'] else 'PROBLEMS ' + '; '.join(store['problems'])}")
    print(f"  {int((~kept).sum())} {names[forget]!r} queries were called {names[forget]!r} "
          f"{called_before} times before, {still_forgotten_label} times after; now: "
          + ", ".join(f"{n} {c}" for n, c in now_called.most_common()))
    _print_decision("the same query after forgetting", qry_set.ids[shown],
                    names[int(y[shown])], explained_after)
    forgotten_rows = np.flatnonzero(~kept)[:6].tolist()
    after_grid = (_neighbour_grid(pics / "unlearn-neighbours.png", mem_set, qry_set, after,
                                  forgotten_rows, names) if forgotten_rows else None)

    summary = {
        "memory": str(mem_dir), "memory_items": len(mem_set), "queries": len(qry_set),
        "classes": names, "k": k, "rule": RULE, "accuracy": accuracy, "top5": top5,
        "explained_query": qry_set.ids[shown], "explained": explained,
        "explained_after": explained_after, "neighbour_grid": str(grid),
        "forget": {"label": forget, "name": names[forget], "removed": len(receipt.removed_ids),
                   "remaining_items": remaining, "items_left_with_label": left_with_label,
                   "queries": int((~kept).sum()), "called_forgotten_before": called_before,
                   "called_forgotten_after": still_forgotten_label,
                   "now_called": dict(now_called), "accuracy_kept_before": acc_kept_before,
                   "accuracy_kept_after": acc_kept_after, "neighbour_grid": str(after_grid)},
        "receipt": receipt.path, "receipt_passed": reloaded.passed,
        "receipt_checks": {n: c["passed"] for n, c in reloaded.checks.items()},
        "store_verified": bool(store["ok"]), "store_problems": store["problems"],
    }
    write_result(out, "knn", summary, (
        f"## Classifying held-back real images with the visual memory\n\n"
        f"{len(mem_set)} memory images in {len(names)} classes, {len(qry_set)} held-back queries "
        f"({HELD_BACK:.0%} of each class); {RULE} voting over the k={k} nearest neighbours. "
        "The same images and vote with two baselines: the pretrained encoder's architecture at "
        "random init, the network pretraining started from (what pretraining added is the "
        "difference), and raw pixels (no network).\n\n"
        + markdown_table(["encoder", "top-1 accuracy (%)", "top-5 accuracy (%)"],
                         [[r, pct(accuracy[r]), pct(top5[r])] for r in ENCODER_ROLES])
        + f"\n\nNeighbour grid: one query per class (green: right), its nearest memory images.\n\n"
        f"Decision for query {qry_set.ids[shown]} (true class {names[int(y[shown])]}): "
        f"**{explained['prediction_name']}**; neighbours "
        + ", ".join(f"{n['label_name']} ({n['similarity']:.3f})" for n in explained["neighbours"])))
    f = summary["forget"]
    write_result(out, "unlearn", {k: summary[k] for k in (
        "forget", "receipt", "receipt_passed", "receipt_checks", "store_verified",
        "store_problems")}, (
        f"## Forgetting the class {names[forget]!r}\n\n"
        f"{f['removed']} items removed with `VisualMemory.remove(label={forget})`, no retraining; "
        f"receipt `{receipt.path}`: **{'passed' if reloaded.passed else 'FAILED'}**.\n\n"
        + markdown_table(["measure", "value"], [
            *[[f"receipt check {n}", "pass" if c["passed"] else "FAIL"]
              for n, c in reloaded.checks.items()],
            ["store verify (procmem memory verify)", "ok" if store["ok"] else "PROBLEMS"],
            [f"items labelled {names[forget]} left", left_with_label],
            [f"{names[forget]} queries called {names[forget]}, before / after",
             f"{called_before} / {still_forgotten_label} (of {f['queries']})"],
            [f"{names[forget]} queries are now called",
             ", ".join(f"{n} {c}" for n, c in now_called.most_common())],
            ["accuracy on the other classes before / after (%)",
             f"{pct(acc_kept_before)} / {pct(acc_kept_after)}"]])))
    return state.save("memory", key, summary)


class _scratch:
    """A temporary directory inside `out` (baseline memories), removed afterwards."""

    def __init__(self, out: Path):
        self.out = out

    def __enter__(self) -> Path:
        import tempfile

        self._tmp = tempfile.TemporaryDirectory(dir=self.out, prefix=".scratch-")
        return Path(self._tmp.name)

    def __exit__(self, *exc):
        self._tmp.cleanup()


def _print_decision(title: str, query_id: str, truth: str, explained: dict) -> None:
    print(f"  {title}: query {query_id} (true class {truth!r}) -> "
          f"{explained['prediction_name']!r} by {explained['rule']} voting")
    for i, n in enumerate(explained["neighbours"], 1):
        print(f"    {i:>2}. memory item {n['id']:>5}  {n['label_name']:<12} similarity "
              f"{n['similarity']:.3f}  vote weight {n['weight']:.3f}")


def _neighbour_grid(path: Path, mem_set, qry_set, decisions, rows, names):
    from procmem.eval import plots

    shown = min(8, decisions.ids.shape[1])
    neigh = [[mem_set.images[i] for i in decisions.ids[r][:shown] if i >= 0] for r in rows]
    labels = [[int(lb) for lb in decisions.labels[r][:shown] if lb >= 0] for r in rows]
    return plots.neighbour_grid(path, qry_set.images[rows], qry_set.labels[rows], neigh, labels,
                                names, decisions.pred[rows])


def stage_privacy(out: Path, state: State, encoders: Encoders, mem_set, qry_set, k: int,
                  memory_key: dict, cache: Path) -> dict:
    from procmem.eval.experiments import run_privacy

    _stage(6, f"exact privacy audit of the memory ({len(mem_set)} items, k in {PRIVACY_KS})")
    ks = tuple(sorted(set(PRIVACY_KS) | {k}))
    key = {"memory": memory_key, "ks": ks}
    if (s := state.done("privacy", key)) and (out / "privacy.md").is_file():
        return _skip(s, str(out / "privacy.md"))
    data = run_privacy(out, encoders.get("pretrained"), mem_set, qry_set, cache, ks=ks,
                       rules=("plurality", RULE))
    row = next(r for r in data["rows"] if r["rule"] == RULE and r["k"] == min(k, len(mem_set)))
    print(f"  {RULE} voting, k={row['k']}: {row['sensitive_count']} of {row['memory_size']} "
          f"items ({100 * row['sensitive_fraction']:.1f}%) change some query's prediction when "
          f"removed; accuracy {100 * row['accuracy']:.1f}%")
    return state.save("privacy", key, {"row": row, "rows": data["rows"]})


def stage_compartment(out: Path, state: State, export: dict) -> dict:
    from procmem.eval.experiments import run_compartment

    _stage(7, "compartment audit: every training image must come from a program")
    key = export
    if (s := state.done("compartment", key)) and (out / "compartment.md").is_file():
        return _skip(s, f"verdict {s['verdict']}")
    r = run_compartment(out, export=export["name"] + ".json", shards=str(out / "shards"),
                        rebuild=4)
    rb = r.get("rebuilt", {})
    print(f"  verdict {r['verdict']}: {r.get('samples')} samples from {r.get('programs')} "
          f"programs, {r.get('violations')} violations; {rb.get('exact', 0)} of "
          f"{rb.get('checked', 0)} re-rendered from their JSON pixel for pixel")
    return state.save("compartment", key, {k: r.get(k) for k in (
        "verdict", "samples", "programs", "violations")} | {"rebuilt": rb})


def write_data_section(out: Path, library: dict, shards: dict, pretrain: dict, cfg: dict) -> None:
    from procmem.eval.results import write_result

    write_result(out, "data", {"library": library, "shards": shards}, (
        "## What the encoder learned from: programs only\n\n"
        f"{shards['images']} {shards['process']} images at {shards['res']} px in "
        f"{shards['shards']} shards (`{shards['dir']}`), each a function of GLSL programs and "
        f"random parameters; no real image. Library: {library['programs']} hand-written programs "
        f"(first picture); the first training images (second picture)."))
    write_result(out, "pretrain", {"pretrain": pretrain}, (
        f"## Pretraining (DINO)\n\n{cfg['model']['arch']} {cfg['model']['timm_kwargs']}, "
        f"{pretrain['step']} steps of {cfg['optim']['batch_size']} images; final loss "
        f"{pretrain['final_loss']}. Curves: `run/curves.png`, TensorBoard logs in `run/`."))


# --------------------------------------------------------------------------- the command


def run(args) -> int:
    t_start = time.perf_counter()
    if args.sheet_res < 1 or args.frames < 1:
        raise ProcmemError(f"--sheet-res and --frames must be at least 1 (got {args.sheet_res}, "
                           f"{args.frames})")
    for flag, name in (("--images", "images"), ("-k", "k"), ("--workers", "workers")):
        if getattr(args, name) < 1:
            raise ProcmemError(f"{flag} must be at least 1 (got {getattr(args, name)})")
    if args.per_class < 0 or (args.steps is not None and args.steps < 1):
        raise ProcmemError(f"--per-class must be >= 0 and --steps >= 1 (got {args.per_class}, "
                           f"{args.steps})")
    import torch  # noqa: F401  (before any EGL context: see generators.render)

    from procmem.pretrain.config import load_config

    overrides = list(args.overrides) + ([f"schedule.max_steps={args.steps}"] if args.steps else [])
    cfg = load_config(args.preset, overrides)
    res = int(cfg["crops"]["global_size"])
    # bad --data or --forget fail here, before minutes of generation and training
    mem_set, qry_set = real_images(args.data, res, args.per_class)
    forget = forget_label(mem_set.class_names, args.forget, args.data is None)

    out = Path(args.out)
    (out / "pictures").mkdir(parents=True, exist_ok=True)
    state = State(out)
    print(f"procmem demo into {out.resolve()} (rerun to resume; finished stages are skipped)")
    library = stage_library(out, state, args.sheet_res, args.frames)
    shards = stage_shards(out, state, args.images, res, args.workers)
    trained = stage_pretrain(out, state, cfg, shards)
    export = stage_export(out, state, {"pretrain": trained, "config": cfg})
    encoders = Encoders(export["name"])
    cache = out / "cache"
    mem = stage_memory(out, state, encoders, mem_set, qry_set, args.k, forget, export, cache)
    privacy = stage_privacy(out, state, encoders, mem_set, qry_set, args.k,
                            state.stages["memory"]["key"], cache)
    audit = stage_compartment(out, state, export)
    _stage(8, "writing the HTML report")
    write_data_section(out, library, shards, trained, cfg)
    from procmem.eval.report import build_report

    report = build_report(out, title="procmem demo")
    print(f"  {report.resolve()}")
    print_summary(out, report, shards, trained, export, mem, privacy, audit,
                  time.perf_counter() - t_start)
    ok = mem["receipt_passed"] and mem["store_verified"] and audit["verdict"] == "pass"
    return 0 if ok and not library["failed"] else 1


def print_summary(out: Path, report: Path, shards: dict, trained: dict, export: dict, mem: dict,
                  privacy: dict, audit: dict, seconds: float) -> None:
    from procmem.eval.results import pct

    a, f, p = mem["accuracy"], mem["forget"], privacy["row"]
    gain = a["pretrained"] - a["random init"]
    lines = [
        "",
        f"procmem demo finished in {seconds / 60:.1f} min. Open the report in a browser:",
        f"  {report.resolve()}",
        "Files:",
        f"  {out / 'pictures'}/: contact sheets (programs, training images), neighbour grids",
        f"  {out / 'shards'}/: {shards['shards']} WebDataset tars + manifest.json",
        f"  {out / 'run'}/: DINO checkpoint, metrics.jsonl, curves.png, TensorBoard logs",
        f"  {export['name']}.safetensors + .json: the exported encoder",
        f"  {mem['memory']}/: the visual memory (`procmem memory info {mem['memory']}`)",
        f"  {mem['receipt']}: the unlearning receipt",
        "What each number means:",
        f"  {shards['images']} training images: procedural (kml-mixup, {shards['res']} px), made from "
        "GLSL programs only; the encoder never saw a real image",
        f"  {trained['step']} steps, final loss {_num(trained['final_loss'])}: DINO self-distillation "
        "loss at the last step (cross-entropy between teacher and student; lower = they agree more)",
        f"  {pct(a['pretrained'])}% accuracy: of {mem['queries']} held-back real images, the share whose "
        f"class the memory's {mem['rule']} vote over the k={mem['k']} nearest of "
        f"{mem['memory_items']} stored images got right (chance ~{pct(1 / len(mem['classes']))}%)",
        f"  {pct(a['random init'])}% accuracy with the same network before pretraining (random "
        f"init, same seed): pretraining on procedural images added {100 * gain:+.1f} points",
        f"  {pct(a['raw pixels'])}% accuracy with raw pixels (32 px, no network): the floor a "
        "useful encoder should clear",
        f"  forgot {f['removed']} {f['name']!r} items: receipt "
        f"{'passed' if mem['receipt_passed'] else 'FAILED'} (removed vectors not searchable, "
        "not in any file of the memory, not in pruning counts); store verify "
        f"{'ok' if mem['store_verified'] else 'FAILED'}",
        f"  {f['called_forgotten_after']} of {f['queries']} {f['name']!r} queries still get the "
        f"label {f['name']!r} (before: {f['called_forgotten_before']}): the memory no longer knows it",
        f"  {pct(f['accuracy_kept_before'])}% -> {pct(f['accuracy_kept_after'])}% accuracy on the "
        "other classes before/after forgetting: removing one class leaves the rest intact",
        f"  {pct(p['sensitive_fraction'])}% privacy-sensitive ({p['sensitive_count']} of "
        f"{p['memory_size']}): memory items whose removal alone changes at least one query's "
        f"prediction ({p['rule']} voting, k={p['k']}, exact audit; the report has every k and rule)",
        f"  compartment audit {audit['verdict']}: {audit['samples']} training samples all trace to "
        f"{audit['programs']} programs ({audit['violations']} violations)",
    ]
    print("\n".join(lines))


def _num(x) -> str:
    return "-" if x is None else f"{x:.4f}"
