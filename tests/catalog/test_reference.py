"""The catalog agrees with the Market request schemas in ../shared/reference, or says why it does not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kie_widgets.catalog import Field, ModelSpec, all_specs

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO.parent / "shared" / "reference" / "kie-market-image-models.json"
NEW_MODELS = Path(__file__).resolve().parent / "fixtures" / "new_models.json"

# reference key -> Field attribute
_LIMITS = {
    "minimum": "minimum",
    "maximum": "maximum",
    "minLength": "min_length",
    "maxLength": "max_length",
    "minItems": "min_items",
    "maxItems": "max_items",
    "itemType": "item_type",
    "max_file_mb": "max_file_mb",
}


@pytest.fixture(scope="module")
def reference() -> list[dict[str, Any]]:
    """The Market models of the reference file (skipped when the shared folder is absent)."""
    if not REFERENCE.is_file():
        pytest.skip(f"reference schemas not found at {REFERENCE}")
    data = json.loads(REFERENCE.read_text(encoding="utf-8"))
    assert data["count"] == len(data["models"])
    return list(data["models"])


@pytest.fixture(scope="module")
def new_models() -> list[dict[str, Any]]:
    """The schemas of models newer than the reference, each with its source (kept in this repo)."""
    data = json.loads(NEW_MODELS.read_text(encoding="utf-8"))
    assert data["count"] == len(data["models"])
    assert all(m["source"] and m["unsure"] for m in data["models"])
    return list(data["models"])


def _market() -> dict[str, ModelSpec]:
    return {s.id: s for s in all_specs() if s.family == "market"}


def _field_differences(ref: dict[str, Any], f: Field) -> list[str]:
    diffs: list[str] = []
    if ref["type"] != f.type:
        diffs.append(f"type {ref['type']} != {f.type}")
    if ref["required"] != f.required:
        diffs.append(f"required {ref['required']} != {f.required}")
    if "enum" in ref and (f.enum is None or list(f.enum) != ref["enum"]):
        diffs.append(f"enum {ref['enum']} != {f.enum}")
    if "enum" not in ref and f.enum is not None:
        diffs.append(f"enum (none) != {f.enum}")
    if "default" in ref and (not f.has_default or f.default != ref["default"]):
        diffs.append(f"default {ref['default']!r} != {f.default if f.has_default else '(none)'!r}")
    if "default" not in ref and f.has_default:
        diffs.append(f"default (none) != {f.default!r}")
    for key, attr in _LIMITS.items():
        if ref.get(key) != getattr(f, attr):
            diffs.append(f"{key} {ref.get(key)!r} != {getattr(f, attr)!r}")
    if tuple(ref.get("mime_types", ())) != f.mime_types:
        diffs.append(f"mime_types {ref.get('mime_types')} != {f.mime_types}")
    return diffs


def _name_mismatches(models: list[dict[str, Any]]) -> dict[str, Any]:
    specs = _market()
    return {
        m["model"]: (sorted(f["name"] for f in m["input"]), sorted(specs[m["model"]].field_names))
        for m in models
        if sorted(f["name"] for f in m["input"]) != sorted(specs[m["model"]].field_names)
    }


def _field_checks(models: list[dict[str, Any]]) -> tuple[list[str], set[str]]:
    """(differences no note explains, fields whose differences a note explains)."""
    specs = _market()
    unexplained: list[str] = []
    explained: set[str] = set()
    for m in models:
        spec = specs[m["model"]]
        for ref_field in m["input"]:
            f = spec.field(ref_field["name"])
            assert f is not None
            diffs = _field_differences(ref_field, f)
            if diffs and not f.note:
                unexplained.append(f"{spec.id}.{f.name}: {'; '.join(diffs)}")
            if diffs:
                explained.add(f"{spec.id}.{f.name}")
    return unexplained, explained


def _input_requirement_mismatches(models: list[dict[str, Any]]) -> list[str]:
    specs = _market()
    return [
        m["model"] for m in models if ("input" in m["request_required"]) != specs[m["model"]].input_required
    ]


def test_every_reference_model_is_in_the_catalog(reference: list[dict[str, Any]]) -> None:
    """Each of the reference's Market model ids has a catalog spec."""
    missing = [m["model"] for m in reference if m["model"] not in _market()]
    assert missing == []
    assert len(reference) == 52


def test_catalog_models_beyond_the_reference_are_marked_unsure(
    reference: list[dict[str, Any]], new_models: list[dict[str, Any]]
) -> None:
    """Market models neither schema file has exist only as documented-elsewhere extras flagged unsure."""
    known = {m["model"] for m in reference} | {m["model"] for m in new_models}
    extras = [s for s in _market().values() if s.id not in known]
    assert [s.id for s in extras] == ["ideogram/v3-reframe"]
    assert all(s.unsure and s.notes for s in extras)


def test_new_models_are_exactly_the_fixtures_models(new_models: list[dict[str, Any]]) -> None:
    """The catalog marks as new exactly the models whose schemas the fixture holds, none twice."""
    ids = [m["model"] for m in new_models]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(s.id for s in _market().values() if s.age == "new")


def test_field_names_match_the_reference(reference: list[dict[str, Any]]) -> None:
    """Every model has exactly the reference's input field names."""
    assert _name_mismatches(reference) == {}


def test_types_enums_defaults_and_limits_match_or_are_explained(reference: list[dict[str, Any]]) -> None:
    """Field types, enums, defaults and limits equal the reference unless the field's note explains why."""
    unexplained, explained = _field_checks(reference)
    assert unexplained == []
    # The deliberate deviations: Flux-2's 3-character prompt and 1-reference minimums from the page text.
    flux2 = {f"flux-2/{t}-{m}" for t in ("pro", "flex") for m in ("text-to-image", "image-to-image")}
    assert explained == {f"{i}.prompt" for i in flux2} | {f"{i}.input_urls" for i in flux2 if "image-to" in i}


def test_top_level_input_requirement_matches_the_reference(reference: list[dict[str, Any]]) -> None:
    """Models whose schema requires the top-level ``input`` are flagged so the wire check demands it."""
    assert _input_requirement_mismatches(reference) == []


def test_new_models_match_their_fixture_schemas(new_models: list[dict[str, Any]]) -> None:
    """New models have the fixture's fields, types, enums, defaults, limits and input requirement."""
    assert _name_mismatches(new_models) == {}
    assert _input_requirement_mismatches(new_models) == []
    unexplained, explained = _field_checks(new_models)
    assert unexplained == []
    # Where the sources publish nothing: Flash's aspect default and file-size limits.
    flash = "seedream/5-flash"
    assert explained == {
        f"{flash}-text-to-image.aspect_ratio",
        f"{flash}-image-to-image.aspect_ratio",
        f"{flash}-image-to-image.image_urls",
        f"{flash}-layer-decomposition.image_url",
    }


def _fixture_prices(m: dict[str, Any]) -> list[tuple[dict[str, Any], float]]:
    """(wire input, credits) pairs the fixture's price entry states for one model."""
    price = m["price"]
    base = {f["name"]: "https://example.com/a.png" for f in m["input"] if f["name"] in ("image_url",)}
    if "credits_by_resolution" in price:
        tier = "size" if any(f["name"] == "size" for f in m["input"]) else "resolution"
        return [({**base, tier: res}, credits) for res, credits in price["credits_by_resolution"].items()]
    credits = price.get("credits", price.get("credits_per_layer"))
    return [(base, float(credits))]


def test_new_model_prices_match_their_fixture(new_models: list[dict[str, Any]]) -> None:
    """Each new model charges what its fixture's source says, tier by tier."""
    specs = _market()
    wrong = []
    for m in new_models:
        spec = specs[m["model"]]
        for fields, credits in _fixture_prices(m):
            got = spec.price({"model": spec.id, "input": fields})
            if got != credits:
                wrong.append((spec.id, fields, got, credits))
    assert wrong == []
