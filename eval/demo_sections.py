"""The demo's own report sections, each `<out>/<name>.json` + `.md` for `eval.report`: what
the encoder learned from, its pretraining, the memory's decisions and the forgotten class."""

from __future__ import annotations

from collections import Counter

from procmem.eval.results import markdown_table, pct, write_result


def write_data_sections(out, library: dict, shards: dict, pretrain: dict, cfg: dict) -> None:
    """`data` (programs and training images: no real image) and `pretrain` (DINO's run)."""
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


def write_knn_section(out, summary: dict, roles, held_back: float, truth: str) -> None:
    """`knn`: held-back accuracy of each encoder in `roles` and the decision explained
    (`truth`: that query's true class)."""
    names, k, rule, ex = summary["classes"], summary["k"], summary["rule"], summary["explained"]
    write_result(out, "knn", summary, (
        f"## Classifying held-back real images with the visual memory\n\n"
        f"{summary['memory_items']} memory images in {len(names)} classes, {summary['queries']} "
        f"held-back queries ({held_back:.0%} of each class); {rule} voting over the k={k} nearest "
        "neighbours. The same images and vote with "
        + ("procmem's shipped encoder (procmem:default, trained once on procedural images "
           "only; README, 'The shipped encoder') and " if "procmem:default" in roles else "")
        + "two baselines: the pretrained encoder's "
        "architecture at random init, the network pretraining started from (what pretraining "
        "added is the difference), and raw pixels (no network).\n\n"
        + markdown_table(["encoder", "top-1 accuracy (%)", "top-5 accuracy (%)"],
                         [[r, pct(summary["accuracy"][r]), pct(summary["top5"][r])] for r in roles])
        + f"\n\nNeighbour grid: one query per class (green: right), its nearest memory images.\n\n"
        f"Decision for query {summary['explained_query']} (true class {truth}): "
        f"**{ex['prediction_name']}**; neighbours "
        + ", ".join(f"{n['label_name']} ({n['similarity']:.3f})" for n in ex["neighbours"])))


def write_unlearn_section(out, summary: dict) -> None:
    """`unlearn`: the forgotten class, its receipt's checks and the decisions before/after."""
    f, passed = summary["forget"], summary["receipt_passed"]
    name = f["name"]
    write_result(out, "unlearn", {k: summary[k] for k in (
        "forget", "receipt", "receipt_passed", "receipt_checks", "store_verified",
        "store_problems")}, (
        f"## Forgetting the class {name!r}\n\n"
        f"{f['removed']} items removed with `VisualMemory.remove(label={f['label']})`, no "
        f"retraining; receipt `{summary['receipt']}`: **{'passed' if passed else 'FAILED'}**.\n\n"
        + markdown_table(["measure", "value"], [
            *[[f"receipt check {n}", "pass" if ok else "FAIL"]
              for n, ok in summary["receipt_checks"].items()],
            ["store verify (procmem memory verify)", "ok" if summary["store_verified"] else "PROBLEMS"],
            [f"items labelled {name} left", f["items_left_with_label"]],
            [f"{name} queries called {name}, before / after",
             f"{f['called_forgotten_before']} / {f['called_forgotten_after']} (of {f['queries']})"],
            [f"{name} queries are now called",
             ", ".join(f"{n} {c}" for n, c in Counter(f["now_called"]).most_common())],
            ["accuracy on the other classes before / after (%)",
             f"{pct(f['accuracy_kept_before'])} / {pct(f['accuracy_kept_after'])}"]])))
