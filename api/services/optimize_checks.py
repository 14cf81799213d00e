"""What method optimize cannot do, refused (400) at submission before the job is stored.

Why in the API's services and not beside ``OptimizeParams``: the check needs the farm's limits
(``optimize_max_*`` settings) and the resolved style refs, which the request schemas must not
import (``shared/schemas`` stays below settings, so neither imports the other in a circle).
"""

from __future__ import annotations

from shared.errors import BadInputError
from shared.schemas.optimize import OptimizeParams
from shared.schemas.style_refs import StyleRef
from shared.settings import Settings


def check_optimize_request(
    kind: str, params: OptimizeParams | None, style_refs: list[StyleRef], settings: Settings
) -> None:
    """Refuse (400) what optimization mode cannot do, before the job is stored.

    It needs Gram targets from style images, so every ingredient must have one: built-in styles
    and user networks have none (they work with method fast). Video is frame-by-frame fast work.
    """
    if kind == "video":
        raise BadInputError("method optimize renders images; video jobs use method fast")
    params = params or OptimizeParams()
    if (
        params.iterations > settings.optimize_max_iterations
        or params.refine_iterations > settings.optimize_max_iterations
    ):
        raise BadInputError(f"optimize iterations are limited to {settings.optimize_max_iterations}")
    if params.working_side > settings.optimize_max_working_side:
        raise BadInputError(f"the optimize working side is limited to {settings.optimize_max_working_side} px")
    for ref in style_refs:
        for part in ref.components:
            if part.source_key is None:
                raise BadInputError(
                    f"method optimize needs an image style; {ref.label!r} includes a style without an image "
                    "(built-in and network styles work with method fast)",
                    details={"style": ref.label},
                )
