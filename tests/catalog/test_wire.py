"""Wire-level helpers the sandbox relies on: check_wire, price, outputs and spec_for_request."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from catalog_cases import BODY_CASES, IMG, IMG2, MASK, PRICE_CASES

from kie_widgets.catalog import Field, ModelSpec, all_specs, spec_for_request
from kie_widgets.catalog._names import registry
from kie_widgets.errors import KieModelNotFoundError

BASE = {key: body for key, _name, _kw, _ep, body in BODY_CASES}


def _spec(key: str) -> ModelSpec:
    return registry().by_key[key]


def _fields_of(spec: ModelSpec, body: dict[str, Any]) -> dict[str, Any]:
    return body["input"] if spec.family == "market" else body


def _with(spec: ModelSpec, name: str, value: Any) -> dict[str, Any]:
    """The model's base body with one wire field set (other fields kept as the body case has them)."""
    body = copy.deepcopy(BASE[spec.key])
    fields = _fields_of(spec, body)
    fields[name] = value
    # Neutralise cross-field rules so each table row tests one field's own limits.
    if spec.id.startswith("gpt-image-2") and name != "resolution":
        fields.pop("resolution", None)
    if spec.id.startswith("wan/"):
        fields.pop("input_urls", None) if name != "input_urls" else None
    return body


def _problem_fields(spec: ModelSpec, body: dict[str, Any]) -> list[str]:
    return [p.field.split("[")[0] for p in spec.wire_problems(body)]


def _rows(pick: Any) -> list[tuple[str, str, Any]]:
    return [(s.key, f.name, v) for s in all_specs() for f in s.fields for v in pick(f)]


def _valid_enum(f: Field) -> list[Any]:
    return list(f.enum) if f.enum is not None else []


def _invalid_enum(f: Field) -> list[Any]:
    if f.enum is None:
        return []
    return [99] if f.type == "integer" else ["__not_allowed__"]


def _range_ok(f: Field) -> list[Any]:
    if f.type not in ("integer", "number"):
        return []
    return [v for v in (f.minimum, f.maximum) if v is not None]


def _range_bad(f: Field) -> list[Any]:
    if f.type not in ("integer", "number"):
        return []
    step = 1 if f.type == "integer" else 0.001
    out: list[Any] = []
    if f.minimum is not None:
        out.append(f.minimum - step)
    if f.maximum is not None:
        out.append(f.maximum + step)
    return out


def _items(f: Field, count: int) -> list[Any]:
    if f.item_type == "integer":
        return list(range(count))
    if f.item_type == "object":
        return [{"hex": "#112233"}] * count
    if f.item_type == "array":
        return [[[0, 0, 10, 10]]] * count
    return [f"https://example.com/{i}.png" for i in range(count)]


@pytest.mark.parametrize(("key", "name", "value"), [*_rows(_valid_enum), *_rows(_range_ok)])
def test_enum_values_and_range_bounds_pass(key: str, name: str, value: Any) -> None:
    """Each value an enum allows, and a numeric field's documented minimum and maximum, are accepted."""
    spec = _spec(key)
    assert name not in _problem_fields(spec, _with(spec, name, value))


@pytest.mark.parametrize(
    ("key", "name", "value", "fragment"),
    [
        *((*row, "allowed:") for row in _rows(_invalid_enum)),
        *((*row, "out of range") for row in _rows(_range_bad)),
    ],
)
def test_values_outside_an_enum_or_a_range_are_rejected(
    key: str, name: str, value: Any, fragment: str
) -> None:
    """A value outside an enum (reported with the allowed values) or just outside a range is rejected."""
    spec = _spec(key)
    body = _with(spec, name, value)
    assert name in _problem_fields(spec, body)
    assert any(fragment in t for t in spec.check_wire(body))


@pytest.mark.parametrize(
    ("key", "name", "value"),
    _rows(lambda f: [f.max_length] if f.type == "string" and f.max_length and f.max_length <= 20000 else []),
)
def test_strings_up_to_max_length_pass_and_one_more_fails(key: str, name: str, value: int) -> None:
    """A string of exactly max_length characters is fine; one more character is reported."""
    spec = _spec(key)
    assert name not in _problem_fields(spec, _with(spec, name, "x" * value))
    assert name in _problem_fields(spec, _with(spec, name, "x" * (value + 1)))


@pytest.mark.parametrize(
    ("key", "name", "value"), _rows(lambda f: [f.min_length] if f.type == "string" and f.min_length else [])
)
def test_strings_shorter_than_min_length_fail(key: str, name: str, value: int) -> None:
    """A string one character shorter than min_length is reported."""
    spec = _spec(key)
    assert name in _problem_fields(spec, _with(spec, name, "x" * (value - 1)))
    assert name not in _problem_fields(spec, _with(spec, name, "x" * value))


@pytest.mark.parametrize(("key", "name", "value"), _rows(lambda f: [f.max_items] if f.max_items else []))
def test_lists_up_to_max_items_pass_and_one_more_fails(key: str, name: str, value: int) -> None:
    """A list of exactly max_items entries is fine; one more is reported."""
    spec = _spec(key)
    f = spec.field(name)
    assert f is not None
    assert name not in _problem_fields(spec, _with(spec, name, _items(f, value)))
    assert name in _problem_fields(spec, _with(spec, name, _items(f, value + 1)))


@pytest.mark.parametrize(("key", "name", "value"), _rows(lambda f: [f.min_items] if f.min_items else []))
def test_lists_shorter_than_min_items_fail(key: str, name: str, value: int) -> None:
    """A list one entry shorter than min_items is reported."""
    spec = _spec(key)
    f = spec.field(name)
    assert f is not None
    assert name in _problem_fields(spec, _with(spec, name, _items(f, value - 1)))


@pytest.mark.parametrize(("key", "name", "value"), _rows(lambda f: [None] if f.required else []))
def test_required_fields_must_be_present(key: str, name: str, value: None) -> None:
    """Removing a required field is reported as 'is required'."""
    spec = _spec(key)
    body = copy.deepcopy(BASE[key])
    _fields_of(spec, body).pop(name, None)
    assert f"{name}: is required" in " ".join(spec.check_wire(body))


@pytest.mark.parametrize(
    ("key", "name", "value"),
    _rows(
        lambda f: [{"wrong": "type"}] if f.type in ("string", "integer", "number", "boolean", "array") else []
    ),
)
def test_wrong_json_types_are_rejected(key: str, name: str, value: Any) -> None:
    """A value of the wrong JSON type is reported for that field."""
    spec = _spec(key)
    assert name in _problem_fields(spec, _with(spec, name, value))


def test_file_fields_need_public_urls() -> None:
    """Uploaded-file fields take http(s) URLs, never local paths."""
    spec = _spec("google/nano-banana-edit")
    body = {"model": spec.id, "input": {"prompt": "x", "image_urls": ["/tmp/a.png"]}}
    assert spec.check_wire(body) == ["image_urls[0]: must be a public http(s) URL; got '/tmp/a.png'"]


def test_unknown_fields_and_top_level_keys_are_reported() -> None:
    """An unknown input field, a stray top-level key and a mismatched model are all reported."""
    spec = _spec("google/imagen4")
    body = {"model": "google/imagen4-fast", "input": {"prompt": "x", "aspectRatio": "1:1"}, "extra": 1}
    assert sorted(p.field for p in spec.wire_problems(body)) == ["aspectRatio", "extra", "model"]
    assert "aspect_ratio" in " ".join(spec.check_wire(body))


def test_market_input_object_required_where_schema_says_so() -> None:
    """Newer Market schemas require the top-level input; older ones only require the model."""
    assert "input: is required" in _spec("nano-banana-2").check_wire({"model": "nano-banana-2"})
    assert "input: is required" not in _spec("google/imagen4").check_wire({"model": "google/imagen4"})


@pytest.mark.parametrize(
    ("key", "fields", "bad_field"),
    [
        ("gpt4o-image", {"size": "1:1"}, "prompt"),
        ("gpt4o-image", {"size": "1:1", "prompt": "x", "maskUrl": MASK}, "maskUrl"),
        ("gpt4o-image", {"size": "1:1", "prompt": "x", "filesUrl": [IMG, IMG2], "maskUrl": MASK}, "maskUrl"),
        ("gpt4o-image", {"size": "1:1", "filesUrl": [IMG], "maskUrl": MASK}, None),
        ("gpt4o-image", {"size": "1:1", "filesUrl": [IMG]}, None),
        (
            "gpt-image-2-text-to-image",
            {"prompt": "x", "aspect_ratio": "1:1", "resolution": "4K"},
            "resolution",
        ),
        ("gpt-image-2-text-to-image", {"prompt": "x", "aspect_ratio": "1:1", "resolution": "2K"}, None),
        (
            "gpt-image-2-text-to-image",
            {"prompt": "x", "aspect_ratio": "auto", "resolution": "2K"},
            "resolution",
        ),
        ("gpt-image-2-text-to-image", {"prompt": "x", "resolution": "4K"}, "resolution"),
        (
            "gpt-image-2-text-to-image",
            {"prompt": "x", "aspect_ratio": "5:4", "resolution": "2K"},
            "aspect_ratio",
        ),
        (
            "gpt-image-2-text-to-image",
            {"prompt": "x", "aspect_ratio": "3:1", "resolution": "4K"},
            "aspect_ratio",
        ),
        ("gpt-image-2-text-to-image", {"prompt": "x", "aspect_ratio": "5:4", "resolution": "1K"}, None),
        ("gpt-image-2-text-to-image", {"prompt": "x", "aspect_ratio": "16:9", "resolution": "4K"}, None),
        (
            "gpt-image-2-image-to-image",
            {"prompt": "x", "input_urls": [IMG], "aspect_ratio": "4:5", "resolution": "2K"},
            "aspect_ratio",
        ),
        (
            "gpt-image-2-image-to-image",
            {"prompt": "x", "input_urls": [IMG], "aspect_ratio": "3:1", "resolution": "2K"},
            None,
        ),
        (
            "gpt-image-2-5-flare-text-to-image",
            {"prompt": "x", "aspect_ratio": "9:8", "resolution": "2K"},
            "aspect_ratio",
        ),
        (
            "gpt-image-2-5-flare-text-to-image",
            {"prompt": "x", "aspect_ratio": "9:8", "resolution": "1K"},
            None,
        ),
        ("gpt-image-2-5-sunburst-text-to-image", {"prompt": "x", "resolution": "4K"}, None),
        (
            "gpt-image-2-5-sunburst-image-to-image",
            {"prompt": "x", "input_urls": [IMG], "aspect_ratio": "16:27", "resolution": "4K"},
            "aspect_ratio",
        ),
        ("wan/2-7-image", {"prompt": "x", "n": 5}, "n"),
        ("wan/2-7-image", {"prompt": "x", "n": 12, "enable_sequential": True}, None),
        ("wan/2-7-image", {"prompt": "x", "n": 13, "enable_sequential": True}, "n"),
        ("wan/2-7-image", {"prompt": "x", "n": 0}, "n"),
        (
            "wan/2-7-image",
            {"prompt": "x", "enable_sequential": True, "color_palette": [{"hex": "#000"}] * 3},
            "color_palette",
        ),
        ("wan/2-7-image", {"prompt": "x", "color_palette": [{"hex": "#000"}] * 3}, None),
        ("wan/2-7-image", {"prompt": "x", "thinking_mode": True, "input_urls": [IMG]}, "thinking_mode"),
        ("wan/2-7-image", {"prompt": "x", "thinking_mode": True, "enable_sequential": True}, "thinking_mode"),
        ("wan/2-7-image", {"prompt": "x", "thinking_mode": True}, None),
        (
            "wan/2-7-image",
            {"prompt": "x", "input_urls": [IMG], "bbox_list": [[[1, 2, 3, 4]], [[1, 2, 3, 4]]]},
            "bbox_list",
        ),
        ("wan/2-7-image", {"prompt": "x", "input_urls": [IMG], "bbox_list": [[[1, 2, 3]]]}, "bbox_list"),
        (
            "wan/2-7-image",
            {"prompt": "x", "input_urls": [IMG], "bbox_list": [[[1, 2, 3, 4]] * 3]},
            "bbox_list",
        ),
        (
            "wan/2-7-image",
            {"prompt": "x", "input_urls": [IMG], "bbox_list": [[[1, 2, 3, 4], [5, 6, 7, 8]]]},
            None,
        ),
        ("wan/2-7-image", {"prompt": "x", "input_urls": [IMG], "resolution": "4K"}, None),
        ("wan/2-7-image-pro", {"prompt": "x", "input_urls": [IMG], "resolution": "4K"}, "resolution"),
        ("wan/2-7-image-pro", {"prompt": "x", "enable_sequential": True, "resolution": "4K"}, "resolution"),
        ("wan/2-7-image-pro", {"prompt": "x", "resolution": "4K"}, None),
    ],
)
def test_cross_field_rules(key: str, fields: dict[str, Any], bad_field: str | None) -> None:
    """Rules that tie fields together (4o mask, GPT Image 2 sizes, Wan modes) are enforced on the wire."""
    spec = _spec(key)
    body = fields if spec.family != "market" else {"model": spec.id, "input": fields}
    problems = [p.field.split("[")[0] for p in spec.wire_problems(body)]
    assert problems == ([] if bad_field is None else [bad_field])


@pytest.mark.parametrize(
    ("edit", "tolerance", "ok"),
    [
        (False, 6, True),
        (False, 7, False),
        (True, 2, True),
        (True, 3, False),
        (True, 0, True),
        (False, -1, False),
    ],
)
def test_flux_safety_tolerance_depends_on_mode(edit: bool, tolerance: int, ok: bool) -> None:
    """Flux Kontext accepts safetyTolerance 0–6 when generating and 0–2 when editing."""
    body: dict[str, Any] = {"prompt": "x", "safetyTolerance": tolerance}
    if edit:
        body["inputImage"] = IMG
    spec = spec_for_request("/api/v1/flux/kontext/generate", body)
    assert spec.mode == ("edit" if edit else "text-to-image")
    assert (spec.check_wire(body) == []) is ok


@pytest.mark.parametrize(("key", "body", "credits", "images"), PRICE_CASES)
def test_price_and_outputs_of_wire_requests(
    key: str, body: dict[str, Any], credits: float, images: int
) -> None:
    """price() charges kie's credits for the whole request and outputs() counts its images."""
    spec = _spec(key)
    assert spec.check_wire(body) == []
    assert spec.price(body) == pytest.approx(credits)
    assert spec.outputs(body) == images


@pytest.mark.parametrize(
    ("endpoint", "body", "key"),
    [
        ("/api/v1/gpt4o-image/generate", {"prompt": "x", "size": "1:1"}, "gpt4o-image"),
        ("https://api.kie.ai/api/v1/gpt4o-image/generate", {}, "gpt4o-image"),
        ("/api/v1/flux/kontext/generate", {"prompt": "x"}, "flux-kontext-pro"),
        ("/api/v1/flux/kontext/generate/", {"prompt": "x", "inputImage": IMG}, "flux-kontext-pro#edit"),
        (
            "http://127.0.0.1:9/api/v1/flux/kontext/generate",
            {"model": "flux-kontext-max"},
            "flux-kontext-max",
        ),
        (
            "/api/v1/flux/kontext/generate",
            {"model": "flux-kontext-max", "inputImage": IMG},
            "flux-kontext-max#edit",
        ),
        ("/api/v1/jobs/createTask", {"model": "seedream/4.5-edit", "input": {}}, "seedream/4.5-edit"),
        ("/api/v1/jobs/createTask", {"model": "z-image"}, "z-image"),
    ],
)
def test_spec_for_request_finds_the_addressed_model(endpoint: str, body: dict[str, Any], key: str) -> None:
    """The sandbox finds the model from the endpoint and the wire body alone."""
    assert spec_for_request(endpoint, body).key == key


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("/api/v1/jobs/createTask", {"model": "google/nano-banana-pro"}),
        ("/api/v1/jobs/createTask", {"model": "Imagen 4"}),
        ("/api/v1/jobs/createTask", {}),
        ("/api/v1/jobs/createTask", {"model": "gpt4o-image"}),
        ("/api/v1/flux/kontext/generate", {"model": "flux-kontext-ultra"}),
        ("/api/v1/veo/generate", {"model": "veo3"}),
    ],
)
def test_spec_for_request_rejects_what_kie_would_not_know(endpoint: str, body: dict[str, Any]) -> None:
    """Unknown wire model ids (kie matches ids exactly) and unknown endpoints raise KieModelNotFoundError."""
    with pytest.raises(KieModelNotFoundError):
        spec_for_request(endpoint, body)


def test_wrong_market_id_suggests_real_ids() -> None:
    """A near-miss Market id comes back with the closest real ids."""
    with pytest.raises(KieModelNotFoundError) as excinfo:
        spec_for_request("/api/v1/jobs/createTask", {"model": "google/imagen-4"})
    assert "google/imagen4" in excinfo.value.suggestions
    assert len(excinfo.value.suggestions) == 3


def test_every_spec_has_a_sane_timeout_price_and_endpoint() -> None:
    """Each spec carries a positive default timeout, a price source and one of the three endpoints."""
    endpoints = {"/api/v1/gpt4o-image/generate", "/api/v1/flux/kontext/generate", "/api/v1/jobs/createTask"}
    for spec in all_specs():
        assert 60 <= spec.default_timeout <= 900, spec.key
        assert spec.pricing.source, spec.key
        assert spec.endpoint in endpoints
        assert spec.family in ("gpt4o", "flux-kontext", "market")
