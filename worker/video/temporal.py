"""Flow-guided blending: carry the previous stylized frame along the motion into the current one.

Why: even with one set of norm statistics, a feed-forward style network answers small changes of
its input (noise, compression, lighting) with different brush strokes, which flickers. Warping the
previous output by the optical flow of the input and blending it in where the flow is consistent
keeps still areas still and lets moving areas follow the motion; occluded or mis-tracked pixels
take the fresh stylization (the blending of Ruder et al. 2016, without the optimization).
"""

from __future__ import annotations

import cv2
import numpy as np

from worker.video.flow import FlowEstimator, consistent, warp


class TemporalBlender:
    """Feed input frames and their stylizations in order; returns the stabilized frames.

    Args:
        strength: weight (0–1) of the warped previous output where the flow is consistent.
        flow_side: long side at which the flow is estimated.
        mask_blur: Gaussian sigma (pixels) softening the mask's edges, so blended and fresh areas
            meet without a seam.
    """

    def __init__(self, strength: float = 0.7, flow_side: int = 640, mask_blur: float = 2.0) -> None:
        if not 0.0 <= strength < 1.0:
            raise ValueError(f"blend strength must be in [0, 1), got {strength}")
        self.strength = strength
        self.mask_blur = mask_blur
        self.flow = FlowEstimator(flow_side)
        self._prev_grey: np.ndarray | None = None
        self._prev_output: np.ndarray | None = None

    def __call__(self, frame: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        """The stabilized output for ``frame`` (input RGB) given its own ``stylized`` render."""
        grey = self.flow.grey(frame)
        output = stylized
        if self._prev_output is not None and self._prev_grey is not None and self.strength > 0:
            output = self._blend(grey, stylized)
        self._prev_grey, self._prev_output = grey, output
        return output

    def _blend(self, grey: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        assert self._prev_grey is not None and self._prev_output is not None
        shape = stylized.shape[:2]
        backward = self.flow.flow(grey, self._prev_grey, shape)  # current pixel → where it was
        forward = self.flow.flow(self._prev_grey, grey, shape)
        mask = consistent(backward, forward).astype(np.float32)
        if self.mask_blur > 0:
            mask = cv2.GaussianBlur(mask, (0, 0), self.mask_blur)
        weight = (mask * self.strength)[..., None]
        carried = warp(self._prev_output, backward).astype(np.float32)
        blended = stylized.astype(np.float32) * (1.0 - weight) + carried * weight
        return np.clip(blended + 0.5, 0, 255).astype(np.uint8)
