"""Optimization-based style transfer (Gatys et al. 2016) and the feature networks it needs."""
