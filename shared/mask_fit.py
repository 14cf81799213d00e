"""Whether a mask fits a photo: the one rule the API (at submission) and the engine (at render) share.

A mask is scaled to the output size, so it may be smaller or larger than the photo, but it must
cover the same picture: its aspect ratio must match the photo's to within a pixel of rounding at
the mask's own size. Anything else is a different picture, refused with both sizes in the reason.
"""

from __future__ import annotations

from shared.errors import BadInputError


def check_mask_fits(mask_size: tuple[int, int], photo_size: tuple[int, int], what: str = "the mask") -> None:
    """Raise ``BadInputError`` (400) when a ``mask_size`` (w, h) mask cannot be scaled onto ``photo_size``."""
    mask_w, mask_h = mask_size
    photo_w, photo_h = photo_size
    if min(mask_w, mask_h, photo_w, photo_h) <= 0:
        raise BadInputError(f"{what} is {mask_w}×{mask_h}; it must not be empty")
    # The height the mask would have at its width if it had the photo's shape, ±1 px of rounding.
    expected_h = mask_w * photo_h / photo_w
    if abs(mask_h - expected_h) > 1.0 + 1e-9:
        raise BadInputError(
            f"{what} is {mask_w}×{mask_h} but the photo is {photo_w}×{photo_h}: a mask must have the photo's"
            " size or its aspect ratio (it is scaled to the output size)",
            details={"mask_size": [mask_w, mask_h], "photo_size": [photo_w, photo_h]},
        )
