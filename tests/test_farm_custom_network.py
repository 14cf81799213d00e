"""User networks through the whole farm: registered over HTTP, validated and run by a real worker.

Real services: the API (served over HTTP from a thread of this process, driven by ``FarmClient``)
and a real Celery worker process share a PostgreSQL schema, a Redis database and local storage.
The farm's settings make every image tile (``single_pass_pixels`` 0), so outputs here are tiled
renders compared with the network applied to the whole photo directly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from werkzeug.serving import make_server

from api.app import create_app
from api.auth.keys import create_api_key
from api.extensions import db, dispose
from cli.client import ClientError, FarmClient
from tests.conftest_farm import free_port
from tests.custom_networks import (
    FailsAbove,
    Negate,
    OneChannel,
    SepiaBlur,
    apply_directly,
    corrupt_torchscript_bytes,
    onnx_sepia_blur_bytes,
    sample_photo,
    torchscript_bytes,
)
from tests.worker_farm import Farm, open_farm, running_worker

TILE = 64


@pytest.fixture(scope="module")
def farm(tmp_path_factory, postgres_session_url):
    with open_farm(tmp_path_factory, postgres_session_url) as farm:
        yield farm


@pytest.fixture(scope="module")
def worker(farm: Farm):
    with running_worker(farm, "networks") as worker:
        yield worker


@pytest.fixture(scope="module")
def client(farm: Farm) -> Iterator[FarmClient]:
    """The API on the farm's settings, served over HTTP from a thread, and a client with a new key."""
    app = create_app({**farm.settings.model_dump(), "TESTING": True})
    with app.app_context():
        key = create_api_key(db.session, "networks")
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FarmClient(f"http://127.0.0.1:{server.port}", key)
    finally:
        server.shutdown()
        thread.join()
        dispose(app)


def _registered(client: FarmClient, tmp_path: Path, data: bytes, name: str, **fields: str | int) -> dict:
    path = tmp_path / f"{name}.bin"
    path.write_bytes(data)
    return client.wait_style(client.add_network_style(path, name, **fields)["id"], timeout_s=120)


def _job(client: FarmClient, upload_id: str, styles: list[str]) -> dict:
    body = {
        "kind": "multi_style",
        "inputs": [upload_id],
        "styles": [{"style": name} for name in styles],
        "output_format": "png",
        "tile_size": TILE,
    }
    return client.wait(client.create_job(body)["id"], timeout_s=120)


def _upload(client: FarmClient, tmp_path: Path, photo: np.ndarray) -> str:
    path = tmp_path / "photo.png"
    Image.fromarray(photo).save(path)
    return client.upload(path)["id"]


def test_network_styles_are_validated_by_a_worker_and_render_tiled_like_the_network(farm, worker, client, tmp_path):
    started = time.monotonic()
    styles = {
        "sepia-ts": _registered(client, tmp_path, torchscript_bytes(SepiaBlur()), "sepia-ts", overlap=8),
        "sepia-onnx": _registered(client, tmp_path, onnx_sepia_blur_bytes(), "sepia-onnx", format="onnx"),
        "invert": _registered(client, tmp_path, torchscript_bytes(Negate()), "invert", value_range="-1,1"),
        "grey": _registered(client, tmp_path, torchscript_bytes(OneChannel()), "grey"),
        "corrupt": _registered(client, tmp_path, corrupt_torchscript_bytes(), "corrupt"),
    }
    print(f"5 networks registered and validated in {time.monotonic() - started:.1f} s")
    assert {name: style["status"] for name, style in styles.items()} == {
        "sepia-ts": "ready",
        "sepia-onnx": "ready",
        "invert": "ready",
        "grey": "failed",
        "corrupt": "failed",
    }
    assert "returned shape 1×1×64×64 for a 1×3×64×64 input" in styles["grey"]["error"]
    assert "could not be loaded as torchscript" in styles["corrupt"]["error"]
    photo = sample_photo(200, 144)  # 4 × 3 tiles of 64 px
    upload_id = _upload(client, tmp_path, photo)
    with pytest.raises(ClientError, match="not ready") as refused:
        client.create_job({"inputs": [upload_id], "styles": [{"style": "grey"}]})
    assert refused.value.status == 400

    job = _job(client, upload_id, ["sepia-ts", "sepia-onnx", "invert"])
    assert job["status"] == "succeeded", job
    assert job["progress"]["tiles_done"] == job["progress"]["tiles_total"] == 3 * 12
    expected = {
        "sepia-ts": apply_directly(SepiaBlur(), photo),
        "sepia-onnx": apply_directly(SepiaBlur(), photo),
        "invert": 255 - photo,
    }
    for item in job["items"]:
        output = np.asarray(Image.open(client.download(item["download_url"], tmp_path / f"{item['id']}.png")))
        difference = np.abs(output.astype(int) - expected[item["style_label"]]).max()
        print(f"{item['style_label']}: max difference from the network on the whole photo: {difference}")
        assert output.shape == photo.shape and difference <= 1


def test_a_network_that_fails_during_a_render_fails_its_item_with_the_reason(farm, worker, client, tmp_path):
    style = _registered(client, tmp_path, torchscript_bytes(FailsAbove()), "narrow")
    assert style["status"] == "ready"  # the probe is under 100 px wide
    job = _job(client, _upload(client, tmp_path, sample_photo(200, 144)), ["narrow"])  # 128 px windows
    assert job["status"] == "failed", job
    (item,) = job["items"]
    assert item["status"] == "failed" and item["attempts"] == 1  # bad input is not retried
    assert "the network failed on a 128×" in item["error"] and "at most 100 px wide" in item["error"]
    assert worker.process.poll() is None  # the worker lives on
