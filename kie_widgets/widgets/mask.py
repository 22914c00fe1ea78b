"""``MaskEditor``: paint a mask over an image in the notebook, then use it in any model's convention.

The painting happens in the browser (an anywidget ES module shipped in this package, ``_mask.js``):
brush, eraser, rectangle and ellipse fills, invert, clear, undo/redo, zoom and pan. Only the finished
mask crosses to Python, once per "Apply", as a PNG at the preview's size; Python scales it to the
source's exact pixel size (nearest neighbour, so it stays binary).

Trait protocol (the browser test relies on it):

* Python -> browser: ``image_data`` (the preview, PNG or JPEG bytes, at most ``PREVIEW_MAX_SIDE`` on
  its long side), ``image_format``, ``preview_width``/``preview_height``, ``source_width``/
  ``source_height``, ``status`` (a line shown under the canvas), and ``mask_png`` when Python imports
  a mask (a PNG at the preview's size, white = change; empty bytes = no mask).
* browser -> Python, on "Apply": ``mask_png`` (the painted mask at the preview's size, white on black)
  and ``apply_count`` + 1, in one message. ``brush_size`` and ``overlay_opacity`` follow the sliders.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from kie_widgets.errors import KieValidationError, Problem

log = logging.getLogger(__name__)

#: The longest side of the image sent to the browser; larger sources get a downscaled preview.
PREVIEW_MAX_SIDE = 1024
_ASSET_ID = re.compile(r"^img-\d{3,}$")
_HERE = Path(__file__).parent


def _bytes_from_json(value: Any, widget: Any) -> bytes | None:
    # The browser's bytes arrive as a memoryview, which traitlets.Bytes would silently refuse.
    return bytes(value) if value is not None else None


def _load_source(image: Any) -> tuple[Any, str]:
    """The source as a loaded PIL image, and a short name for it (asset id, file name or kind)."""
    from kie_widgets.assets.masks import open_image

    if isinstance(image, str) and _ASSET_ID.match(image):
        from kie_widgets.session import current_session  # the session layer resolves asset ids

        asset = current_session().asset(image)
        if asset is None:
            raise KieValidationError([Problem("image", f"no asset {image!r} in the manifest", image)])
        return open_image(asset.path, what="image"), image
    asset_id = getattr(image, "id", None)
    if hasattr(image, "path") and isinstance(asset_id, str):
        return open_image(image.path, what="image"), asset_id
    if isinstance(image, (str, Path)):
        return open_image(image, what="image"), Path(image).name
    name = "image data" if isinstance(image, (bytes, bytearray, memoryview)) else "image"
    return open_image(image, what="image"), name


class MaskEditor(anywidget.AnyWidget):
    """Paint where an image should change; ``.mask`` is the result (mode "L", source size, 255 = change).

    ``image`` may be an ``Asset``, an asset id (``"img-003"``), a path, bytes or a PIL image.
    ``mask_for(model)`` gives the mask in that model's convention; ``load_mask``, ``load_alpha``,
    ``set_rectangle`` and ``set_ellipse`` import one (and show it in the browser); ``save_mask``
    writes it to a file.
    """

    _esm = _HERE / "_mask.js"
    _css = _HERE / "_mask.css"

    image_data = traitlets.Bytes(b"").tag(sync=True, from_json=_bytes_from_json)
    image_format = traitlets.Unicode("png").tag(sync=True)
    preview_width = traitlets.Int(0).tag(sync=True)
    preview_height = traitlets.Int(0).tag(sync=True)
    source_width = traitlets.Int(0).tag(sync=True)
    source_height = traitlets.Int(0).tag(sync=True)
    mask_png = traitlets.Bytes(b"").tag(sync=True, from_json=_bytes_from_json, echo_update=False)
    apply_count = traitlets.Int(0).tag(sync=True)
    brush_size = traitlets.Int(24).tag(sync=True)
    overlay_opacity = traitlets.Float(0.5).tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)

    def __init__(self, image: Any, **kwargs: Any) -> None:
        from PIL import Image

        source, name = _load_source(image)
        self._source = source
        self._name = name
        self._mask = Image.new("L", source.size, 0)
        self._pushing = False
        self._on_apply: list[Callable[[MaskEditor], None]] = []
        preview = source.copy()
        preview.thumbnail((PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE), Image.Resampling.LANCZOS)
        data, fmt = _encode_preview(preview)
        super().__init__(
            image_data=data,
            image_format=fmt,
            preview_width=preview.width,
            preview_height=preview.height,
            source_width=source.width,
            source_height=source.height,
            status=f"Paint where {name} ({source.width}×{source.height}) should change, then press Apply.",
            **kwargs,
        )

    # ------------------------------------------------------------------ the mask
    @property
    def source_size(self) -> tuple[int, int]:
        """(width, height) of the source image in pixels."""
        return (int(self._source.width), int(self._source.height))

    @property
    def source(self) -> Any:
        """A copy of the source image (PIL)."""
        return self._source.copy()

    @property
    def mask(self) -> Any:
        """The mask as a PIL image: mode "L", the source's size, 255 where the image is to change."""
        return self._mask.copy()

    @property
    def coverage(self) -> float:
        """Share (0–1) of the source's pixels marked to change."""
        w, h = self._mask.size
        return self._mask.histogram()[255] / float(w * h)

    def mask_for(self, model: str) -> bytes:
        """The mask as PNG bytes in ``model``'s convention (for 4o Image: black = change, white = keep).

        The bytes remember their convention, so passing them as ``mask=`` converts nothing twice.
        Raises ``KieValidationError`` for a model that takes no mask.
        """
        from kie_widgets.assets.masks import model_mask

        spec = _mask_spec(model)
        assert spec.mask_convention is not None  # _mask_spec guarantees it
        return model_mask(self._mask, spec.mask_convention, spec.display_name)

    def save_mask(self, path: str | Path, model: str | None = None) -> Path:
        """Write the mask as a PNG: in our convention (white = change), or in ``model``'s; return the path."""
        from kie_widgets.assets.masks import encode_png

        target = Path(path).expanduser()
        data = self.mask_for(model) if model is not None else encode_png(self._mask)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return target

    def on_apply(self, callback: Callable[[MaskEditor], None]) -> None:
        """Call ``callback(editor)`` after each Apply from the browser (errors are logged, not raised)."""
        self._on_apply.append(callback)

    # ------------------------------------------------------------------ imports
    def load_mask(self, source: Any, *, resize: bool = False) -> None:
        """Use a mask from a file, bytes or a PIL image, in our convention (white = change).

        A mask of another size than the source is refused naming both sizes, unless ``resize=True``
        (then it is scaled with nearest neighbour).
        """
        from kie_widgets.assets.masks import from_convention, open_image

        self._set_mask(from_convention(open_image(source, what="mask")), resize=resize)

    def load_alpha(self, image: Any, *, transparent_means_change: bool = True, resize: bool = False) -> None:
        """Use an image's alpha channel as the mask (transparent = change, unless told otherwise)."""
        from kie_widgets.assets.masks import from_alpha

        self._set_mask(from_alpha(image, transparent_means_change=transparent_means_change), resize=resize)

    def set_rectangle(self, x0: float, y0: float, x1: float, y1: float, *, add: bool = False) -> None:
        """Mark the rectangle from (x0, y0) up to (x1, y1), in source pixels; ``add`` keeps the rest."""
        self._set_shape((x0, y0, x1, y1), "rectangle", add)

    def set_ellipse(self, x0: float, y0: float, x1: float, y1: float, *, add: bool = False) -> None:
        """Mark the ellipse inside the box (x0, y0)–(x1, y1), in source pixels; ``add`` keeps the rest."""
        self._set_shape((x0, y0, x1, y1), "ellipse", add)

    def clear(self) -> None:
        """Mark nothing."""
        from PIL import Image

        self._set_mask(Image.new("L", self.source_size, 0))

    def invert(self) -> None:
        """Swap the areas to change and to keep."""
        self._set_mask(self._mask.point(lambda v: 255 - v))

    def _set_shape(self, box: tuple[float, float, float, float], shape: str, add: bool) -> None:
        from PIL import ImageChops

        from kie_widgets.assets.masks import shape_mask

        mask = shape_mask(self.source_size, box, shape=shape)
        self._set_mask(ImageChops.lighter(self._mask, mask) if add else mask)

    def _set_mask(self, mask: Any, *, resize: bool = False) -> None:
        from kie_widgets.assets.masks import binary, encode_png, scale_mask

        if tuple(mask.size) != self.source_size:
            if not resize:
                w, h = self.source_size
                raise KieValidationError(
                    [
                        Problem(
                            "mask",
                            f"is {mask.width}×{mask.height} but the image is {w}×{h}",
                            f"{mask.width}×{mask.height}",
                            f"{w}×{h} (or pass resize=True)",
                        )
                    ]
                )
            mask = scale_mask(mask, self.source_size)
        self._mask = binary(mask)
        preview = scale_mask(self._mask, (self.preview_width, self.preview_height))
        self._pushing = True
        try:
            self.mask_png = encode_png(preview) if self._mask.getbbox() else b""
        finally:
            self._pushing = False
        self.status = self._summary("Mask set from Python")

    # ------------------------------------------------------------ from the browser
    @traitlets.observe("mask_png")
    def _mask_from_browser(self, change: dict[str, Any]) -> None:
        if self._pushing:
            return
        try:
            self._take_browser_mask(change["new"])
        except Exception as exc:  # anywidget swallows callback errors: log and show them instead
            log.exception("MaskEditor could not read the mask from the browser")
            self.status = f"The mask could not be read: {exc}"

    def _take_browser_mask(self, data: bytes) -> None:
        from PIL import Image

        from kie_widgets.assets.masks import from_convention, open_image, scale_mask

        if not data:
            self._mask = Image.new("L", self.source_size, 0)
        else:
            painted = from_convention(open_image(data, what="mask"))
            self._mask = scale_mask(painted, self.source_size)
        self.status = self._summary("Applied")

    @traitlets.observe("apply_count")
    def _applied(self, change: dict[str, Any]) -> None:
        for callback in list(self._on_apply):
            try:
                callback(self)
            except Exception:  # anywidget swallows callback errors: log them
                log.exception("A MaskEditor on_apply callback failed")

    def _summary(self, what: str) -> str:
        w, h = self.source_size
        return f"{what}: {self.coverage:.1%} of {w}×{h} pixels marked to change."

    # ---------------------------------------------------------------- display
    def __repr__(self) -> str:
        w, h = self.source_size
        return f"MaskEditor({self._name!r}, {w}×{h}, {self.coverage:.1%} marked to change)"

    def _fallback_text(self) -> str:
        w, h = self.source_size
        return (
            f"{self!r}\n"
            "The mask editor needs a front end that runs widget JavaScript (JupyterLab 4, Notebook 7,"
            " VS Code with ipywidgets).\n"
            f"Without one, make the mask as a file: a greyscale PNG of exactly {w}×{h} pixels, white"
            " where the image should change, black where it stays, and pass mask='mask.png' to"
            " edit(); kie_widgets converts it to the model's own convention (4o Image and Ideogram"
            " read black = change) and checks its size before anything is sent.\n"
            "In code: editor.set_rectangle(x0, y0, x1, y1), editor.load_mask('mask.png'),"
            " editor.save_mask('mask.png', model='4o Image')."
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        import html

        # anywidget answers (data, metadata); the widget view stays first choice where it renders.
        bundle = super()._repr_mimebundle_(**kwargs)
        data, metadata = (dict(bundle[0]), dict(bundle[1])) if bundle else ({}, {})
        text = self._fallback_text()
        data["text/plain"] = text
        paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines())
        data["text/html"] = f'<div class="kie-mask-fallback">{paragraphs}</div>'
        return data, metadata


def _mask_spec(model: str) -> Any:
    """The catalog spec of a mask-taking ``model``; a clear error naming it otherwise."""
    from kie_widgets.catalog import all_specs, resolve

    spec = resolve(model, has_mask=True)
    if not spec.mask or spec.mask_convention is None:
        takers = ", ".join(sorted({s.display_name for s in all_specs() if s.mask}))
        raise KieValidationError(
            [Problem("model", f"{spec.display_name} takes no mask", model, f"models with masks: {takers}")],
            model=spec.display_name,
        )
    return spec


def _encode_preview(image: Any) -> tuple[bytes, str]:
    """The preview as JPEG (small) unless it has transparency to keep, then PNG."""
    buf = io.BytesIO()
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        image.save(buf, format="PNG", optimize=True)
        return buf.getvalue(), "png"
    image.convert("RGB").save(buf, format="JPEG", quality=85)
    return buf.getvalue(), "jpeg"


__all__ = ["PREVIEW_MAX_SIDE", "MaskEditor"]
