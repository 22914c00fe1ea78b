"""The upload host: its three routes (multipart stream, fetch a URL, base64) and the files they store.

A stored file is served by ``FileStore`` until ``upload_ttl`` passes. The served type follows the
file name, not the bytes, as the real host does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import mimetypes
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from kie_widgets.sandbox import _images
from kie_widgets.sandbox._files import FileStore
from kie_widgets.sandbox._records import Incoming, Reply, StoredFile
from kie_widgets.sandbox._state import SandboxState
from kie_widgets.sandbox._wire import json_object, json_reply

STREAM_UPLOAD = "/api/file-stream-upload"
URL_UPLOAD = "/api/file-url-upload"
BASE64_UPLOAD = "/api/file-base64-upload"
UPLOAD_ROUTES = (STREAM_UPLOAD, URL_UPLOAD, BASE64_UPLOAD)


class UploadHost:
    """Answers the upload routes and keeps what they receive in the ``FileStore``."""

    def __init__(self, state: SandboxState, files: FileStore) -> None:
        self._state = state
        self._files = files

    def handle(self, path: str, req: Incoming) -> Reply:
        """Store the file one upload request carries and answer with its URL."""
        state = self._state
        original: str | None = None
        if path == STREAM_UPLOAD:
            ctype = req.headers.get("content-type") or ""
            if "multipart/form-data" not in ctype:
                return state.upload_error(400, "Content-Type must be multipart/form-data")
            form = parse_multipart(req.body, ctype)
            if "file" not in form:
                return state.upload_error(400, "file is required")
            original, data = form["file"]
            fields: Any = {k: v[1].decode("utf-8", "replace") for k, v in form.items() if k != "file"}
        else:
            fields = json_object(req.body)
            if isinstance(fields, str):
                return state.upload_error(400, fields)
            if path == BASE64_UPLOAD:
                decoded = self._decode_base64(fields.get("base64Data"))
                if isinstance(decoded, Reply):
                    return decoded
                data = decoded
            else:
                url = fields.get("fileUrl")
                if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                    return state.upload_error(400, "fileUrl is required and must be an http(s) URL")
                fetched = self._files.fetch(url)
                if fetched is None:
                    return state.upload_error(500, f"File download failed: could not fetch {url} within 30 s")
                data = fetched
                original = urlsplit(url).path.rsplit("/", 1)[-1] or None
        return self._store(fields, data, original)

    def _store(self, fields: dict[str, Any], data: bytes, original: str | None) -> Reply:
        state, cfg = self._state, self._state.config
        upload_path = str(fields.get("uploadPath") or "").strip("/")
        if not upload_path:
            return state.upload_error(400, "uploadPath is required")
        if len(data) > cfg.max_upload_bytes:
            return state.upload_error(
                400, f"File too large: {len(data)} bytes (limit {cfg.max_upload_bytes})"
            )
        name = str(fields.get("fileName") or "").strip().rsplit("/", 1)[-1]
        if not name:
            sniffed = _images.sniff_mime(data)
            ext = mimetypes.guess_extension(sniffed) if sniffed else None
            if original and "." in original:
                ext = "." + original.rsplit(".", 1)[1]
            name = f"{hashlib.sha256(data).hexdigest()[:16]}{ext or '.bin'}"
        # The upload host sets the served type from the name, not the bytes (a peer-observed quirk).
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        file_path = f"/kieai/sandbox/{upload_path}/{name}"
        now = state.clock.time()
        self._files.uploads[file_path] = StoredFile(bytes(data), mime, now, file_path)
        url_out = f"{cfg.upload_file_base}{file_path}"
        stamp = (
            datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{int(now * 1000) % 1000:03d}Z"
        )
        info = {
            "fileId": hashlib.sha256(f"{file_path}:{now}".encode()).hexdigest()[:24],
            "fileName": name,
            "originalName": original or name,
            "filePath": f"{upload_path}/{name}",
            "uploadPath": upload_path,
            "downloadUrl": url_out,
            "fileUrl": url_out,
            "fileSize": len(data),
            "mimeType": mime,
            "uploadedAt": stamp,
        }
        return json_reply(
            200, {"success": True, "code": 200, "msg": "File uploaded successfully", "data": info}
        )

    def _decode_base64(self, raw: Any) -> bytes | Reply:
        """The bytes of a ``base64Data`` field (a data: URL too), or the error the host answers."""
        if not isinstance(raw, str) or not raw:
            return self._state.upload_error(400, "base64Data is required")
        if raw.startswith("data:") and "," in raw:
            raw = raw.split(",", 1)[1]
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return self._state.upload_error(
                500,
                "Base64 decoding failed: InvalidCharacterError: Failed to execute 'atob' on "
                "'Window': The string to be decoded is not correctly encoded.",
            )


def parse_multipart(body: bytes, content_type: str) -> dict[str, tuple[str | None, bytes]]:
    """``name -> (filename, bytes)`` of a multipart/form-data body (binary-safe)."""
    boundary = ""
    for part in content_type.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip('"')
    out: dict[str, tuple[str | None, bytes]] = {}
    if not boundary:
        return out
    for chunk in body.split(b"--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk
        head, _, data = chunk.partition(b"\r\n\r\n")
        data = data[:-2] if data.endswith(b"\r\n") else data
        name = filename = None
        for line in head.decode("utf-8", "replace").split("\r\n"):
            if line.lower().startswith("content-disposition:"):
                for item in line.split(";")[1:]:
                    k, _, v = item.strip().partition("=")
                    if k == "name":
                        name = v.strip('"')
                    elif k == "filename":
                        filename = v.strip('"')
        if name:
            out[name] = (filename, data)
    return out


__all__ = ["UPLOAD_ROUTES", "UploadHost", "parse_multipart"]
