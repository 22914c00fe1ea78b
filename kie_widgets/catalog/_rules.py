"""Cross-field rules kie enforces at task creation (kie-api.md §2, §5), on wire fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kie_widgets.catalog._schema import ModelSpec
from kie_widgets.errors import Problem


def gpt4o_inputs(fields: Mapping[str, Any], spec: ModelSpec) -> list[Problem]:
    """4o Image: a prompt or reference images; a mask only together with exactly one image."""
    out: list[Problem] = []
    files = fields.get("filesUrl") or []
    if not fields.get("prompt") and not files and not fields.get("fileUrl"):
        out.append(
            Problem(
                "prompt",
                "4o Image needs a prompt, reference images (filesUrl), or both",
                None,
                None,
                spec.display_name,
            )
        )
    if "maskUrl" in fields and len(files) != 1:
        out.append(
            Problem(
                "maskUrl",
                f"a mask works only with exactly one image; got {len(files)}",
                len(files),
                "exactly 1 image in filesUrl",
                spec.display_name,
            )
        )
    return out


_GPT2_T2I_NOT_HIGH = ("5:4", "4:5", "3:1", "1:3", "9:21")


def gpt_image_2(*, image_to_image: bool) -> Any:
    """GPT Image 2: which aspect ratios each resolution can render."""

    def rule(fields: Mapping[str, Any], spec: ModelSpec) -> list[Problem]:
        aspect = fields.get("aspect_ratio", "auto")
        res = fields.get("resolution", "1K")
        name = spec.display_name
        out: list[Problem] = []
        if aspect == "auto" and res != "1K":
            out.append(
                Problem(
                    "resolution",
                    f"{res} needs an explicit aspect ratio; 'auto' (or none) renders 1K only",
                    res,
                    "1K with aspect 'auto'",
                    name,
                )
            )
        if aspect == "1:1" and res == "4K":
            out.append(Problem("resolution", "1:1 cannot be rendered at 4K", res, "1K, 2K for 1:1", name))
        if not image_to_image and res in ("2K", "4K") and aspect in _GPT2_T2I_NOT_HIGH:
            out.append(
                Problem(
                    "aspect_ratio",
                    f"{aspect} is available only at 1K",
                    aspect,
                    f"1K for {', '.join(_GPT2_T2I_NOT_HIGH)}",
                    name,
                )
            )
        if image_to_image and aspect in ("5:4", "4:5") and res != "1K":
            out.append(
                Problem("aspect_ratio", f"{aspect} is available only at 1K", aspect, "1K for 5:4, 4:5", name)
            )
        return out

    return rule


GPT25_LOW_ONLY = ("27:16", "16:27", "9:8", "8:9")


def gpt_image_25(fields: Mapping[str, Any], spec: ModelSpec) -> list[Problem]:
    """GPT Image 2.5: the four narrow ratios render 1K only ('auto' has no cap, unlike GPT Image 2)."""
    aspect = fields.get("aspect_ratio", "auto")
    res = fields.get("resolution", "1K")
    if aspect in GPT25_LOW_ONLY and res != "1K":
        return [
            Problem(
                "aspect_ratio",
                f"{aspect} is available only at 1K",
                aspect,
                f"1K for {', '.join(GPT25_LOW_ONLY)}",
                spec.display_name,
            )
        ]
    return []


def wan_outputs(fields: Mapping[str, Any]) -> int:
    """Wan 2.7: ``n`` images, 4 by default, 12 by default in sequential mode."""
    n = fields.get("n")
    if isinstance(n, int) and not isinstance(n, bool) and n >= 1:
        return n
    return 12 if fields.get("enable_sequential") else 4


def wan(*, pro: bool) -> Any:
    """Wan 2.7 Image (Pro): n range by mode; palette, thinking and 4K only in some modes; boxes per input."""

    def rule(fields: Mapping[str, Any], spec: ModelSpec) -> list[Problem]:
        name = spec.display_name
        seq = bool(fields.get("enable_sequential"))
        inputs = fields.get("input_urls") or []
        out: list[Problem] = []
        n = fields.get("n")
        top = 12 if seq else 4
        if n is not None and not 1 <= n <= top:
            mode = "sequential" if seq else "standard"
            out.append(Problem("n", f"{n} is out of range in {mode} mode", n, f"1–{top}", name))
        if seq and "color_palette" in fields:
            out.append(
                Problem(
                    "color_palette",
                    "is not available with enable_sequential",
                    None,
                    "omit it, or set enable_sequential to false",
                    name,
                )
            )
        if fields.get("thinking_mode") and (seq or inputs):
            out.append(
                Problem(
                    "thinking_mode",
                    "works only without input images and without enable_sequential",
                    True,
                    "false here",
                    name,
                )
            )
        boxes = fields.get("bbox_list")
        if boxes is not None:
            if len(boxes) > len(inputs):
                out.append(
                    Problem(
                        "bbox_list",
                        f"has {len(boxes)} lists for {len(inputs)} input images",
                        len(boxes),
                        "one list per input image",
                        name,
                    )
                )
            for i, per_image in enumerate(boxes):
                if (
                    not isinstance(per_image, list)
                    or len(per_image) > 2
                    or not all(
                        isinstance(b, list) and len(b) == 4 and all(isinstance(c, (int, float)) for c in b)
                        for b in per_image
                    )
                ):
                    out.append(
                        Problem(
                            f"bbox_list[{i}]",
                            "must hold at most 2 boxes of [x1, y1, x2, y2]",
                            per_image,
                            None,
                            name,
                        )
                    )
        if pro and fields.get("resolution") == "4K" and (seq or inputs):
            out.append(
                Problem(
                    "resolution",
                    "4K is available only for text-to-image in standard mode",
                    "4K",
                    "1K, 2K",
                    name,
                )
            )
        return out

    return rule
