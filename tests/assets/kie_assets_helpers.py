"""Helpers for the assets tests: the document's Node snippet, small real images, async streams."""

from __future__ import annotations

import asyncio
import io
import json
import random
import shutil
import struct
import subprocess
import time
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from PIL import Image

NODE = shutil.which("node")

# The document's manifest snippet, verbatim except that the UPPERCASE placeholders became %(...)s
# slots (filled with JSON literals, which is what the placeholder guide asks for).
NODE_SNIPPET = """
const fs = require('fs');
const p = 'assets/manifest.json';
const m = JSON.parse(fs.readFileSync(p, 'utf8'));
const entry = {
  id: 'img-' + String(m.assets.filter(a=>a.type==='image').length+1).padStart(3,'0'),
  type: 'image',
  filename: %(filename)s,
  prompt: %(prompt)s,
  model: %(model)s,
  parameters: { size: %(size)s, endpoint: %(endpoint)s },
  created_at: new Date().toISOString(),
  scene_id: %(scene)s,
  version: 1
};
const existing = m.assets.filter(a => a.prompt === entry.prompt && a.model === entry.model && !a.superseded_by);
if (existing.length > 0) {
  const prev = existing[existing.length - 1];
  entry.version = prev.version + 1;
  entry.id = 'img-' + String(m.assets.filter(a=>a.type==='image').length+1).padStart(3,'0');
  prev.superseded_by = entry.id;
}
m.assets.push(entry);
fs.writeFileSync(p, JSON.stringify(m, null, 2));
console.log('Manifest updated: ' + entry.id + ' (v' + entry.version + ')');
"""  # noqa: E501


def node_add(
    root: Path, filename: str, prompt: str, model: str, size: str, endpoint: str, scene: int | None
) -> str:
    """Run the document's snippet in ``root`` and return its output line."""
    assert NODE is not None
    script = NODE_SNIPPET % {
        "filename": json.dumps(filename),
        "prompt": json.dumps(prompt),
        "model": json.dumps(model),
        "size": json.dumps(size),
        "endpoint": json.dumps(endpoint),
        "scene": json.dumps(scene),
    }
    out = subprocess.run([NODE, "-e", script], cwd=root, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def image_bytes(
    fmt: str = "PNG", size: tuple[int, int] = (64, 48), *, noise: bool = False, **save: Any
) -> bytes:
    """A real image in ``fmt``; ``noise=True`` gives photo-like content that does not compress away."""
    im = Image.new("RGB", size, (200, 80, 40))
    if noise:
        rng = random.Random(7)
        im = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
        im = im.resize((size[0] // 4 or 1, size[1] // 4 or 1)).resize(size, Image.Resampling.BICUBIC)
    if fmt == "PNG":
        save.setdefault("compress_level", 1)  # fast: these tests care about content, not file size
    buf = io.BytesIO()
    im.save(buf, format=fmt, **save)
    return buf.getvalue()


async def chunked(data: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    """``data`` as an async stream of ``size``-byte chunks, like an HTTP body."""
    for i in range(0, len(data), size):
        yield data[i : i + size]


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(side: int = 30_000) -> bytes:
    """A valid 1-bit PNG of side x side pixels that compresses to about a hundred kilobytes."""
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (side + 7) // 8)
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def notebook_entry(i: int) -> dict[str, Any]:
    """Manifest entry number ``i`` as a notebook session writes it (about 1.2 KB in the file)."""
    scene = i % 40
    prompt = (
        f"scene {scene}: a red fox crossing a snowy field at dawn, cinematic light, wide shot, take {i // 5}"
    )
    return {
        "id": f"img-{i + 1:03d}",
        "type": "image",
        "filename": f"assets/images/scene-{scene:02d}-img-{i + 1:03d}-v1.png",
        "prompt": prompt,
        "model": ("Imagen 4", "Seedream 4.5", "Flux Kontext Pro", "4o Image")[i % 4],
        "parameters": {"size": "16:9", "endpoint": "/api/v1/jobs/createTask"},
        "created_at": f"2026-11-{1 + i % 28:02d}T01:02:03.456Z",
        "scene_id": scene,
        "version": 1,
        "kie": {
            "task_id": f"task{i:012d}abcdef0123456789",
            "model_id": "google/imagen4",
            "params": {"aspect_ratio": "16:9"},
            "negative_prompt": "blur",
            "seed": i,
            "parents": [],
            "operation": "generate",
            "credits": 4.0,
            "recipe": f"r1-{i // 2:064x}",
            "source_url": f"https://tempfile.aiquickdraw.com/s/{i:032x}_0.png",
            "batch": f"{i // 2:012x}",
            "cell_id": f"cell-{i % 97}",
            "notebook": "notebooks/storyboard.ipynb",
            "sha256": f"{i:064x}",
            "format": "PNG",
            "width": 1408,
            "height": 768,
            "bytes": 1_234_567,
        },
    }


def seed_manifest(path: Path, count: int) -> None:
    """Write a manifest of ``count`` notebook entries straight to ``path``, as the Node snippet would."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"assets": [notebook_entry(i) for i in range(count)]}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")


class Heartbeat:
    """``async with Heartbeat() as beat``: ``beat.longest`` is the longest the event loop was blocked.

    A task asks the loop to wake it every ``every`` seconds; any gap well beyond that is a stall.
    """

    def __init__(self, every: float = 0.002) -> None:
        self.every = every
        self.longest = 0.0
        self._done = asyncio.Event()
        self._task: asyncio.Future[None] | None = None

    async def _beat(self) -> None:
        last = time.perf_counter()
        while not self._done.is_set():
            await asyncio.sleep(self.every)
            now = time.perf_counter()
            self.longest = max(self.longest, now - last)
            last = now

    async def __aenter__(self) -> Heartbeat:
        self._task = asyncio.ensure_future(self._beat())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._done.set()
        assert self._task is not None
        await self._task
