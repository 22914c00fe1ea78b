"""The prompt linter: per-model prompting advice, returned as warnings by ``plan()``.

The advice follows the skill document's prompting guide, written in our own words. Every check is a
cheap text heuristic: it may miss, it never blocks a request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kie_widgets.catalog._schema import ModelSpec

MAX_NEGATIVE_TERMS = 15
IMAGEN_NEGATIVE_TERMS = 10
SEEDREAM_MAX_WORDS = 120
FLUX_EDIT_MAX_WORDS = 60
FLUX_EDIT_MAX_CHANGES = 3
SHORT_PROMPT_WORDS = 20

_NEGATION = re.compile(r"\b(no|not|avoid|without|don'?t|never)\b", re.I)
_TEXT_CUE = re.compile(
    r"\b(text|caption|headline|title|titled|slogan|lettering|label(?:l?ed)|"
    r"sign(?:s|age)? (?:that )?(?:says|reads)|says|saying|reads|reading|words?|typography)\b",
    re.I,
)
_QUOTED = re.compile(r"[\"“”«»„]|'[^']+'")
_EDIT_VERBS = re.compile(
    r"\b(change|replace|add|remove|make|turn|put|swap|convert|give|erase|insert|recolou?r|move)\b", re.I
)
_WIDE = re.compile(r"\b(16\s*:\s*9|widescreen|wide ?screen|cinematic wide|panoram\w*)\b", re.I)
_VAGUE = re.compile(r"\b(beautiful|nice|good|amazing|awesome|pretty|great)\b", re.I)


@dataclass(frozen=True)
class LintWarning:
    """One piece of prompting advice: a stable code (for tests and UIs) and the message."""

    code: str
    message: str


def _terms(negative: str) -> list[str]:
    return [t.strip() for t in re.split(r"[,;\n]", negative) if t.strip()]


def _words(text: str) -> list[str]:
    return re.findall(r"[\w'’-]+", text)


def lint(spec: ModelSpec, params: Mapping[str, Any]) -> list[LintWarning]:
    """Advice for this model and these unified parameters (prompt, negative_prompt, images ...)."""
    prompt = str(params.get("prompt") or "")
    negative = str(params.get("negative_prompt") or "")
    out: list[LintWarning] = []
    out += _negative_checks(spec, prompt, negative)
    out += _prompt_checks(spec, prompt, params)
    return out


def _negative_checks(spec: ModelSpec, prompt: str, negative: str) -> list[LintWarning]:
    out: list[LintWarning] = []
    if not negative:
        return out
    terms = _terms(negative)
    imagen = spec.id.startswith("google/imagen4")
    if imagen and _NEGATION.search(negative):
        out.append(
            LintWarning(
                "imagen-negation",
                (
                    f"{spec.display_name}: write the negative prompt as a plain list of things to leave out; "
                    "words like 'no' or 'avoid' there can have the opposite effect."
                ),
            )
        )
    if len(terms) > MAX_NEGATIVE_TERMS:
        out.append(
            LintWarning(
                "too-many-negatives",
                (
                    f"The negative prompt has {len(terms)} terms; beyond about {MAX_NEGATIVE_TERMS} "
                    "they dilute each "
                    "other and flatten the image. Keep the ones that matter."
                ),
            )
        )
    elif imagen and len(terms) > IMAGEN_NEGATIVE_TERMS:
        out.append(
            LintWarning(
                "imagen-long-negative",
                (
                    f"{spec.display_name} does best with a short negative prompt (about 5–10 "
                    "terms); this one has "
                    f"{len(terms)}."
                ),
            )
        )
    lowered = prompt.lower()
    cores = [_NEGATION.sub("", t).strip() for t in terms]  # "no fox" still excludes "fox"
    clashes = [c for c in cores if len(c) > 2 and re.search(rf"\b{re.escape(c.lower())}\b", lowered)]
    if clashes:
        shown = ", ".join(repr(t) for t in clashes[:5])
        out.append(
            LintWarning(
                "negative-contradicts-prompt",
                (
                    f"The negative prompt excludes {shown}, which the prompt asks for; the two pull "
                    "against each other. "
                    "Drop the term from one of them."
                ),
            )
        )
    return out


def _prompt_checks(spec: ModelSpec, prompt: str, params: Mapping[str, Any]) -> list[LintWarning]:
    out: list[LintWarning] = []
    if not prompt:
        return out
    words = _words(prompt)
    editing = bool(params.get("images") or params.get("image")) or spec.mode in ("edit", "masked-edit")
    if _TEXT_CUE.search(prompt) and not _QUOTED.search(prompt):
        out.append(
            LintWarning(
                "unquoted-text",
                (
                    "The prompt seems to ask for lettering; put the exact words in double quotes "
                    "so the model renders "
                    "them verbatim."
                ),
            )
        )
    if spec.family == "gpt4o" and _WIDE.search(prompt):
        out.append(
            LintWarning(
                "4o-widescreen",
                (
                    "4o Image cannot make 16:9 (only 1:1, 3:2, 2:3). Use 3:2 and ask for extra "
                    "room at the sides, "
                    "then crop to 16:9."
                ),
            )
        )
    if spec.family == "flux-kontext" and editing:
        changes = len(_EDIT_VERBS.findall(prompt))
        if len(words) > FLUX_EDIT_MAX_WORDS or changes > FLUX_EDIT_MAX_CHANGES:
            out.append(
                LintWarning(
                    "flux-edit-too-broad",
                    (
                        "Flux Kontext edits work best as short, precise instructions with 1–3 "
                        "changes; this one has "
                        f"{len(words)} words and about {changes} changes. Split it into successive edits."
                    ),
                )
            )
    if "seedream" in spec.id and len(words) > SEEDREAM_MAX_WORDS:
        out.append(
            LintWarning(
                "seedream-too-long",
                (
                    f"Seedream follows concise prompts best; at {len(words)} words the later "
                    "details may be ignored. "
                    "Lead with subject, action and setting, then a few short style phrases."
                ),
            )
        )
    complex_scene = prompt.count(",") + len(re.findall(r"\b(and|with|while)\b", prompt, re.I)) >= 3
    if not editing and spec.mode == "text-to-image" and len(words) <= SHORT_PROMPT_WORDS and complex_scene:
        out.append(
            LintWarning(
                "short-complex-prompt",
                (
                    f"A scene with several elements in only {len(words)} words leaves the model "
                    "guessing; 50–100 words "
                    "covering setting, lighting, camera and style usually give better results."
                ),
            )
        )
    vague = sorted({m.lower() for m in _VAGUE.findall(prompt)})
    if vague:
        out.append(
            LintWarning(
                "vague-adjectives",
                (
                    f"Words like {', '.join(repr(v) for v in vague)} say little to an image model; "
                    "name the quality you "
                    "mean (for example 'atmospheric', 'gritty', 'soft morning haze')."
                ),
            )
        )
    return out
