"""Archival recolouring: colour from an exemplar photo or painted hints, clean chroma, exact luminance.

Every mode ends the same way (``pipeline.py``): chroma at a working resolution, smoothed edge-aware
with the photo's luminance as guide and brought to full size by the same guided filter
(``guided_filter.py``), then recombined with the photo's own luminance so that the output's Y
equals the input's to the last code value (``luminance.py``).
"""
