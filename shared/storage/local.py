"""Storage in a local folder, for single-machine farms and tests."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from shared.errors import NotFoundError, StorageError
from shared.storage.base import Storage, validate_key


class LocalStorage(Storage):
    """Objects as files below ``root``; writes are atomic (temporary file, then ``os.replace``).

    It has no presigned URLs: the API streams these files itself.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root).absolute()

    def path_for(self, key: str) -> Path:
        """The file that holds ``key`` (whether or not it exists yet)."""
        return self.root.joinpath(*validate_key(key).split("/"))

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        with self._atomic_writer(key) as out:
            out.write(data)

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        with open(path, "rb") as src, self._atomic_writer(key) as out:  # a missing source is a caller bug
            shutil.copyfileobj(src, out, length=1024 * 1024)

    def get_bytes(self, key: str) -> bytes:
        path = self.path_for(key)
        with _translate_os_errors("read", key):
            return path.read_bytes()

    def open_read(self, key: str) -> BinaryIO:
        path = self.path_for(key)
        with _translate_os_errors("open", key):
            return open(path, "rb")  # the caller owns and closes the stream

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def delete(self, key: str) -> None:
        path = self.path_for(key)
        with _translate_os_errors("delete", key):
            path.unlink(missing_ok=True)

    def size(self, key: str) -> int:
        path = self.path_for(key)
        with _translate_os_errors("stat", key):
            return path.stat().st_size

    def presigned_get_url(self, key: str, expires_s: int | None = None) -> str | None:
        validate_key(key)
        return None

    def presigned_put_url(self, key: str, expires_s: int | None = None, content_type: str | None = None) -> str | None:
        validate_key(key)
        return None

    @contextlib.contextmanager
    def _atomic_writer(self, key: str) -> Iterator[BinaryIO]:
        """Yield a temporary file next to the target; on success it replaces the target at once."""
        target = self.path_for(key)
        with _translate_os_errors("write", key):
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with _translate_os_errors("write", key):
                with os.fdopen(fd, "wb") as out:
                    yield out
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp_name, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            raise


@contextlib.contextmanager
def _translate_os_errors(action: str, key: str) -> Iterator[None]:
    """Turn OS errors into the farm's: a missing file is NotFound, anything else is Storage."""
    try:
        yield
    except FileNotFoundError:
        raise NotFoundError(f"no stored object {key!r}") from None
    except IsADirectoryError:
        raise NotFoundError(f"no stored object {key!r} (it is a folder)") from None
    except OSError as exc:
        reason = errno.errorcode.get(exc.errno or 0, exc.__class__.__name__)
        raise StorageError(f"local storage could not {action} {key!r}: {reason} ({exc.strerror})") from exc
