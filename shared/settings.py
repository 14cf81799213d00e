"""The farm's one typed configuration object.

Why: every process (API, worker, CLI, migrations) reads the same ``STYLEFARM_*`` variables through
this class, once, inside its factory; bad values stop start-up instead of surfacing as a failed job
an hour later. Nothing here reads the environment at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self

import platformdirs
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

MB = 1024 * 1024


def _default_home() -> Path:
    return Path(platformdirs.user_data_dir("stylefarm"))


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

    # Limits on what a request may ask for.
    max_upload_bytes: int = Field(default=100 * MB, ge=1)
    max_input_pixels: int = Field(default=120_000_000, ge=1)
    max_output_side: int = Field(default=16_384, ge=16)
    min_input_side: int = Field(default=16, ge=1)
    tile_size: int = Field(default=512, ge=64, le=8192)
    thumbnail_side: int = Field(default=1024, ge=64, le=8192)
    # Images up to this many pixels render in one pass (no tiles); bounds a worker's memory.
    single_pass_pixels: int = Field(default=2_000_000, ge=0, le=64_000_000)

    # Workers.
    model_cache_dir: Path
    device: Literal["auto", "cpu", "cuda"] = "auto"
    task_soft_time_limit_s: int = Field(default=3300, ge=1)
    task_time_limit_s: int = Field(default=3600, ge=1)
    visibility_timeout_s: int = Field(default=7200, ge=1)
    heartbeat_interval_s: float = Field(default=10.0, gt=0)
    heartbeat_timeout_s: float = Field(default=60.0, gt=0)

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
            "database_url": f"sqlite:///{home / 'stylefarm.db'}",
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
    def _check_database_url(cls, value: str) -> str:
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
            folders += [self.broker_dir / "messages", self.broker_dir / "processed"]
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)


def get_settings(**overrides: Any) -> Settings:
    """Build the settings from the environment, with explicit ``overrides`` winning.

    Called by app and worker factories; tests pass their own values here.
    """
    return Settings(**overrides)
