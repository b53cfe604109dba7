"""Compartmentalisation audit: prove an encoder learned from programs only, never real images.

From an encoder export's JSON (contract 5) take the shard manifest's sha256 and the shard
folder given with `--shards` (an export names its data by hash and generate command, not by a
local path; when none is given, an older export's recorded folder, or the folder its name
hint names beside the export or in the working directory if its manifest has the sha256),
then check, without trusting anything on the way:

1. the manifest file hashes to the sha256 the export names;
2. the shard set is intact (generators.shards.verify: every listed tar exists, has its sha256
   and sample count, decodes; no unlisted tar beside them);
3. every tar member is `<12-digit key>.<png|jpg|jpeg|json>`;
4. every sample JSON names at least one source, and every source's program id is
   `lib/...` or `gen/<version>/<seed>` and resolves with `shaders.registry.get`, or is
   `user/<name>` and resolves in the user programs the manifest records, whose stored text
   hashes to its recorded sha256 and to the source's `source_sha256` (shaders.user);
5. no other string in a sample JSON looks like a file path or image file name;
6. every image decodes and has the resolution its JSON states;
7. optionally (`rebuild` = n), n seeded-random samples are re-rendered from their JSON alone
   (generators.provenance.rebuild) and must equal the stored PNG pixel for pixel: the image
   is then provably a function of (programs, times, params, mask, weights) and nothing else.
   A source whose program text changed since (its recorded source sha256 differs) cannot be
   rebuilt from this checkout: counted as `program_changed`, not as a violation. This opens
   an EGL context: import torch/torchvision before it in the same process.

The verdict is "pass" only when all hold for every sample (and every rebuilt one);
"unverifiable" when the export says it learned from a live stream (no shards to follow), or
from data not made by procmem: your own WebDataset shards (`foreign-shards`) or a converted
checkpoint of another project (`foreign`), where no sample traces to a program.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np

from procmem.core.errors import ProcmemError
from procmem.core.hashing import sha256_file

IMAGE_EXTS = ("png", "jpg", "jpeg")
KEY = re.compile(r"^\d{12}$")
PROGRAM_KEYS = ("program", "program_id", "id")
PATHLIKE = re.compile(r"(^[/~.]|\\|/|\.(png|jpe?g|bmp|gif|tiff?|webp|npz|npy|pt|pth|ckpt)$)", re.I)
MAX_LISTED = 20
JPEG_TOLERANCE = 255
"""A JPEG sample is lossy: only its rebuild without error is checked (as `procmem shards explain`)."""


NOT_PROCMEM = "unverifiable: data not made by procmem"
NO_SHARDS_KINDS = ("stream", "foreign-shards", "foreign")  # provenance with no shard set to follow


class CompartmentError(ProcmemError):
    """The export or shard set cannot be audited at all (missing or unreadable)."""


def find_provenance(meta) -> dict | None:
    """The export's `learned_from`, else the first dict inside its JSON that carries
    `manifest_sha256` or a kind with no shards (NO_SHARDS_KINDS)."""
    if isinstance(meta, dict):
        own = meta.get("learned_from")
        if isinstance(own, dict) and ("manifest_sha256" in own or own.get("kind") in NO_SHARDS_KINDS):
            return own
        if "manifest_sha256" in meta or meta.get("kind") in NO_SHARDS_KINDS:
            return meta
        values = meta.values()
    elif isinstance(meta, list):
        values = meta
    else:
        return None
    for v in values:
        found = find_provenance(v)
        if found is not None:
            return found
    return None


def _program_id(source) -> str | None:
    if isinstance(source, str):
        return source
    if isinstance(source, dict):
        for k in PROGRAM_KEYS:
            if isinstance(source.get(k), str):
                return source[k]
    return None


def _strings(obj, path=""):
    """(json path, string) for every string in a JSON value."""
    if isinstance(obj, str):
        yield path, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _strings(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _strings(v, f"{path}[{i}]")


class _Audit:
    def __init__(self):
        self.violations: list[str] = []
        self.count = 0
        self.programs: dict[str, bool] = {}
        self.user: dict = {}  # id -> Program: the sound user program records of the manifest

    def fail(self, msg: str) -> None:
        self.count += 1
        if len(self.violations) < MAX_LISTED:
            self.violations.append(msg)

    def program_ok(self, pid: str) -> bool:
        if pid not in self.programs:
            from procmem.shaders import registry

            ok = pid.startswith(("lib/", "gen/")) or pid in self.user
            if ok and not pid.startswith("user/"):
                try:
                    registry.get(pid)
                except ProcmemError:
                    ok = False
            self.programs[pid] = ok
        return self.programs[pid]

    def read_user_programs(self, config: dict) -> None:
        """The user programs the manifest records (`config.user_programs`); a record that is not
        sound (shaders.user.record_problem: its text altered, say) is a violation."""
        from procmem.shaders import user

        records = config.get("user_programs", [])
        if not isinstance(records, list):
            self.fail(f"manifest config user_programs is a {type(records).__name__}, not a list")
            return
        for i, rec in enumerate(records):
            problem = user.record_problem(rec)
            if problem is not None:
                self.fail(f"manifest user program record {i}: {problem}")
            else:
                self.user.update(user.table(user.from_records([rec])))


def _check_sample(audit: _Audit, where: str, meta_bytes: bytes, image: tuple[str, bytes]) -> None:
    from PIL import Image

    try:
        meta = json.loads(meta_bytes)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        audit.fail(f"{where}: JSON does not parse ({e})")
        return
    sources = meta.get("sources") if isinstance(meta, dict) else None
    if not isinstance(sources, list) or not sources:
        audit.fail(f"{where}: no 'sources' list naming the programs")
        return
    for i, s in enumerate(sources):
        pid = _program_id(s)
        if pid is None:
            audit.fail(f"{where}: source {i} names no program id")
        elif not audit.program_ok(pid):
            audit.fail(f"{where}: source {i} program {pid!r} does not resolve in shaders.registry "
                       "or among the user programs the manifest records")
        elif pid in audit.user and s.get("source_sha256") != audit.user[pid].sha256[:16]:
            audit.fail(f"{where}: source {i} records source sha256 {s.get('source_sha256')!r} but "
                       f"the manifest's text of {pid} hashes to {audit.user[pid].sha256[:16]}")
    for jpath, text in _strings(meta):
        if re.fullmatch(r"\.sources\[\d+\](\.(" + "|".join(PROGRAM_KEYS) + "))?", jpath):
            continue  # a program id: checked against the registry above
        if PATHLIKE.search(text):
            audit.fail(f"{where}: JSON {jpath} = {text[:60]!r} looks like a file path")
    try:
        with Image.open(io.BytesIO(image[1])) as im:
            im.load()
            size = im.size
    except OSError as e:
        audit.fail(f"{where}: image does not decode ({e})")
        return
    res = meta.get("resolution")
    if res is not None:
        want = tuple(res) if isinstance(res, (list, tuple)) else (res, res)
        if tuple(int(x) for x in want) not in (size, size[::-1]):
            audit.fail(f"{where}: image is {size[0]}x{size[1]} but JSON says resolution {res}")


def _audit_samples(audit: _Audit, tar_path: Path, keep: set[int], start: int,
                   kept: list) -> None:
    """Provenance checks for one tar; samples whose global position is in `keep` are kept
    (key, json bytes, image) for the rebuild check."""
    import tarfile

    from procmem.generators.shards import read_shard

    try:
        for pos, (key, members) in enumerate(read_shard(tar_path), start):
            where = f"{tar_path.name}:{key}"
            bad = [e for e in members if e.lower() not in IMAGE_EXTS + ("json",)]
            if not KEY.match(key) or bad:
                audit.fail(f"{where}: members {sorted(members)} are not <12-digit key>.png|jpg|json")
                continue
            images = [(e, members[e]) for e in IMAGE_EXTS if e in members]
            if "json" not in members or len(images) != 1:
                continue  # generators.shards.verify has reported it
            _check_sample(audit, where, members["json"], images[0])
            if pos in keep:
                kept.append((where, members["json"], images[0]))
    except (tarfile.TarError, OSError, EOFError):
        pass  # unreadable tars are reported by generators.shards.verify


def audit_shards(shard_dir, manifest_sha256: str | None = None, progress: bool = True,
                 rebuild: int = 0, seed: int = 0, renderer=None) -> dict:
    """Audit a shard set (checks 1-7 of the module docstring); counts and the first violations.

    Integrity (hashes, counts, decodable members, unlisted tars) is generators.shards.verify;
    this adds the provenance checks.
    """
    from procmem.generators.shards import MANIFEST, read_manifest, verify

    d = Path(shard_dir)
    manifest = read_manifest(d) if d.is_dir() else None
    if manifest is None:
        raise CompartmentError(f"{d} has no {MANIFEST}: not a shard set (contract 4); "
                               "pass the directory `procmem generate` wrote with --shards")
    audit = _Audit()
    audit.read_user_programs(manifest["config"])
    actual = sha256_file(d / MANIFEST)
    if manifest_sha256 is not None and actual != manifest_sha256:
        audit.fail(f"{MANIFEST} sha256 {actual[:12]}... differs from the export's "
                   f"{manifest_sha256[:12]}...: these are not the shards the encoder learned from")
    problems, total = verify(d, progress=progress)
    for p in problems:
        audit.fail(p)
    listed = sum(int(e.get("count", 0)) for e in manifest["shards"])
    rng = np.random.default_rng(seed)
    keep = set(rng.choice(listed, min(rebuild, listed), replace=False).tolist()) if rebuild else set()
    kept: list = []
    start = 0
    for e in manifest["shards"]:
        if (d / e["name"]).is_file():
            _audit_samples(audit, d / e["name"], keep, start, kept)
        start += int(e.get("count", 0))
    rebuilt = _rebuild(audit, kept, renderer) if kept else {"checked": 0, "exact": 0,
                                                             "program_changed": 0}
    progs = [p for p, ok in audit.programs.items() if ok]
    return {"verdict": "pass" if audit.count == 0 and total > 0 else "fail",
            "shard_dir": str(d), "manifest_sha256": actual, "shards": len(manifest["shards"]),
            "samples": total, "programs": len(progs),
            "library_programs": sum(p.startswith("lib/") for p in progs),
            "generated_programs": sum(p.startswith("gen/") for p in progs),
            "user_programs": sum(p.startswith("user/") for p in progs),
            "rebuilt": rebuilt, "violations": audit.count, "first_violations": audit.violations}


def _rebuild(audit: _Audit, kept: list, renderer=None) -> dict:
    """Re-render samples from their JSON alone (generators.provenance.rebuild) and compare:
    a PNG must come back pixel-identical; a JPEG within JPEG_TOLERANCE grey levels."""
    from PIL import Image

    from procmem.generators.provenance import ProgramChanged, rebuild

    own = renderer is None
    if own:
        from procmem.generators.watchdog import SafeRenderer

        renderer = SafeRenderer(size=64)  # a program that hangs is a failed rebuild, not a hang
    exact, changed = 0, []
    try:
        for where, meta_bytes, (ext, data) in kept:
            with Image.open(io.BytesIO(data)) as im:
                stored = np.asarray(im.convert("RGB")).astype(np.int16)
            try:
                image, _ = rebuild(json.loads(meta_bytes), renderer, audit.user)
            except ProgramChanged as e:
                # the proof is unavailable in this checkout, not disproven: reported, not a violation
                changed.append(f"{where}: {e}")
                continue
            except (KeyError, ValueError, ProcmemError) as e:
                audit.fail(f"{where}: cannot be rebuilt from its JSON ({e})")
                continue
            diff = int(np.abs(image.astype(np.int16) - stored).max()) if image.shape == stored.shape else 999
            if diff <= (0 if ext == "png" else JPEG_TOLERANCE):
                exact += 1
            else:
                audit.fail(f"{where}: rebuilt from its programs, differs from the stored image "
                           f"(max difference {diff})")
    finally:
        if own:
            renderer.close()
    return {"checked": len(kept), "exact": exact, "program_changed": len(changed),
            "first_program_changed": changed[:3]}


def audit_export(export, shard_dir=None, progress: bool = True, rebuild: int = 0, seed: int = 0,
                 renderer=None) -> dict:
    """Follow an encoder export's JSON to its shard manifest and audit that shard set."""
    p = Path(export)
    meta_path = p if p.suffix == ".json" else p.with_name(p.name.removesuffix(".safetensors") + ".json")
    if not meta_path.is_file():
        raise CompartmentError(f"encoder export description {meta_path} does not exist; "
                               "give the <name>.json written by `procmem pretrain export`")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as e:
        raise CompartmentError(f"{meta_path} does not parse ({e})") from None
    prov = find_provenance(meta)
    if prov is None:
        raise CompartmentError(f"{meta_path} names no shard manifest sha256; the export predates "
                               "provenance records, so nothing can be audited")
    if prov.get("kind") in NO_SHARDS_KINDS and "manifest_sha256" not in prov:
        return {"verdict": "unverifiable", "export": str(meta_path), "provenance": prov,
                "reason": _no_shards_reason(prov)}
    # an export names its shards by manifest hash and generate command (pretrain.export), an
    # older one by its local folder; --shards is checked against the hash either way
    shard_dir = shard_dir or prov.get("dir") or prov.get("path") or _hinted_folder(meta_path, prov)
    if not shard_dir:
        remake = (prov.get("generate") or {}).get("command")
        raise CompartmentError(
            f"{meta_path} names its shards by manifest sha256 {prov['manifest_sha256'][:16]}... "
            f"and no folder; pass the shard set with --shards DIR"
            + (f" (remake it with: {remake})" if remake else ""))
    result = audit_shards(shard_dir, prov["manifest_sha256"], progress, rebuild, seed, renderer)
    result["export"] = str(meta_path)
    return result


def _hinted_folder(meta_path: Path, prov: dict) -> Path | None:
    """The folder the export's `dir_name` hint names beside the export or in the working
    directory, if its manifest has the export's sha256: a hint, never needed (--shards is)."""
    from procmem.generators.shards import MANIFEST

    name = prov.get("dir_name")
    if not isinstance(name, str) or not name or Path(name).name != name:
        return None
    for d in (meta_path.parent / name, Path.cwd() / name):
        if (d / MANIFEST).is_file() and sha256_file(d / MANIFEST) == prov["manifest_sha256"]:
            return d
    return None


def _no_shards_reason(prov: dict) -> str:
    """Why an export with no procmem shard set behind it cannot be audited."""
    kind = prov["kind"]
    if kind == "stream":
        return "the encoder learned from a live stream; no shards to follow"
    if kind == "foreign-shards":
        files = prov.get("files") or []
        return (f"{NOT_PROCMEM}: the encoder learned from {len(files)} WebDataset tar(s) of your own "
                f"(sha256 {str(prov.get('sha256'))[:16]}...), which no procmem manifest describes, "
                "so no sample can be traced to a program")
    return (f"{NOT_PROCMEM}: the weights were converted from a {prov.get('format', 'foreign')} "
            f"checkpoint ({prov.get('file', prov.get('spec', '?'))}); what they learned from is "
            "not recorded")
