"""The gallery: pages of thumbnails over the manifest, filters, and one selected asset's recipe.

Thumbnails are made only for the page shown (and cached on disk by the assets layer), so a large
manifest costs one filter pass and one page of small images.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from kie_widgets.session import batch_of
from kie_widgets.widgets._tiles import set_thumbnail
from kie_widgets.widgets._util import replace_children

if TYPE_CHECKING:
    from kie_widgets.session import Session

PAGE_SIZE = 12
ACTIONS = (
    "Upscale",
    "Remove background",
    "Edit",
    "Vary",
    "Restore settings",
    "Copy as cell",
    "Open",
    "Keep",
    "Diff recipes",
)
# What a recipe diff compares, in this order.
_DIFF_KEYS = ("model", "prompt", "params", "parents", "seed", "operation")


def recipe_rows(entry: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What the detail panel shows of an entry: model, prompt, parameters, seed, credits, cell, ..."""
    extra = entry.get("kie") if isinstance(entry.get("kie"), Mapping) else {}
    assert isinstance(extra, Mapping)
    params = {k: v for k, v in (extra.get("params") or {}).items() if k not in ("prompt",)}
    rows = [
        ("model", f"{entry.get('model')} ({extra.get('model_id', '')})"),
        ("prompt", str(entry.get("prompt") or "")),
        ("parameters", ", ".join(f"{k}={v}" for k, v in params.items()) or "-"),
        ("seed", str(extra.get("seed", "-"))),
        ("credits", str(extra.get("credits", "-"))),
        (
            "version",
            f"v{entry.get('version', 1)}"
            + (f" → {entry['superseded_by']}" if entry.get("superseded_by") else ""),
        ),
        ("scene", str(entry.get("scene_id", "-"))),
        ("operation", str(extra.get("operation", "generate"))),
        ("parents", ", ".join(extra.get("parents") or []) or "-"),
        ("cell", str(extra.get("cell_id", "-"))),
        ("notebook", str(extra.get("notebook", "-"))),
        ("kept", "yes" if extra.get("kept") else "no"),
        ("file", str(entry.get("filename"))),
    ]
    return rows


def _recipe_of(entry: Mapping[str, Any]) -> dict[str, Any]:
    extra = entry.get("kie") if isinstance(entry.get("kie"), Mapping) else {}
    assert isinstance(extra, Mapping)
    params = {k: v for k, v in (extra.get("params") or {}).items() if k != "prompt"}
    return {
        "model": extra.get("model_id") or entry.get("model"),
        "prompt": entry.get("prompt"),
        "params": params,
        "parents": list(extra.get("parents") or []),
        "seed": extra.get("seed"),
        "operation": extra.get("operation"),
    }


def recipe_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(what, in a, in b) for every part of two entries' recipes that differs; parameters one by one."""
    ra, rb = _recipe_of(a), _recipe_of(b)
    out: list[tuple[str, Any, Any]] = []
    for key in _DIFF_KEYS:
        if key == "params":
            for name in sorted(set(ra["params"]) | set(rb["params"])):
                va, vb = ra["params"].get(name), rb["params"].get(name)
                if va != vb:
                    out.append((name, va, vb))
        elif ra[key] != rb[key]:
            out.append((key, ra[key], rb[key]))
    return out


def cell_text(entry: Mapping[str, Any]) -> str:
    """The ``%%kie_image`` cell that makes this entry's recipe again."""
    extra = entry.get("kie") if isinstance(entry.get("kie"), Mapping) else {}
    assert isinstance(extra, Mapping)
    params = dict(extra.get("params") or {})
    line = [f"%%kie_image {entry.get('model')}"]
    flags = {"aspect_ratio": "--ratio", "seed": "--seed", "negative_prompt": "--negative", "n": "-n"}
    for key, value in params.items():
        if key in ("prompt",) or value is None or (key == "n" and value == 1):
            continue
        text = str(value)
        text = f'"{text}"' if " " in text else text
        line.append(f"{flags[key]} {text}" if key in flags else f"--set {key}={text}")
    for parent in extra.get("parents") or []:
        line.append(f"--image {parent}")
    if entry.get("scene_id") is not None:
        line.append(f"--scene {entry['scene_id']}")
    return " ".join(line) + "\n" + str(entry.get("prompt") or "")


class Gallery(w.VBox):
    """Filters, a page of thumbnails, and the selected asset's recipe and actions.

    ``select(asset_id)`` is what a click on a thumbnail does; ``on_action(name, entry)`` receives
    the detail panel's button clicks (the Studio wires them to the session and the form).
    """

    def __init__(self, session: Session, on_action: Callable[[str, dict[str, Any]], None] | None = None):
        self.session = session
        self._on_action = on_action
        self.page = 0
        self.entries: list[dict[str, Any]] = []
        self.selected: dict[str, Any] | None = None
        self.scene = w.Text(description="Scene", placeholder="any")
        self.model = w.Text(description="Model", placeholder="any")
        self.text = w.Text(description="Prompt has", placeholder="words")
        self.kept_only = w.Checkbox(description="Kept only")
        self.since = w.Text(description="Since", placeholder="YYYY-MM-DD")
        self.previous_selected: dict[str, Any] | None = None
        self._groups: dict[Any, list[Any]] = {}
        self.total = 0
        self.previous = w.Button(description="Previous page")
        self.next = w.Button(description="Next page")
        self.info = w.Label()
        self.grid = w.GridBox(layout=w.Layout(grid_template_columns="repeat(auto-fill, 150px)"))
        self.detail = w.HTML()
        self.buttons = {
            name: w.Button(description=name, disabled=True, layout=w.Layout(width="auto")) for name in ACTIONS
        }
        self.cell = w.Textarea(description="Cell", layout=w.Layout(width="98%", display="none"))
        for name, button in self.buttons.items():
            button.on_click(lambda _b, name=name: self._action(name))
        for control in (self.scene, self.model, self.text, self.kept_only, self.since):
            control.observe(lambda _c: self.refresh(), "value")
        self.previous.on_click(lambda _b: self._turn(-1))
        self.next.on_click(lambda _b: self._turn(1))
        super().__init__(
            [
                w.HBox(
                    [self.scene, self.model, self.text, self.since, self.kept_only],
                    layout=w.Layout(flex_flow="row wrap"),
                ),
                self.grid,
                w.HBox([self.previous, self.next, self.info]),
                self.detail,
                w.HBox(list(self.buttons.values()), layout=w.Layout(flex_flow="row wrap")),
                self.cell,
            ]
        )

    def refresh(self) -> None:
        """Re-read the page shown (newest first) through the session; only its entries are parsed."""
        entries, self.total = self.session.history_page(
            offset=self.page * PAGE_SIZE,
            limit=PAGE_SIZE,
            kept_only=self.kept_only.value,
            scene=self.scene.value.strip() or None,
            model=self.model.value.strip() or None,
            text=self.text.value.strip() or None,
            since=_day(self.since.value),
        )
        last = max(0, (self.total - 1) // PAGE_SIZE)
        if self.page > last:  # the filters shrank the list under the page we were on
            self.page = last
            self.refresh()
            return
        # The variants of one request stay together, in the order they were asked for.
        first_seen: dict[Any, int] = {}
        for i, entry in enumerate(entries):
            first_seen.setdefault(batch_of(entry) or entry.get("id"), i)
        self.entries = sorted(
            entries,
            key=lambda e: (first_seen[batch_of(e) or e.get("id")], (e.get("kie") or {}).get("variant") or 0),
        )
        self._groups = {}
        for entry in self.entries:
            if batch_of(entry):
                self._groups.setdefault(batch_of(entry), []).append(entry.get("id"))
        self._draw()

    def _turn(self, step: int) -> None:
        last = max(0, (self.total - 1) // PAGE_SIZE)
        self.page = max(0, min(last, self.page + step))
        self.refresh()

    def _draw(self) -> None:
        cards = [self._card(entry) for entry in self.entries]
        replace_children(self.grid, cards)
        pages = max(1, -(-self.total // PAGE_SIZE))
        self.info.value = f"page {self.page + 1} of {pages} · {self.total} image(s)"
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page + 1 >= pages

    def _card(self, entry: dict[str, Any]) -> w.Widget:
        asset = self.session.asset_of(entry)
        image = w.Image(layout=w.Layout(width="140px", height="auto"))
        if asset is not None and asset.path.exists():
            set_thumbnail(image, asset, 140)
        kept = " ★" if (entry.get("kie") or {}).get("kept") else ""
        pick = w.Button(
            description=f"{entry.get('id')}{kept}",
            tooltip=f"{entry.get('model')}: {str(entry.get('prompt') or '')[:80]}",
            layout=w.Layout(width="140px"),
        )
        pick.on_click(lambda _b: self.select(str(entry.get("id"))))
        label = f"{entry.get('model')} · v{entry.get('version', 1)}"
        siblings = self._groups.get(batch_of(entry), [])
        if len(siblings) > 1:
            label += f" · variant {siblings.index(entry.get('id')) + 1} of {len(siblings)}"
        extra = entry.get("kie") or {}
        group = extra.get("layer_group")
        if isinstance(group, dict):
            place = "base image" if group.get("index") == 0 else f"layer {group.get('index')}"
            label += f" · {place} of {group.get('count')}"
        if extra.get("operation") not in (None, "generate"):
            label += f" · {extra['operation']} of {', '.join(extra.get('parents') or []) or '?'}"
        caption = w.HTML(f"<small>{html.escape(label)}</small>")
        return w.VBox([image, caption, pick])

    def select(self, asset_id: str) -> dict[str, Any]:
        """Show one asset's recipe and enable the actions on it; returns its entry."""
        entry = next((e for e in self.session.entries() if e.get("id") == asset_id), None)
        if entry is None:
            raise KeyError(f"no asset {asset_id!r} in the manifest")
        if self.selected is not None and self.selected.get("id") != asset_id:
            self.previous_selected = self.selected
        self.selected = entry
        rows = "".join(
            f"<tr><th style='text-align:left;padding-right:8px'>{html.escape(k)}</th>"
            f"<td>{html.escape(v)}</td></tr>"
            for k, v in recipe_rows(entry)
        )
        self.detail.value = f"<b>{html.escape(asset_id)}</b><table>{rows}</table>"
        for button in self.buttons.values():
            button.disabled = False
        return entry

    def _action(self, name: str) -> None:
        if self.selected is None:
            return
        if name == "Copy as cell":
            self.cell.value = cell_text(self.selected)
            self.cell.layout.display = ""
            return
        if name == "Diff recipes":
            self.detail.value += self.diff_html()
            return
        if name == "Open":
            path = os.path.relpath(self.session.manifest.root / str(self.selected["filename"]))
            link = html.escape(path.replace(os.sep, "/"))
            self.detail.value += f"<div><a href='{link}' target='_blank'>Open {link}</a></div>"
            return
        if self._on_action is not None:
            self._on_action(name, self.selected)

    def diff_html(self) -> str:
        """The recipe diff between the selected asset and the one selected before it."""
        a, b = self.previous_selected, self.selected
        if a is None or b is None:
            return "<div>Select another image first, then this one, to compare their recipes.</div>"
        rows = recipe_diff(a, b)
        if not rows:
            return f"<div>{html.escape(str(a['id']))} and {html.escape(str(b['id']))} share one recipe.</div>"
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(str(va))}</td>"
            f"<td>{html.escape(str(vb))}</td></tr>"
            for k, va, vb in rows
        )
        head = f"<tr><th></th><th>{html.escape(str(a['id']))}</th><th>{html.escape(str(b['id']))}</th></tr>"
        return f"<table class='kie-diff'>{head}{body}</table>"


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


__all__ = ["ACTIONS", "PAGE_SIZE", "Gallery", "cell_text", "recipe_diff", "recipe_rows"]
