"""The papers' orderings in one resumable run (issue #7): procedural pretraining vs baselines.

For each process (shaders, shaders-mixup, kml, kml-mixup) a shard set is generated once
(`generators.jobs`, seed 0) under `OUT/shards/<process>`; for each (process, seed) DINO is
trained with the same preset, i.e. the same fixed step budget per model (`pretrain.train`,
`run.seed=seed`, wall time recorded), and exported to `OUT/encoders/<process>-s<seed>`. The
baselines are the same architecture at random init (one per seed, `eval.encoders.random_like`)
and raw pixels (deterministic: evaluated once). Every encoder is evaluated with
`eval.experiments` (kNN with every voting rule, linear probe, NIGHTS 2AFC, CamVid PCA R^2)
on the real sets under the data root (missing sets are skipped with a note), per seed under
`OUT/eval/s<seed>` with the feature cache `OUT/cache`. Over seeds each (model, metric) gets a
mean and a 95% Student-t interval (n - 1 degrees of freedom); `CLAIMS`, the papers'
orderings, are each checked as holds / does not hold / inconclusive (paired by seed).
Results: `OUT/orderings.json`, `OUT/orderings.md`, `OUT/pictures/orderings-*.png`.

Rerunning the same command resumes: complete shards, exports and evaluations are skipped.
The command line (`procmem eval orderings`) is declared in procmem.cli.eval.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from procmem.core.errors import ProcmemError

PROCESSES = ("shaders", "shaders-mixup", "kml", "kml-mixup")
RANDOM, PIXELS = "random-init", "pixels"
BASELINES = (RANDOM, PIXELS)
DETERMINISTIC = (PIXELS,)
"""Models with no seed to vary: evaluated once, their interval is the point itself."""
CLASSIFICATION = ("cifar10", "imagenette", "pneumoniamnist")
DATASETS = CLASSIFICATION + ("nights", "camvid")
DATA_PATHS = {"cifar10": "cifar10/test", "imagenette": "imagenette/val",
              "pneumoniamnist": "pneumoniamnist/pneumoniamnist.npz", "nights": "nights",
              "camvid": "camvid/CamVid"}
"""Where each set lives under the data root (../shared/data/README.md)."""
PRIMARY_RULE = "softmax"
"""The kNN rule the claims read: DINO's weighted kNN (exp(sim / 0.07)), Caron et al. 2021."""
CONFIDENCE = 0.95
GENERATION_SEED = 0
SHARD_SIZE = 1000
VERDICTS = ("holds", "does not hold", "inconclusive", "not tested")

BARADAD = "Baradad et al. 2022, Procedural Image Programs for Representation Learning"
RODRIGUEZ = "Rodriguez-Munoz et al. 2025, Separating Knowledge and Perception with Procedural Data"


class OrderingsError(ProcmemError):
    """An orderings run that cannot start: bad options or nothing to evaluate on."""


@dataclass(frozen=True)
class Claim:
    """A paper's ordering: every model in `better` scores above every model in `worse` on
    every metric of `family` (knn: PRIMARY_RULE at k=20 per classification set; linear: per
    classification set; nights: 2AFC agreement; camvid: zero-shot PCA-3 R^2)."""

    name: str
    statement: str
    better: tuple[str, ...]
    worse: tuple[str, ...]
    family: str
    source: str


CLAIMS = (
    Claim("procedural > random init (kNN)", "every procedural process beats random init of the "
          "same architecture on kNN classification", PROCESSES, (RANDOM,), "knn",
          f"{BARADAD}; {RODRIGUEZ}"),
    Claim("procedural > raw pixels (kNN)", "every procedural process beats raw pixels on kNN "
          "classification", PROCESSES, (PIXELS,), "knn", RODRIGUEZ),
    Claim("kml-mixup best (kNN)", "kml-mixup is the best of the four processes on kNN",
          ("kml-mixup",), ("shaders", "shaders-mixup", "kml"), "knn", RODRIGUEZ),
    Claim("mixup helps shaders (kNN)", "shaders-mixup > shaders on kNN", ("shaders-mixup",),
          ("shaders",), "knn", BARADAD),
    Claim("mixup helps shaders (linear)", "shaders-mixup > shaders on the linear probe",
          ("shaders-mixup",), ("shaders",), "linear", BARADAD),
    Claim("mixup helps kml (kNN)", "kml-mixup > kml on kNN", ("kml-mixup",), ("kml",), "knn",
          RODRIGUEZ),
    Claim("kml helps (kNN)", "kml > shaders on kNN", ("kml",), ("shaders",), "knn", RODRIGUEZ),
    Claim("procedural > random init (linear)", "every procedural process beats random init on "
          "the linear probe", PROCESSES, (RANDOM,), "linear", BARADAD),
    Claim("NIGHTS above random init", "every procedural process agrees with humans on NIGHTS "
          "2AFC more than random init", PROCESSES, (RANDOM,), "nights", RODRIGUEZ),
    Claim("PCA R^2 above random init", "every procedural process has a higher zero-shot PCA-3 "
          "R^2 on CamVid than random init", PROCESSES, (RANDOM,), "camvid", RODRIGUEZ),
)


# --- statistics -------------------------------------------------------------------------------


def mean_ci(values, confidence: float = CONFIDENCE, deterministic: bool = False) -> dict:
    """Mean and two-sided Student-t interval (n - 1 dof) of `values`.

    A deterministic model's value is its own interval (width 0). With fewer than two values
    of a seeded model there is no interval: `low`/`high`/`half_width` are None.
    """
    import numpy as np
    from scipy import stats

    v = np.asarray(list(values), dtype=np.float64)
    n = len(v)
    if n == 0:
        raise OrderingsError("no values to aggregate")
    mean = float(v.mean())
    std = float(v.std(ddof=1)) if n > 1 else 0.0
    if deterministic:
        half = 0.0
    elif n < 2:
        half = None
    else:
        half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * std / np.sqrt(n))
    return {"mean": mean, "std": std, "n": n, "half_width": half,
            "low": None if half is None else mean - half,
            "high": None if half is None else mean + half,
            "confidence": confidence, "deterministic": deterministic,
            "values": [float(x) for x in v]}


def compare(a: dict, b: dict, confidence: float = CONFIDENCE) -> str:
    """Verdict on 'a > b' from two mean_ci results: holds, does not hold, or inconclusive.

    Two seeded models with one value per seed (same seeds, same order) are compared
    *paired*: every model of seed s starts from the same initial weights (random init of
    seed s), so the Student-t interval of the per-seed differences a_s - b_s decides (holds:
    entirely above 0; does not hold: entirely below). Otherwise (a deterministic model such
    as pixels, or unequal seeds) the two intervals must not overlap. A missing interval is
    inconclusive.
    """
    if a["low"] is None or b["low"] is None:
        return "inconclusive"
    if not a["deterministic"] and not b["deterministic"] and a["n"] == b["n"] >= 2:
        d = mean_ci([x - y for x, y in zip(a["values"], b["values"])], confidence)
        lo, hi = d["low"], d["high"]
    else:
        lo, hi = a["low"] - b["high"], a["high"] - b["low"]
    if lo > 0:
        return "holds"
    if hi < 0:
        return "does not hold"
    return "inconclusive"


def combine(verdicts: list[str]) -> str:
    """One claim from its comparisons: holds only if all hold, does not hold if any reverses."""
    if not verdicts:
        return "not tested"
    if all(v == "holds" for v in verdicts):
        return "holds"
    if any(v == "does not hold" for v in verdicts):
        return "does not hold"
    return "inconclusive"


def family_metrics(family: str, metrics) -> list[str]:
    """The metric keys of a claim family among `metrics` (names like knn-softmax/cifar10)."""
    prefix = {"knn": f"knn-{PRIMARY_RULE}/", "linear": "linear/", "nights": "nights/2afc",
              "camvid": "camvid/r2-pca3"}[family]
    return sorted(m for m in metrics if m.startswith(prefix))


def check_claims(summary: dict, claims=CLAIMS) -> list[dict]:
    """Each claim with its verdict and every (better, worse, metric) comparison behind it.

    `summary[metric][model]` is a mean_ci result; models or metrics a run lacks make the
    claim 'not tested' (with the reason), never a silent pass.
    """
    out = []
    for c in claims:
        keys = family_metrics(c.family, summary)
        models = {m for k in keys for m in summary[k]}
        missing = sorted(set(c.better + c.worse) - models)
        rows = []
        for k in keys:
            for hi in c.better:
                for lo in c.worse:
                    if hi == lo or hi not in summary[k] or lo not in summary[k]:
                        continue
                    a, b = summary[k][hi], summary[k][lo]
                    rows.append({"metric": k, "better": hi, "worse": lo,
                                 "better_mean": a["mean"], "worse_mean": b["mean"],
                                 "verdict": compare(a, b)})
        verdict = combine([r["verdict"] for r in rows])
        if not keys:
            note = f"no {c.family} results in this run (data set skipped or not asked for)"
        elif missing:
            note = f"not in this run: {', '.join(missing)}"
        else:
            note = ""
        if missing and verdict == "holds":
            verdict = "inconclusive"  # some of the claim's models were never compared
        out.append({"name": c.name, "statement": c.statement, "family": c.family,
                    "source": c.source, "verdict": verdict, "note": note,
                    "counts": {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS[:3]},
                    "comparisons": rows})
    return out


# --- the pipeline -----------------------------------------------------------------------------


def _say(msg: str) -> None:
    print(f"orderings: {msg}", file=sys.stderr, flush=True)


def find_datasets(root, names) -> tuple[dict, dict]:
    """(name -> path of the sets present, name -> note for the sets skipped)."""
    from procmem.eval.datasets import DataError, data_root

    try:
        base = data_root(root)
    except DataError as e:
        return {}, {n: f"skipped: {e}" for n in names}
    found, notes = {}, {}
    for n in names:
        p = base / DATA_PATHS[n]
        if p.exists():
            found[n] = p
        else:
            notes[n] = f"skipped: {p} not found (layout: ../shared/data/README.md)"
    return found, notes


def load_datasets(found: dict, max_per_class: int | None) -> dict:
    """The present sets loaded: classification as (memory, query) (eval.datasets' stratified
    split, seed 0, the same for every model), NIGHTS triplets, CamVid."""
    from procmem.eval.datasets import load_classification, load_nights, load_segmentation

    data = {}
    for n, p in found.items():
        if n in CLASSIFICATION:  # by name, so the sets keep their names (cifar10-memory ...)
            root = p.parents[len(Path(DATA_PATHS[n]).parts) - 1]
            data[n] = load_classification(n, root, seed=0, limit_per_class=max_per_class)
        elif n == "nights":
            data[n] = load_nights(p)
        else:
            data[n] = load_segmentation(p, name="camvid")
    return data


def generate(out: Path, process: str, images: int, resolution: int, workers: int,
             progress: bool) -> Path:
    """The process's shard set under OUT/shards (complete shards are kept)."""
    from procmem.generators import jobs

    cfg = jobs.GenerateConfig(process=process, res=resolution, num_images=images,
                              shard_size=min(images, SHARD_SIZE), seed=GENERATION_SEED)
    d = out / "shards" / process
    s = jobs.run(cfg, d, workers=workers, progress=progress)
    _say(f"shards {process}: made {len(s.made)}, already complete {len(s.skipped)}")
    return d


def _same_config(a: dict, b: dict) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def train(out: Path, process: str, seed: int, cfg: dict, progress: bool) -> dict:
    """Pretrain on the process's shards and export; skipped when the export is complete
    for this config. Returns the model's training record (steps, wall time)."""
    from procmem.core.atomic import atomic_write_json
    from procmem.encoder.encoder import encoder_files
    from procmem.pretrain.config import total_steps
    from procmem.pretrain.export import export_run
    from procmem.pretrain.train import pretrain

    name = out / "encoders" / f"{process}-s{seed}"
    run_dir = out / "train" / f"{process}-s{seed}"
    timing = run_dir / "orderings-timing.json"
    _, meta_path = encoder_files(name)
    steps = total_steps(cfg)
    if meta_path.is_file() and timing.is_file():
        meta = json.loads(meta_path.read_text())
        if meta.get("step") == steps and _same_config(meta.get("training_config", {}), cfg):
            return dict(json.loads(timing.read_text()), skipped=True)
    name.parent.mkdir(parents=True, exist_ok=True)
    prev = json.loads(timing.read_text()) if timing.is_file() else {}
    t0 = time.perf_counter()
    r = pretrain(cfg, str(out / "shards" / process), run_dir, progress=progress)
    wall = time.perf_counter() - t0
    if r["resumed_from"] is not None:  # a finished run's time is kept; a killed one's is lost
        wall += prev.get("wall_s", 0.0)
    export_run(run_dir, name)
    rec = {"process": process, "seed": seed, "steps": r["step"], "wall_s": wall,
           "resumed_from": r["resumed_from"], "final_loss": r["final_loss"],
           "batch_size": cfg["optim"]["batch_size"], "export": str(name)}
    atomic_write_json(timing, rec)
    return dict(rec, skipped=False)


def _data_key(obj) -> str:
    """Content hash of a loaded set or of a (memory, query) pair of them."""
    if isinstance(obj, tuple):
        return "+".join(_data_key(o) for o in obj)
    return obj.fingerprint()


def evaluate(rundir: Path, encoders: list, data: dict, keys: dict, cache: Path,
             progress: bool) -> None:
    """kNN, linear, NIGHTS and segmentation of `encoders` into `rundir`; an experiment whose
    encoders and data are unchanged since it completed there is not run again."""
    from procmem.core.atomic import atomic_write_json
    from procmem.eval.experiments import run_knn, run_linear, run_nights, run_segment

    marker = rundir / "orderings-done.json"
    done = json.loads(marker.read_text()) if marker.is_file() else {}
    enc_key = [[e.name, str(e.fingerprint)] for e in encoders]
    cls = {n: d for n, d in data.items() if n in CLASSIFICATION}
    todo = []
    if cls:
        todo += [("knn", cls, lambda: run_knn(rundir, encoders, cls, cache, progress=progress)),
                 ("linear", cls, lambda: run_linear(rundir, encoders, cls, cache,
                                                    progress=progress))]
    if "nights" in data:
        todo.append(("nights", {"nights": 0}, lambda: run_nights(
            rundir, encoders, data["nights"], cache, progress=progress)))
    if "camvid" in data:
        todo.append(("segment", {"camvid": 0}, lambda: run_segment(
            rundir, encoders, data["camvid"], cache, progress=progress)))
    for exp, sets, fn in todo:
        key = json.dumps({"encoders": enc_key, "data": {n: keys[n] for n in sorted(sets)}})
        if done.get(exp) == key and (rundir / f"{exp}.json").is_file():
            continue
        _say(f"{rundir.name}: {exp} ({', '.join(e.name for e in encoders)})")
        fn()
        done[exp] = key
        atomic_write_json(marker, done)


def metrics_of(rundir: Path) -> dict:
    """{model: {metric: value}} from a run directory's knn/linear/nights/segment results."""
    from procmem.eval.results import read_result

    out: dict = {}
    knn = read_result(rundir, "knn") or {"results": {}}
    for model, by_set in knn["results"].items():
        for ds, r in by_set.items():
            for rule, acc in r["fixed"].items():
                out.setdefault(model, {})[f"knn-{rule}/{ds}"] = acc
    for model, by_set in (read_result(rundir, "linear") or {"results": {}})["results"].items():
        for ds, r in by_set.items():
            out.setdefault(model, {})[f"linear/{ds}"] = r["accuracy"]
    for model, r in (read_result(rundir, "nights") or {"results": {}})["results"].items():
        out.setdefault(model, {})["nights/2afc"] = r["agreement"]
    for model, r in (read_result(rundir, "segment") or {"results": {}})["results"].items():
        m = out.setdefault(model, {})
        m["camvid/r2-pca3"] = r["r2_pca3"]["r2"]
        m["camvid/in-context-miou"] = r["in_context"]["miou"]
        m["camvid/knn-miou"] = r["knn"]["miou"]
    return out


def summarise(per_run: list[dict]) -> dict:
    """{metric: {model: mean_ci}} from several runs' metrics_of (one per seed)."""
    values: dict = {}
    for run in per_run:
        for model, ms in run.items():
            for metric, v in ms.items():
                values.setdefault(metric, {}).setdefault(model, []).append(v)
    return {metric: {model: mean_ci(vs, deterministic=model in DETERMINISTIC)
                     for model, vs in by_model.items()}
            for metric, by_model in sorted(values.items())}


def pixel_encoder(grid: int):
    """Raw pixels on the learned encoders' patch grid (about 32 px), named 'pixels'."""
    from procmem.encoder.pixels import PixelEncoder

    patch = max(1, round(32 / grid))
    enc = PixelEncoder(grid * patch, patch)
    enc.name = PIXELS
    return enc


# --- writing ----------------------------------------------------------------------------------


def _fmt(s: dict) -> tuple[str, str]:
    mean = f"{100 * s['mean']:.1f}"
    if s["deterministic"]:
        return mean, "exact (deterministic)"
    if s["half_width"] is None:
        return mean, "- (one seed)"
    return mean, f"[{100 * s['low']:.1f}, {100 * s['high']:.1f}] (+/-{100 * s['half_width']:.1f})"


def markdown(result: dict) -> str:
    from procmem.eval.results import markdown_table

    st = result["settings"]
    parts = ["## Procedural orderings\n",
             f"Command: `{result['command']}`\n",
             f"Preset `{st['preset']}` (overrides: {' '.join(st['overrides']) or 'none'}), "
             f"{result['steps']} steps per model, seeds {', '.join(map(str, st['seeds']))}, "
             f"{st['images']} images per process at {st['resolution']} px. Values in %; "
             f"{int(100 * CONFIDENCE)}% Student-t intervals over seeds (n - 1 dof). kNN at k=20 "
             f"(capped at the memory size); claims read the {PRIMARY_RULE} rule.\n"]
    if result["skipped_datasets"]:
        parts.append("Skipped data sets:\n\n" + "\n".join(
            f"- {n}: {note}" for n, note in result["skipped_datasets"].items()) + "\n")
    parts.append("### Claims\n\n" + markdown_table(
        ["claim", "verdict", "comparisons (holds / not / inconclusive)", "source", "note"],
        [[c["name"], f"**{c['verdict']}**",
          " / ".join(str(c["counts"][v]) for v in VERDICTS[:3]), c["source"], c["note"]]
         for c in result["claims"]]) + "\n")
    parts.append("### Training (fixed step budget per model)\n\n" + markdown_table(
        ["model", "seed", "steps", "wall time (s)", "final loss", "note"],
        [[t["process"], t["seed"], t["steps"], f"{t['wall_s']:.0f}",
          "-" if t["final_loss"] is None else f"{t['final_loss']:.4f}",
          ("skipped (complete)" if t["skipped"] else "trained")
          + (f", resumed at step {t['resumed_from']}" if t.get("resumed_from") else "")]
         for t in result["training"]]) + "\n")
    for metric, by_model in result["metrics"].items():
        rows = [[m, *_fmt(s), s["n"], ", ".join(f"{100 * v:.1f}" for v in s["values"])]
                for m, s in sorted(by_model.items(), key=lambda kv: -kv[1]["mean"])]
        parts.append(f"### {metric}\n\n" + markdown_table(
            ["model", "mean", f"{int(100 * CONFIDENCE)}% CI", "n", "per seed"], rows) + "\n")
    return "\n".join(parts)


def bar_charts(pictures: Path, summary: dict, models: list[str]) -> list[Path]:
    """One PNG per metric family: a panel per metric, a bar per model, CI whiskers."""
    from procmem.eval.plots import bar_panels

    families: dict = {}
    for metric in summary:
        families.setdefault(metric.split("/")[0], []).append(metric)
    paths = []
    for fam, metrics in families.items():
        panels = {metric: [(m, 100 * summary[metric][m]["mean"],
                            100 * (summary[metric][m]["half_width"] or 0.0))
                           for m in models if m in summary[metric]] for metric in metrics}
        paths.append(bar_panels(pictures / f"orderings-{fam}.png", panels,
                                f"{fam}: mean over seeds, {int(100 * CONFIDENCE)}% CI",
                                ylabel="%", grey=BASELINES))
    return paths


# --- the run ----------------------------------------------------------------------------------


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
    from procmem.pretrain.config import load_config, total_steps

    out = Path(out)
    opts = {"out": str(out), "processes": list(processes), "seeds": list(seeds),
            "preset": preset, "images": images, "resolution": resolution,
            "data_root": None if data_root is None else str(data_root),
            "max_per_class": max_per_class, "datasets": list(datasets), "device": device,
            "overrides": list(overrides), "workers": workers}
    _check(opts)
    found, skipped = find_datasets(data_root, datasets)
    if not found:
        raise OrderingsError("none of the evaluation sets was found ("
                             + "; ".join(f"{n}: {t}" for n, t in skipped.items())
                             + "); pass --data-root or set PROCMEM_DATA")
    for n, note in skipped.items():
        _say(f"{n}: {note}")
    extra = [f"run.device={device}"] if device else []
    cfgs = {s: load_config(preset, [*overrides, *extra, f"run.seed={s}"]) for s in seeds}
    out.mkdir(parents=True, exist_ok=True)

    for p in processes:
        generate(out, p, images, resolution, workers, progress)
    training = []
    for s in seeds:
        for p in processes:
            _say(f"pretrain {p} seed {s} ({total_steps(cfgs[s])} steps)")
            training.append(train(out, p, s, cfgs[s], progress))

    from procmem.encoder.encoder import Encoder
    from procmem.encoder.spec import random_like

    data = load_datasets(found, max_per_class)
    keys = {n: _data_key(d) for n, d in data.items()}
    cache = out / "cache"
    per_seed, grid = [], None
    for s in seeds:
        encs = []
        for p in processes:
            enc = Encoder.load(out / "encoders" / f"{p}-s{s}", device=device)
            enc.name = p
            encs.append(enc)
        rnd = random_like(out / "encoders" / f"{processes[0]}-s{s}", s)
        rnd.name = RANDOM
        encs.append(rnd)
        grid = encs[0].image_size // encs[0].patch_size
        evaluate(out / "eval" / f"s{s}", encs, data, keys, cache, progress)
        per_seed.append(metrics_of(out / "eval" / f"s{s}"))
    evaluate(out / "eval" / PIXELS, [pixel_encoder(grid)], data, keys, cache, progress)
    pixels = metrics_of(out / "eval" / PIXELS)
    summary = summarise(per_seed + [pixels])

    models = list(processes) + list(BASELINES)
    result = {"command": command_line(opts), "settings": opts, "models": models,
              "steps": total_steps(cfgs[seeds[0]]), "training_config": cfgs[seeds[0]],
              "training": training, "skipped_datasets": skipped,
              "primary_rule": PRIMARY_RULE, "confidence": CONFIDENCE,
              "claims": check_claims(summary), "metrics": summary}
    from procmem.eval.results import pictures_dir

    bar_charts(pictures_dir(out), summary, models)
    atomic_write_json(out / "orderings.json", result)
    atomic_write_text(out / "orderings.md", markdown(result))
    return result


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
