"""The device data path (`data.process_on=device`): loader workers render and draw, the
training device composes and crops.

Each DataLoader worker renders a frame pool, draws the process's random numbers
(generators.torch_compose.plan) and every image's crop boxes and flips
(pretrain.device_crops.BoxDrawer), and hands over the uint8 pool with those draws. On the
training device `DeviceBatches` makes the pool's images (torch_compose.compose: K-means,
KML masks, composites, mixup) and cuts them into batches of multi-crop crops
(device_crops.crop); the colour augmentations follow in the step (pretrain.photometric,
which `data.process_on=device` requires). A GPU node's CPUs then only render.
"""

from __future__ import annotations

import torch

from procmem.pretrain.device_crops import BoxDrawer, crop, view_sizes


class _DrawBoxes:
    """Picklable stream transform: a pool item gains its images' crop boxes and flips."""

    def __init__(self, cfg: dict):
        self.draw = BoxDrawer(cfg)

    def __call__(self, item: dict) -> dict:
        res = item["pool"].shape[1]
        item["boxes"] = self.draw(item["plan"].count, res, res)
        return item


def device_stream(process: str, cfg: dict, seed: int):
    """generators.stream.ProceduralStream yielding pools with their draws (plans=True)."""
    from procmem.generators.stream import ProceduralStream

    d = cfg["data"]
    return ProceduralStream(process, res=d["stream_res"], seed=seed, pool_size=d["stream_pool"],
                            transform=_DrawBoxes(cfg), with_metadata=False, plans=True)


class DeviceBatches:
    """Iterable over multi-crop batches (uint8 crop groups on `device`, view-major as
    augment.collate_crops makes them) from a loader of pool items; the images of a pool
    not used by one batch start the next."""

    def __init__(self, loader, cfg: dict, batch: int, device: torch.device | str = "cpu"):
        self.loader = loader
        self.batch = batch
        self.device = torch.device(device)
        self.sizes = view_sizes(cfg)

    def pool_images(self, item: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """A pool item's images uint8 [count, 3, H, W] on the device and their boxes."""
        from procmem.generators.torch_compose import compose

        pool = item["pool"].to(self.device, non_blocking=True)
        images = compose(pool, item["plan"]).permute(0, 3, 1, 2)
        return images, item["boxes"].to(self.device)

    def __iter__(self):
        images, boxes = [], []
        held = 0
        for item in self.loader:
            im, bx = self.pool_images(item)
            images.append(im)
            boxes.append(bx)
            held += len(im)
            while held >= self.batch:
                im, bx = torch.cat(images), torch.cat(boxes)
                yield crop(im[: self.batch].contiguous(), bx[: self.batch], self.sizes)
                images, boxes = [im[self.batch:]], [bx[self.batch:]]
                held -= self.batch
