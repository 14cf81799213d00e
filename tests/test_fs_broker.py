"""The embedded broker never hands a reader a message file that is still being written."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

from kombu import Connection
from kombu.transport import filesystem

from shared import fs_broker
from shared.queue import make_celery
from shared.settings import Settings

MESSAGES = 600


def _options(folder: Path) -> dict[str, object]:
    return {
        "data_folder_in": str(folder / "messages"),
        "data_folder_out": str(folder / "messages"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),  # not ./control in the repository
        "store_processed": False,
    }


def _write(transport: str, folder: Path, count: int) -> None:
    channel = Connection("filesystem://", transport=transport, transport_options=_options(folder)).default_channel
    for index in range(count):
        channel._put("render", {"body": "x" * 100_000, "index": index})


def _read_while_written(transport: str, folder: Path) -> tuple[list[int], list[str]]:
    """Read from another process's writes as fast as possible: (indexes read, errors)."""
    (folder / "messages").mkdir(parents=True)
    (folder / "processed").mkdir()
    writer = multiprocessing.get_context("spawn").Process(target=_write, args=(transport, folder, MESSAGES))
    writer.start()
    channel = Connection("filesystem://", transport=transport, transport_options=_options(folder)).default_channel
    read, errors = [], []
    while writer.is_alive() or os.listdir(folder / "messages"):
        try:
            read.append(channel._get("render")["index"])
        except filesystem.Empty:
            continue
        except Exception as exc:  # kombu's own channel raises JSONDecodeError on a half-written file
            errors.append(type(exc).__name__)
    writer.join()
    return read, errors


def test_every_message_arrives_whole_while_another_process_writes(tmp_path):
    read, errors = _read_while_written(fs_broker.TRANSPORT, tmp_path / "ours")
    kombu_read, kombu_errors = _read_while_written("filesystem", tmp_path / "kombu")
    print(f"ours: {len(read)} read, {len(errors)} errors; kombu's: {len(kombu_read)} read, {len(kombu_errors)} errors")
    assert errors == []
    assert sorted(read) == list(range(MESSAGES))


def test_the_farm_uses_it_for_the_embedded_broker_only(tmp_path):
    assert make_celery(Settings(home=tmp_path)).conf.broker_transport == fs_broker.TRANSPORT
    redis = make_celery(Settings(home=tmp_path, broker_url="redis://127.0.0.1:6379/0"))
    assert redis.conf.broker_transport is None
