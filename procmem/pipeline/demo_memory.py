"""The demo's `memory` stage: a VisualMemory of real images, the held-back queries classified
by kNN voting (and the same with two baselines), one decision explained, one class forgotten
with its receipt, the store verified."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

from procmem.pipeline.demo_data import HELD_BACK
from procmem.pipeline.runner import Stage

RULE = "rank"
SHIPPED_ROLE = "procmem:default"


def encoder_roles() -> tuple[str, ...]:
    """The encoders the memory stage compares: the one just trained, procmem's shipped encoder
    where this version ships one (procmem.encoder.spec.ships_default), and the two baselines."""
    from procmem.encoder.spec import ships_default

    return ("pretrained", *((SHIPPED_ROLE,) if ships_default() else ()), "random init",
            "raw pixels")


class Encoders:
    """The encoders compared, made on first use: the export, procmem's shipped encoder (if
    any), the export's architecture at random init with the training's seed (the very network
    pretraining started from), and raw pixels (32 px, centred, unit norm: no network)."""

    def __init__(self, export: str):
        self.export = export
        self._made: dict = {}

    def get(self, which: str):
        if which not in self._made:
            from procmem.encoder.spec import make_encoder, random_like

            self._made[which] = {"pretrained": lambda: make_encoder(f"procmem:{self.export}"),
                                 SHIPPED_ROLE: lambda: make_encoder(SHIPPED_ROLE),
                                 "random init": lambda: random_like(self.export, 0),
                                 "raw pixels": lambda: make_encoder("pixels:32:4")}[which]()
        return self._made[which]


def memory_key(mem_set, qry_set, k: int, forget: int):
    """The memory stage's key as a function of the stages before it: the encoder's weights,
    the real images, the vote and the class forgotten."""
    sets = {"memory": mem_set.fingerprint(), "queries": qry_set.fingerprint()}
    return lambda done: {"encoder": done["export"]["weights_sha256"], **sets, "k": k,
                         "rule": RULE, "forget": forget, "baselines": encoder_roles()[1:]}


def memory_stage(out: Path, encoders: Encoders, mem_set, qry_set, k: int, forget: int,
                 cache: Path, key) -> Stage:
    names = mem_set.class_names
    return Stage(
        "memory", key, lambda done, previous: classify_and_forget(
            out, encoders, mem_set, qry_set, k, forget, cache),
        complete=lambda s: Path(s["receipt"]).is_file(),
        title=f"visual memory of {len(mem_set)} real images ({mem_set.num_classes} classes), "
              f"{len(qry_set)} held back as queries; then forgetting {names[forget]!r}",
        note=lambda s: f"{out / 'memory'}, receipt {s['receipt']}")


def classify_and_forget(out: Path, encoders: Encoders, mem_set, qry_set, k: int, forget: int,
                        cache: Path) -> dict:
    import numpy as np

    from procmem.eval import plots
    from procmem.eval.demo_sections import write_knn_section, write_unlearn_section
    from procmem.eval.features import compute_features
    from procmem.eval.results import pct, pictures_dir
    from procmem.eval.unlearning import build_memory
    from procmem.memory import receipts
    from procmem.memory.verify import verify

    mem_dir = out / "memory"
    names = mem_set.class_names
    pics = pictures_dir(out)
    y = qry_set.labels
    accuracy, top5, roles = {}, {}, encoder_roles()
    with _scratch(out) as tmp:
        for role in roles:
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
            print(f"  {role:>15}: top-1 accuracy {pct(accuracy[role])}% "
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
    write_knn_section(out, summary, roles, HELD_BACK, names[int(y[shown])])
    write_unlearn_section(out, summary)
    return summary


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
