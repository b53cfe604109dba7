"""Who an evaluated encoder is: its role (learned, random init, raw pixels), its network and
seed, and which baselines its paired differences are taken against.

What pretraining added is the difference between an encoder and random init of the same
network and seed (the weights its training started from, docs/results.md step 3), and an
encoder that does not beat raw pixels has learned nothing a memory could not do alone. Tables
list the user's encoders first, then random inits, then pixels.
"""

from __future__ import annotations

import json

LEARNED, RANDOM, PIXELS = "learned", "random", "pixels"
ROLE_ORDER = (LEARNED, RANDOM, PIXELS)


def encoder_info(encoder) -> dict:
    """The description a stored result keeps of its encoder (JSON-ready)."""
    meta = getattr(encoder, "meta", None) or {}
    fp = str(encoder.fingerprint)
    role = PIXELS if fp.startswith("pixels") else RANDOM if fp.startswith("random:") else LEARNED
    network = None
    if role != PIXELS and meta.get("arch"):
        kwargs = {k: v for k, v in (meta.get("timm_kwargs") or {}).items() if k != "img_size"}
        network = json.dumps({"arch": meta["arch"], "kwargs": kwargs,
                              "image_size": meta.get("image_size")}, sort_keys=True, default=str)
    seed = meta.get("seed")
    if seed is None:
        seed = ((meta.get("training_config") or {}).get("run") or {}).get("seed")
    prep = getattr(encoder, "preprocessing", None)
    if prep is not None:
        from procmem.encoder.preprocess import describe_preprocess

        prep = describe_preprocess(prep)
    elif role == PIXELS:
        prep = f"resize to {encoder.size}x{encoder.size}, flatten, centre, unit norm"
    return {"name": encoder.name, "fingerprint": fp, "role": role, "network": network,
            "seed": None if seed is None else int(seed), "preprocess": prep,
            "protocol": getattr(encoder, "protocol", None) or "procmem"}


def order_key(info: dict) -> tuple:
    """Sort key: learned encoders first, then random inits, then pixels; by name within."""
    return ROLE_ORDER.index(info["role"]), info["name"]


def baselines_of(info: dict, infos: list[dict]) -> dict[str, str | None]:
    """{"random": name, "pixels": name} that `info`'s paired differences are taken against
    (None where the run has none). Random init must be of the same network and, when both
    know it, the same seed; a random init is compared with pixels only."""
    out: dict[str, str | None] = {RANDOM: None, PIXELS: None}
    if info["role"] == PIXELS:
        return out
    pixels = sorted(i["name"] for i in infos if i["role"] == PIXELS)
    out[PIXELS] = pixels[0] if pixels else None
    if info["role"] == LEARNED and info["network"] is not None:
        same = [i for i in infos if i["role"] == RANDOM and i["network"] == info["network"]]
        seeded = [i for i in same if info["seed"] is not None and i["seed"] == info["seed"]]
        pick = seeded or (same if len(same) == 1 else [])
        out[RANDOM] = pick[0]["name"] if pick else None
    return out
