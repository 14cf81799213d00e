"""kombu's filesystem transport, with message files that appear only once complete.

Why: kombu's writer creates ``<id>.<queue>.msg`` and then writes into it, while a reader lists the
folder and moves each ``.msg`` file away without taking the writer's (advisory) lock. A reader that
comes between the two gets an empty file: a JSONDecodeError that stopped a worker and lost the
message (seen in the CLI tests with 10 ms polling). Here the payload is written under a name that
readers skip (``.part`` after ``.msg``) and renamed into place, which is atomic on one filesystem.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

TRANSPORT = f"{__name__}:Transport"  # what Celery's ``broker_transport`` names


class Channel(filesystem.Channel):
    """A filesystem channel whose ``_put`` publishes a message file in one rename."""

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + ".part"  # readers match names ending in exactly ".<queue>.msg"
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
