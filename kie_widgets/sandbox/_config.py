"""What a sandbox run is configured with: timings, limits, quirks and the faults to script."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kie_widgets.config import SANDBOX_API_KEY
from kie_widgets.sandbox._faults import Fault

if TYPE_CHECKING:
    import httpx


@dataclass
class SandboxConfig:
    """Everything one sandbox run can be told; the defaults suit fast tests under a ``FakeClock``.

    Durations are seconds of clock time: a Market task spends ``waiting``, then ``queuing``, then
    ``generating`` (4o and Flux report the whole span as generating). ``model_seconds`` overrides
    the total for given model ids. Right after a create the record answers ``invisible_code``
    ("recordInfo is null") for ``invisible_for`` seconds. Each ``Sandbox`` copies ``faults`` (fresh
    counters, so one config serves many runs); inspect ``sandbox.faults`` for their ``hits``.
    """

    #: kept out of the repr: a real key may be passed with --api-key
    api_key: str = field(default=SANDBOX_API_KEY, repr=False)
    credits: float = 1000.0
    waiting: float = 1.0
    queuing: float = 1.0
    generating: float = 6.0
    model_seconds: Mapping[str, float] = field(default_factory=dict)
    invisible_for: float = 0.5
    invisible_code: int = 422
    #: creates accepted per window (count, seconds); None disables the limiter
    rate_limit: tuple[int, float] | None = (20, 10.0)
    #: status reads per window; off by default (kie's documented ~10/s is not enforced by peers)
    read_rate_limit: tuple[int, float] | None = None
    #: answer 401/402/404/422/429/5xx-type codes with that real HTTP status instead of HTTP 200
    http_errors: bool = False
    #: answer validation problems about missing required fields as 500 "This field is required"
    required_as_500: bool = False
    #: also refuse library default User-Agents (python-httpx/..., Python-urllib/...) with 403 1010
    block_default_user_agents: bool = False
    #: wall-clock seconds added to every request (the in-process transport and the server)
    latency: float = 0.0
    faults: Sequence[Fault] = ()
    seed: int = 0
    result_url_ttl: float = 24 * 3600.0
    download_url_ttl: float = 20 * 60.0
    origin_url_ttl: float = 10 * 60.0
    upload_ttl: float = 24 * 3600.0
    record_ttl: float = 14 * 24 * 3600.0
    result_base: str = "https://tempfile.aiquickdraw.com"
    upload_file_base: str = "https://tempfile.redpandaai.co"
    signed_base: str = "https://kie-sandbox.r2.cloudflarestorage.com"
    #: the key 4o records put their URLs under: "resultUrls" (OpenAPI) or "result_urls" (quickstart)
    gpt4o_result_key: str = "resultUrls"
    #: 4o/Flux record times: "ms" (integers, the OpenAPI) or "text" (the docs examples: 4o
    #: "2024-01-15 10:35:00", Flux ISO "2024-03-20T10:30:00Z"); Market always uses ms
    timestamps: str = "ms"
    #: long side in pixels when a request names no resolution tier
    long_side: int = 1024
    #: pad every result file to at least this many bytes (for download benchmarks)
    image_bytes: int = 0
    #: input URLs the sandbox does not serve make the task fail with 451 (as kie does when it
    #: cannot fetch them); off by default so requests with made-up URLs still succeed
    strict_input_urls: bool = False
    max_upload_bytes: int = 100 * 1024 * 1024
    #: per model id: a flat price per request that overrides the catalog's
    prices: Mapping[str, float] = field(default_factory=dict)
    #: Market ids this kie knows beyond the catalog (accepted unchecked, priced by ``prices`` or 0),
    #: so raw requests for a model the catalog has not caught up with can be exercised
    extra_models: Sequence[str] = ()
    #: images a layer-decomposition task returns: the base image, then transparent layers
    layers: int = 3
    webhook_hmac_key: str | None = field(default=None, repr=False)
    callback_transport: httpx.AsyncBaseTransport | None = None
    callback_retries: int = 3
    callback_retry_delay: float = 0.0
    callback_timeout: float = 15.0
    callback_duplicates: bool = False

    def durations(self, model_id: str) -> tuple[float, float, float]:
        """(waiting, queuing, generating) seconds for a task of ``model_id``."""
        total = self.model_seconds.get(model_id)
        if total is None:
            return (self.waiting, self.queuing, self.generating)
        base = self.waiting + self.queuing + self.generating
        scale = total / base if base > 0 else 0.0
        return (self.waiting * scale, self.queuing * scale, self.generating * scale if base else total)


__all__ = ["SandboxConfig"]
