"""Check a newly uploaded user network before any job may use it (the ``validate_network`` task).

Why on a worker: the API checks only that the file looks like TorchScript or ONNX (it loads no
torch); whether it loads, takes an image and returns one of the same size is known only by
running it. The style stays ``pending`` until then, and becomes ``ready``, or ``failed`` with the
reason, as an uploaded style image does when it is embedded.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from shared.db import Style, StyleKind
from shared.errors import BadInputError
from shared.schemas.networks import NetworkRef
from worker.jobs.embedder import StyleEmbedder
from worker.jobs.job_params import network_source


class NetworkValidator(StyleEmbedder):
    """Runs one attempt at validating one network style (read, hash-check, load, probe)."""

    kind = StyleKind.NETWORK

    def _compute(self, style: Style) -> dict[str, Any]:
        try:
            ref = NetworkRef.from_columns(style.network_key, style.network_format, style.network_options)
        except ValidationError as exc:
            raise BadInputError(f"the network style's stored record is invalid: {exc.errors()[0]['msg']}") from None
        ctx = self.context
        # Loading probes the network; it then stays in this process's cache for the first renders.
        ctx.engine.custom_networks.get(network_source(ref, ctx.settings, ctx.storage))
        return {}
