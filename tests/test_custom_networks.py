"""Bring-your-own networks: the engine runs user TorchScript and ONNX files tile by tile, and the API
checks and registers them (the worker's part over a real queue is in test_farm_custom_network.py)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable

import numpy as np
import pytest
import torch

from api.extensions import db
from cli.render import build_style
from shared.db import JobItem, Style, StyleStatus
from shared.errors import BadInputError
from shared.queue import LIGHT_QUEUE, VALIDATE_NETWORK
from shared.schemas.networks import NetworkRef
from shared.schemas.style_refs import StyleComponentRef, StyleRef
from shared.settings import Settings
from tests.conftest_api import image_bytes, queued_tasks, upload
from tests.custom_networks import (
    FailsAbove,
    FixedSize,
    Negate,
    OneChannel,
    SepiaBlur,
    SepiaBlurWithBaggage,
    add_network,
    apply_directly,
    corrupt_torchscript_bytes,
    onnx_sepia_blur_bytes,
    sample_photo,
    torchscript_bytes,
    weights_only_bytes,
)
from worker.engine import color
from worker.engine.custom_net import NetworkCache, NetworkSource
from worker.engine.render import RenderOptions, StyleEngine
from worker.engine.styles import StyleComponent, StyleSpec
from worker.jobs.job_params import stored_style, style_spec

TILED = RenderOptions(tile_size=64, single_pass_pixels=0)  # 200 × 144 → 12 tiles


def source(data: bytes, network_format: str = "torchscript", **options: object) -> NetworkSource:
    return NetworkSource(hashlib.sha256(data).hexdigest(), network_format, lambda: data, **options)  # type: ignore[arg-type]


def network_style(data: bytes, network_format: str = "torchscript", **options: object) -> StyleSpec:
    return StyleSpec.single(StyleComponent(network=source(data, network_format, **options)))


@pytest.fixture(scope="module")
def sepia_files() -> dict[str, bytes]:
    return {"torchscript": torchscript_bytes(SepiaBlur()), "onnx": onnx_sepia_blur_bytes()}


# The engine.


@pytest.mark.parametrize("network_format", ["torchscript", "onnx"])
def test_a_user_network_renders_like_the_network_applied_directly_tiled_or_whole(
    engine: StyleEngine, sepia_files, network_format
):
    photo = sample_photo(200, 144)  # sides on the size multiple (8): no padding at the borders
    expected = apply_directly(SepiaBlur(), photo)
    style = network_style(sepia_files[network_format], network_format, overlap=8)
    tiles: list[int] = []
    tiled = engine.render(photo, style, TILED, progress=lambda done, total: tiles.append(total))
    whole = engine.render(photo, style, RenderOptions())
    assert tiles[-1] == 12
    for output in (tiled, whole):
        assert output.shape == photo.shape
        assert np.abs(output.astype(int) - expected).max() <= 1  # onnxruntime and torch round differently
    assert not np.array_equal(tiled, photo)  # the network did something


def test_odd_sizes_are_mirror_padded_to_the_size_multiple_and_cropped_back(engine: StyleEngine, sepia_files):
    photo = sample_photo(203, 141)
    style = network_style(sepia_files["torchscript"], overlap=8)
    tiled = engine.render(photo, style, TILED)
    whole = engine.render(photo, style, RenderOptions())
    assert tiled.shape == whole.shape == photo.shape
    assert np.abs(tiled.astype(int) - whole).max() <= 1
    # Away from the padded right and bottom borders, the network's own output.
    inner = apply_directly(SepiaBlur(), photo)[:-2, :-2]
    assert np.abs(whole[:-2, :-2].astype(int) - inner).max() <= 1


def test_value_range_minus_one_to_one_maps_pixels_both_ways(engine: StyleEngine):
    photo = sample_photo(64, 48)
    negate = torchscript_bytes(Negate())
    inverted = engine.render(photo, network_style(negate, value_range="-1,1"), RenderOptions())
    assert np.abs(inverted.astype(int) - (255 - photo.astype(int))).max() <= 1  # -x in -1–1 is 1 - x in 0–1
    black = engine.render(photo, network_style(negate, value_range="0,1"), RenderOptions())
    assert black.max() == 0  # -x in 0–1 is clipped to 0


def test_strength_and_colour_modes_apply_to_network_styles(engine: StyleEngine):
    photo = sample_photo(96, 64)
    style = network_style(torchscript_bytes(Negate()), value_range="-1,1")
    inverted = engine.render(photo, style, RenderOptions())
    assert np.array_equal(engine.render(photo, style, RenderOptions(strength=0.0)), photo)
    half = engine.render(photo, style, RenderOptions(strength=0.5))
    assert np.abs(half.astype(int) - color.blend(inverted, photo, 0.5)).max() <= 1
    preserved = engine.render(photo, style, RenderOptions(color_mode="preserve"))
    assert np.abs(preserved.astype(int) - color.combine(inverted, photo, "preserve")).max() <= 1
    half_size = engine.render(photo, style, RenderOptions(working_side=48))  # rendered small, brought back
    assert half_size.shape == photo.shape


def test_the_local_render_takes_network_files_by_their_ending(engine: StyleEngine, sepia_files, tmp_path):
    photo = sample_photo(96, 64)
    expected = apply_directly(SepiaBlur(), photo)
    for name, data in (("look.pt", sepia_files["torchscript"]), ("look.onnx", sepia_files["onnx"])):
        (tmp_path / name).write_bytes(data)
        style = build_style([str(tmp_path / name)], [])
        assert style.network is not None and style.network.sha256 == hashlib.sha256(data).hexdigest()
        assert np.abs(engine.render(photo, style, RenderOptions()).astype(int) - expected).max() <= 1


def test_a_network_is_never_blended_with_other_styles():
    with pytest.raises(BadInputError, match="cannot be blended"):
        StyleSpec((StyleComponent(builtin=3), StyleComponent(network=source(b"x"))))


def test_the_cache_loads_each_file_once_keyed_by_its_hash_and_drops_the_least_recent(sepia_files):
    reads: list[str] = []

    def counted(name: str, data: bytes, network_format: str) -> NetworkSource:
        def read() -> bytes:
            reads.append(name)
            return data

        return NetworkSource(hashlib.sha256(data).hexdigest(), network_format, read)  # type: ignore[arg-type]

    cache = NetworkCache(torch.device("cpu"), capacity=1)
    sepia = counted("sepia", sepia_files["torchscript"], "torchscript")
    onnx_sepia = counted("onnx", sepia_files["onnx"], "onnx")
    window = sample_photo(64, 64)
    first = cache.get(sepia).stylize(window)
    assert np.array_equal(cache.get(sepia).stylize(window), first)
    assert reads == ["sepia"] and sepia.sha256 in cache
    cache.get(onnx_sepia)
    assert onnx_sepia.sha256 in cache and sepia.sha256 not in cache  # capacity 1
    cache.get(sepia)
    assert reads == ["sepia", "onnx", "sepia"]
    changed = NetworkSource(sepia.sha256, "onnx", lambda: sepia_files["onnx"])
    with pytest.raises(BadInputError, match="changed since it was registered"):
        NetworkCache(torch.device("cpu")).get(changed)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: torchscript_bytes(OneChannel()), r"returned shape 1×1×64×64 for a 1×3×64×64 input"),
        (lambda: torchscript_bytes(FixedSize()), r"the network failed on a 80×48 input: .*shape"),
        (corrupt_torchscript_bytes, r"could not be loaded as torchscript: "),
        (lambda: onnx_sepia_blur_bytes()[:-40], r"could not be loaded as onnx: "),
    ],
    ids=["wrong-channels", "fixed-size", "corrupt-torchscript", "truncated-onnx"],
)
def test_a_network_that_cannot_work_fails_its_probe_with_the_reason(build: Callable[[], bytes], message: str):
    data = build()
    network_format = "onnx" if not data.startswith(b"PK") else "torchscript"
    with pytest.raises(BadInputError, match=message):
        NetworkCache(torch.device("cpu")).get(source(data, network_format))


def test_a_network_that_raises_during_a_render_fails_it_with_the_reason(engine: StyleEngine):
    style = network_style(torchscript_bytes(FailsAbove()))
    assert engine.render(sample_photo(96, 64), style, RenderOptions()).shape == (64, 96, 3)  # within its limit
    with pytest.raises(BadInputError, match=r"failed on a 200×144 input: .*at most 100 px wide"):
        engine.render(sample_photo(200, 144), style, RenderOptions())


def test_a_stored_network_reference_reads_its_file_and_fails_clearly_once_it_is_gone(
    local_storage, tmp_path, sepia_files
):
    data, key = sepia_files["torchscript"], "styles/tenant/style/network"
    local_storage.put_bytes(key, data)
    network = NetworkRef(key=key, format="torchscript", sha256=hashlib.sha256(data).hexdigest(), overlap=5)
    ref = stored_style(
        StyleRef(label="sepia", components=[StyleComponentRef(weight=1.0, network=network)]).model_dump()
    )
    settings = Settings(home=tmp_path, network_size_multiple=4)
    spec = style_spec(ref, settings, local_storage)
    assert spec.network is not None and (spec.network.overlap, spec.network.size_multiple) == (5, 4)
    assert spec.network.read() == data
    local_storage.delete(key)
    with pytest.raises(BadInputError, match="no longer stored"):
        NetworkCache(torch.device("cpu")).get(spec.network)
    with pytest.raises(BadInputError, match="needs the farm's storage"):
        style_spec(ref)


# The API.


def test_registering_a_network_stores_it_pending_and_enqueues_its_validation(
    api_app, api_client, auth_headers, redis_broker, sepia_files
):
    response = add_network(api_client, auth_headers, sepia_files["torchscript"], value_range="-1,1", overlap=12)
    assert response.status_code == 201, response.json
    style = response.json
    assert (style["kind"], style["status"], style["network_format"]) == ("network", "pending", "torchscript")
    onnx_style = add_network(api_client, auth_headers, sepia_files["onnx"], name="sepia-onnx").json
    assert onnx_style["network_format"] == "onnx"  # recognised from the bytes
    # Over the images' byte limit (300 kB in these tests) but within the networks' own (200 MB).
    heavy = add_network(api_client, auth_headers, torchscript_bytes(SepiaBlurWithBaggage()), name="heavy")
    assert heavy.status_code == 201, heavy.json
    assert queued_tasks(redis_broker, LIGHT_QUEUE) == [
        (VALIDATE_NETWORK, [style["id"]]),
        (VALIDATE_NETWORK, [onnx_style["id"]]),
        (VALIDATE_NETWORK, [heavy.json["id"]]),
    ]
    with api_app.app_context():
        row = db.session.get(Style, style["id"])
        from api.extensions import object_store

        assert object_store.storage.get_bytes(row.network_key) == sepia_files["torchscript"]
        assert row.network_options == {
            "sha256": hashlib.sha256(sepia_files["torchscript"]).hexdigest(),
            "value_range": "-1,1",
            "overlap": 12,
        }
    assert api_client.delete(f"/v1/styles/{style['id']}", headers=auth_headers).status_code == 204
    with api_app.app_context():
        assert not object_store.storage.exists(row.network_key)


def test_network_files_are_checked_at_upload_with_the_reason(make_api_app, redis_broker, sepia_files):
    from tests.conftest_api import issue_key

    # Network files have their own byte limit, here above the images' (max_upload_bytes = 300 kB).
    app = make_api_app(max_network_bytes=len(sepia_files["torchscript"]) + 10, network_formats="torchscript")
    client, headers = app.test_client(), issue_key(app, "acme")
    too_large = add_network(client, headers, torchscript_bytes(SepiaBlurWithBaggage()))
    assert too_large.status_code == 413 and "the request body is" in too_large.json["message"]
    # Within the multipart envelope's allowance, so refused while the file is read.
    just_over = add_network(client, headers, sepia_files["torchscript"] + b"\0" * 1000)
    assert just_over.status_code == 413 and "the network file is" in just_over.json["message"]
    assert just_over.json["details"]["max_network_bytes"] == len(sepia_files["torchscript"]) + 10
    cases = {
        "an image": (image_bytes(), "neither a TorchScript archive nor an ONNX model"),
        "weights only": (weights_only_bytes(), "torch.save checkpoint"),
        "onnx, not accepted here": (sepia_files["onnx"], "does not accept onnx networks"),
        "truncated onnx": (sepia_files["onnx"][:-40], "neither a TorchScript archive nor an ONNX model"),
        "empty": (b"", "empty"),
    }
    for case, (data, reason) in cases.items():
        response = add_network(client, headers, data, name=case)
        assert response.status_code == 400 and reason in response.json["message"], (case, response.json)
    mismatch = add_network(client, headers, sepia_files["torchscript"], format="onnx")
    assert mismatch.status_code == 400 and "is torchscript, not onnx" in mismatch.json["message"]
    assert add_network(client, headers, sepia_files["torchscript"], value_range="0,255").status_code == 422
    assert redis_broker.llen(LIGHT_QUEUE) == 0  # nothing refused was queued
    assert add_network(client, headers, sepia_files["torchscript"]).status_code == 201


def test_jobs_use_a_ready_network_style_alone_and_refuse_blending_it(
    api_app, api_client, auth_headers, redis_broker, sepia_files
):
    style = add_network(api_client, auth_headers, sepia_files["torchscript"]).json
    with api_app.app_context():
        db.session.get(Style, style["id"]).status = StyleStatus.READY
        db.session.commit()
    input_id = upload(api_client, auth_headers).json["id"]
    blend = {"inputs": [input_id], "styles": [{"style": "sepia"}, {"style": "builtin:3"}]}
    refused = api_client.post("/v1/jobs", json=blend, headers=auth_headers)
    assert refused.status_code == 400 and "cannot be blended" in refused.json["message"]
    separate = api_client.post("/v1/jobs", json={**blend, "kind": "multi_style"}, headers=auth_headers)
    assert separate.status_code == 201, separate.json
    with api_app.app_context():
        items = db.session.query(JobItem).filter(JobItem.job_id == separate.json["id"]).all()
        refs = {item.style_ref["label"]: item.style_ref["components"][0] for item in items}
        network_key = db.session.get(Style, style["id"]).network_key
    assert refs["sepia"]["network"] == {
        "sha256": hashlib.sha256(sepia_files["torchscript"]).hexdigest(),
        "value_range": "0,1",
        "overlap": None,
        "key": network_key,
        "format": "torchscript",
    }
    assert refs["builtin:3"]["network"] is None


def test_the_api_side_loads_neither_torch_nor_onnx():
    code = (
        "import sys, api.app, api.routes.style_networks, api.services.network_files;"
        "loaded = [m for m in ('torch', 'onnx', 'onnxruntime') if m in sys.modules];"
        "sys.exit(f'loaded {loaded}' if loaded else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr or result.stdout
