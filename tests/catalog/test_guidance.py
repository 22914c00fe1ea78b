"""Guidance as features: recommend(), the prompt linter, negative presets, the prompt formula, models()."""

from __future__ import annotations

import json

import pytest
from catalog_cases import IMG

from kie_widgets.catalog import (
    CAPABILITIES,
    NEGATIVE_PRESETS,
    PromptFormula,
    combine_presets,
    lint,
    models,
    needs,
    parameters,
    plan,
    preset_terms,
    recommend,
    resolve,
)
from kie_widgets.errors import KieValidationError

# ------------------------------------------------------------------ recommend


@pytest.mark.parametrize(
    ("need", "first"),
    [
        ("text in the image", "4o Image"),
        ("a logo with lettering", "4o Image"),
        ("editing a photo", "Flux Kontext Pro"),
        ("fast and cheap drafts", "Z-Image"),
        ("photorealistic product shot", "Imagen 4"),
        ("upscaling", "Topaz Image Upscale"),
        ("background removal", "Recraft Remove Background"),
        ("character consistency", "Ideogram Character"),
        ("inpaint with a mask", "4o Image"),
        ("best quality, general purpose", "4o Image"),
        ("16:9 video frame", "Flux Kontext Max"),
    ],
)
def test_recommend_ranks_the_guides_first_choice_first(need: str, first: str) -> None:
    """Each need from the selection guide puts its best model first, with a one-line reason and a price."""
    recs = recommend(need)
    assert recs[0].name == first
    assert [r.rank for r in recs] == list(range(1, len(recs) + 1))
    assert all(r.reason and "\n" not in r.reason and r.price for r in recs)
    assert all(resolve(r.model_id).id == r.model_id for r in recs)


def test_recommend_combines_needs() -> None:
    """A model that serves two stated needs outranks one that serves only one."""
    recs = recommend("photorealistic and widescreen")
    assert recs[0].name == "Imagen 4"


def test_recommend_ranks_the_newest_models_where_they_serve_the_need() -> None:
    """The newest models enter the ranking where they do the job better or cheaper."""
    assert [r.name for r in recommend("fast and cheap")][:2] == ["Z-Image", "Seedream 5.0 Flash"]
    assert [r.model_id for r in recommend("layers")] == [
        "seedream/5-pro-layer-decomposition",
        "seedream/5-flash-layer-decomposition",
    ]
    assert "GPT Image 2.5 Flare" in [r.name for r in recommend("text in the image")]
    assert "Grok Imagine Image 2.0 Segment Edit" in [r.name for r in recommend("inpainting")]


def test_recommend_unknown_need_lists_known_needs() -> None:
    """A need the guide does not cover is an error naming the needs it does."""
    with pytest.raises(KieValidationError) as excinfo:
        recommend("make me a sandwich")
    assert "upscale" in (excinfo.value.problems[0].allowed or "")
    assert "text" in needs()


def test_recommend_respects_limit() -> None:
    """limit caps the number of suggestions."""
    assert len(recommend("edit", limit=2)) == 2


# ------------------------------------------------------------------ presets


def test_presets_are_named_term_lists() -> None:
    """The three presets exist and hold the guide's terms."""
    assert set(NEGATIVE_PRESETS) == {"universal", "human figures", "photorealism"}
    assert "watermark" in NEGATIVE_PRESETS["universal"]
    assert "fused fingers" in NEGATIVE_PRESETS["human figures"]
    assert "3D render" in NEGATIVE_PRESETS["photorealism"]


def test_presets_combine_without_duplicates() -> None:
    """Combining presets keeps order and drops repeated terms; short aliases work."""
    terms = preset_terms(["universal", "human", "universal"])
    assert terms[:2] == ["blurry", "pixelated"]
    assert len(terms) == len(set(terms)) == 21
    assert combine_presets("photo").startswith("cartoon, illustration")
    with pytest.raises(KeyError):
        preset_terms("gore")


def test_presets_reach_models_with_a_negative_prompt() -> None:
    """negative_presets are merged into the negative prompt of models that take one."""
    p = plan("Qwen", "A quiet harbour at dawn", negative_prompt="boats", negative_presets="photorealism")
    assert p.body["input"]["negative_prompt"].startswith("boats, cartoon, illustration")


def test_presets_for_models_without_negative_prompt_only_warn() -> None:
    """For a model without a negative prompt, presets are not sent and the plan warns."""
    p = plan("4o Image", "A harbour at dawn", negative_presets=["universal"])
    assert "negative_prompt" not in p.body
    assert any("takes no negative prompt" in w for w in p.warnings)
    assert p.params["negative_prompt"].startswith("blurry")


# ------------------------------------------------------------------ formula


def test_prompt_formula_builds_in_order_and_skips_empty_parts() -> None:
    """The formula joins subject, environment, lighting, camera, style, palette, mood, quality in order."""
    f = PromptFormula(
        subject="a fox leaping",
        quality="highly detailed",
        lighting="golden hour",
        environment="over a frozen stream",
    )
    assert str(f) == "a fox leaping, over a frozen stream, golden hour, highly detailed"
    assert f.missing() == ["camera", "style", "palette", "mood"]
    assert f.word_count == 11
    assert [p[0] for p in PromptFormula.PARTS] == [
        "subject",
        "environment",
        "lighting",
        "camera",
        "style",
        "palette",
        "mood",
        "quality",
    ]
    assert PromptFormula.from_mapping({"subject": "x", "mood": "calm"}).build() == "x, calm"


# ------------------------------------------------------------------ linter

LONG_SEEDREAM = " ".join(["word"] * 130)


@pytest.mark.parametrize(
    ("model", "kwargs", "code"),
    [
        ("Imagen 4", {"prompt": "A meadow", "negative_prompt": "no people, avoid fences"}, "imagen-negation"),
        (
            "Qwen",
            {"prompt": "A meadow", "negative_prompt": ", ".join(f"t{i}" for i in range(16))},
            "too-many-negatives",
        ),
        (
            "Imagen 4",
            {"prompt": "A meadow", "negative_prompt": ", ".join(f"t{i}" for i in range(12))},
            "imagen-long-negative",
        ),
        (
            "Qwen",
            {"prompt": "A red fox in a meadow", "negative_prompt": "fox, blur"},
            "negative-contradicts-prompt",
        ),
        (
            "Imagen 4",
            {"prompt": "A red fox in snow", "negative_prompt": "no fox"},
            "negative-contradicts-prompt",
        ),
        ("Ideogram", {"prompt": "A shop sign that says OPEN in neon"}, "unquoted-text"),
        ("4o Image", {"prompt": "A widescreen 16:9 landscape of dunes"}, "4o-widescreen"),
        (
            "Flux Kontext Pro",
            {
                "prompt": "Change the sky, replace the car, add a dog, remove the tree, make it night",
                "image": IMG,
            },
            "flux-edit-too-broad",
        ),
        ("Seedream 4.5", {"prompt": LONG_SEEDREAM}, "seedream-too-long"),
        (
            "Imagen 4",
            {"prompt": "A knight, a dragon, a castle and a storm with lightning"},
            "short-complex-prompt",
        ),
        ("Imagen 4", {"prompt": "A beautiful sunset over a nice lake"}, "vague-adjectives"),
    ],
)
def test_linter_warns(model: str, kwargs: dict[str, object], code: str) -> None:
    """Each prompting pitfall of the guide produces its warning, which plan() returns."""
    spec = resolve(model, has_image="image" in kwargs)
    codes = [w.code for w in lint(spec, kwargs)]
    assert code in codes
    message = next(w.message for w in lint(spec, kwargs) if w.code == code)
    assert message in plan(model, **kwargs).warnings  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("model", "kwargs"),
    [
        ("Imagen 4", {"prompt": "A meadow at dawn", "negative_prompt": "people, fences"}),
        ("Ideogram", {"prompt": 'A shop sign that says "OPEN" in neon'}),
        ("Flux Kontext Pro", {"prompt": "Change the sky to a stormy one", "image": IMG}),
        ("Seedream 4.5", {"prompt": "A cat asleep on a windowsill in soft morning light"}),
        ("4o Image", {"prompt": "Rolling dunes under a pale sky, shot for a 3:2 print"}),
    ],
)
def test_linter_is_quiet_on_good_prompts(model: str, kwargs: dict[str, object]) -> None:
    """Well-formed prompts produce no lint warnings."""
    assert plan(model, **kwargs).warnings == ()  # type: ignore[arg-type]


# ------------------------------------------------------------------ listing


def test_models_lists_every_kie_model_once_as_plain_rows() -> None:
    """models() returns one JSON-serialisable row per kie id with the columns the UI renders."""
    rows = models()
    # 4o, Flux Pro, Flux Max, 52 Market models, Ideogram Reframe, 9 newer models (fixtures/new_models.json)
    assert len(rows) == 65
    assert len({r["id"] for r in rows}) == len(rows)
    json.dumps(rows)
    flux = next(r for r in rows if r["id"] == "flux-kontext-max")
    assert flux["modes"] == ("text-to-image", "edit")
    assert flux["aspect_ratios"] == ("21:9", "16:9", "4:3", "1:1", "3:4", "9:16")
    assert flux["price"] == "10 cr/image"
    qwen = next(r for r in rows if r["id"] == "qwen/text-to-image")
    assert qwen["aspect_ratios"] == ("1:1", "3:4", "9:16", "4:3", "16:9")
    assert qwen["negative_prompt"] is True


def test_models_mark_new_and_older_models() -> None:
    """Rows say which models are kie's newest and which kie files under older models."""
    ages = {r["name"]: r["age"] for r in models()}
    older = {n for n, a in ages.items() if a == "older"}
    assert older == {"4o Image", "Flux Kontext Pro", "Flux Kontext Max"}
    assert {"GPT Image 2.5 Flare", "Nano Banana 2.1", "Seedream 5.0 Flash"} <= {
        n for n, a in ages.items() if a == "new"
    }
    assert ages["GPT Image 2"] == ""


def test_models_filters_by_mode_and_capability() -> None:
    """Mode and capability filters keep only matching models."""
    upscalers = {r["name"] for r in models(mode="upscale")}
    assert upscalers == {"Topaz Image Upscale", "Recraft Crisp Upscale"}
    masked = {r["name"] for r in models(capability="mask")}
    assert masked == {"4o Image", "Ideogram V3 Edit", "Ideogram Character Edit"}
    assert all(r["negative_prompt"] for r in models(capability="negative_prompt"))
    assert {r["name"] for r in models(capability="multiple_outputs", family="market")} >= {
        "Wan 2.7 Image",
        "Grok Imagine",
    }
    assert [r["id"] for r in models(search="topaz")] == ["topaz/image-upscale"]
    assert {r["family"] for r in models(family="gpt4o")} == {"gpt4o"}
    assert "mask" in CAPABILITIES
    with pytest.raises(ValueError, match="unknown capability"):
        models(capability="teleport")


def test_parameters_lists_unified_names_then_extras() -> None:
    """parameters() shows unified names with unified choices first, then the model's own fields."""
    rows = {r["name"]: r for r in parameters("Qwen")}
    names = [r["name"] for r in parameters("Qwen")]
    assert names[:5] == ["prompt", "aspect_ratio", "negative_prompt", "seed", "output_format"]
    assert rows["aspect_ratio"]["wire"] == "image_size"
    assert rows["aspect_ratio"]["choices"] == ("1:1", "3:4", "9:16", "4:3", "16:9")
    assert rows["aspect_ratio"]["default"] == "1:1"
    assert (rows["guidance_scale"]["minimum"], rows["guidance_scale"]["maximum"]) == (0, 20)
    seedream = {r["name"]: r for r in parameters("Seedream 4.5")}
    assert seedream["resolution"]["choices"] == ("2K", "4K")
    assert "quality" not in seedream
    edit = [r["name"] for r in parameters("Seedream 4.5", has_image=True)]
    assert "images" in edit
    four_o = [r["name"] for r in parameters("4o Image")]
    assert four_o[:4] == ["prompt", "images", "mask", "aspect_ratio"]
    assert "callBackUrl" not in four_o


@pytest.mark.parametrize(
    ("model_id", "price"),
    [
        ("gpt4o-image", "6 cr/image"),
        ("grok-imagine/text-to-image", "4 cr/request (5 with enable_pro)"),
        ("nano-banana-2", "1K 8 / 2K 12 / 4K 18 cr/image by resolution"),
        ("seedream/5-pro-image-to-image", "basic 7 / high 14 cr/image by quality + 0.5 per extra input"),
        ("qwen3/pro-image-to-image", "1K 6.4 / 2K 12 cr/image by resolution + 0.5 per input"),
        ("qwen/text-to-image", "4 cr/megapixel (4.19 at square_hd)"),
    ],
)
def test_listing_prices_read_as_short_text(model_id: str, price: str) -> None:
    """The listing's price column summarises each model's price table in one line."""
    row = next(r for r in models() if r["id"] == model_id)
    assert row["price"] == price


@pytest.mark.parametrize("mode", ["upscale", "remove-background"])
def test_default_model_for_a_job_is_the_guidances_first_choice(mode: str) -> None:
    """The model used when none is named is the one recommend() ranks first for that job."""
    from kie_widgets.catalog import all_specs, default_model, recommend

    chosen = default_model(mode)
    assert chosen == recommend(mode.replace("-", " "))[0].model_id
    assert any(spec.id == chosen and spec.mode == mode for spec in all_specs())


def test_default_model_falls_back_to_the_catalog_for_modes_without_guidance() -> None:
    """A mode the guidance does not cover still gets a model of that mode."""
    from kie_widgets.catalog import all_specs, default_model

    chosen = default_model("layer-decomposition")
    assert chosen in {spec.id for spec in all_specs() if spec.mode == "layer-decomposition"}


def test_default_model_for_an_unknown_mode_names_the_mode() -> None:
    """A mode no model serves is a validation error naming it."""
    from kie_widgets.catalog import default_model

    with pytest.raises(KieValidationError, match="no teleport model"):
        default_model("teleport")
