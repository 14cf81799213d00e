"""A video job on the farm: two real worker processes render its segments, the last one sends the join.

Everything is real: PostgreSQL, Redis, local storage and ``celery worker`` processes started as
``stylefarm up`` starts them. The job is made by the API's own submission code; the result is
compared with the same clip rendered in one segment in this process.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from api.services.job_submission import submit_job
from api.services.upload_records import store_upload
from api.services.video_inputs import inspect_video
from shared.db import ItemRole, JobStatus
from shared.queue import enqueue_render
from shared.schemas.jobs import JobCreate
from shared.video.probe import probe_video
from tests.onnx_reference import psnr
from tests.video_clips import CLIP
from tests.worker_farm import Farm, open_farm
from worker.engine.from_settings import engine_from_settings
from worker.jobs.job_params import job_request, render_options, stored_style, style_spec
from worker.video.pipeline import plan_from_settings, render_video

MIN_PSNR_DB = 35.0


@pytest.fixture(scope="module")
def farm(tmp_path_factory, postgres_session_url) -> Iterator[Farm]:
    # 24 frames in two segments of 12; the second starts its blend 8 frames early, at frame 4. Near-lossless
    # H.264 (CRF 4), so the comparison sees the segmenting rather than the encoder's noise on textures.
    settings = {"video_segment_frames": 12, "video_overlap_frames": 8, "video_crf": 4, "max_output_side": 128}
    with open_farm(tmp_path_factory, postgres_session_url, **settings) as farm:
        yield farm


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def test_two_workers_render_the_segments_and_the_join_matches_a_one_segment_render(farm: Farm, tmp_path: Path):
    data = CLIP.read_bytes()
    request = JobCreate(kind="video", inputs=["x"], styles=[{"style": "builtin:3"}])
    with farm.sessions() as session:
        upload = store_upload(
            session, farm.storage, farm.tenant_id, data, inspect_video(data, farm.settings).facts(), "c.mp4"
        )
        request = request.model_copy(update={"inputs": [upload.id]})
        submission = submit_job(session, farm.storage, farm.settings, farm.tenant_id, request)
        items = [(item.id, item.role) for item in submission.items]
    workers = [farm.start_worker(f"video{i}") for i in range(2)]
    try:
        for worker in workers:
            worker.wait_ready(timeout_s=120)
        for item_id, role in items:
            if role != ItemRole.JOIN:  # as the API does: the join is sent by the last segment
                enqueue_render(farm.app, item_id)
        join_id = next(item_id for item_id, role in items if role == ItemRole.JOIN)
        join = farm.wait_finished(join_id, timeout_s=400)
    finally:
        for worker in workers:
            worker.stop()
    logs = "\n".join(worker.log()[-2000:] for worker in workers)
    assert join.status == JobStatus.SUCCEEDED, (join.error, logs)
    assert farm.job_of(join_id).status == JobStatus.SUCCEEDED
    segments = [farm.item(item_id) for item_id, role in items if role == ItemRole.SEGMENT]
    assert [s.segment for s in segments] == [
        {"index": 0, "start": 0, "stop": 12, "overlap": 0},
        {"index": 1, "start": 12, "stop": 24, "overlap": 8},
    ]
    assert len({s.worker_id for s in segments}) == 2, "each worker should have rendered one segment"
    assert [(s.tiles_done, s.tiles_total) for s in segments] == [(12, 12), (20, 20)]  # frames, overlap included
    assert (join.tiles_done, join.tiles_total, join.output_format) == (24, 24, "mp4")

    farmed = tmp_path / "farmed.mp4"
    farmed.write_bytes(farm.storage.get_bytes(join.output_key))
    source, result = probe_video(CLIP), probe_video(farmed)
    assert (result.frames, result.fps, result.duration_s) == (source.frames, source.fps, source.duration_s)
    assert result.audio_codec == source.audio_codec
    assert (result.width, result.height) == (128, 72)
    audio = [(entry["mode"], entry["codec"]) for entry in join.history if entry["event"] == "audio"]
    assert audio == [("copied", "mp3")]  # MP3 goes into MP4 as it is, and the join's history says so

    # The same clip in one segment, in this process, with the farm's settings.
    job_params = job_request(farm.job_of(join_id).params)
    options = render_options(farm.settings, job_params)
    plan = plan_from_settings(farm.settings, options, job_params)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        engine = engine_from_settings(farm.settings)
        style = style_spec(stored_style(join.style_ref), farm.settings, farm.storage)
        single = tmp_path / "single.mp4"
        render_video(engine, CLIP, single, style, options, replace(plan, segment_frames=24))
    finally:
        torch.set_num_threads(threads)
    quality = [psnr(a, b) for a, b in zip(decoded(farmed), decoded(single), strict=True)]
    assert min(quality) >= MIN_PSNR_DB, quality
