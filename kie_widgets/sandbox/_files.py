"""The file hosts: result files drawn on demand, uploaded files, signed download links, and their expiry.

Results are rendered when first fetched and cached within a byte budget; renders are
deterministic, so an evicted one is only drawn again. Every URL has an expiry like kie's: result
URLs, Flux's short-lived origin URL, uploads and the 20-minute links of download-url.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from kie_widgets.sandbox import _images
from kie_widgets.sandbox._faults import Fault
from kie_widgets.sandbox._records import Incoming, Reply, StoredFile
from kie_widgets.sandbox._state import SandboxState
from kie_widgets.sandbox._tasks import SandboxTask, file_ext, task_for
from kie_widgets.sandbox._wire import json_object, json_reply

if TYPE_CHECKING:
    from PIL import Image

#: path prefixes of the files served: results, signed download links, uploads
FILE_PREFIXES = ("/results/", "/signed/", "/kieai/")
_RENDER_BUDGET = 64 * 1024 * 1024


class FileStore:
    """Everything the sandbox serves as a file, and the download-url route that signs links to results."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state
        self.uploads: dict[str, StoredFile] = {}
        self._signed: dict[str, tuple[str, int, float]] = {}
        self._renders: OrderedDict[tuple[str, str], tuple[bytes, str]] = OrderedDict()
        self._render_bytes = 0

    # ------------------------------------------------------------ lookup
    def is_ours(self, url: str) -> bool:
        """Whether ``url`` points at a file host of this sandbox."""
        parts = urlsplit(url)
        cfg = self._state.config
        base_hosts = {urlsplit(b).netloc for b in (cfg.result_base, cfg.upload_file_base, cfg.signed_base)}
        return parts.netloc in base_hosts and parts.path.startswith(FILE_PREFIXES)

    def locate(self, path: str) -> tuple[str, Any, float] | None:
        """(kind, target, expires_at) for a file path: ("result", (task, name), t) or ("upload", file, t)."""
        state, cfg = self._state, self._state.config
        parts = path.split("/")
        if path.startswith("/results/") and len(parts) == 4:
            task = state.tasks.get(parts[2])
            if task is None or task.state(state.clock.time()) != "success":
                return None
            name = parts[3].rsplit(".", 1)[0]
            if name == "origin" and task.family == "flux-kontext":
                return ("result", (task, 0), task.ends + cfg.origin_url_ttl)
            if not name.isdigit() or int(name) >= task.n:
                return None
            return ("result", (task, int(name)), task.ends + cfg.result_url_ttl)
        if path.startswith("/signed/") and len(parts) == 4:
            link = self._signed.get(parts[2])
            if link is None or link[0] not in state.tasks:
                return None
            return ("result", (state.tasks[link[0]], link[1]), link[2])
        if path.startswith("/kieai/"):
            stored = self.uploads.get(path)
            if stored is None:
                return None
            return ("upload", stored, stored.stored + cfg.upload_ttl)
        return None

    def fetch(self, url: str) -> bytes | None:
        """The bytes behind a URL this sandbox serves and that has not expired, else ``None``."""
        if not self.is_ours(url):
            return None
        with self._state.lock:
            found = self.locate(urlsplit(url).path)
        if found is None or self._state.clock.time() > found[2]:
            return None
        kind, target, _ = found
        if kind == "upload":
            return bytes(target.data)
        task, index = target
        return self._render(task, index)[0]

    # ------------------------------------------------------------- serve
    def serve(self, req: Incoming, fault: Fault | None) -> Reply:
        """Answer a GET/HEAD of a file, as the storage host would (XML errors, expired links)."""
        if req.method not in {"GET", "HEAD"}:
            return Reply(405, {"content-type": "text/plain"}, b"Method Not Allowed")
        with self._state.lock:
            found = self.locate(req.path)
        now = self._state.clock.time()
        if (fault is not None and fault.kind == "expired") or (found is not None and now > found[2]):
            body = (
                b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
                b"<Message>Request has expired</Message></Error>"
            )
            return Reply(403, {"content-type": "application/xml"}, body)
        if found is None:
            body = b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code></Error>'
            return Reply(404, {"content-type": "application/xml"}, body)
        if fault is not None and fault.kind == "bomb":
            return Reply(200, {"content-type": "image/png"}, _images.bomb_png())
        if fault is not None and fault.kind == "notimage":
            html = (
                b"<!DOCTYPE html><html><head><title>Access denied</title></head><body>Blocked</body></html>"
            )
            return Reply(200, {"content-type": "image/png"}, html)
        kind, target, _ = found
        if kind == "upload":
            reply = Reply(200, {"content-type": target.mime}, target.data)
        else:
            task, index = target
            data, fmt = self._render(task, index)
            length, stream = _images.padded_stream(data, fmt, self._state.config.image_bytes)
            reply = Reply(200, {"content-type": f"image/{fmt}"}, stream=stream, length=length)
        if fault is not None and fault.kind == "truncate":
            reply.action, reply.cut = "truncate", max(1, reply.content_length // 2)
        if fault is not None and fault.kind == "timeout":
            return Reply(action="timeout", delay=fault.delay)
        return reply

    # ------------------------------------------------------ download-url
    def download_url(self, which: str, req: Incoming) -> Reply:
        """The download-url routes: a 20-minute signed link to a result of a recent task."""
        state, cfg = self._state, self._state.config
        body = json_object(req.body)
        if isinstance(body, str):
            return state.envelope(400, body)
        url = body.get("url") or body.get("imageUrl")
        if not isinstance(url, str) or not url:
            return state.envelope(422, "url is required")
        path = urlsplit(url).path
        found = self.locate(path) if self.is_ours(url) and path.startswith("/results/") else None
        if which == "gpt4o":
            task_id = body.get("taskId") or (path.split("/")[2] if path.startswith("/results/") else None)
            task = task_for(state.tasks, "gpt4o", task_id)
            if task is None:
                return state.envelope(422, "record is null")
            if task.state(state.clock.time()) != "success":
                return state.envelope(422, "record status is not success")
            if found is None or found[1][0] is not task:
                return state.envelope(422, "result is empty: the url is not a result of this task")
        elif found is None:
            return state.envelope(422, "Only files generated by kie.ai are supported")
        task, index = found[1]
        now = state.clock.time()
        if now > task.ends + cfg.record_ttl:
            return state.envelope(422, "Only records within 14 days are supported")
        token = hashlib.sha256(f"{task.task_id}:{index}:{now}:{state.rng.random()}".encode()).hexdigest()[:24]
        expires = now + cfg.download_url_ttl
        self._signed[token] = (task.task_id, index, expires)
        stamp = datetime.fromtimestamp(now, timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        signature = hashlib.sha256(token.encode()).hexdigest()
        link = (
            f"{cfg.signed_base}/signed/{token}/{index}.{file_ext(task)}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            f"&X-Amz-Date={stamp}&X-Amz-Expires={int(cfg.download_url_ttl)}"
            f"&X-Amz-SignedHeaders=host&X-Amz-Signature={signature}"
        )
        return json_reply(200, {"code": 200, "msg": "success", "data": link})

    # --------------------------------------------------------- rendering
    def _render(self, task: SandboxTask, index: int) -> tuple[bytes, str]:
        key = (task.task_id, str(index))
        lock = self._state.lock
        with lock:
            if key in self._renders:
                self._renders.move_to_end(key)
                return self._renders[key]
        image = self._draw(task, index)
        result = (_images.encode(image, task.fmt), task.fmt)
        with lock:
            if key not in self._renders:
                self._renders[key] = result
                self._render_bytes += len(result[0])
            # Renders are deterministic, so evicting one only costs a re-render later.
            while self._render_bytes > _RENDER_BUDGET and len(self._renders) > 1:
                _, (old, _) = self._renders.popitem(last=False)
                self._render_bytes -= len(old)
        return result

    def _source_image(self, task: SandboxTask) -> Image.Image | None:
        for url in task.inputs:
            data = self.fetch(url)
            if data is not None:
                return _images.decode(data)
        return None

    def _mask_image(self, task: SandboxTask) -> Image.Image | None:
        data = self.fetch(task.masks[0]) if task.masks else None
        return _images.decode(data) if data is not None else None

    def _draw(self, task: SandboxTask, index: int) -> Image.Image:
        fields = task.params
        long_side = self._state.config.long_side
        source = self._source_image(task)
        caption = f"kie sandbox · {task.task_id[:8]} · {index + 1}/{task.n}"
        if task.mode == "upscale":
            raw = fields.get("upscale_factor") or fields.get("scale") or 2
            try:
                factor = float(raw)
            except (TypeError, ValueError):
                factor = 2.0
            base = source or _images.render_canvas(
                _images.target_size(fields, long_side=long_side // 2),
                model=task.model_name,
                prompt=task.prompt or "upscale",
                caption=caption,
                index=index,
            )
            return _images.upscale(base, factor, model=task.model_name, caption=caption)
        if task.mode == "remove-background":
            base = source or _images.render_canvas(
                (long_side, long_side),
                model=task.model_name,
                prompt=task.prompt or "remove background",
                caption=caption,
                index=index,
            )
            return _images.remove_background(base)
        mask = self._mask_image(task) if source is not None else None
        if source is not None and mask is not None and task.mask_convention is not None:
            convention = task.mask_convention
            return _images.masked_edit(
                source,
                mask,
                change=convention.change,
                channel=convention.channel,
                drift=task.model_id in _images.DRIFTING_MODELS,
                model=task.model_name,
                prompt=task.prompt,
                caption=caption,
                index=index,
            )
        size = _images.target_size(
            fields, long_side=long_side, source=source.size if source is not None else None
        )
        seed = fields.get("seed")
        if seed is not None:
            caption += f" · seed {seed}"
        image = _images.render_canvas(
            size,
            model=task.model_name,
            prompt=task.prompt,
            caption=caption,
            index=index,
            source=source,
            seed=seed,
        )
        if task.mode == "layer-decomposition" and index > 0:
            return _images.remove_background(image)
        return image


__all__ = ["FILE_PREFIXES", "FileStore"]
