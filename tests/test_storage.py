from __future__ import annotations

import time
import urllib.request

import pytest

from shared.errors import BadInputError, NotFoundError, StorageError
from shared.settings import get_settings
from shared.storage import LocalStorage, S3Storage, storage_from_settings, validate_key
from tests.conftest_farm import S3_CREDENTIALS, free_port

UNSAFE_KEYS = ["", "/etc/passwd", "../escape.png", "a/../../b", "a//b", "a/./b", "a/.hidden", "a\\b", "ä.png"]


def test_storage_round_trips_bytes_files_and_streams(storage, tmp_path):
    storage.put_bytes("tenants/t1/inputs/a.png", b"\x89PNG data", "image/png")
    source = tmp_path / "video.mp4"
    source.write_bytes(b"v" * 300_000)
    storage.put_file("tenants/t1/inputs/b.mp4", source)

    assert storage.get_bytes("tenants/t1/inputs/a.png") == b"\x89PNG data"
    assert storage.size("tenants/t1/inputs/b.mp4") == 300_000
    assert storage.exists("tenants/t1/inputs/a.png")
    with storage.open_read("tenants/t1/inputs/b.mp4") as stream:
        assert stream.read(5) == b"vvvvv"
        assert len(stream.read()) == 300_000 - 5


def test_storage_overwrites_an_existing_key(storage):
    storage.put_bytes("results/r.png", b"first")
    storage.put_bytes("results/r.png", b"second")
    assert storage.get_bytes("results/r.png") == b"second"


def test_missing_keys_raise_not_found_and_delete_is_idempotent(storage):
    assert not storage.exists("results/none.png")
    with pytest.raises(NotFoundError):
        storage.get_bytes("results/none.png")
    with pytest.raises(NotFoundError):
        storage.size("results/none.png")
    with pytest.raises(NotFoundError):
        storage.open_read("results/none.png")
    storage.put_bytes("results/gone.png", b"x")
    storage.delete("results/gone.png")
    storage.delete("results/gone.png")
    assert not storage.exists("results/gone.png")


@pytest.mark.parametrize("key", UNSAFE_KEYS)
def test_storage_rejects_unsafe_keys(storage, key):
    with pytest.raises(BadInputError):
        storage.put_bytes(key, b"x")


def test_local_storage_rejects_path_traversal_keys(tmp_path):
    storage = LocalStorage(tmp_path / "root")
    for key in ("../outside.txt", "a/../../outside.txt", str(tmp_path / "outside.txt")):
        with pytest.raises(BadInputError):
            storage.put_bytes(key, b"x")
        with pytest.raises(BadInputError):
            storage.get_bytes(key)
    assert not (tmp_path / "outside.txt").exists()
    assert validate_key("tenants/t-1/results/job_2=3+4.png") == "tenants/t-1/results/job_2=3+4.png"


def test_local_storage_failed_write_keeps_the_old_object_and_no_temporary_file(local_storage):
    local_storage.put_bytes("results/r.png", b"complete")
    with pytest.raises(TypeError):
        local_storage.put_bytes("results/r.png", "not bytes")  # type: ignore[arg-type]
    assert local_storage.get_bytes("results/r.png") == b"complete"
    assert [p.name for p in local_storage.path_for("results/r.png").parent.iterdir()] == ["r.png"]


def test_local_storage_reports_a_broken_root_as_a_storage_error(tmp_path):
    (tmp_path / "root").write_text("a file where the storage folder should be")
    storage = LocalStorage(tmp_path / "root")
    with pytest.raises(StorageError, match="could not write") as caught:
        storage.put_bytes("results/r.png", b"x")
    assert caught.value.status == 503 and caught.value.transient


def test_local_storage_has_no_presigned_urls(local_storage):
    assert local_storage.presigned_get_url("results/r.png") is None
    assert local_storage.presigned_put_url("results/r.png") is None


def test_s3_storage_round_trips_bytes_and_presigns_urls(s3_storage):
    s3_storage.put_bytes("results/r.png", b"stylized", "image/png")
    head = s3_storage.client.head_object(Bucket=s3_storage.bucket, Key="results/r.png")
    assert head["ContentType"] == "image/png"

    url = s3_storage.presigned_get_url("results/r.png", expires_s=60)
    assert url is not None and "X-Amz-Signature" in url and "X-Amz-Expires=60" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"stylized"

    put_url = s3_storage.presigned_put_url("uploads/u.jpg", content_type="image/jpeg")
    assert put_url is not None
    headers = {"Content-Type": "image/jpeg"}
    upload = urllib.request.Request(put_url, data=b"jpeg bytes", method="PUT", headers=headers)
    with urllib.request.urlopen(upload, timeout=10) as response:
        assert response.status == 200
    assert s3_storage.get_bytes("uploads/u.jpg") == b"jpeg bytes"


def test_s3_ensure_bucket_creates_it_once_and_is_idempotent(s3_endpoint):
    storage = S3Storage("sf-test-ensure", endpoint_url=s3_endpoint, region="eu-west-1", **S3_CREDENTIALS)
    storage.ensure_bucket()
    storage.ensure_bucket()
    storage.put_bytes("k.txt", b"ok")
    location = storage.client.get_bucket_location(Bucket="sf-test-ensure")["LocationConstraint"]
    assert location == "eu-west-1"


def test_s3_storage_without_its_bucket_raises_storage_error(s3_endpoint):
    storage = S3Storage("sf-test-never-created", endpoint_url=s3_endpoint, **S3_CREDENTIALS)
    with pytest.raises(StorageError, match="NoSuchBucket"):
        storage.put_bytes("k.txt", b"x")


def test_s3_storage_unreachable_endpoint_raises_storage_error_quickly():
    storage = S3Storage("farm", endpoint_url=f"http://127.0.0.1:{free_port()}", **S3_CREDENTIALS)
    started = time.monotonic()
    with pytest.raises(StorageError, match=r"S3 could not upload 'k\.txt'") as caught:
        storage.put_bytes("k.txt", b"x")
    assert caught.value.transient
    assert time.monotonic() - started < 10


def test_storage_from_settings_builds_the_configured_backend(tmp_path, s3_endpoint):
    local = storage_from_settings(get_settings(home=tmp_path))
    assert isinstance(local, LocalStorage) and local.root == tmp_path / "storage"
    s3 = storage_from_settings(
        get_settings(
            home=tmp_path,
            storage_backend="s3",
            s3_bucket="sf-test-from-settings",
            s3_endpoint_url=s3_endpoint,
            s3_access_key_id="testing",
            s3_secret_access_key="testing",
            s3_presign_expiry_s=120,
        )
    )
    assert isinstance(s3, S3Storage)
    s3.ensure_bucket()
    s3.put_bytes("k.txt", b"via settings")
    assert s3.get_bytes("k.txt") == b"via settings"
    assert "X-Amz-Expires=120" in (s3.presigned_get_url("k.txt") or "")


def test_presigned_urls_point_at_the_public_endpoint_and_work_there(tmp_path, s3_endpoint):
    """The servers reach the store at one address (compose: ``minio:9000``), people at another."""
    public = s3_endpoint.replace("127.0.0.1", "localhost")  # the same moto server under another host name
    s3 = storage_from_settings(
        get_settings(
            home=tmp_path,
            storage_backend="s3",
            s3_bucket="sf-test-public-endpoint",
            s3_endpoint_url=s3_endpoint,
            s3_public_endpoint_url=public,
            s3_access_key_id="testing",
            s3_secret_access_key="testing",
        )
    )
    s3.ensure_bucket()
    s3.put_bytes("results/r.png", b"seen from outside", "image/png")
    url = s3.presigned_get_url("results/r.png") or ""
    assert url.startswith(f"{public}/sf-test-public-endpoint/results/r.png?"), url
    with urllib.request.urlopen(url, timeout=10) as response:  # signed for the public host: accepted there
        assert response.read() == b"seen from outside"
    put_url = s3.presigned_put_url("uploads/u.jpg") or ""
    assert put_url.startswith(public)
    assert s3.get_bytes("results/r.png") == b"seen from outside"  # the servers' own calls still go direct
