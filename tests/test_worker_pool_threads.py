"""How many torch threads a worker pool process takes: never more than the cores shared among the pool."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from shared.settings import Settings
from worker.runtime import pool_threads
from worker.runtime.stage_clock import StageClock


@pytest.fixture(autouse=True)
def _forget_pool_size():
    pool_threads.remember_pool_size(None)
    yield
    pool_threads.remember_pool_size(None)


def test_an_explicit_setting_wins(tmp_path):
    assert pool_threads.torch_threads(Settings(home=tmp_path, torch_threads=3), processes=2) == 3


def test_cores_are_shared_among_the_pool_processes_and_never_below_one(tmp_path):
    cores = pool_threads.usable_cores()
    settings = Settings(home=tmp_path, worker_concurrency=2)
    assert pool_threads.torch_threads(settings) == max(1, cores // 2)
    assert pool_threads.torch_threads(settings, processes=1) == cores
    assert pool_threads.torch_threads(settings, processes=cores * 4) == 1


def test_the_size_the_worker_really_runs_with_beats_the_setting(tmp_path):
    settings = Settings(home=tmp_path, worker_concurrency=1)
    pool_threads.remember_pool_size(SimpleNamespace(concurrency=pool_threads.usable_cores() * 2))
    assert pool_threads.torch_threads(settings) == 1
    pool_threads.remember_pool_size(SimpleNamespace(concurrency=None))  # unknown: the setting again
    assert pool_threads.torch_threads(settings) == pool_threads.usable_cores()


def test_stage_clock_adds_up_laps_of_the_same_stage():
    ticks = iter([0.0, 1.0, 1.5, 4.0])
    clock = StageClock(lambda: next(ticks))
    clock.lap("read")
    clock.lap("render")
    clock.lap("read")
    assert clock.laps == {"read": 1.0 + 2.5, "render": 0.5}
