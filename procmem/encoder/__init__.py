"""Floor 3: encoders. `Encoder` (a frozen timm backbone with its preprocessing), the one spec
grammar (`make_encoder`), the pixel baseline, image folders and embedding real images.

Modules: `encoder` (Encoder, procmem exports), `spec` (the grammar), `readout` (the vector
a backbone gives: cls, grid2, grid4), `foreign` (timm, dino and MoCo weights), `layouts` (where
each project's checkpoint keeps its backbone), `checkpoint` (reading weights without running
a pickle's code), `convert` (`procmem encoder info|convert`), `preprocess`, `backbone`,
`pixels`, `images`, `imagefolder`, `embed`.

Real images meet a network only here and above (memory, eval); nothing real reaches
shaders, generators or pretrain. Submodules import torch, so import them directly:
`from procmem.encoder.spec import make_encoder`.
"""
