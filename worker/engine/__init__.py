"""The stylization engine (torch): the three networks, tiling, colour and style controls, user networks.

Stateless per call: weights are loaded once to CPU, moved to the device, run in ``eval()`` under
``inference_mode()``. ``from_settings.py`` builds an engine and its options from the farm's settings,
for the worker and the ``stylefarm render`` command alike; ``startup.py`` is how both import torch
(without the garbage collector rescanning it), and each network loads when a render first needs it.
"""
