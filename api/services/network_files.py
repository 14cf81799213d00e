"""Recognise an uploaded network file as TorchScript or ONNX from its bytes, without torch or onnx.

Why only a signature: the API loads neither torch nor onnx (they belong to workers), so it checks
what can be checked cheaply and refuses the obvious mistakes at once (a picture, a ``torch.save``
checkpoint of weights only); a worker then loads and runs the file (``validate_network``).

TorchScript files are zip archives holding ``code/`` (the compiled program), ``constants.pkl`` and
``data.pkl`` (PyTorch's serialization format). ONNX files are one protobuf ``ModelProto`` message:
its top level is read here as protobuf wire format (tag = field number << 3 | wire type;
https://protobuf.dev/programming-guides/encoding/), requiring ``ir_version`` (field 1, a varint)
and ``graph`` (field 7, length-delimited) as the ONNX spec does (onnx/onnx.proto).
"""

from __future__ import annotations

import io
import zipfile

from shared.errors import BadInputError

ZIP_MAGIC = b"PK\x03\x04"
_ONNX_IR_VERSION, _ONNX_GRAPH = 1, 7
_VARINT, _FIXED64, _LENGTH_DELIMITED, _FIXED32 = 0, 1, 2, 5
_EXPORT_HINT = "export it with torch.jit.script or torch.jit.trace and torch.jit.save, or with torch.onnx.export"


def _is_torchscript(data: bytes) -> bool:
    """A zip archive with TorchScript's compiled code, not only pickled weights (refused with a hint)."""
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except zipfile.BadZipFile:
        return False
    has_code = any("/code/" in name or name.startswith("code/") for name in names)
    if has_code and any(name.endswith("constants.pkl") for name in names):
        return True
    if any(name.endswith("data.pkl") for name in names):
        raise BadInputError(f"the file is a torch.save checkpoint (weights without the network's code); {_EXPORT_HINT}")
    return False


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return value, pos
        shift += 7
    raise ValueError("truncated varint")


def _top_level_fields(data: bytes) -> dict[int, int]:
    """Field number → wire type of each top-level field; ValueError unless the bytes parse to their end."""
    fields: dict[int, int] = {}
    pos = 0
    while pos < len(data):
        tag, pos = _read_varint(data, pos)
        number, wire_type = tag >> 3, tag & 7
        if number == 0:
            raise ValueError("field number 0")
        if wire_type == _VARINT:
            _, pos = _read_varint(data, pos)
        elif wire_type == _FIXED64:
            pos += 8
        elif wire_type == _FIXED32:
            pos += 4
        elif wire_type == _LENGTH_DELIMITED:
            length, pos = _read_varint(data, pos)
            pos += length
        else:
            raise ValueError(f"wire type {wire_type}")
        if pos > len(data):
            raise ValueError("truncated field")
        fields[number] = wire_type
    return fields


def _is_onnx(data: bytes) -> bool:
    try:
        fields = _top_level_fields(data)
    except ValueError:
        return False
    return fields.get(_ONNX_IR_VERSION) == _VARINT and fields.get(_ONNX_GRAPH) == _LENGTH_DELIMITED


def recognise_network(data: bytes, declared: str | None, allowed: tuple[str, ...]) -> str:
    """The file's format (``torchscript`` or ``onnx``); 400 with the reason when it is neither,
    is another format than ``declared``, or is a format this farm does not accept."""
    if data.startswith(ZIP_MAGIC):
        found = "torchscript" if _is_torchscript(data) else None
    else:
        found = "onnx" if _is_onnx(data) else None
    if found is None:
        raise BadInputError(f"the file is neither a TorchScript archive nor an ONNX model; {_EXPORT_HINT}")
    if declared is not None and declared != found:
        raise BadInputError(f"the file is {found}, not {declared} as the form says")
    if found not in allowed:
        raise BadInputError(f"this farm does not accept {found} networks; it accepts: {', '.join(allowed)}")
    return found
