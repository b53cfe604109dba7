"""Command-line subcommands for the pretrain stage (registered by procmem.cli).

`procmem pretrain train` trains DINO on procedural images (`procmem pretrain ...` without a
subcommand means train: the form README, docs/gpu.md and torchrun lines use),
`procmem pretrain export` writes the teacher as an encoder, `procmem embed` turns an
ImageFolder into feature vectors.
"""

from __future__ import annotations

import argparse

from procmem.cli.options import IMPLICIT, add_option, add_overrides, add_quiet
from procmem.encoder.readout import READOUTS

PRETRAIN_HELP = """\
Self-distillation with no labels (DINO, Caron et al. 2021) on procedural images only.
A student ViT learns to match a momentum teacher across 2 global and N local crops of the
same image; the teacher's output is centred and sharpened (T 0.04) so it neither collapses
to one dimension nor to uniform. Config layers: built-in defaults (the paper's ViT-S/16
recipe) <- --preset <- key=value overrides (e.g. optim.lr=1e-3 schedule.max_steps=50).
Rerun the same command to resume from RUN/checkpoint.pt. Under torchrun
(`torchrun --nproc_per_node N -m procmem pretrain ...`) each process takes batch_size/N.

Recipe keys (paper default; why, after dino's main_dino.py help):
  optim.lr 0.0005        per 256 images, scaled linearly with optim.batch_size (global)
  optim.warmup_epochs 10 linear lr warm-up, then cosine to optim.min_lr 1e-6
  optim.weight_decay 0.04 -> weight_decay_end 0.4  cosine; a rising decay helps ViTs
  optim.momentum_teacher 0.996 -> 1  cosine; "0.9995 with batch 256" for small batches
  optim.clip_grad 3.0    per-parameter gradient norm clipping (0 disables)
  optim.freeze_last_layer 1  epochs with the head's last layer frozen: helps early training
  loss.teacher_temp 0.04 sharpening; "anything above 0.07 is unstable". Longer runs
                         (ViT-B) warm up from loss.warmup_teacher_temp 0.04 to 0.07 over
                         loss.warmup_teacher_temp_epochs 30; lower the start value if the
                         loss does not decrease
  model.out_dim 65536    K, the prototypes; model.norm_last_layer true is stabler, false
                         trains ViT-S slightly better but can be unstable
  crops.local_number 8   local crops (96 px, scale 0.05-0.4) next to 2 global (224 px, 0.4-1)
  schedule.steps_per_epoch  an epoch of the endless shard stream (2502 = ImageNet at 512)

Departures, off by default (DINOv2, Oquab et al. 2023), against feature collapse in short runs:
  loss.centering center  sinkhorn: teacher targets by 3 Sinkhorn-Knopp iterations, not the centre
  loss.koleo_weight 0    0.1 (DINOv2's): KoLeo spreading term on the student's global CLS features

`procmem pretrain ...` without a subcommand is `procmem pretrain train ...`.
Export the teacher afterwards:  procmem pretrain export RUN --out NAME
  -> NAME.safetensors + NAME.json, loadable with procmem.encoder.Encoder.load(NAME).
"""

PRESET_HELP = ("preset name in pretrain/presets (paper-vits16: the paper's ViT-S/16, 100 epochs, "
               "batch 512, for GPUs; tiny-cpu: ViT-Ti/8 at 64 px for a 2-core CPU) or a YAML path; "
               "without one, the built-in defaults (the paper's recipe, for GPUs)")
DATA_HELP = ("a shard set from `procmem generate` (tars + manifest.json); your own WebDataset "
             "shards, local files only (an image, png/jpg/jpeg/webp, plus any json per sample): a "
             "folder of .tar files, a quoted brace pattern 'data/shard-{000000..000099}.tar' or a "
             "text file listing tars, one a line; all read as an endless resampled WebDataset. "
             "Or stream:<process> to render on the fly (e.g. stream:kml-mixup)")


def register(sub) -> None:
    """Add `pretrain {train,export}` (bare `pretrain` = train) and `embed`."""
    g = sub.add_parser("pretrain", help="DINO pretraining on procedural shards, and its export",
                       description="Train DINO on procedural images (`train`, the default: "
                                   "`procmem pretrain --preset P --data D --out RUN` trains) or "
                                   "write a run's teacher as an encoder (`export`).")
    gsub = g.add_subparsers(dest="pretrain_command", metavar="ACTION")
    g.set_defaults(func=lambda args: g.print_help() or 2, **{IMPLICIT: "train"})

    p = gsub.add_parser("train", help="train DINO on a shard set or a live stream (the default)",
                        description=PRETRAIN_HELP,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_option(p, "--preset", old=("--config",), default=None, help=PRESET_HELP)
    p.add_argument("--data", required=True, help=DATA_HELP)
    p.add_argument("--out", required=True,
                   help="run directory (checkpoint.pt, config.yaml, metrics.jsonl, tensorboard/)")
    p.add_argument("--allow-cpu", action="store_true",
                   help="run a GPU recipe (run.device=cuda: paper-vits16, the built-in defaults) "
                        "on a machine without a GPU instead of refusing; slow and memory-hungry")
    add_quiet(p, old=("--no-progress",))
    add_overrides(p, "config overrides with dotted keys (optim.batch_size=64 run.device=cpu "
                     "model.timm_kwargs.depth=6)")
    p.set_defaults(func=run_pretrain)

    x = gsub.add_parser("export", help="write a run's teacher as an encoder NAME",
                        description="Write the teacher of RUN (its checkpoint.pt) as NAME.safetensors "
                                    "+ NAME.json, loadable with procmem.encoder.Encoder.load(NAME) "
                                    "and by `--model NAME` / `--encoder procmem:NAME`.")
    x.add_argument("run", metavar="RUN", help="run directory written by `procmem pretrain`")
    x.add_argument("--out", required=True, metavar="NAME",
                   help="encoder to write: NAME.safetensors and NAME.json")
    x.add_argument("--readout", default=None, choices=READOUTS,
                   help="the vector the encoder gives: cls (the papers'), grid2 or grid4 (pooled + "
                        "a grid of the last feature map); default: the run's model.readout")
    x.add_argument("--patch-image-size", type=int, default=None, metavar="PX",
                   help="read patch grids (eval segment) from images resized to PX (e.g. 256 for "
                        "an 8x8 grid from a stride-32 convnet); default: the run's "
                        "model.patch_image_size, 0 = the training size")
    x.add_argument("--fp16", action="store_true",
                   help="store the weights as float16: half the file (procmem:default is shipped "
                        "so); they load into a float32 network")
    x.set_defaults(func=run_export)

    e = sub.add_parser("embed", help="embed an ImageFolder with an exported encoder",
                       description="Turn <folder>/<class>/<image> into L2-normalised features "
                                   "(the teacher's CLS token, preprocessing included) saved as "
                                   "npz: features, labels, paths, label_names, fingerprint.")
    e.add_argument("--model", required=True,
                   help="encoder spec: procmem:NAME (NAME.safetensors + NAME.json, or just NAME), "
                        "timm:ARCH:FILE, dino:FILE, moco:FILE, random:<arch>:<size>:<seed> for an "
                        "untrained baseline, or pixels (README, Encoders)")
    e.add_argument("--data", required=True, help="ImageFolder root: one subfolder per class")
    e.add_argument("--out", required=True, help="output .npz")
    e.add_argument("--batch-size", type=int, default=64)
    e.add_argument("--device", default="auto", help="auto, cpu or cuda")
    e.set_defaults(func=run_embed)


def run_pretrain(args) -> int:
    from procmem.eval.probe import probe_from_config
    from procmem.pretrain.config import load_config
    from procmem.pretrain.train import pretrain

    overrides = list(args.overrides)
    if args.allow_cpu:
        import torch

        if not torch.cuda.is_available():
            overrides.append("run.device=cpu")
    cfg = load_config(args.preset, overrides)
    result = pretrain(cfg, args.data, args.out, progress=not args.quiet,
                      probe=probe_from_config(cfg))
    if result["rank"] == 0:  # under torchrun every rank returns; one summary line
        print(f"run {args.out}: step {result['step']}, final loss {result['final_loss']}")
    return 0


def run_export(args) -> int:
    from procmem.pretrain.export import export_run

    weights, meta = export_run(args.run, args.out, readout=args.readout,
                               patch_image_size=args.patch_image_size, fp16=args.fp16)
    print(f"wrote {weights} and {meta}")
    return 0


def run_embed(args) -> int:
    from procmem.encoder.embed import embed_folder

    n, dim = embed_folder(args.model, args.data, args.out, args.batch_size, args.device)
    print(f"wrote {args.out}: {n} images x {dim} dimensions")
    return 0
