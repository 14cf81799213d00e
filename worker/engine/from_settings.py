"""The production engine and render options, built from the farm's settings.

Why here and not in the CLI: the worker's context and the ``stylefarm render`` command both need
an engine configured the same way (device, weight cache, network cache, threads) and options
carrying the configured limits; the worker's path should not pass through command-line code.
"""

from __future__ import annotations

from shared.settings import Settings
from worker.engine.render import RenderOptions, StyleEngine


def engine_from_settings(settings: Settings, device: str | None = None) -> StyleEngine:
    """An engine on the configured (or given) device, caching converted weights under home."""
    if settings.torch_threads:
        import torch

        torch.set_num_threads(settings.torch_threads)
    return StyleEngine(
        device or settings.device,
        cache_dir=settings.model_cache_dir,
        network_cache_size=settings.network_cache_size,
        network_probe_side=settings.network_probe_side,
        reuse_freed_memory=settings.engine_reuse_freed_memory,
    )


def options_from_settings(settings: Settings, **overrides: object) -> RenderOptions:
    """Render options carrying the configured limits, with per-call choices on top."""
    limits: dict[str, object] = {
        "tile_size": settings.tile_size,
        "thumbnail_side": settings.thumbnail_side,
        "single_pass_pixels": settings.single_pass_pixels,
        "max_pixels": settings.max_input_pixels,
        "min_side": settings.min_input_side,
        "simulated_memory_pixels": settings.simulated_device_memory_pixels,
        "precision": settings.engine_precision,
    }
    if settings.render_memory_mb:  # tiles and the single-pass limit follow the budget, unless set
        limits["memory_budget_mb"] = max(settings.render_memory_mb, 64)
        for name in ("tile_size", "single_pass_pixels"):
            if name not in settings.model_fields_set:
                limits[name] = None
    return RenderOptions(**{**limits, **{k: v for k, v in overrides.items() if v is not None}})  # type: ignore[arg-type]
