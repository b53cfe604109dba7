"""Floor 3: encoders. `Encoder` (a frozen timm backbone with its preprocessing), the one spec
grammar (`make_encoder`), the pixel baseline, image folders and embedding real images.

Real images meet a network only here and above (memory, eval); nothing real reaches
shaders, generators or pretrain. Submodules import torch, so import them directly:
`from procmem.encoder.spec import make_encoder`.
"""
