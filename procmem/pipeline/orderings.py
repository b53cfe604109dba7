"""The papers' orderings in one resumable run: procedural pretraining against its baselines.

For each process (shaders, shaders-mixup, kml, kml-mixup) a shard set is generated once
(`generators.jobs`, seed 0) under `OUT/shards/<process>`; for each (process, seed) DINO is
trained with the same preset, i.e. the same fixed step budget per model (`pretrain.train`,
`run.seed=seed`, wall time recorded), and exported to `OUT/encoders/<process>-s<seed>`. The
baselines are the same architecture at random init (one per seed, `random:<export>:<seed>`)
and raw pixels (deterministic: evaluated once). Every encoder is evaluated with
`eval.experiments` (kNN with every voting rule, linear probe, NIGHTS 2AFC, CamVid PCA R^2)
on the real sets under the data root (missing sets are skipped with a note), per seed under
`OUT/eval/s<seed>` with the feature cache `OUT/cache`. Over seeds each (model, metric) gets a
mean and a 95% Student-t interval (`eval.intervals`); the papers' orderings
(`eval.claims.CLAIMS`) are each checked as holds / does not hold / inconclusive, paired by
seed. Results: `OUT/orderings.json`, `OUT/orderings.md`, `OUT/pictures/orderings-*.png`.

The stages (shards, training, each experiment) run through `pipeline.runner` with the one
resume file `OUT/orderings-state.json`: rerunning the same command skips what is complete.
"""

from __future__ import annotations

import functools
import shlex
import sys
import time
from pathlib import Path

from procmem.core.errors import ProcmemError
from procmem.eval.claims import BASELINES, DETERMINISTIC, PIXELS, PRIMARY_RULE, PROCESSES, RANDOM
from procmem.pipeline.runner import Runner, Stage, plain

CLASSIFICATION = ("cifar10", "imagenette", "pneumoniamnist")
DATASETS = CLASSIFICATION + ("nights", "camvid")
OTHER_PATHS = {"nights": "nights", "camvid": "camvid/CamVid"}
"""Where NIGHTS and CamVid live under the data root (../shared/data/README.md); the
classification sets are eval.datasets.NAMED_SETS."""
GENERATION_SEED = 0
SHARD_SIZE = 1000


class OrderingsError(ProcmemError):
    """An orderings run that cannot start: bad options or nothing to evaluate on."""


def _say(msg: str) -> None:
    print(f"orderings: {msg}", file=sys.stderr, flush=True)


def find_datasets(root, names) -> tuple[Path | None, dict, dict]:
    """(data root, name -> path of the sets present, name -> note for the sets skipped)."""
    from procmem.eval.catalogue import NAMED_SETS
    from procmem.eval.datasets import DataError, data_root

    try:
        base = data_root(root)
    except DataError as e:
        return None, {}, {n: f"skipped: {e}" for n in names}
    found, notes = {}, {}
    for n in names:
        p = base / {**NAMED_SETS, **OTHER_PATHS}[n]
        if p.exists():
            found[n] = p
        else:
            notes[n] = f"skipped: {p} not found (layout: ../shared/data/README.md)"
    return base, found, notes


def load_datasets(base: Path, found: dict, max_per_class: int | None) -> dict:
    """The present sets loaded: classification as (memory, query) (eval.datasets' stratified
    split, seed 0, the same for every model), NIGHTS triplets, CamVid."""
    from procmem.eval.catalogue import load_classification
    from procmem.eval.datasets import load_nights
    from procmem.eval.segmentation_data import load_segmentation

    data = {}
    for n, p in found.items():
        if n in CLASSIFICATION:  # by name, so the sets keep their names (cifar10-memory ...)
            data[n] = load_classification(n, base, seed=0, limit_per_class=max_per_class)
        elif n == "nights":
            data[n] = load_nights(p)
        else:
            data[n] = load_segmentation(p, name="camvid")
    return data


def shards_stage(out: Path, process: str, images: int, resolution: int, workers: int,
                 progress: bool) -> Stage:
    """The process's shard set under OUT/shards (generators.jobs keeps complete shards)."""
    from procmem.generators import jobs

    cfg = jobs.GenerateConfig(process=process, res=resolution, num_images=images,
                              shard_size=min(images, SHARD_SIZE), seed=GENERATION_SEED)
    d = out / "shards" / process

    def run(done, previous):
        from procmem.core.hashing import sha256_file

        s = jobs.run(cfg, d, workers=workers, progress=progress)
        _say(f"shards {process}: made {len(s.made)}, already complete {len(s.skipped)}")
        return {"dir": str(d), "manifest_sha256": sha256_file(d / "manifest.json")}

    return Stage(f"shards/{process}", cfg.to_json(), run,
                 complete=lambda s: len(jobs.complete_shards(d)) == cfg.num_shards,
                 title=f"shards {process} ({images} images at {resolution} px)",
                 note=lambda s: f"{cfg.num_shards} shards in {d}")


def train_stage(out: Path, process: str, seed: int, cfg: dict, progress: bool) -> Stage:
    """Pretrain on the process's shards and export; the summary is the model's training
    record (steps, wall time over every resumed part, final loss)."""
    from procmem.encoder.encoder import encoder_files
    from procmem.pretrain.config import total_steps

    name = out / "encoders" / f"{process}-s{seed}"
    run_dir = out / "train" / f"{process}-s{seed}"

    def run(done, previous):
        from procmem.pretrain.export import export_run
        from procmem.pretrain.train import pretrain

        if previous is None and (old := _record_before_resume_file(run_dir, name, cfg)):
            return old
        name.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        r = pretrain(cfg, done[f"shards/{process}"]["dir"], run_dir, progress=progress)
        wall = time.perf_counter() - t0
        if r["resumed_from"] is not None:  # a finished run's time is kept; a killed one's is lost
            wall += (previous or {}).get("wall_s", 0.0)
        export_run(run_dir, name)
        return {"process": process, "seed": seed, "steps": r["step"], "wall_s": wall,
                "resumed_from": r["resumed_from"], "final_loss": r["final_loss"],
                "batch_size": cfg["optim"]["batch_size"], "export": str(name)}

    return Stage(f"train/{process}-s{seed}",
                 lambda done: {"config": cfg, "shards": done[f"shards/{process}"]["manifest_sha256"]},
                 run, complete=lambda s: all(f.is_file() for f in encoder_files(name)),
                 title=f"pretrain {process} seed {seed} ({total_steps(cfg)} steps)",
                 note=lambda s: f"export {name}")


def _record_before_resume_file(run_dir: Path, name: Path, cfg: dict) -> dict | None:
    """The training record a run made before the one resume file kept beside the model
    (`orderings-timing.json`), when its export is this config's, complete: taken as it is."""
    import json

    from procmem.encoder.encoder import encoder_files
    from procmem.pretrain.config import total_steps

    timing, (weights, meta) = run_dir / "orderings-timing.json", encoder_files(name)
    if not (timing.is_file() and weights.is_file() and meta.is_file()):
        return None
    m = json.loads(meta.read_text())
    if m.get("step") != total_steps(cfg) or plain(m.get("training_config", {})) != plain(cfg):
        return None
    return json.loads(timing.read_text())


def eval_stages(rundir: Path, encoders, data, data_keys, found, cache: Path,
                progress: bool) -> list[Stage]:
    """kNN, linear, NIGHTS and segmentation of `encoders()` into `rundir`, one stage each,
    keyed by the encoders (name, fingerprint) and the data (content hashes)."""
    from procmem.eval import experiments as ex

    def cls():
        return {n: d for n, d in data().items() if n in CLASSIFICATION}

    todo = []
    if any(n in CLASSIFICATION for n in found):
        todo += [("knn", CLASSIFICATION, lambda: ex.run_knn(rundir, encoders(), cls(), cache,
                                                            progress=progress)),
                 ("linear", CLASSIFICATION, lambda: ex.run_linear(rundir, encoders(), cls(), cache,
                                                                  progress=progress))]
    if "nights" in found:
        todo.append(("nights", ("nights",), lambda: ex.run_nights(
            rundir, encoders(), data()["nights"], cache, progress=progress)))
    if "camvid" in found:
        todo.append(("segment", ("camvid",), lambda: ex.run_segment(
            rundir, encoders(), data()["camvid"], cache, progress=progress)))

    def stage(exp, sets, fn):
        def run(done, previous):
            fn()
            return {"result": str(rundir / f"{exp}.json")}

        return Stage(f"eval/{rundir.name}/{exp}", lambda done: {
            "encoders": [[e.name, str(e.fingerprint)] for e in encoders()],
            "data": {n: data_keys()[n] for n in sorted(sets) if n in found}}, run,
            complete=lambda s: (rundir / f"{exp}.json").is_file(),
            title=f"{rundir.name}: {exp}", note=lambda s: str(rundir / f"{exp}.json"))

    return [stage(*t) for t in todo]


def _data_key(obj) -> str:
    """Content hash of a loaded set or of a (memory, query) pair of them."""
    if isinstance(obj, tuple):
        return "+".join(_data_key(o) for o in obj)
    return obj.fingerprint()


def command_line(opts: dict) -> str:
    """The `procmem eval orderings` command that reproduces a run with these options."""
    args = ["procmem", "eval", "orderings", "--out", str(opts["out"])]
    for flag, key in (("--process", "processes"), ("--seed", "seeds"), ("--dataset", "datasets")):
        for value in opts[key]:
            args += [flag, str(value)]
    args += ["--preset", opts["preset"], "--images", str(opts["images"]),
             "--res", str(opts["resolution"])]
    for flag, key in (("--data-root", "data_root"), ("--per-class", "max_per_class"),
                      ("--device", "device")):
        if opts.get(key) is not None:
            args += [flag, str(opts[key])]
    if opts.get("workers", 1) != 1:
        args += ["--workers", str(opts["workers"])]
    return shlex.join(args + list(opts["overrides"]))


def run_orderings(out, processes=PROCESSES, seeds=(0, 1, 2), preset: str = "tiny-cpu",
                  images: int = 5000, resolution: int = 64, data_root=None,
                  max_per_class: int | None = None, datasets=DATASETS, device: str | None = None,
                  overrides=(), workers: int = 1, progress: bool = True) -> dict:
    """The whole run (see the module docstring); returns what orderings.json holds."""
    from procmem.core.atomic import atomic_write_json, atomic_write_text
    from procmem.eval.claims import check_claims
    from procmem.eval.intervals import CONFIDENCE, summarise
    from procmem.eval.orderings_tables import bar_charts, intervals_of, markdown, metrics_of
    from procmem.eval.results import pictures_dir
    from procmem.pretrain.config import load_config, total_steps

    out = Path(out)
    opts = {"out": str(out), "processes": list(processes), "seeds": list(seeds),
            "preset": preset, "images": images, "resolution": resolution,
            "data_root": None if data_root is None else str(data_root),
            "max_per_class": max_per_class, "datasets": list(datasets), "device": device,
            "overrides": list(overrides), "workers": workers}
    _check(opts)
    base, found, skipped = find_datasets(data_root, datasets)
    if not found:
        raise OrderingsError("none of the evaluation sets was found ("
                             + "; ".join(f"{n}: {t}" for n, t in skipped.items())
                             + "); pass --data-root or set PROCMEM_DATA")
    for n, note in skipped.items():
        _say(f"{n}: {note}")
    extra = [f"run.device={device}"] if device else []
    cfgs = {s: load_config(preset, [*overrides, *extra, f"run.seed={s}"]) for s in seeds}
    out.mkdir(parents=True, exist_ok=True)

    data = functools.cache(lambda: load_datasets(base, found, max_per_class))
    data_keys = functools.cache(lambda: {n: _data_key(d) for n, d in data().items()})
    seeded = functools.cache(lambda s: seed_encoders(out, processes, s, device))
    pixels = functools.cache(lambda: [pixel_encoder(seeded(seeds[-1])[0])])
    cache = out / "cache"
    stages = [shards_stage(out, p, images, resolution, workers, progress) for p in processes]
    stages += [train_stage(out, p, s, cfgs[s], progress) for s in seeds for p in processes]
    for s in seeds:
        stages += eval_stages(out / "eval" / f"s{s}", functools.partial(seeded, s), data,
                              data_keys, found, cache, progress)
    stages += eval_stages(out / "eval" / PIXELS, pixels, data, data_keys, found, cache, progress)
    runner = Runner(out, "orderings", stream=sys.stderr)
    done = runner.run(stages)

    rundirs = [out / "eval" / f"s{s}" for s in seeds] + [out / "eval" / PIXELS]
    summary = summarise([metrics_of(d) for d in rundirs], DETERMINISTIC)
    within: dict = {}  # each seed's value with its interval over queries or images
    for d in rundirs:
        for model, cells in intervals_of(d).items():
            for metric, c in cells.items():
                within.setdefault(metric, {}).setdefault(model, []).append(c)
    models = list(processes) + list(BASELINES)
    training = [dict(done[f"train/{p}-s{s}"], skipped=f"train/{p}-s{s}" in runner.skipped)
                for s in seeds for p in processes]
    result = {"command": command_line(opts), "settings": opts, "models": models,
              "steps": total_steps(cfgs[seeds[0]]), "training_config": cfgs[seeds[0]],
              "training": training, "skipped_datasets": skipped,
              "primary_rule": PRIMARY_RULE, "confidence": CONFIDENCE,
              "claims": check_claims(summary), "metrics": summary, "seed_intervals": within}
    bar_charts(pictures_dir(out), summary, models)
    atomic_write_json(out / "orderings.json", result)
    atomic_write_text(out / "orderings.md", markdown(result))
    return result


def seed_encoders(out: Path, processes, seed: int, device: str | None) -> list:
    """Seed `seed`'s trained encoders, named by process, and random init of their
    architecture with that seed (the weights every one of them started from)."""
    from procmem.encoder.spec import make_encoder

    exports = [out / "encoders" / f"{p}-s{seed}" for p in processes]
    return ([make_encoder(f"procmem:{e}", device=device, name=p) for p, e in zip(processes, exports)]
            + [make_encoder(f"random:{exports[0]}:{seed}", device=device, name=RANDOM)])


def pixel_encoder(learned):
    """Raw pixels on a learned encoder's patch grid (about 32 px), named 'pixels'."""
    from procmem.encoder.spec import make_encoder

    grid = learned.image_size // learned.patch_size
    patch = max(1, round(32 / grid))
    return make_encoder(f"pixels:{grid * patch}:{patch}", name=PIXELS)


def _check(opts: dict) -> None:
    bad = [p for p in opts["processes"] if p not in PROCESSES]
    if bad or not opts["processes"]:
        raise OrderingsError(f"--process {' '.join(bad) or '(none)'}: choose among "
                             f"{', '.join(PROCESSES)}")
    if len(set(opts["processes"])) != len(opts["processes"]):
        raise OrderingsError("--process names a process twice; give each once")
    if not opts["seeds"] or len(set(opts["seeds"])) != len(opts["seeds"]):
        raise OrderingsError("--seed must give distinct integers (at least 3 for intervals "
                             "worth reading, e.g. --seed 0 --seed 1 --seed 2)")
    bad = [d for d in opts["datasets"] if d not in DATASETS]
    if bad or not opts["datasets"]:
        raise OrderingsError(f"--dataset {' '.join(bad) or '(none)'}: choose among "
                             f"{', '.join(DATASETS)}")
    if opts["images"] < 1:
        raise OrderingsError(f"--images {opts['images']}: must be >= 1 per process")
    if opts["max_per_class"] is not None and opts["max_per_class"] < 1:
        raise OrderingsError(f"--per-class {opts['max_per_class']}: must be >= 1 "
                             "(leave it out to use every image)")
    if opts["device"] not in (None, "cpu", "cuda"):
        raise OrderingsError(f"--device {opts['device']}: use cpu or cuda")
