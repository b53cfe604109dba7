"""Where a `procmem memory` command's vectors come from: an embeddings npz, an ImageFolder
embedded with an encoder, or (queries only) any photos without labels.

Part of `procmem.cli.memory`; the memory and encoder stages are imported lazily.
"""

from __future__ import annotations

import argparse

from procmem.encoder.spec import FORMS


def add_vector_source(p: argparse.ArgumentParser, *, images: bool = False) -> None:
    """--embeddings | --model with --data (and, for queries, --model with --images)."""
    g = p.add_argument_group("vectors (one of)")
    g.add_argument("--embeddings", metavar="NPZ",
                   help="features npz from `procmem embed` (features, labels, paths, "
                        "label_names, fingerprint)")
    g.add_argument("--model", metavar="SPEC",
                   help="the memory's encoder (its fingerprint is checked), embedding --data"
                        + (" or --images" if images else "") + f": {FORMS}")
    g.add_argument("--data", metavar="FOLDER",
                   help="ImageFolder (FOLDER/<class>/<image>) to embed with --model; its class "
                        "names are the queries' labels")
    if images:
        g.add_argument("--images", nargs="+", metavar="PATH",
                       help="photos without labels, embedded with --model: image files (any "
                            "format the encoder reads), folders (their images at any depth) or "
                            "quoted patterns ('photos/*.jpg', 'photos/**/*.png')")


def load_vectors(args):
    """memory.embeddings.Embeddings from --embeddings, or --model with --data."""
    from procmem.memory.embeddings import embed_folder, load_npz
    from procmem.memory.errors import MemoryStoreError

    if getattr(args, "images", None):
        raise MemoryStoreError("--images are photos without labels: this command needs labelled "
                               "vectors (--embeddings NPZ, or --model SPEC with --data FOLDER)")
    if args.embeddings and not (args.model or args.data):
        return load_npz(args.embeddings)
    if args.model and args.data and not args.embeddings:
        return embed_folder(args.model, args.data)
    raise MemoryStoreError("give either --embeddings NPZ, or --model SPEC with --data FOLDER")


def load_queries(args, memory):
    """The queries of `query` and `classify`: `load_vectors`, or --model with --images (the
    paths are checked and the encoder's fingerprint compared with the memory's before any
    photo is embedded)."""
    from procmem.memory.errors import MemoryStoreError

    if not getattr(args, "images", None):
        return load_vectors(args)
    if not args.model or args.data or args.embeddings:
        raise MemoryStoreError("--images needs --model SPEC (the memory's encoder) and neither "
                               "--data nor --embeddings")
    from procmem.encoder.spec import make_encoder
    from procmem.memory.embeddings import embed_images, image_paths

    paths = image_paths(args.images)
    enc = make_encoder(args.model)
    memory.check_fingerprint(enc.fingerprint, enc.dim)
    return embed_images(enc, paths)
