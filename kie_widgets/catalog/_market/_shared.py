"""Enums and constants several Market model records share (values exactly as kie spells them)."""

from __future__ import annotations

SIZE_6 = ("square", "square_hd", "portrait_4_3", "portrait_16_9", "landscape_4_3", "landscape_16_9")
RES_12 = ("1K", "2K")
RES_124 = ("1K", "2K", "4K")
NUM_STR = ("1", "2", "3", "4")
PNG_JPEG = ("png", "jpeg")
SEED_MAX = 2147483647

MASK_BLACK_EDITS = "black = area to change, white = keep"
