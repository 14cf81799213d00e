"""Dense optical flow (OpenCV DIS, no learned weights), backward warping and occlusion masks.

Flow is computed on a downscaled grey copy (long side ``flow_side``) and scaled up: motion is smooth
at that scale, and DIS cost grows with pixels. Conventions: ``flow[y, x] = (dx, dy)`` says where the
pixel at (x, y) of the first image is found in the second.
"""

from __future__ import annotations

import cv2
import numpy as np

OCCLUSION_REL = 0.01  # Ruder et al. 2016 forward-backward check: |F + B~|^2 <= 0.01 (|F|^2 + |B~|^2) + 0.5
OCCLUSION_ABS = 0.5


class FlowEstimator:
    """DIS optical flow (Kroeger et al. 2016) between RGB frames of one size."""

    def __init__(self, flow_side: int = 640, preset: int = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM) -> None:
        self.flow_side = flow_side
        self._dis = cv2.DISOpticalFlow_create(preset)

    def grey(self, rgb: np.ndarray) -> np.ndarray:
        """The frame as the flow sees it: grey, at most ``flow_side`` on its long side."""
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        scale = self.flow_side / max(grey.shape)
        if scale < 1.0:
            size = (max(8, round(grey.shape[1] * scale)), max(8, round(grey.shape[0] * scale)))
            grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
        return grey

    def flow(self, first_grey: np.ndarray, second_grey: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """Flow from the first grey frame to the second, at full frame ``shape`` (H, W), float32 [H, W, 2]."""
        flow = self._dis.calc(first_grey, second_grey, None)
        height, width = shape
        if flow.shape[:2] == (height, width):
            return flow
        sx, sy = width / flow.shape[1], height / flow.shape[0]
        flow = cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR)
        flow[..., 0] *= sx
        flow[..., 1] *= sy
        return flow


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample ``image`` at (x + flow): pulls the second image of ``flow`` back onto the first (bilinear)."""
    height, width = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return cv2.remap(
        image, grid_x + flow[..., 0], grid_y + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def consistent(flow: np.ndarray, reverse: np.ndarray) -> np.ndarray:
    """Where ``flow`` is trustworthy (bool [H, W]): following it and then ``reverse`` comes back.

    ``reverse`` is the flow from the second image to the first; pixels failing the check are
    occluded or mis-tracked (Ruder et al. 2016, as used by Lai et al. 2018's warping error).
    """
    back = warp(reverse, flow)
    error = np.sum((flow + back) ** 2, axis=2)
    bound = OCCLUSION_REL * (np.sum(flow**2, axis=2) + np.sum(back**2, axis=2)) + OCCLUSION_ABS
    return error <= bound
