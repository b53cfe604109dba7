"""Does a preset learn? Train variants of it and follow a real-image kNN probe against init.

    .venv/bin/python benchmarks/pretrain_learning.py --data SHARD_DIR [--preset tiny-cpu]
        [--probe IMAGEFOLDER] [--per-class 200] [--every 50] [--device cuda]
        [--variant NAME key=value ...] ... [key=value for every variant ...]

Each variant is the preset plus its overrides (the first, `preset`, has none). For each, the
teacher is probed before training (random init, same seed) and every `--every` steps after:
DINO's 20-NN top-1 on the probe folder (default: CIFAR-10 test under the shared data root),
20-NN top-1 on scikit-learn's digits (half memory, half query) and the effective rank of
the probe features (exp of the entropy of their normalised singular values: a collapse
detector). Rows print as each variant ends; a table closes the run.
docs/benchmarks.md ("Does tiny-cpu learn?") records the sweeps made with this script.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.machine import format_table, machine_header  # noqa: E402
from procmem.core.paths import shared_data_dir  # noqa: E402
from procmem.encoder.encoder import Encoder  # noqa: E402
from procmem.eval.probe import KNNProbe, knn_accuracy  # noqa: E402
from procmem.pretrain.config import load_config  # noqa: E402
from procmem.pretrain.metrics import read_metrics  # noqa: E402
from procmem.pretrain.train import Trainer  # noqa: E402


def digits_probe():
    from procmem.eval.datasets import sklearn_digits

    images, labels = sklearn_digits(rgb=True)
    memory = np.arange(len(labels)) % 2 == 0

    def accuracy(encoder: Encoder) -> float:
        f = encoder.embed(images)
        return knn_accuracy(f[memory], labels[memory], f[~memory], labels[~memory])
    return accuracy


def effective_rank(features: np.ndarray) -> float:
    s = np.linalg.svd(features - features.mean(0), compute_uv=False)
    p = s / s.sum()
    return float(np.exp(-(p * np.log(p + 1e-12)).sum()))


def parse_variants(items: list[list[str]]) -> dict[str, list[str]]:
    variants = {"preset": []}
    for name, *overrides in items:
        variants[name] = overrides
    return variants


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="shard set to train on")
    ap.add_argument("--preset", default="tiny-cpu")
    ap.add_argument("--probe", default=str(shared_data_dir() / "cifar10" / "test"))
    ap.add_argument("--per-class", type=int, default=200, help="probe images per class")
    ap.add_argument("--every", type=int, default=50, help="steps between probes")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--variant", nargs="+", action="append", default=[],
                    metavar=("NAME", "KEY=VALUE"), help="a named variant: the preset plus overrides")
    ap.add_argument("--out", default=None, help="run directories and learning.json (default: temp)")
    ap.add_argument("overrides", nargs="*", help="key=value overrides for every variant")
    args = ap.parse_args()

    out = Path(args.out or tempfile.mkdtemp(prefix="bench-learning-"))
    probe = KNNProbe(args.probe, per_class=args.per_class, query_fraction=0.5)
    digits = digits_probe()
    common = [f"run.device={args.device}", f"probe.data={args.probe}", f"probe.every={args.every}",
              f"probe.per_class={args.per_class}", "run.checkpoint_every=1000000"]
    print(machine_header({"preset": args.preset, "data": args.data, "probe": args.probe,
                          "device": torch.cuda.get_device_name() if args.device == "cuda" else "cpu"}))
    rows, results = [], []
    for name, overrides in parse_variants(args.variant).items():
        cfg = load_config(args.preset, [*args.overrides, *overrides, *common])
        t0 = time.perf_counter()
        trainer = Trainer(cfg, args.data, out / name, tensorboard=False, progress=False,
                          probe=probe)

        def measure(label: str) -> dict:
            enc = Encoder(trainer.teacher.backbone, trainer.encoder_meta(), label, args.device)
            return {"probe": probe(enc), "digits": digits(enc),
                    "erank": effective_rank(enc.embed(probe.query_images))}
        init = measure("init")
        summary = trainer.run()
        final = measure("trained")
        curve = [(m["step"], round(m["probe_knn_top1"], 3)) for m in read_metrics(out / name)
                 if "probe_knn_top1" in m]
        r = {"variant": name, "overrides": overrides, "init": init, "final": final,
             "loss": summary["final_loss"], "steps": summary["step"], "probe_curve": curve,
             "seconds": round(time.perf_counter() - t0, 1)}
        results.append(r)
        print(json.dumps(r), flush=True)
        (out / "learning.json").write_text(json.dumps(results, indent=1))
        rows.append([name, r["steps"], f"{r['loss']:.3f}", f"{init['probe']:.3f}",
                     f"{final['probe']:.3f}", f"{final['probe'] - init['probe']:+.3f}",
                     f"{init['digits']:.3f}", f"{final['digits']:.3f}",
                     f"{init['erank']:.1f} -> {final['erank']:.1f}"])
    print()
    print(format_table(["variant", "steps", "final loss", "probe init", "probe trained", "gain",
                        "digits init", "digits trained", "effective rank"], rows))
    print(f"\nresults: {out / 'learning.json'}")


if __name__ == "__main__":
    main()
