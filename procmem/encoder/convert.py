"""`procmem encoder info` and `procmem encoder convert`: what an encoder spec names, and any
foreign encoder (timm, dino, MoCo) written as a procmem export (contract 5).

The export's weights are `canonical_weights` (procmem.encoder.foreign), so `procmem:NAME`
has the same fingerprint as the spec it came from and gives identical embeddings.
"""

from __future__ import annotations

import json
from pathlib import Path

from procmem.encoder.errors import EncoderError


def encoder_info(enc, spec: str) -> dict:
    """Architecture, parameters, embedding width, preprocessing, fingerprint and where the
    weights came from, for any encoder `make_encoder` returns."""
    from procmem.encoder.preprocess import describe_preprocess

    meta = getattr(enc, "meta", None)
    if meta is None:  # the pixel baseline
        return {"spec": spec, "name": enc.name, "architecture": "raw pixels", "timm_kwargs": {},
                "parameters": 0, "embedding_width": enc.dim, "fingerprint": enc.fingerprint,
                "preprocessing": {"resize": enc.size, "resize_mode": "square", "crop": enc.size},
                "preprocessing_text": f"resize to {enc.size}x{enc.size} (bilinear), flatten, "
                                      "centre, unit norm",
                "weights_from": {"kind": "none"}}
    if "learned_from" in meta:
        origin = meta["learned_from"]
    elif str(enc.fingerprint).startswith("random:"):
        origin = {"kind": "random", "seed": meta.get("seed")}
    else:
        origin = {"kind": "unknown"}
    return {"spec": spec, "name": enc.name, "architecture": meta["arch"],
            "timm_kwargs": meta.get("timm_kwargs", {}),
            "parameters": sum(p.numel() for p in enc.model.parameters()),
            "embedding_width": enc.dim, "patch_size": enc.patch_size,
            "fingerprint": enc.fingerprint, "preprocessing": enc.preprocessing,
            "preprocessing_text": describe_preprocess(enc.preprocessing), "weights_from": origin}


def format_info(info: dict) -> str:
    """The info dict as aligned lines for a terminal."""
    kwargs = f" {json.dumps(info['timm_kwargs'], sort_keys=True)}" if info["timm_kwargs"] else ""
    origin = info["weights_from"]
    if origin.get("kind") == "foreign":
        extra = "".join(f", {k} {origin[k]}" for k in ("checkpoint_key", "epoch", "arch")
                        if origin.get(k) is not None)
        where = f"{origin['format']} file {origin['file']} (sha256 {origin['file_sha256'][:16]}...{extra})"
    else:
        where = json.dumps(origin, sort_keys=True, default=str)[:300]
    rows = [("name", info["name"]), ("architecture", info["architecture"] + kwargs),
            ("parameters", f"{info['parameters']:,}"),
            ("embedding", f"{info['embedding_width']} floats, unit norm"),
            ("preprocessing", info["preprocessing_text"]), ("fingerprint", info["fingerprint"]),
            ("weights from", where)]
    return "\n".join(f"{k:<14}{v}" for k, v in rows)


def convert_encoder(spec: str, out: str | Path) -> tuple[Path, Path]:
    """Write the encoder `spec` names as `<out>.safetensors` + `<out>.json`; returns both paths."""
    import procmem
    from procmem.core.atomic import atomic_write_bytes, atomic_write_json
    from procmem.core.hashing import sha256_bytes
    from procmem.encoder.encoder import encoder_files
    from procmem.encoder.foreign import canonical_weights
    from procmem.encoder.spec import make_encoder

    enc = make_encoder(spec, device="cpu")
    meta = getattr(enc, "meta", None) or {}
    if meta.get("learned_from", {}).get("kind") != "foreign" or "preprocess" not in meta:
        raise EncoderError(f"{spec}: nothing to convert; convert reads foreign weights "
                           "(timm:, dino:, moco:), and procmem:, random: and pixels are "
                           "procmem's own already")
    blob = canonical_weights(enc.model, meta)
    if sha256_bytes(blob) != enc.fingerprint:  # the fingerprint is this very serialisation
        raise EncoderError(f"{spec}: the weights changed while converting; run it again")
    weights, meta_path = encoder_files(out)
    for parent in {weights.parent, meta_path.parent}:
        parent.mkdir(parents=True, exist_ok=True)
    record = {**meta, "learned_from": {**meta["learned_from"], "spec": spec},
              "source": "procmem encoder convert", "shard_manifest_sha256": None,
              "procmem_version": procmem.__version__, "weights_sha256": enc.fingerprint}
    atomic_write_bytes(weights, blob)
    atomic_write_json(meta_path, record)
    return weights, meta_path
