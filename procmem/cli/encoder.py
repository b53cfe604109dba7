"""`procmem encoder info SPEC` and `procmem encoder convert SPEC --out NAME` (procmem.encoder)."""

from __future__ import annotations

from procmem.encoder.spec import FORMS, SPEC_HELP


def register(sub) -> None:
    p = sub.add_parser(
        "encoder", help="inspect an encoder spec, or convert foreign weights to a procmem export",
        description="Every command that takes an encoder reads the same spec: " + FORMS + ". "
                    "`info` prints what a spec names; `convert` writes a timm, dino or MoCo "
                    "encoder as NAME.safetensors + NAME.json, which then loads as procmem:NAME "
                    "with the same fingerprint and identical embeddings.")
    esub = p.add_subparsers(dest="encoder_command", metavar="COMMAND")
    i = esub.add_parser("info", help="an encoder's architecture, preprocessing, fingerprint and source",
                        description="Print the architecture, parameter count, preprocessing, "
                                    "fingerprint, where the weights came from and the embedding "
                                    "width of an encoder spec.")
    i.add_argument("spec", metavar="SPEC", help=SPEC_HELP)
    i.add_argument("--json", action="store_true", help="print the record as JSON")
    i.set_defaults(func=cmd_info)
    c = esub.add_parser("convert", help="write a timm/dino/moco encoder as a procmem export "
                                        "(NAME.safetensors + NAME.json)")
    c.add_argument("spec", metavar="SPEC", help=SPEC_HELP)
    c.add_argument("--out", required=True, metavar="NAME",
                   help="export name: writes NAME.safetensors and NAME.json")
    c.set_defaults(func=cmd_convert)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def cmd_info(args) -> int:
    import json

    from procmem.encoder.convert import encoder_info, format_info
    from procmem.encoder.spec import make_encoder

    info = encoder_info(make_encoder(args.spec, device="cpu"), args.spec)
    print(json.dumps(info, indent=2, sort_keys=True) if args.json else format_info(info))
    return 0


def cmd_convert(args) -> int:
    from procmem.encoder.convert import convert_encoder

    weights, meta = convert_encoder(args.spec, args.out)
    print(f"wrote {weights} and {meta}; load it as procmem:{weights.with_suffix('')}")
    return 0
