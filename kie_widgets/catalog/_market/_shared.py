"""Enums and constants several Market model records share (values exactly as kie spells them)."""

from __future__ import annotations

from kie_widgets.catalog._schema import MaskConvention

SIZE_6 = ("square", "square_hd", "portrait_4_3", "portrait_16_9", "landscape_4_3", "landscape_16_9")
RES_12 = ("1K", "2K")
RES_124 = ("1K", "2K", "4K")
NUM_STR = ("1", "2", "3", "4")
PNG_JPEG = ("png", "jpeg")
SEED_MAX = 2147483647

#: Ideogram 3.0's inpainting: black marks the region to edit, white the region kept; the mask must
#: have the image's dimensions (kie-api.md §5.7 notes).
MASK_IDEOGRAM = MaskConvention(
    change=0, source="Ideogram 3.0 inpaint docs; kie-api.md §5.7: image_url and mask_url of identical size"
)
