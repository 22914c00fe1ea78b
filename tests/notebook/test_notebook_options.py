"""Parsing of the %kie_image line, prompt interpolation and --set values (no client, no display)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError

from kie_widgets.notebook import options as opts


@pytest.mark.parametrize(
    ("line", "models"),
    [
        ("", ()),
        ("imagen4", ("imagen4",)),
        ("Flux Kontext Max", ("Flux Kontext Max",)),
        ("'4o Image' --ratio 3:2", ("4o Image",)),
        (
            "Imagen 4, Seedream 4.5 ,flux-kontext-pro -r 16:9",
            ("Imagen 4", "Seedream 4.5", "flux-kontext-pro"),
        ),
    ],
)
def test_model_words_are_joined_and_split_on_commas(line: str, models: tuple[str, ...]) -> None:
    """Unquoted multi-word model names work and commas separate several models."""
    args = opts.parse_generate(line)
    assert args is not None
    assert args.models == models


def test_long_and_short_forms_give_the_same_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every option has a short form that parses to the same request as the long one."""
    monkeypatch.chdir(tmp_path)
    Path("a.png").write_bytes(b"x")
    long = opts.parse_generate(
        "m --ratio 16:9 --n 2 --negative blur --preset people --seed 7 --image a.png --image img-003 "
        "--mask a.png --scene scene-4 --out shots --force --no-wait --timeout 30 --set output_format=png "
        "--dry-run"
    )
    short = opts.parse_generate(
        "m -r 16:9 -n 2 -N blur -P people -s 7 -i a.png -i img-003 -m a.png -S 4 -o shots -f -W -t 30 "
        "-x output_format=png -d"
    )
    assert long == short
    assert long is not None
    assert long.params == {"aspect_ratio": "16:9", "n": 2, "negative_prompt": "blur", "seed": 7}
    assert long.images == ("a.png", "img-003")
    assert long.run.scene_id == 4
    assert long.run.wait is False
    assert long.run.extra == {"output_format": "png"}


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("--n two", "--n"),
        ("--n 0", "--n"),
        ("--ratio", "--ratio"),
        ("--scene third", "--scene"),
        ("--out 3d", "--out"),
        ("--out class", "--out"),
        ("--out None", "--out"),
        ("--timeout nan", "--timeout"),
        ("--timeout inf", "--timeout"),
        ("--set nokey", "--set"),
        ("--image missing.png", "--image"),
        ("--mask /no/such/mask.png", "--mask"),
        ("--timeout -1", "--timeout"),
        ("--wait --no-wait", "not allowed"),
        ("--bogus", "unrecognized"),
    ],
)
def test_user_mistakes_are_usage_errors_naming_the_option(line: str, needle: str) -> None:
    """A bad option fails before anything is done, with the option's name in the message."""
    with pytest.raises(UsageError, match=needle.replace("-", r"\-")):
        opts.parse_generate(line)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("3", 3), ("scene-3", 3), ("scene_03", 3), ("Scene3", 3), ("s12", 12), (5, 5), (None, None), ("", None)],
)
def test_scene_numbers_accept_tag_spellings(value: Any, expected: int | None) -> None:
    """Scene ids are integers, written bare or as scene tags."""
    assert opts.parse_scene(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("png", "png"),
        ("true", True),
        ("False", False),
        ("3", 3),
        ("2.5", 2.5),
        ("[1, 2]", [1, 2]),
        ('{"a": 1}', {"a": 1}),
        ("16:9", "16:9"),
        ("", ""),
    ],
)
def test_set_values_are_json_where_they_parse(text: str, expected: Any) -> None:
    """--set values become numbers, booleans and lists where they look like them."""
    assert opts.parse_set([f"field={text}"]) == {"field": expected}


@pytest.mark.parametrize(
    ("template", "namespace", "expected"),
    [
        ("a {subject} at dawn", {"subject": "fox"}, "a fox at dawn"),
        ("{{literal}} {x}", {"x": 1}, "{literal} 1"),
        ("{items[1]} {obj.real}", {"items": ["a", "b"], "obj": 3}, "b 3"),
        ("{ratio:.1f}", {"ratio": 1.25}, "1.2"),
        ("no braces", {}, "no braces"),
    ],
)
def test_prompt_interpolation_uses_the_namespace(
    template: str, namespace: dict[str, Any], expected: str
) -> None:
    """{name} inserts variables, attribute/index access and format specs work, {{ escapes."""
    assert opts.interpolate(template, namespace) == expected


@pytest.mark.parametrize(
    ("template", "needle"),
    [("a {missing}", "{missing}"), ("a {} b", "variable name"), ("a { b", "braces"), ("a } b", "braces")],
)
def test_prompt_interpolation_errors_say_how_to_escape(template: str, needle: str) -> None:
    """Unknown names and stray braces fail with a hint about {{ and }}."""
    with pytest.raises(UsageError, match=r"\{\{") as info:
        opts.interpolate(template, {})
    assert needle in str(info.value)


def test_cell_body_wins_over_line_prompt() -> None:
    """The prompt is the interpolated body; --prompt (already expanded by IPython) only without a body."""
    assert opts.prompt_from_cell("  a {x}\n", "line", {"x": "cat"}) == "a cat"
    assert opts.prompt_from_cell("   ", "line {x}", {"x": "dog"}) == "line {x}"  # IPython expanded it
    assert opts.prompt_from_cell(None, None, {}) is None


def test_shorthands_parse_asset_and_model() -> None:
    """upscale/remove-bg/edit take an asset id and an optional model."""
    args = opts.parse_shorthand("remove-bg", "img-004 --model recraft -o cut")
    assert args is not None
    assert (args.operation, args.asset, args.model, args.run.out) == (
        "remove-background",
        "img-004",
        "recraft",
        "cut",
    )
    edit = opts.parse_shorthand("edit", "img-001 -p 'make it night' -m img-002")
    assert edit is not None
    assert (edit.prompt, edit.mask) == ("make it night", "img-002")


def test_help_is_recognised_not_executed() -> None:
    """--help returns None so the magic prints help and does nothing else."""
    assert opts.parse_generate("imagen4 --help") is None
    assert opts.parse_shorthand("upscale", "-h") is None


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("imagen4 -p 'a {thing}'", "imagen4 -p 'a kite'"),
        ("--image {shots[0]}", "--image img-001"),
        ("-p 'a $thing {{kept}}'", "-p 'a kite {kept}'"),
        ('--set style={"x": 1}', '--set style={"x": 1}'),  # not a name: kept, as IPython keeps it
    ],
)
def test_expand_line_works_like_ipython(line: str, expected: str) -> None:
    """{name}, {expr[0]} and $name are filled in, {{ }} are literal, and JSON is left as it is."""
    namespace = {"thing": "kite", "shots": ["img-001"]}
    assert opts.expand_line(line, namespace) == expected


def test_expand_line_names_an_undefined_variable() -> None:
    """An unknown {name} is a UsageError that says how to write literal braces."""
    with pytest.raises(UsageError, match=r"'subjct' is not a defined variable.*\{\{subjct\}\}"):
        opts.expand_line("-p 'a {subjct}'", {"subject": "fox"})
