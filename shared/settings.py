"""The farm's one typed configuration object.

Why: every process (API, worker, CLI, migrations) reads the same ``STYLEFARM_*`` variables through
this class, once, inside its factory; bad values stop start-up instead of surfacing as a failed job
an hour later. Nothing here reads the environment at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self, get_args

import platformdirs
from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MB = 1024 * 1024
# The user-network file formats workers can run; ``network_formats`` picks among them. Defined here
# (not in ``shared/schemas/networks.py``, which uses it) so settings import no schema.
NetworkFormatName = Literal["torchscript", "onnx"]
NETWORK_FORMATS: tuple[str, ...] = get_args(NetworkFormatName)


def _default_home() -> Path:
    return Path(platformdirs.user_data_dir("stylefarm"))


def _default_database_url(home: Path) -> str:
    return f"sqlite:///{home / 'stylefarm.db'}"


class Settings(BaseSettings):
    """Everything a StyleFarm process needs to know, with safe single-machine defaults.

    With no environment at all the farm runs on one machine: SQLite database, kombu's
    filesystem broker and a local storage folder, all under ``home``. Paths and URLs that are
    not given explicitly are derived from ``home`` (so ``STYLEFARM_HOME`` moves them all).
    """

    model_config = SettingsConfigDict(env_prefix="STYLEFARM_", extra="forbid", validate_default=True)

    home: Path = Field(default_factory=_default_home)

    # Fields without a default here are derived from ``home`` when not given (see _derive_from_home).
    # Database and queue.
    database_url: str
    broker_url: str = "filesystem://"
    result_backend: str
    broker_dir: Path  # folders of kombu's filesystem transport

    # Object storage.
    storage_backend: Literal["local", "s3"] = "local"
    storage_root: Path
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_presign_expiry_s: int = Field(default=3600, ge=1, le=7 * 24 * 3600)  # S3 allows at most 7 days
    # Where browsers and CLIs reach the store, when it differs from s3_endpoint_url (compose: the API
    # talks to http://minio:9000, people to http://localhost:9000): presigned URLs are signed for it.
    s3_public_endpoint_url: str | None = None

    # Limits on what a request may ask for.
    max_upload_bytes: int = Field(default=100 * MB, ge=1)
    max_input_pixels: int = Field(default=120_000_000, ge=1)
    max_output_side: int = Field(default=16_384, ge=16)
    min_input_side: int = Field(default=16, ge=1)
    tile_size: int = Field(default=512, ge=64, le=8192)
    thumbnail_side: int = Field(default=1024, ge=64, le=8192)
    # Images up to this many pixels render in one pass (no tiles); bounds a worker's memory.
    single_pass_pixels: int = Field(default=2_000_000, ge=0, le=64_000_000)
    # Feed-forward renders size their tiles and single-pass limit to this many MB of feature maps
    # (worker/engine/budget.py) unless tile_size / single_pass_pixels are set; 0 always uses those.
    render_memory_mb: int = Field(default=1280, ge=0, le=1_000_000)
    # Tests: the input pixels a tile batch may hold before the device reports out-of-memory (0: no such limit).
    simulated_device_memory_pixels: int = Field(default=0, ge=0)

    # Security: per-API-key request rate (a burst, then rate_limit_per_s on average; 0 turns it
    # off) and the most unfinished items a tenant may have waiting or running at once.
    rate_limit_per_s: float = Field(default=500.0, ge=0)
    rate_limit_burst: int = Field(default=1000, ge=1)
    max_queued_items_per_tenant: int = Field(default=10_000, ge=1)
    # How long an API process remembers a key it found valid: a revoked key, or one of a disabled
    # tenant, is refused within this time (0: look every key up on every request).
    api_key_cache_s: float = Field(default=2.0, ge=0, le=300)
    # Load: threads per gunicorn worker of ``stylefarm up`` (gthread), so a request waiting on the
    # database or Redis does not hold a whole worker process (benchmarks/load.py).
    api_threads: int = Field(default=2, ge=1, le=64)
    # Gunicorn worker processes of ``stylefarm up``. Threads of one process share its GIL, so a CPU-bound
    # request (an upload being checked) delays the status reads on its sibling threads; more processes
    # keep polls fast under mixed load (benchmarks/load.py).
    api_workers: int = Field(default=4, ge=1, le=256)

    # Workers.
    model_cache_dir: Path
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # The networks' convolutions on CPU: int8 (oneDNN u8×s8 kernels, 3-4× faster per conv) or float32;
    # ``auto`` runs them in int8 where that keeps PSNR against float32 ≥ 35 dB (both networks with VNNI,
    # the 26-style one without: worker/engine/render.py ``auto_int8_networks``); CUDA uses half precision.
    engine_precision: Literal["auto", "fp32", "int8"] = "auto"
    # Keep freed feature maps in the worker process for the next render (glibc; worker/engine/host_memory.py):
    # ~20 % faster on multi-megapixel CPU renders; resident memory then stays at its peak between renders.
    engine_reuse_freed_memory: bool = True
    task_soft_time_limit_s: int = Field(default=3300, ge=1)
    task_time_limit_s: int = Field(default=3600, ge=1)
    visibility_timeout_s: int = Field(default=7200, ge=1)
    heartbeat_interval_s: float = Field(default=10.0, gt=0)
    heartbeat_timeout_s: float = Field(default=60.0, gt=0)
    # CPU threads torch uses in each worker process; 0 keeps torch's default (one per core). Set it to
    # cores / processes when several workers share a machine: oversubscribed OpenMP threads spin-wait
    # and were measured 10-20× slower here (2 cores, several processes).
    torch_threads: int = Field(default=0, ge=0, le=1024)
    # Pool processes of the worker ``stylefarm up`` starts. With torch_threads 0 each process takes
    # cores / processes threads (worker/runtime/pool_threads.py), so the machine is never oversubscribed.
    # 2 single-threaded processes beat 1 with 2 threads on a 2-core catalogue: one's decode, encode and
    # bookkeeping run while the other renders (benchmarks/catalogue.py); a lone item renders on 1 core.
    worker_concurrency: int = Field(default=2, ge=1, le=256)
    # Nice level of the worker ``stylefarm up`` starts (0-19; its pool processes inherit it). Renders take
    # every core they get; on a shared machine a lower priority keeps the API, and a browser on the same
    # machine, answering at once, while the renders lose only the time those actually use.
    worker_nice: int = Field(default=10, ge=0, le=19)

    # Optimization mode and style refinement (issue 7). VGG-19 weights are used only from this local
    # file (torchvision's vgg19 state dict, never downloaded); without it the style predictor's
    # smoothed features are the feature network.
    vgg19_weights_path: Path | None = None
    optimize_max_iterations: int = Field(default=500, ge=1, le=100_000)  # per render, refinement tiles apart
    optimize_max_working_side: int = Field(default=1024, ge=32, le=8192)  # whole-image optimization size
    refine_max_iterations: int = Field(default=200, ge=1, le=100_000)  # Adam steps refining a style vector

    # Video: limits on a submitted clip, how it is cut into segments, and how it is stabilized and encoded.
    max_video_seconds: float = Field(default=600.0, gt=0)
    max_video_frames: int = Field(default=36_000, ge=1)
    max_video_pixels: int = Field(default=3840 * 2160, ge=1)  # per frame; larger frames are refused
    max_video_bytes: int = Field(default=2048 * MB, ge=1)  # uploads are also capped by max_upload_bytes
    video_segment_frames: int = Field(default=48, ge=1)  # frames each segment item renders
    video_overlap_frames: int = Field(default=8, ge=0)  # frames rendered before a segment to settle the blend
    video_container: Literal["mp4", "mov", "mkv", "webm"] = "mp4"  # the joined output's container (job option too)
    video_codec: str | None = None  # its encoder (FFmpeg name); None: libx264 (libvpx-vp9 for webm)
    video_crf: int = Field(default=18, ge=0, le=63)  # constant-rate-factor quality of the joined output
    video_blend_strength: float = Field(default=0.7, ge=0.0, lt=1.0)  # weight of the flow-warped previous frame
    video_flow_side: int = Field(default=640, ge=32, le=8192)  # long side at which the optical flow is computed
    video_stats_samples: int = Field(default=8, ge=1, le=64)  # frames whose pooled norm statistics every frame uses

    # Faults: how often a failed attempt is retried, and how long a call may wait on storage.
    task_max_retries: int = Field(default=5, ge=0, le=100)  # Celery retries of a transient failure
    task_retry_backoff_max_s: int = Field(default=300, ge=1)  # exponential backoff capped at this
    s3_max_attempts: int = Field(default=3, ge=1, le=20)  # botocore's own attempts per S3 call
    s3_connect_timeout_s: float = Field(default=5.0, gt=0)
    s3_read_timeout_s: float = Field(default=60.0, gt=0)

    # API polish: webhooks, priorities, result cache.
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=300)  # one POST to a callback URL
    webhook_max_retries: int = Field(default=8, ge=0, le=50)  # further attempts after the first, with backoff
    webhook_retry_backoff_max_s: int = Field(default=600, ge=1)  # cap of the exponential backoff between attempts
    # Loopback and private (RFC 1918, ULA) callback targets: off in production, on for a single-machine farm.
    webhook_allow_private: bool = False
    preview_side: int = Field(default=384, ge=16, le=4096)  # a preview job's output is at most this long a side
    interactive_max_items: int = Field(default=4, ge=0)  # jobs of at most this many items skip the bulk queue
    bulk_min_items: int = Field(default=50, ge=1)  # jobs of at least this many items go to the bulk queue
    result_cache_enabled: bool = True  # reuse a stored output for the same input bytes, style and parameters
    metrics_window_items: int = Field(default=10_000, ge=1)  # latest rendered items the /metrics histograms read
    queue_estimate_window_items: int = Field(default=200, ge=1)  # latest rendered items a job's ETA averages

    # Archival recolouring (issue 15, worker/engine/recolor/): how strongly chroma is smoothed along the
    # photo's edges (0 off, 1 strong; a job may choose), the long side at which chroma is formed, the
    # long side at which painted hints are solved, and the memory one recolour may plan to hold.
    chroma_smoothing: float = Field(default=0.5, ge=0.0, le=1.0)
    recolor_working_side: int = Field(default=1024, ge=64, le=8192)
    recolor_hint_solve_side: int = Field(default=640, ge=64, le=4096)
    recolor_memory_limit_mb: int = Field(default=2048, ge=64)

    # Web page: a job's event stream (one stream holds one sync gunicorn worker, so it is bounded
    # below gunicorn's 30 s timeout; clients reconnect).
    job_events_max_s: float = Field(default=20.0, gt=0, le=3600)
    job_events_poll_s: float = Field(default=0.5, gt=0, le=60)  # how often a stream re-reads the job
    # A comment when nothing changed: also how soon a stream whose client left frees its worker.
    job_events_heartbeat_s: float = Field(default=5.0, gt=0, le=600)
    # A follower (the page, ``stylefarm status --wait``) warns when a job it follows has not changed
    # for this long; running items change with every heartbeat, so only a stuck or starved job does.
    follow_stall_s: float = Field(default=600.0, gt=0, le=86_400)

    # Bring-your-own networks (issue 7): user TorchScript/ONNX files, checked at upload, run by workers.
    max_network_bytes: int = Field(default=200 * MB, ge=1)  # one uploaded network file
    network_formats: str = "torchscript,onnx"  # comma-separated formats the API accepts
    network_cache_size: int = Field(default=4, ge=1, le=64)  # loaded networks kept per worker process
    network_tile_overlap: int = Field(default=32, ge=0, le=1024)  # context px around each tile (unknown field)
    network_size_multiple: int = Field(default=8, ge=1, le=256)  # inputs are mirror-padded to this multiple
    network_probe_side: int = Field(default=64, ge=8, le=1024)  # side of the test image a new network must pass

    @field_validator("network_formats")
    @classmethod
    def _check_network_formats(cls, value: str) -> str:
        formats = [part.strip() for part in value.split(",") if part.strip()]
        unknown = sorted(set(formats) - set(NETWORK_FORMATS))
        if unknown:
            raise ValueError(f"unknown network formats {unknown}; known: {', '.join(NETWORK_FORMATS)}")
        return ",".join(formats)

    @property
    def allowed_network_formats(self) -> tuple[str, ...]:
        return tuple(part for part in self.network_formats.split(",") if part)

    @model_validator(mode="before")
    @classmethod
    def _derive_from_home(cls, data: Any) -> Any:
        """Fill the paths and URLs not given explicitly from ``home``."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        home = Path(data.get("home") or _default_home()).expanduser().absolute()
        data["home"] = home
        derived: dict[str, object] = {
            "database_url": _default_database_url(home),
            "result_backend": f"db+sqlite:///{home / 'celery-results.db'}",
            "broker_dir": home / "broker",
            "storage_root": home / "storage",
            "model_cache_dir": home / "models",
        }
        for name, value in derived.items():
            if not data.get(name):
                data[name] = value
        return data

    @field_validator("broker_dir", "storage_root", "model_cache_dir")
    @classmethod
    def _expand_path(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str, info: ValidationInfo) -> str:
        """Parse a given URL as SQLAlchemy will; the default derived from ``home`` is valid by construction.

        Why the exception: SQLAlchemy takes ~0.3 s to import, and processes that never open the
        database (``stylefarm render``, the client commands) would pay it just to re-check our own default.
        """
        home = info.data.get("home")
        if home is not None and value == _default_database_url(home):
            return value
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL: {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        if not self.task_soft_time_limit_s < self.task_time_limit_s:
            raise ValueError("task_soft_time_limit_s must be below task_time_limit_s")
        if not self.visibility_timeout_s > self.task_time_limit_s:
            # Otherwise Redis redelivers a task that is still running: two workers render it.
            raise ValueError("visibility_timeout_s must be above task_time_limit_s")
        if not self.heartbeat_timeout_s > 2 * self.heartbeat_interval_s:
            raise ValueError("heartbeat_timeout_s must be more than twice heartbeat_interval_s")
        if self.min_input_side > self.max_output_side:
            raise ValueError("min_input_side must not exceed max_output_side")
        if self.storage_backend == "s3" and not self.s3_bucket:
            raise ValueError("storage_backend 's3' needs s3_bucket")
        return self

    def broker_transport_options(self) -> dict[str, Any]:
        """Celery's ``broker_transport_options`` matching ``broker_url``.

        Why: the filesystem transport needs its folders, and Redis needs a visibility timeout
        above the longest task (NOTES.md, "Celery for long GPU work").
        """
        if self.broker_url.startswith("filesystem://"):
            return {
                # One machine: producers and consumers share one message folder.
                "data_folder_in": str(self.broker_dir / "messages"),
                "data_folder_out": str(self.broker_dir / "messages"),
                "processed_folder": str(self.broker_dir / "processed"),
                # Exchange bindings; kombu's default is ./control in the current folder, which every
                # farm started from the same folder would share (and routes by each other's bindings).
                "control_folder": str(self.broker_dir / "control"),
                "store_processed": False,
                "polling_interval": 0.01,  # 0.05 s added ~34 ms to a claim; 0.01 s costs ~2% of a core idle
            }
        return {"visibility_timeout": self.visibility_timeout_s}

    def ensure_directories(self) -> None:
        """Create the local folders this configuration writes to (kombu does not create them)."""
        folders = [self.home, self.model_cache_dir]
        if self.storage_backend == "local":
            folders.append(self.storage_root)
        if self.broker_url.startswith("filesystem://"):
            folders += [self.broker_dir / "messages", self.broker_dir / "processed", self.broker_dir / "control"]
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)


def get_settings(**overrides: Any) -> Settings:
    """Build the settings from the environment, with explicit ``overrides`` winning.

    Called by app and worker factories; tests pass their own values here.
    """
    return Settings(**overrides)
