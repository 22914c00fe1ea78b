"""The storyboard: scenes as rows, takes as columns, the kept take first, pending tasks shown.

Scenes come from the manifest's ``scene_id`` values and, when the project has one, from
``SCENES.md`` (the skill document numbers scenes from that file): a heading such as
``## Scene 3: The harbour`` or ``## 3. The harbour`` starts a scene, and the text under it is the
scene's description, which seeds the prompt of a missing take.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from kie_widgets.widgets._tiles import set_thumbnail
from kie_widgets.widgets._util import replace_children

if TYPE_CHECKING:
    from kie_widgets.session import Session

_HEADING = re.compile(r"^#{1,6}\s*(?:scene\s*)?(\d+)\s*[:.\-–—)]?\s*(.*)$", re.IGNORECASE)
TAKE_SIDE = 120


@dataclass(frozen=True)
class Scene:
    """One scene of the storyboard: its number, title and description (from SCENES.md)."""

    number: int
    title: str = ""
    text: str = ""

    @property
    def prompt(self) -> str:
        """What a missing take is generated from: the description, else the title."""
        return self.text or self.title or f"Scene {self.number}"


def read_scenes(path: Path) -> list[Scene]:
    """The scenes of a SCENES.md file, in file order (empty when there is no such file)."""
    if not path.is_file():
        return []
    scenes: list[Scene] = []
    number: int | None = None
    title = ""
    lines: list[str] = []

    def close() -> None:
        if number is not None:
            scenes.append(Scene(number, title.strip(), " ".join(" ".join(lines).split())))

    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        match = _HEADING.match(line.strip())
        if match:
            close()
            number, title, lines = int(match.group(1)), match.group(2), []
        elif number is not None and line.strip() and not line.lstrip().startswith("#"):
            lines.append(line.strip())
    close()
    return scenes


def _scene_key(value: Any) -> int | None:
    try:
        return int(str(value).removeprefix("scene-"))
    except (TypeError, ValueError):
        return None


class Storyboard(w.VBox):
    """Scenes × takes over the manifest; ``generate_missing()`` makes one take per empty scene."""

    def __init__(
        self,
        session: Session,
        *,
        submit_missing: Callable[[list[Scene]], Any] | None = None,
        estimate_missing: Callable[[list[Scene]], str] | None = None,
    ) -> None:
        self.session = session
        self._submit_missing = submit_missing
        self._estimate_missing = estimate_missing
        self.rows = w.VBox()
        self.summary = w.HTML()
        self.generate = w.Button(
            description="Generate missing", tooltip="One take for every scene without one"
        )
        self.confirm = w.Button(
            description="Confirm", button_style="warning", layout=w.Layout(display="none")
        )
        self.generate.on_click(lambda _b: self._ask())
        self.confirm.on_click(lambda _b: self.generate_missing())
        self.scenes: list[Scene] = []
        super().__init__([w.HBox([self.generate, self.confirm, self.summary]), self.rows])

    def refresh(self) -> None:
        """Re-read SCENES.md, the manifest and the journal, and redraw the rows."""
        root = self.session.manifest.root
        from_file = {s.number: s for s in read_scenes(root / "SCENES.md")}
        takes: dict[int, list[dict[str, Any]]] = {}
        for entry in self.session.history(limit=None):
            key = _scene_key(entry.get("scene_id"))
            if key is not None:
                takes.setdefault(key, []).append(entry)
        pending: dict[int, list[Mapping[str, Any]]] = {}
        for record in self.session.pending():
            context = record.get("context") or {}
            key = _scene_key((context.get("record") or {}).get("scene_id", context.get("scene_id")))
            if key is not None:
                pending.setdefault(key, []).append(record)
        numbers = sorted(set(from_file) | set(takes) | set(pending))
        self.scenes = [from_file.get(n, Scene(n)) for n in numbers]
        self._takes, self._pending = takes, pending
        replace_children(self.rows, (self._row(s) for s in self.scenes))
        self.summary.value = f"{len(self.scenes)} scene(s), {len(self.missing)} without a take"

    @property
    def missing(self) -> list[Scene]:
        """Scenes with no take and nothing pending."""
        return [s for s in self.scenes if not self._takes.get(s.number) and not self._pending.get(s.number)]

    def _row(self, scene: Scene) -> w.Widget:
        # The kept take first, the others in the order they were made.
        takes = sorted(self._takes.get(scene.number, []), key=lambda e: not (e.get("kie") or {}).get("kept"))
        cells: list[w.Widget] = []
        for entry in takes:
            asset = self.session.asset(str(entry.get("id")))
            image = w.Image(layout=w.Layout(width=f"{TAKE_SIDE}px", height="auto"))
            if asset is not None and asset.path.exists():
                set_thumbnail(image, asset, TAKE_SIDE)
            star = " ★ kept" if (entry.get("kie") or {}).get("kept") else ""
            cells.append(w.VBox([image, w.HTML(f"<small>{html.escape(str(entry.get('id')))}{star}</small>")]))
        for record in self._pending.get(scene.number, []):
            state = html.escape(str(record.get("state", "pending")))
            cells.append(
                w.HTML(
                    f"<div style='width:{TAKE_SIDE}px'>◷ {state}: {html.escape(str(record.get('model')))}"
                    " (resume collects it)</div>"
                )
            )
        if not cells:
            cells.append(w.HTML("<i>no take yet</i>"))
        head = w.HTML(
            f"<b>Scene {scene.number}</b>{(': ' + html.escape(scene.title)) if scene.title else ''}"
            f"<br><small>{html.escape(scene.text[:160])}</small>",
            layout=w.Layout(width="220px"),
        )
        return w.HBox([head, *cells], layout=w.Layout(border_bottom="1px solid #ddd"))

    def _ask(self) -> None:
        missing = self.missing
        if not missing:
            self.summary.value = "Every scene has a take."
            return
        estimate = self._estimate_missing(missing) if self._estimate_missing else ""
        self.summary.value = (
            f"{len(missing)} scene(s) without a take: {html.escape(estimate)}. Confirm to send."
        )
        self.confirm.layout.display = ""

    def generate_missing(self) -> Any:
        """Make one take for every scene that has none (after ``Generate missing`` showed the cost)."""
        self.confirm.layout.display = "none"
        missing = self.missing
        if not missing or self._submit_missing is None:
            return None
        return self._submit_missing(missing)


__all__ = ["Scene", "Storyboard", "read_scenes"]
