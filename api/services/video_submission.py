"""The items of a video job: per input video and style group, segment items and one join item.

Why planned at submission: every segment item knows its frame range before any worker starts, so
segments render on any number of workers at once, and the join item (sent by the worker whose
segment completes the group, see ``worker/runtime/video_groups.py``) knows which segments to concatenate.
"""

from __future__ import annotations

from shared.db import ItemRole, JobItem, Upload
from shared.errors import BadInputError
from shared.schemas.style_refs import StyleRef
from shared.settings import Settings
from shared.video.segments import plan_segments


def video_job_items(
    settings: Settings, job_id: str, uploads: list[Upload], style_refs: list[StyleRef]
) -> list[JobItem]:
    """Segment and join items for every (input video, style group); 400 if an input is not a video."""
    items: list[JobItem] = []
    group = 0
    for upload in uploads:
        if upload.media != "video" or not upload.frames:
            raise BadInputError(
                f"input {upload.id!r} is not a video; upload videos with kind=video", details={"input": upload.id}
            )
        segments = plan_segments(upload.frames, settings.video_segment_frames, settings.video_overlap_frames)
        for ref in style_refs:
            style_ref = ref.model_dump(mode="json")
            common = {"job_id": job_id, "input_key": upload.storage_key, "style_ref": style_ref, "group_index": group}
            for segment in segments:
                total = segment.stop - segment.first_rendered
                items.append(
                    JobItem(
                        position=len(items),
                        role=ItemRole.SEGMENT,
                        segment=segment.to_json(),
                        tiles_total=total,
                        **common,
                    )
                )
            items.append(JobItem(position=len(items), role=ItemRole.JOIN, tiles_total=upload.frames, **common))
            group += 1
    return items
