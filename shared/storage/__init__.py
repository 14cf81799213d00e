"""Object storage for uploads, style thumbnails and results: a local folder or an S3 bucket."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.storage.base import Storage, validate_key
from shared.storage.local import LocalStorage
from shared.storage.s3 import S3Storage

if TYPE_CHECKING:
    from shared.settings import Settings


def storage_from_settings(settings: Settings) -> Storage:
    """The backend ``settings.storage_backend`` names, configured from the same settings.

    It creates no bucket and no folder: ``S3Storage.ensure_bucket()`` is a deployment step.
    """
    if settings.storage_backend == "s3":
        if not settings.s3_bucket:  # Settings validation already refuses this; keeps type checkers calm
            raise ValueError("storage_backend 's3' needs s3_bucket")
        secret = settings.s3_secret_access_key
        return S3Storage(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
            presign_expiry_s=settings.s3_presign_expiry_s,
            max_attempts=settings.s3_max_attempts,
            connect_timeout_s=settings.s3_connect_timeout_s,
            read_timeout_s=settings.s3_read_timeout_s,
            public_endpoint_url=settings.s3_public_endpoint_url,
        )
    return LocalStorage(settings.storage_root)


__all__ = ["LocalStorage", "S3Storage", "Storage", "storage_from_settings", "validate_key"]
