"""The command line's own settings: which farm, which key, and how a batch moves over the network.

Why not the farm's ``Settings``: a client on a laptop has no database, broker or storage to
configure, and reading the server's settings made it load (and validate) all of them. These are
read once per command, from the same ``STYLEFARM_*`` environment variables as before.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ClientSettings(BaseSettings):
    """``STYLEFARM_API_URL``, ``STYLEFARM_API_KEY``, ``STYLEFARM_CLI_CHUNK_SIZE``, ``STYLEFARM_CLI_IO_THREADS``."""

    model_config = SettingsConfigDict(env_prefix="STYLEFARM_", extra="ignore")

    api_url: str | None = None  # the farm, e.g. http://127.0.0.1:8000 (--api-url wins)
    api_key: str | None = None  # a tenant's API key (--api-key wins)
    cli_chunk_size: int = Field(default=100, ge=1, le=1000)  # inputs per job (JobCreate allows 1000)
    cli_io_threads: int = Field(default=4, ge=1, le=32)  # parallel uploads and downloads
