"""`procmem demo`: the whole system end to end on built-in defaults, resumable, with a report.

Stages, in order (`pipeline.runner`: each one is skipped when its key is unchanged and its
output is complete on disk, so a killed demo resumes where it stopped when run again):

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
               with its neighbours, one class forgotten with its receipt, the store verified
               (pipeline.demo_memory);
6. `privacy`   the exact privacy audit of the memory (eval.privacy);
7. `compartment` the audit that every training image came from a program (eval.compartment);
8. `report`    `<out>/report.html` (eval.report) and a printout of what each number means.

The resume file is `<out>/demo-state.json`: each stage's key and summary, so a stage runs
again when its inputs changed (another `--steps`, `--data`, `--forget` or encoder).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from procmem.core.errors import ProcmemError
from procmem.pipeline.demo_data import forget_label, real_images
from procmem.pipeline.demo_memory import RULE, Encoders, memory_key, memory_stage
from procmem.pipeline.runner import Runner, Stage

SHARD_SIZE = 250
PRIVACY_KS = (1, 5, 10, 20, 50)


def library_stage(out: Path, size: int, frames: int) -> Stage:
    from procmem.shaders import registry

    programs = registry.library()
    path = out / "pictures" / "data-library.png"

    def run(done, previous):
        from procmem.generators.sheet import render_program_sheet, save_png
        from procmem.generators.watchdog import SafeRenderer

        with SafeRenderer(size=size) as renderer:  # library programs get the deadline too
            sheet, failures = render_program_sheet(renderer, programs, per_program=frames,
                                                   size=size, seed=0)
            gl = renderer.info["GL_RENDERER"]
        save_png(path, sheet)
        for f in failures:
            print(f"  failed: {f}", file=sys.stderr)
        print(f"  renderer: {gl}\n  library contact sheet: {path.resolve()}")
        return {"programs": len(programs), "failed": failures, "renderer": gl, "sheet": str(path)}

    return Stage("library", {"size": size, "frames": frames, "programs": [p.id for p in programs]},
                 run, complete=lambda s: path.is_file(),
                 title=f"rendering the {len(programs)} library programs ({frames} frames each, "
                       f"{size} px)", note=lambda s: str(path))


def shards_stage(out: Path, images: int, res: int, workers: int) -> Stage:
    from procmem.generators import jobs

    cfg = jobs.GenerateConfig(process="kml-mixup", res=res, num_images=images,
                              shard_size=min(SHARD_SIZE, images)).check()
    shard_dir = out / "shards"
    sheet = out / "pictures" / "data-shards.png"

    def run(done, previous):
        from procmem.core.hashing import sha256_file
        from procmem.generators.sheet import shard_sheet

        summary = jobs.run(cfg, shard_dir, workers=max(1, workers), progress=True)
        print("  " + summary.text().replace("\n", "\n  "))
        shard_sheet(shard_dir, 64, sheet)
        return {"images": images, "shards": cfg.num_shards, "res": res, "process": cfg.process,
                "images_per_s": summary.images_per_s,
                "rejected_frames": summary.timing.pool.rejected,
                "manifest_sha256": sha256_file(shard_dir / "manifest.json"), "dir": str(shard_dir)}

    return Stage("shards", cfg.to_json(), run,
                 complete=lambda s: (sheet.is_file()
                                     and len(jobs.complete_shards(shard_dir)) == cfg.num_shards),
                 title=f"generating {images} kml-mixup images ({res} px) into {shard_dir}",
                 note=lambda s: f"{cfg.num_shards} shards")


def pretrain_stage(out: Path, cfg: dict) -> Stage:
    from procmem.pretrain.config import total_steps

    run_dir = out / "run"

    def run(done, previous):
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
        return summary

    return Stage("pretrain", lambda done: {"config": cfg, "shards": done["shards"]["manifest_sha256"]},
                 run, complete=lambda s: (run_dir / "checkpoint.pt").is_file(),
                 title=f"pretraining DINO ({cfg['model']['arch']}, {total_steps(cfg)} steps of "
                       f"{cfg['optim']['batch_size']} images) in {run_dir}",
                 note=lambda s: f"step {s['step']}")


def _final_loss(run_dir: Path, result: dict):
    if result["final_loss"] is not None:
        return result["final_loss"]
    from procmem.pretrain.metrics import read_metrics

    losses = [r["loss"] for r in read_metrics(run_dir) if "loss" in r]
    return losses[-1] if losses else None


def export_stage(out: Path, cfg: dict) -> Stage:
    from procmem.encoder.encoder import encoder_files

    name = out / "encoder"
    weights, meta = encoder_files(name)

    def run(done, previous):
        from procmem.pretrain.export import export_run

        export_run(out / "run", name)
        m = json.loads(meta.read_text())
        print(f"  wrote {weights} and {meta}")
        return {"name": str(name), "weights_sha256": m["weights_sha256"], "step": m["step"],
                "embed_dim": m["embed_dim"]}

    return Stage("export", lambda done: {"pretrain": done["pretrain"], "config": cfg}, run,
                 complete=lambda s: weights.is_file() and meta.is_file(),
                 title=f"exporting the teacher as {weights.name} + {meta.name}",
                 note=lambda s: str(weights))


def privacy_stage(out: Path, encoders: Encoders, mem_set, qry_set, k: int, mem_key,
                  cache: Path) -> Stage:
    ks = tuple(sorted(set(PRIVACY_KS) | {k}))

    def run(done, previous):
        from procmem.eval.experiments import run_privacy

        data = run_privacy(out, encoders.get("pretrained"), mem_set, qry_set, cache, ks=ks,
                           rules=("plurality", RULE))
        row = next(r for r in data["rows"] if r["rule"] == RULE and r["k"] == min(k, len(mem_set)))
        print(f"  {RULE} voting, k={row['k']}: {row['sensitive_count']} of {row['memory_size']} "
              f"items ({100 * row['sensitive_fraction']:.1f}%) change some query's prediction "
              f"when removed; accuracy {100 * row['accuracy']:.1f}%")
        return {"row": row, "rows": data["rows"]}

    return Stage("privacy", lambda done: {"memory": mem_key(done), "ks": ks}, run,
                 complete=lambda s: (out / "privacy.md").is_file(),
                 title=f"exact privacy audit of the memory ({len(mem_set)} items, k in {PRIVACY_KS})",
                 note=lambda s: str(out / "privacy.md"))


def compartment_stage(out: Path) -> Stage:
    def run(done, previous):
        from procmem.eval.experiments import run_compartment

        r = run_compartment(out, export=done["export"]["name"] + ".json",
                            shards=str(out / "shards"), rebuild=4)
        rb = r.get("rebuilt", {})
        print(f"  verdict {r['verdict']}: {r.get('samples')} samples from {r.get('programs')} "
              f"programs, {r.get('violations')} violations; {rb.get('exact', 0)} of "
              f"{rb.get('checked', 0)} re-rendered from their JSON pixel for pixel")
        return {k: r.get(k) for k in ("verdict", "samples", "programs", "violations")} | {
            "rebuilt": rb}

    return Stage("compartment", lambda done: done["export"], run,
                 complete=lambda s: (out / "compartment.md").is_file(),
                 title="compartment audit: every training image must come from a program",
                 note=lambda s: f"verdict {s['verdict']}")


def report_stage(out: Path, cfg: dict) -> Stage:
    def run(done, previous):
        from procmem.eval.demo_sections import write_data_sections
        from procmem.eval.report import build_report

        write_data_sections(out, done["library"], done["shards"], done["pretrain"], cfg)
        report = build_report(out, title="procmem demo")
        print(f"  {report.resolve()}")
        return {"report": str(report)}

    return Stage("report", None, run, title="writing the HTML report")


def check_options(size: int, frames: int, images: int, k: int, workers: int, per_class: int,
                  steps: int | None) -> None:
    """Bad numbers fail before anything is written, each named by its option."""
    if size < 1 or frames < 1:
        raise ProcmemError(f"--sheet-res and --frames must be at least 1 (got {size}, {frames})")
    for flag, value in (("--images", images), ("-k", k), ("--workers", workers)):
        if value < 1:
            raise ProcmemError(f"{flag} must be at least 1 (got {value})")
    if per_class < 0 or (steps is not None and steps < 1):
        raise ProcmemError(f"--per-class must be >= 0 and --steps >= 1 (got {per_class}, "
                           f"{steps})")


def run(out="demo-out", data: str | None = None, preset: str = "tiny-cpu",
        steps: int | None = None, images: int = 5000, per_class: int = 0,
        forget: str | None = None, k: int = 10, workers: int = 2, overrides=(),
        size: int = 128, frames: int = 4) -> int:
    """The demo into `out` (module docstring); 0 when every check passed, else 1."""
    t_start = time.perf_counter()
    check_options(size, frames, images, k, workers, per_class, steps)
    import torch  # noqa: F401  (before any EGL context: see generators.render)

    from procmem.pretrain.config import load_config

    cfg = load_config(preset, list(overrides) + ([f"schedule.max_steps={steps}"] if steps else []))
    res = int(cfg["crops"]["global_size"])
    # bad --data or --forget fail here, before minutes of generation and training
    mem_set, qry_set = real_images(data, res, per_class)
    label = forget_label(mem_set.class_names, forget, data is None)

    out = Path(out)
    (out / "pictures").mkdir(parents=True, exist_ok=True)
    print(f"procmem demo into {out.resolve()} (rerun to resume; finished stages are skipped)")
    encoders, cache = Encoders(str(out / "encoder")), out / "cache"
    mem_key = memory_key(mem_set, qry_set, k, label)
    done = Runner(out, "demo").run([
        library_stage(out, size, frames),
        shards_stage(out, images, res, workers),
        pretrain_stage(out, cfg),
        export_stage(out, cfg),
        memory_stage(out, encoders, mem_set, qry_set, k, label, cache, mem_key),
        privacy_stage(out, encoders, mem_set, qry_set, k, mem_key, cache),
        compartment_stage(out),
        report_stage(out, cfg),
    ])
    mem, audit = done["memory"], done["compartment"]
    print_summary(out, Path(done["report"]["report"]), done["shards"], done["pretrain"],
                  done["export"], mem, done["privacy"], audit, time.perf_counter() - t_start)
    ok = mem["receipt_passed"] and mem["store_verified"] and audit["verdict"] == "pass"
    return 0 if ok and not done["library"]["failed"] else 1


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
