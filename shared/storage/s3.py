"""Storage in an S3 bucket (AWS, MinIO, Ceph or any S3-compatible server)."""

from __future__ import annotations

import contextlib
import mimetypes
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, cast

import boto3
from boto3.exceptions import S3UploadFailedError
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from shared.errors import NotFoundError, StorageError
from shared.storage.base import Storage, validate_key

_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}


class S3Storage(Storage):
    """Objects in one bucket, written with single PUTs or boto3's managed multipart upload.

    Args:
        bucket: the bucket name; ``ensure_bucket()`` creates it when asked to.
        endpoint_url: the server for S3-compatible stores; None means AWS. With an endpoint,
            path-style addressing is used (MinIO and most on-premise stores want it).
        presign_expiry_s: lifetime of presigned URLs when a call does not say.
        public_endpoint_url: the address clients outside the servers' network use for the store;
            presigned URLs are signed for its host (a URL signed for ``minio:9000`` and rewritten
            afterwards would fail its signature check). None: the same as ``endpoint_url``.
        max_attempts, connect_timeout_s, read_timeout_s: how long one call may try before it
            raises ``StorageError`` (botocore's "standard" retry mode: a handful of attempts with
            jittered exponential backoff); a worker's task retries then decide what happens next.
        client: an already built boto3 S3 client (the other connection arguments are then ignored).
    """

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        presign_expiry_s: int = 3600,
        max_attempts: int = 3,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 60.0,
        client: Any = None,
        public_endpoint_url: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.region = region
        self.presign_expiry_s = presign_expiry_s

        def make_client(url: str | None) -> Any:
            return boto3.client(
                "s3",
                endpoint_url=url,
                region_name=region,
                aws_access_key_id=access_key_id,
                aws_secret_access_key=secret_access_key,
                config=Config(
                    signature_version="s3v4",
                    s3={"addressing_style": "path" if url else "auto"},
                    retries={"mode": "standard", "max_attempts": max_attempts},
                    connect_timeout=connect_timeout_s,
                    read_timeout=read_timeout_s,
                ),
            )

        self.client = client or make_client(endpoint_url)
        # Signing makes no request, so this client never connects; it only puts the public host in URLs.
        self.presign_client = make_client(public_endpoint_url) if public_endpoint_url else self.client

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist yet (deployment and test set-up, not per request)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if _error_code(exc) not in {"404", "NoSuchBucket", "NotFound"}:
                raise _storage_error("check bucket", self.bucket, exc) from exc
        except BotoCoreError as exc:
            raise _storage_error("check bucket", self.bucket, exc) from exc
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":  # us-east-1 rejects an explicit LocationConstraint
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        with self._errors("create bucket", self.bucket):
            self.client.create_bucket(**kwargs)

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        kind = _content_type(key, content_type)
        with self._errors("upload", key):
            self.client.put_object(Bucket=self.bucket, Key=validate_key(key), Body=data, ContentType=kind)

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        extra = {"ContentType": _content_type(key, content_type)}
        with self._errors("upload", key):
            self.client.upload_file(str(path), self.bucket, validate_key(key), ExtraArgs=extra)

    def get_bytes(self, key: str) -> bytes:
        with self.open_read(key) as stream, self._errors("download", key):
            return stream.read()

    def open_read(self, key: str) -> BinaryIO:
        with self._errors("download", key):
            response = self.client.get_object(Bucket=self.bucket, Key=validate_key(key))
        return cast(BinaryIO, response["Body"])  # botocore's StreamingBody is an io.IOBase

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except NotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        with self._errors("delete", key):
            self.client.delete_object(Bucket=self.bucket, Key=validate_key(key))

    def size(self, key: str) -> int:
        with self._errors("stat", key):
            head = self.client.head_object(Bucket=self.bucket, Key=validate_key(key))
        return int(head["ContentLength"])

    def presigned_get_url(self, key: str, expires_s: int | None = None) -> str | None:
        params = {"Bucket": self.bucket, "Key": validate_key(key)}
        with self._errors("presign", key):
            return str(
                self.presign_client.generate_presigned_url(
                    "get_object", Params=params, ExpiresIn=expires_s or self.presign_expiry_s
                )
            )

    def presigned_put_url(self, key: str, expires_s: int | None = None, content_type: str | None = None) -> str | None:
        params = {"Bucket": self.bucket, "Key": validate_key(key)}
        if content_type:  # the uploader must then send exactly this Content-Type
            params["ContentType"] = content_type
        with self._errors("presign", key):
            return str(
                self.presign_client.generate_presigned_url(
                    "put_object", Params=params, ExpiresIn=expires_s or self.presign_expiry_s
                )
            )

    @contextlib.contextmanager
    def _errors(self, action: str, key: str) -> Iterator[None]:
        """Missing objects become NotFoundError; every other boto failure a StorageError."""
        try:
            yield
        except ClientError as exc:
            if _error_code(exc) in _MISSING_CODES:
                raise NotFoundError(f"no stored object {key!r}") from None
            raise _storage_error(action, key, exc) from exc
        except (BotoCoreError, S3UploadFailedError) as exc:  # connection refused, timeouts, failed parts
            raise _storage_error(action, key, exc) from exc


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _storage_error(action: str, key: str, exc: Exception) -> StorageError:
    detail = _error_code(exc) if isinstance(exc, ClientError) else exc.__class__.__name__
    return StorageError(f"S3 could not {action} {key!r}: {detail}: {exc}", details={"key": key})


def _content_type(key: str, given: str | None) -> str:
    return given or mimetypes.guess_type(key)[0] or "application/octet-stream"
