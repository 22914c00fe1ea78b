"""plan(): unified parameters in, the exact kie request out; every problem reported at once; no sockets."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from catalog_cases import BODY_CASES, IMG, IMG2, MASK

from kie_widgets.catalog import all_specs, plan, spec_for_request
from kie_widgets.errors import KieModelNotFoundError, KieValidationError


def _problems(excinfo: pytest.ExceptionInfo[KieValidationError]) -> dict[str, str]:
    return {p.field: f"{p.message} | {p.allowed}" for p in excinfo.value.problems}


@pytest.mark.parametrize(
    ("key", "name", "kwargs", "endpoint", "body"), BODY_CASES, ids=[c[0] for c in BODY_CASES]
)
def test_body_is_exactly_what_kie_expects(
    key: str, name: str, kwargs: dict[str, Any], endpoint: str, body: dict[str, Any]
) -> None:
    """Each model's request body, endpoint and spec match kie-api.md's shapes exactly."""
    p = plan(name, **kwargs)
    assert p.spec.key == key
    assert p.endpoint == endpoint
    assert p.body == body
    assert json.loads(json.dumps(p.body)) == p.body
    json.dumps(p.params)


@pytest.mark.parametrize(
    ("key", "name", "kwargs", "endpoint", "body"), BODY_CASES, ids=[c[0] for c in BODY_CASES]
)
def test_planned_body_passes_the_wire_check_and_routes_back(
    key: str, name: str, kwargs: dict[str, Any], endpoint: str, body: dict[str, Any]
) -> None:
    """What plan() builds, the sandbox's wire check accepts and attributes to the same model."""
    p = plan(name, **kwargs)
    assert p.spec.check_wire(p.body) == []
    assert spec_for_request(p.endpoint, p.body) is p.spec
    assert p.estimated_credits == p.spec.price(p.body)
    assert p.n == p.spec.outputs(p.body)


def test_every_model_has_a_body_case() -> None:
    """The body table covers every spec of the catalog (both Flux Kontext modes included)."""
    assert {c[0] for c in BODY_CASES} == {s.key for s in all_specs()}


def test_plan_exposes_the_contract_fields() -> None:
    """Plan carries model id, display name, family, endpoint, n, size, credits and normalised params."""
    p = plan(
        "Flux Kontext Max", "A garden at dawn", aspect_ratio="16:9", callback_url="https://hook.example/k"
    )
    assert (p.model_id, p.display_name, p.family) == ("flux-kontext-max", "Flux Kontext Max", "flux-kontext")
    assert p.endpoint == "/api/v1/flux/kontext/generate"
    assert p.body["callBackUrl"] == "https://hook.example/k"
    assert (p.n, p.size, p.estimated_credits) == (1, "16:9", 10)
    assert p.params == {
        "prompt": "A garden at dawn",
        "aspect_ratio": "16:9",
        "callback_url": "https://hook.example/k",
        "n": 1,
    }


def test_market_callback_goes_top_level() -> None:
    """callback_url becomes the top-level callBackUrl of a Market body, not an input field."""
    p = plan("Imagen 4", "x", callback_url="https://hook.example/m")
    assert p.body == {
        "model": "google/imagen4",
        "callBackUrl": "https://hook.example/m",
        "input": {"prompt": "x"},
    }


def test_size_falls_back_to_the_models_default_aspect() -> None:
    """Without an aspect ratio, Plan.size reports the model's default in W:H form."""
    assert plan("Imagen 4 Fast", "x").size == "16:9"
    assert plan("Seedream 3", "x").size == "1:1"
    assert plan("Topaz Image Upscale", image=IMG, upscale_factor="4").size == "4x"
    assert plan("Nano Banana Pro", "x", resolution="2K").size == "1:1"


def test_local_inputs_become_placeholders_in_order(tmp_path: Path) -> None:
    """Paths, bytes, PIL-like and array-like inputs and asset ids become kie-upload:// placeholders."""
    photo = tmp_path / "a.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 10)

    class FakePil:
        size = (4, 4)
        mode = "RGB"

        def save(self, *_: Any) -> None:
            raise AssertionError("plan() must not encode images")

    class FakeArray:
        shape = (4, 4, 3)
        dtype = "uint8"

    pil, arr = FakePil(), FakeArray()
    p = plan("Nano Banana Edit", "Blend", images=[str(photo), b"raw", IMG, pil, arr, "img-003"])
    assert p.body["input"]["image_urls"] == [
        "kie-upload://0",
        "kie-upload://1",
        IMG,
        "kie-upload://2",
        "kie-upload://3",
        "kie-upload://4",
    ]
    assert [(u.placeholder, u.kind) for u in p.uploads] == [
        ("kie-upload://0", "path"),
        ("kie-upload://1", "bytes"),
        ("kie-upload://2", "pil"),
        ("kie-upload://3", "array"),
        ("kie-upload://4", "asset"),
    ]
    assert p.uploads[0].max_bytes == 10 * 1024 * 1024
    assert p.uploads[0].mime_types == ("image/jpeg", "image/png", "image/webp")
    assert p.uploads[2].source is pil
    resolved = p.resolve_body({u.placeholder: f"https://up.example/{i}" for i, u in enumerate(p.uploads)})
    assert resolved["input"]["image_urls"][2] == IMG
    assert resolved["input"]["image_urls"][0] == "https://up.example/0"
    assert p.body["input"]["image_urls"][0] == "kie-upload://0"


def test_resolve_body_refuses_missing_uploads() -> None:
    """A placeholder without an uploaded URL is an error, not a silently broken request."""
    p = plan("Recraft Remove Background", image=b"png-bytes")
    with pytest.raises(KieValidationError, match="no uploaded URL"):
        p.resolve_body({})


def test_mask_placeholder_is_a_mask_input() -> None:
    """4o Image edit with a local mask: filesUrl URL kept, maskUrl a placeholder for field 'mask'."""
    p = plan("4o Image", "Beach background", images=[IMG], mask=b"mask-bytes")
    assert p.body == {
        "prompt": "Beach background",
        "filesUrl": [IMG],
        "size": "1:1",
        "maskUrl": "kie-upload://0",
    }
    assert [(u.field, u.kind) for u in p.uploads] == [("mask", "bytes")]


def test_every_problem_is_reported_at_once() -> None:
    """Several bad parameters produce one error listing each, under the user's own names."""
    with pytest.raises(KieValidationError) as excinfo:
        plan("Imagen 4", "x" * 5001, aspect_ratio="21:9", n=3, colour="red", mask=MASK)
    problems = _problems(excinfo)
    assert set(problems) == {"prompt", "aspect_ratio", "n", "colour", "mask"}
    assert "nearest supported ratio is 16:9" in problems["aspect_ratio"]
    assert "5000" in problems["prompt"]
    assert all(p.model == "Imagen 4" for p in excinfo.value.problems)
    assert "Nothing was sent" in str(excinfo.value)


@pytest.mark.parametrize(
    ("model", "asked", "nearest"),
    [
        ("4o Image", "16:9", "3:2"),
        ("4o Image", "9:16", "2:3"),
        ("4o Image", "4:5", "2:3"),
        ("Imagen 4", "21:9", "16:9"),
        ("Z-Image", "2:3", "3:4"),
        ("Seedream 3", "3:2", "4:3"),
        ("Ideogram", "21:9", "16:9"),
        ("GPT Image 1.5", "16:9", "3:2"),
    ],
)
def test_unsupported_aspect_names_the_nearest_supported(model: str, asked: str, nearest: str) -> None:
    """An aspect ratio the model lacks is rejected with the nearest one it has, in W:H form."""
    with pytest.raises(KieValidationError) as excinfo:
        plan(model, "x", aspect_ratio=asked)
    assert f"nearest supported ratio is {nearest}" in _problems(excinfo)["aspect_ratio"]


@pytest.mark.parametrize(
    ("model", "kwargs", "field", "fragment"),
    [
        ("4o Image", {}, "prompt", "needs a prompt"),
        ("4o Image", {"prompt": "x", "images": [IMG] * 6}, "images", "more than 5"),
        ("4o Image", {"prompt": "x", "images": [IMG, IMG2], "mask": MASK}, "mask", "exactly one image"),
        ("4o Image", {"prompt": "x", "mask": MASK}, "mask", "exactly one image"),
        ("4o Image", {"prompt": "x", "n": 3}, "n", "not one of"),
        ("Flux Kontext Pro", {"prompt": "x", "image": IMG, "safetyTolerance": 3}, "safetyTolerance", "0–2"),
        ("Flux Kontext Pro", {"prompt": "x", "safetyTolerance": 7}, "safetyTolerance", "0–6"),
        ("Flux Kontext Pro", {"prompt": "x", "inputImage": IMG}, "inputImage", "not a parameter"),
        ("GPT Image 2", {"prompt": "x", "aspect_ratio": "1:1", "resolution": "4K"}, "resolution", "4K"),
        ("GPT Image 2", {"prompt": "x", "resolution": "2K"}, "resolution", "explicit aspect"),
        (
            "GPT Image 2",
            {"prompt": "x", "aspect_ratio": "9:21", "resolution": "2K"},
            "aspect_ratio",
            "only at 1K",
        ),
        (
            "GPT Image 2",
            {"prompt": "x", "images": [IMG], "aspect_ratio": "4:5", "resolution": "4K"},
            "aspect_ratio",
            "only at 1K",
        ),
        ("Seedream 4.0", {"prompt": "posters of a cat", "n": 4}, "n", "says how many"),
        ("Seedream 4.0", {"prompt": "four posters", "n": 7}, "n", "out of range"),
        ("Qwen 3", {"prompt": "x", "images": [IMG] * 4}, "images", "more than 3"),
        ("Seedream 5 Lite", {"prompt": "ab"}, "prompt", "fewer than 3"),
        ("Flux-2", {"prompt": "x", "aspect_ratio": "auto"}, "aspect_ratio", "auto"),
        ("Wan 2.7 Image", {"prompt": "x", "n": 5}, "n", "1–4"),
        (
            "Wan 2.7 Image",
            {"prompt": "x", "images": [IMG], "thinking_mode": True},
            "thinking_mode",
            "without input",
        ),
        (
            "Wan 2.7 Image Pro",
            {"prompt": "x", "images": [IMG], "resolution": "4K"},
            "resolution",
            "text-to-image",
        ),
        ("Imagen 4", {"prompt": "x", "images": [IMG]}, "images", "takes no input images"),
        ("Seedream 4.5 Edit", {"prompt": "x"}, "images", "is required"),
        ("Topaz Image Upscale", {"image": IMG, "upscale_factor": "8"}, "upscale_factor", "not one of"),
        ("Topaz Image Upscale", {"image": IMG, "prompt": "sharper"}, "prompt", "takes no prompt"),
        (
            "Recraft Remove Background",
            {"image": IMG, "aspect_ratio": "1:1"},
            "aspect_ratio",
            "no aspect-ratio",
        ),
        ("Qwen Image Edit", {"prompt": "x", "images": [IMG, IMG2]}, "images", "takes one input image"),
        ("Imagen 4", {"prompt": "x", "n": 2}, "n", "one image per request"),
        ("Grok Imagine", {"prompt": "x", "n": 3}, "n", "2 images per request"),
        ("Imagen 4", {"prompt": "x", "seed": "abc"}, "seed", "whole number"),
        ("Imagen 4", {"prompt": "x", "seed": "²"}, "seed", "whole number"),
        ("Imagen 4", {"prompt": "x", "seed": "--1"}, "seed", "whole number"),
        ("Imagen 4", {"prompt": "x", "negative_prompt": ["blur", 3]}, "negative_prompt", "text"),
        ("Imagen 4", {"prompt": "x", "negative_presets": 3}, "negative_presets", "preset name"),
        ("Imagen 4", {"prompt": "x", "negative_presets": [None]}, "negative_presets", "preset name"),
        ("Imagen 4", {"prompt": "x", "callback_url": "ftp://x"}, "callback_url", "http(s)"),
        ("Nano Banana", {"prompt": "x", "resolution": "2K"}, "resolution", "no resolution"),
        ("Seedream 4.5", {"prompt": "x", "resolution": "1K"}, "resolution", "not one of"),
        (
            "Imagen 4",
            {"prompt": "x", "aspect_ratio": "16:9", "image_size": "x"},
            "image_size",
            "not a parameter",
        ),
        (
            "Imagen 4",
            {"prompt": "x", "negative_presets": ["gore"]},
            "negative_presets",
            "unknown negative preset",
        ),
    ],
)
def test_invalid_parameters_are_rejected_with_what_is_allowed(
    model: str, kwargs: dict[str, Any], field: str, fragment: str
) -> None:
    """Cross-field, enum, range, length and item-count rules reject bad input, naming the field."""
    with pytest.raises(KieValidationError) as excinfo:
        plan(model, **kwargs)
    problems = _problems(excinfo)
    assert field in problems, problems
    assert fragment in problems[field]


def test_unknown_parameter_suggests_close_names() -> None:
    """A typo in a parameter name is reported with the closest real names."""
    with pytest.raises(KieValidationError) as excinfo:
        plan("Qwen", "x", negative_promt="blur")
    assert "negative_prompt" in _problems(excinfo)["negative_promt"]


def test_missing_local_file_is_a_problem(tmp_path: Path) -> None:
    """A path that does not exist is rejected before any upload."""
    with pytest.raises(KieValidationError) as excinfo:
        plan("Recraft Remove Background", image=str(tmp_path / "nope.png"))
    assert "file not found" in _problems(excinfo)["image"]


def test_oversized_local_file_is_a_problem(tmp_path: Path) -> None:
    """A local file above the model's per-file limit is rejected with the limit."""
    big = tmp_path / "big.png"
    big.write_bytes(b"0" * (5 * 1024 * 1024 + 1))
    with pytest.raises(KieValidationError) as excinfo:
        plan("Recraft Remove Background", image=big)
    assert "at most 5 MB" in _problems(excinfo)["image"]


def test_soft_parameters_are_dropped_with_a_warning() -> None:
    """A negative prompt, seed or output format a model lacks is not sent, and the plan says so."""
    p = plan("Flux Kontext Pro", "A bridge", negative_prompt="fog", seed=3, output_format="png")
    assert p.body == {"prompt": "A bridge", "outputFormat": "png", "model": "flux-kontext-pro"}
    assert any("negative prompt" in w for w in p.warnings)
    assert any("seed" in w for w in p.warnings)
    p2 = plan("Seedream 4.5", "A bridge", output_format="png")
    assert "output_format" not in p2.body["input"]
    assert any("file format" in w for w in p2.warnings)


def test_fixed_output_model_warns_when_fewer_asked() -> None:
    """Grok Imagine returns two images per request; asking for one plans two and says so."""
    p = plan("Grok Imagine", "A castle", n=1)
    assert p.n == 2
    assert any("2 images" in w for w in p.warnings)


def test_model_specific_fields_pass_by_wire_name() -> None:
    """Extras such as guidance_scale or enable_pro go through under their own names and are validated."""
    p = plan("Qwen", "x", guidance_scale=7.5, acceleration="high")
    assert p.body["input"]["guidance_scale"] == 7.5
    assert p.body["input"]["acceleration"] == "high"
    with pytest.raises(KieValidationError) as excinfo:
        plan("Qwen", "x", guidance_scale=25)
    assert "0–20" in _problems(excinfo)["guidance_scale"]


def test_unified_and_wire_name_together_is_a_clash() -> None:
    """Giving aspect_ratio and the wire field it maps to is reported instead of silently picking one."""
    with pytest.raises(KieValidationError) as excinfo:
        plan("Qwen", "x", aspect_ratio="16:9", image_size="square")
    assert "image_size" in _problems(excinfo)


def test_unknown_model_raises_model_not_found() -> None:
    """plan() with an unknown model raises KieModelNotFoundError (a KieValidationError)."""
    with pytest.raises(KieModelNotFoundError):
        plan("Imagine 5", "x")


def test_plan_opens_no_sockets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """plan() for every model, with local and remote inputs, never creates a socket or resolves a name."""

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("plan() touched the network")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"\xff\xd8\xff" + b"0" * 8)
    for _key, name, kwargs, _endpoint, _body in BODY_CASES:
        assert plan(name, **kwargs).body
    assert plan("Seedream 4.5", "x", images=[str(photo), IMG]).uploads[0].kind == "path"


def test_asset_objects_are_referred_to_by_id() -> None:
    """An Asset-like object (id + path) becomes an 'asset' upload carrying its manifest id."""

    class FakeAsset:
        id = "img-007"
        path = Path("/nonexistent/scene.png")

    p = plan("Flux Kontext Pro", "Warmer light", image=FakeAsset())
    assert p.body["inputImage"] == "kie-upload://0"
    assert [(u.kind, u.source, u.field) for u in p.uploads] == [("asset", "img-007", "image")]


@pytest.mark.parametrize(
    ("model", "kwargs", "wire", "expected"),
    [
        ("4o Image", {"prompt": "x", "n": 1}, "nVariants", None),
        ("4o Image", {"prompt": "x", "n": 2}, "nVariants", 2),
        ("Ideogram Character", {"prompt": "x", "images": [IMG], "n": 1}, "num_images", None),
        ("Seedream 4.0", {"prompt": "x", "n": 1}, "max_images", None),
        ("Qwen Image Edit", {"prompt": "x", "image": IMG, "n": 1}, "num_images", "1"),
        ("Wan 2.7 Image", {"prompt": "x", "n": 1}, "n", 1),
    ],
)
def test_n_of_one_is_left_to_a_documented_default(
    model: str, kwargs: dict[str, Any], wire: str, expected: Any
) -> None:
    """n=1 is left out where kie's default is 1 and sent where the default differs or is unknown."""
    p = plan(model, **kwargs)
    fields = p.body.get("input", p.body)
    assert fields.get(wire) == expected
    assert p.n == kwargs["n"]


def test_single_output_models_refuse_several_images() -> None:
    """Flux Kontext makes one image per request, so n=2 is an error naming the fix."""
    with pytest.raises(KieValidationError) as excinfo:
        plan("Flux Kontext Pro", "x", n=2)
    assert "one image per request" in _problems(excinfo)["n"]


def test_unknown_extension_is_left_to_the_upload_step(tmp_path: Path) -> None:
    """A local file without a known image extension is still planned; a known non-image type is not."""
    raw = tmp_path / "capture"
    raw.write_bytes(b"\x89PNG\r\n\x1a\n")
    assert plan("Recraft Remove Background", image=raw).uploads[0].kind == "path"
    doc = tmp_path / "notes.txt"
    doc.write_text("hello")
    with pytest.raises(KieValidationError) as excinfo:
        plan("Recraft Remove Background", image=doc)
    assert "not an accepted image type" in _problems(excinfo)["image"]


def test_negative_prompt_text_is_sent_as_written() -> None:
    """Without presets the user's negative prompt is not re-punctuated; with presets duplicates merge."""
    assert (
        plan("Qwen", "x", negative_prompt="blurry,grainy").body["input"]["negative_prompt"] == "blurry,grainy"
    )
    merged = plan("Qwen", "x", negative_prompt="blurry, logo", negative_presets="universal")
    terms = merged.body["input"]["negative_prompt"].split(", ")
    assert terms[:3] == ["blurry", "logo", "pixelated"]
    assert terms.count("blurry") == 1
