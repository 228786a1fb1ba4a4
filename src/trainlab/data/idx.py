"""The IDX file format of MNIST and Fashion-MNIST, read strictly.

An IDX file is a 4-byte magic number ``00 00 <type code> <ndim>``, then ``ndim`` big-endian
uint32 dims, then the payload in big-endian order. Files may be gzip-compressed (detected from
the content, not only the ``.gz`` suffix). Every check that fails raises ``DataError`` naming the
file and what is wrong, because a silently short or misaligned dataset trains on without
complaint and only gives worse results.
"""
from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from trainlab.errors import DataError
from trainlab.runs.io import write_bytes_atomic

GZIP_MAGIC = b"\x1f\x8b"

# IDX type code -> big-endian numpy dtype of the payload
IDX_DTYPES: dict[int, str] = {
    0x08: ">u1",  # unsigned byte
    0x09: ">i1",  # signed byte
    0x0B: ">i2",  # short
    0x0C: ">i4",  # int
    0x0D: ">f4",  # float
    0x0E: ">f8",  # double
}
_CODE_OF = {np.dtype(v).newbyteorder("=").str: k for k, v in IDX_DTYPES.items()}


def read_bytes(path: str | os.PathLike) -> bytes:
    """The file's content, decompressed when it is gzip (by magic or by a ``.gz`` suffix)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    if raw[:2] == GZIP_MAGIC:
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"{path}: corrupt or truncated gzip data ({e})") from None
    if path.suffix == ".gz":
        raise DataError(f"{path}: named .gz but is not gzip data (starts with {raw[:4].hex() or 'nothing'})")
    return raw


def parse_idx(data: bytes, path: str | os.PathLike = "<bytes>") -> np.ndarray:
    """Parse decompressed IDX bytes into a native-endian array; ``path`` only names the source."""
    if len(data) < 4:
        raise DataError(f"{path}: too short for an IDX header ({len(data)} bytes)")
    zero0, zero1, code, ndim = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0:
        raise DataError(f"{path}: bad IDX magic number {data[:4].hex()} (expected 0000<type><ndim>); "
                        "not an IDX file")
    if code not in IDX_DTYPES:
        valid = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise DataError(f"{path}: unknown IDX type code 0x{code:02X} (valid: {valid})")
    if ndim == 0:
        raise DataError(f"{path}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX header ({len(data)} bytes, need {header} for {ndim} dims)")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(IDX_DTYPES[code])
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    got = len(data) - header
    if got < expected:
        raise DataError(f"{path}: truncated IDX payload: dims {dims} need {expected} bytes, file has {got}")
    if got > expected:
        raise DataError(f"{path}: {got - expected} trailing bytes after the IDX payload of dims {dims}")
    arr = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize, offset=header)
    return arr.reshape(dims).astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (raw or gzip) into a numpy array; anything malformed is a DataError."""
    return parse_idx(read_bytes(path), path)


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write ``array`` as IDX, gzip-compressed when ``path`` ends in ``.gz``; atomic (temp + rename)."""
    path = Path(path)
    arr = np.ascontiguousarray(array)
    key = arr.dtype.newbyteorder("=").str
    if key not in _CODE_OF:
        valid = ", ".join(np.dtype(v).name for v in IDX_DTYPES.values())
        raise ValueError(f"write_idx: dtype {arr.dtype} has no IDX type code (valid: {valid})")
    if arr.ndim == 0 or arr.ndim > 255:
        raise ValueError(f"write_idx: need 1..255 dimensions, got {arr.ndim}")
    header = bytes([0, 0, _CODE_OF[key], arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    data = header + arr.astype(IDX_DTYPES[_CODE_OF[key]]).tobytes()
    if path.suffix == ".gz":
        data = gzip.compress(data, compresslevel=6, mtime=0)
    write_bytes_atomic(path, data)
    return path





def check_images_labels(images: np.ndarray, labels: np.ndarray, images_path: str | os.PathLike,
                        labels_path: str | os.PathLike, n_classes: int = 10) -> None:
    """Shapes and label range of an image/label file pair; a mismatch names both files."""
    if images.ndim != 3:
        raise DataError(f"{images_path}: expected images of shape (N, H, W), got {images.shape}")
    if labels.ndim != 1:
        raise DataError(f"{labels_path}: expected labels of shape (N,), got {labels.shape}")
    if images.shape[0] != labels.shape[0]:
        raise DataError(f"image/label count mismatch: {images_path} has {images.shape[0]} images "
                        f"but {labels_path} has {labels.shape[0]} labels")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise DataError(f"{labels_path}: labels must be in 0..{n_classes - 1}, "
                        f"found {int(labels.min())}..{int(labels.max())}")


def read_images_labels(images_path: str | os.PathLike, labels_path: str | os.PathLike,
                       n_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """An (N, H, W) image file and its (N,) label file, checked against each other."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    check_images_labels(images, labels, images_path, labels_path, n_classes)
    return images, labels.astype(np.int64)
