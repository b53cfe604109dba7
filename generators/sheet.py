"""Contact sheets: a grid of images with a caption (and optional coloured border) per cell.

Used for program previews (`procmem shaders sheet`, `procmem demo`), shard previews and
neighbour grids (green/red borders for right/wrong). `contact_sheet` builds a PIL image,
`save_sheet` writes it atomically as PNG, `render_program_sheet` renders programs into one,
and `SheetWindow` shows a sheet live in a glfw window when a display exists.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from PIL import Image, ImageColor, ImageDraw, ImageFont

from procmem.core.atomic import atomic_write_bytes
from procmem.core.errors import ProcmemError

PAD = 4
"""Pixels between cells and around the sheet."""
BACKGROUND = (24, 24, 24)
CAPTION_COLOUR = (230, 230, 230)


class SheetError(ProcmemError):
    """Images, captions or borders given to a contact sheet do not fit together."""


def to_pil(image) -> Image.Image:
    """A PIL RGB image from a PIL image, uint8 [H, W, 3] / [H, W], or float in [0, 1]."""
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] != 3):
        raise SheetError(f"cannot show an array of shape {a.shape} as an image: give "
                         "[H, W, 3] or [H, W] (uint8, or float in [0, 1])")
    if a.dtype != np.uint8:
        a = np.clip(np.nan_to_num(a.astype(np.float32)) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(a).convert("RGB")


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: fixed-size bitmap font
        return ImageFont.load_default()


def _fit_text(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:
    """`text` shortened with an ellipsis to fit `width` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def _fit_image(img: Image.Image, cell: tuple[int, int]) -> Image.Image:
    """Scale to fit `cell` keeping aspect; nearest-neighbour when enlarging keeps pixels crisp."""
    scale = min(cell[0] / img.width, cell[1] / img.height)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    if size == img.size:
        return img
    return img.resize(size, Image.NEAREST if scale > 1 else Image.LANCZOS)


def contact_sheet(images, captions: Sequence[str] | None = None, cols: int | None = None,
                  cell: int | tuple[int, int] | None = None,
                  borders: Sequence | None = None, title: str | None = None,
                  border_width: int = 3, font_size: int = 11) -> Image.Image:
    """A grid of `images` (PIL, uint8/float arrays, or one [N, H, W, 3] array), row by row.

    `captions[i]` is printed under cell i (may hold several lines separated by "\\n");
    `cols` defaults to a near-square grid; `cell` (int or (w, h)) is each image's box,
    default the largest image's size; `borders[i]` is a colour ("green", "#f00", (r, g, b))
    or None for no border around cell i; `title` is printed above the grid.
    """
    pics = [to_pil(im) for im in images]
    n = len(pics)
    if n == 0:
        raise SheetError("a contact sheet needs at least one image")
    for name, seq in (("captions", captions), ("borders", borders)):
        if seq is not None and len(seq) != n:
            raise SheetError(f"{len(seq)} {name} for {n} images: give one per image (or None)")
    cols = max(1, min(n, cols or math.ceil(math.sqrt(n))))
    rows = math.ceil(n / cols)
    if cell is None:
        cw, ch = max(p.width for p in pics), max(p.height for p in pics)
    elif isinstance(cell, int):
        cw = ch = cell
    else:
        cw, ch = (int(v) for v in cell)
    if cw < 1 or ch < 1:
        raise SheetError(f"cell size {cell!r} must be positive")
    bw = border_width if borders is not None and any(b is not None for b in borders) else 0
    colours = []
    for b in borders or [None] * n:
        try:
            colours.append(None if b is None else
                           (ImageColor.getrgb(b) if isinstance(b, str) else tuple(b)[:3]))
        except ValueError:
            raise SheetError(f"unknown border colour {b!r}: use a name, '#rrggbb' or (r, g, b)"
                             ) from None
    font = _font(font_size)
    scratch = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    asc, desc = font.getmetrics() if hasattr(font, "getmetrics") else (font_size, 2)
    line_h = asc + desc + 1
    lines = max((len(c.split("\n")) for c in captions), default=0) if captions else 0
    cap_h = lines * line_h + (2 if lines else 0)
    title_h = line_h + PAD if title else 0
    box_w, box_h = cw + 2 * bw, ch + 2 * bw + cap_h
    sheet = Image.new("RGB", (PAD + cols * (box_w + PAD), PAD + title_h + rows * (box_h + PAD)),
                      BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((PAD, PAD), _fit_text(scratch, title, font, sheet.width - 2 * PAD),
                  fill=CAPTION_COLOUR, font=font)
    for i, pic in enumerate(pics):
        x = PAD + (i % cols) * (box_w + PAD)
        y = PAD + title_h + (i // cols) * (box_h + PAD)
        if colours[i] is not None:
            draw.rectangle([x, y, x + box_w - 1, y + ch + 2 * bw - 1], fill=colours[i])
        fitted = _fit_image(pic, (cw, ch))
        sheet.paste(fitted, (x + bw + (cw - fitted.width) // 2, y + bw + (ch - fitted.height) // 2))
        if captions:
            for j, text in enumerate(captions[i].split("\n")):
                draw.text((x, y + ch + 2 * bw + 1 + j * line_h),
                          _fit_text(scratch, text, font, box_w), fill=CAPTION_COLOUR, font=font)
    return sheet


def save_png(path: str | os.PathLike, image) -> Path:
    """Write `image` (PIL or array) as PNG atomically (complete or absent after a kill)."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise SheetError(f"{path}: picture files are PNG; give a path ending in .png")
    buf = io.BytesIO()
    to_pil(image).save(buf, format="PNG", optimize=False)
    atomic_write_bytes(path, buf.getvalue())
    return path


def save_sheet(path: str | os.PathLike, images, **kwargs) -> Path:
    """`contact_sheet(images, **kwargs)` written atomically to `path` (PNG)."""
    return save_png(path, contact_sheet(images, **kwargs))


def shard_sheet(shard_dir, n: int, out) -> Path:
    """A contact sheet of a shard set's first `n` images, captioned with key and program."""
    from procmem.generators import shards

    images, captions = [], []
    for img, meta in shards.iter_images(shard_dir, n):
        images.append(img)
        first = meta["sources"][0]["program"] if meta.get("sources") else ""
        captions.append(f"{meta.get('key', '')[-6:]}\n{first.split('/')[-1]}")
    if not images:
        raise shards.ShardError(f"{shard_dir} holds no samples yet")
    return save_sheet(out, images, captions=captions,
                      title=f"{shard_dir}: first {len(images)} images")


def render_program_sheet(renderer, programs, per_program: int = 1, size=128, seed: int = 0,
                         time: float | None = None, progress: bool = True,
                         on_update: Callable[[Image.Image], object] | None = None
                         ) -> tuple[Image.Image, list[str]]:
    """Render `per_program` frames of each program (params drawn from (seed, program index))
    into a near-square contact sheet captioned with ids, a program's frames side by side.

    A program that fails (compile error, watchdog timeout) gets an empty red-bordered cell and
    its error is returned in the list of failures, so one bad program never spoils a sheet.
    `time` fixes iTime (default: drawn in [0, 10) per frame). `on_update(sheet)` is called
    after each program (live display).
    """
    from procmem.core.progress import progress as progress_bar
    from procmem.generators.render import parse_size, random_params, random_times

    w, h = parse_size(size)
    frames, captions, borders, failures = [], [], [], []
    # whole programs per row, as many rows as columns of cells (a near-square sheet)
    cols = per_program * max(1, round(math.sqrt(len(programs) / per_program)))
    bar = progress_bar(programs, desc="rendering programs", unit="program", disable=not progress)
    for k, program in enumerate(bar):
        rng = np.random.default_rng([seed, k])
        params = random_params(rng, per_program)
        times = random_times(rng, per_program) if time is None else [time] * per_program
        try:
            imgs = list(renderer.render(program, times, params, size=(w, h)))
            borders += [None] * per_program
        except ProcmemError as e:
            failures.append(str(e))
            imgs = [np.zeros((h, w, 3), np.uint8)] * per_program
            borders += ["red"] * per_program
        frames += imgs
        captions += [program.id] + [""] * (per_program - 1)
        if on_update is not None:
            on_update(contact_sheet(frames, captions=captions, cols=cols, borders=borders))
    sheet = contact_sheet(frames, captions=captions, cols=cols, borders=borders)
    return sheet, failures


class NoDisplayError(ProcmemError):
    """A window was asked for but there is no display to open it on."""


class SheetWindow:
    """A glfw window that shows a (growing) contact sheet; needs DISPLAY or WAYLAND_DISPLAY."""

    def __init__(self, title: str = "procmem", max_size: tuple[int, int] = (1280, 960)):
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            raise NoDisplayError("no display found (DISPLAY and WAYLAND_DISPLAY are unset): "
                                 "drop --window to write the PNG only, or set DISPLAY")
        import glfw

        if not glfw.init():
            raise NoDisplayError(f"glfw could not open the display {os.environ.get('DISPLAY')!r}"
                                 ": drop --window, or set DISPLAY to a working X server")
        self._glfw = glfw
        self.max_size = max_size
        glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, 3)
        glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, 3)
        glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
        glfw.window_hint(glfw.OPENGL_FORWARD_COMPAT, True)
        self.window = glfw.create_window(640, 480, title, None, None)
        if not self.window:
            glfw.terminate()
            raise NoDisplayError("glfw could not create an OpenGL 3.3 window: drop --window")
        glfw.make_context_current(self.window)
        import moderngl

        from procmem.generators.render import VERTEX_SHADER

        self.ctx = moderngl.create_context()
        self.prog = self.ctx.program(vertex_shader=VERTEX_SHADER, fragment_shader="""
            #version 330
            uniform sampler2D sheet;
            uniform vec2 screen;
            out vec4 colour;
            void main() {
                vec2 uv = gl_FragCoord.xy / screen;
                colour = texture(sheet, vec2(uv.x, 1.0 - uv.y));
            }""")
        self.vao = self.ctx.vertex_array(self.prog, [])
        self.texture = None

    def show(self, sheet: Image.Image) -> bool:
        """Display `sheet` (resizing the window to fit); False once the user closed the window."""
        glfw = self._glfw
        if glfw.window_should_close(self.window):
            return False
        # a Renderer (EGL) may have been current since: GL calls go to the current context
        glfw.make_context_current(self.window)
        img = sheet.convert("RGB")
        scale = min(1.0, self.max_size[0] / img.width, self.max_size[1] / img.height)
        w, h = max(1, int(img.width * scale)), max(1, int(img.height * scale))
        glfw.set_window_size(self.window, w, h)
        if self.texture is not None:
            self.texture.release()
        self.texture = self.ctx.texture(img.size, 3, img.tobytes())
        self.texture.use(0)
        self._draw()
        return True

    def _draw(self) -> None:
        import moderngl

        glfw = self._glfw
        glfw.make_context_current(self.window)
        fw, fh = glfw.get_framebuffer_size(self.window)
        self.ctx.screen.use()
        self.ctx.viewport = (0, 0, fw, fh)
        self.ctx.clear(0.1, 0.1, 0.1)
        if "screen" in self.prog:
            self.prog["screen"].value = (float(fw), float(fh))
        self.vao.render(moderngl.TRIANGLES, vertices=3)
        glfw.swap_buffers(self.window)
        glfw.poll_events()

    def wait_closed(self) -> None:
        """Keep the window up (redrawing) until the user closes it."""
        while not self._glfw.window_should_close(self.window):
            self._draw()
            self._glfw.wait_events_timeout(0.1)

    def close(self) -> None:
        self._glfw.destroy_window(self.window)
        self._glfw.terminate()
