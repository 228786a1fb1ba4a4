"""Where the IDX datasets (MNIST, Fashion-MNIST) come from: folders, a cache, mirrors, Debian.

Each source either returns the four standard files, says in one line why it has nothing (so the
final error can list every place that was tried), or raises ``DataError`` when it found files
that are broken: data a user pointed at must be fixed, not silently replaced.

Downloads stream to a temporary file in the cache folder, are MD5-checked, and only then renamed
into place; a mismatch deletes the partial file and the next mirror is tried.
"""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainlab.data.idx import read_bytes
from trainlab.errors import DataError
from trainlab.runs.io import file_mode

# role -> standard file name (without .gz)
IDX_FILES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

MNIST_MD5_GZ = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
FASHION_MD5_GZ = {  # the official files (as torchvision lists them)
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
FASHION_MD5_RAW = {  # decompressed content: Debian recompressed the .gz files, so check these
    "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
}

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
DIGITS = tuple(str(d) for d in range(10))


@dataclass(frozen=True)
class IdxSpec:
    """One IDX dataset: where to look for it and how to verify it."""

    name: str
    subdirs: tuple[str, ...]  # looked in before the folder itself, in this order
    mirrors: tuple[str, ...]  # base URLs; a file's URL is base + "<file>.gz"
    md5_gz: dict[str, str]  # of the downloaded .gz files
    system_dir: Path | None = None  # an OS package with the files (Debian)
    system_md5_raw: dict[str, str] = field(default_factory=dict)
    system_package: str = ""
    class_names: tuple[str, ...] = DIGITS


IDX_DATASETS: dict[str, IdxSpec] = {
    "mnist": IdxSpec(
        name="mnist",
        subdirs=("mnist", "MNIST/raw"),
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
        md5_gz=MNIST_MD5_GZ,
    ),
    "fashion-mnist": IdxSpec(
        name="fashion-mnist",
        subdirs=("fashion-mnist", "FashionMNIST/raw"),
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        md5_gz=FASHION_MD5_GZ,
        system_dir=Path("/usr/share/datasets/fashion-mnist"),
        system_md5_raw=FASHION_MD5_RAW,
        system_package="dataset-fashion-mnist",
        class_names=FASHION_CLASSES,
    ),
}

ENV_DATA = "TRAINLAB_DATA"  # a folder holding the IDX files (or <name>/ subfolders)
ENV_CACHE = "TRAINLAB_CACHE"  # the cache root; files go to <root>/<name>/


def say(console: Any, message: str) -> None:
    """One line for the user: through a rich Console when given, else to stderr."""
    if console is not None:
        console.print(message, markup=False, highlight=False, soft_wrap=True)
    else:
        print(message, file=sys.stderr)


def md5_bytes(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def md5_file(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """The cache root: the argument, else $TRAINLAB_CACHE, else $XDG_CACHE_HOME/trainlab or ~/.cache/trainlab."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "trainlab"


def files_in(folder: Path) -> dict[str, Path]:
    """The standard files present directly in ``folder`` (raw preferred over .gz), by role."""
    found = {}
    for role, stem in IDX_FILES.items():
        for candidate in (folder / stem, folder / f"{stem}.gz"):
            if candidate.is_file():
                found[role] = candidate
                break
    return found


def missing_names(found: dict[str, Path]) -> str:
    return ", ".join(IDX_FILES[r] for r in IDX_FILES if r not in found)


def find_idx_files(folder: Path, spec: IdxSpec) -> tuple[dict[str, Path] | None, str]:
    """The 4 files from the first of ``folder/<subdir>`` or ``folder`` that has any of them.

    Returns (files, "") when complete, (None, why) when there are none; a partial set is a
    DataError naming the missing files, since the user clearly meant that folder.
    """
    looked = [folder / sub for sub in spec.subdirs] + [folder]
    for place in looked:
        found = files_in(place)
        if len(found) == len(IDX_FILES):
            return found, ""
        if found:
            raise DataError(f"{place}: incomplete {spec.name} files, missing {missing_names(found)} (raw or .gz)")
    subs = ", ".join(f"{sub}/" for sub in spec.subdirs)
    return None, f"no IDX files in {folder} (nor in {subs})"


def download_file(url: str, dest: Path, md5: str | None, timeout: float) -> Path:
    """Download ``url`` to ``dest`` atomically, verifying ``md5``; any failure is a DataError.

    ``timeout`` bounds the connection and every read (urllib's socket timeout), so a dead or
    stalled mirror fails within ``timeout`` seconds instead of hanging.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    h = hashlib.md5(usedforsecurity=False)
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            for chunk in iter(lambda: resp.read(1 << 16), b""):
                h.update(chunk)
                out.write(chunk)
    except (urllib.error.URLError, OSError, ValueError) as e:
        tmp.unlink(missing_ok=True)
        http = isinstance(e, urllib.error.HTTPError)
        reason = f"HTTP {e.code} {e.reason}" if http else getattr(e, "reason", None) or e
        raise DataError(f"download of {url} failed: {reason}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    got = h.hexdigest()
    if md5 is not None and got != md5:
        tmp.unlink(missing_ok=True)
        raise DataError(f"checksum mismatch for {dest.name} from {url}: expected MD5 {md5}, got {got}; "
                        f"deleted the partial file {tmp}")
    os.replace(tmp, dest)
    return dest


def download_all(spec: IdxSpec, folder: Path, mirrors: list[str], md5s: dict[str, str], timeout: float,
                 console: Any = None) -> tuple[dict[str, Path], str]:
    """Fetch the 4 ``.gz`` files into ``folder``; each file tries the mirrors in order.

    Files already in ``folder`` with the right MD5 are kept. Returns (files, the mirror(s) used);
    if every mirror fails for a file, raises DataError listing each mirror's failure.
    """
    files, used = {}, []
    for role, stem in IDX_FILES.items():
        name = f"{stem}.gz"
        dest = folder / name
        expected = md5s.get(name)
        if dest.is_file() and expected is not None and md5_file(dest) == expected:
            files[role] = dest
            continue
        errors = []
        for base in mirrors:
            url = base if base.endswith("/") else base + "/"
            url += name
            say(console, f"{spec.name}: downloading {url}")
            try:
                files[role] = download_file(url, dest, expected, timeout)
                used.append(url.rsplit("/", 1)[0] + "/")
                break
            except DataError as e:
                say(console, f"{spec.name}: {e}")
                errors.append(str(e))
        else:
            raise DataError(f"could not download {name} ({' | '.join(errors) or 'no mirrors given'})")
    return files, ", ".join(sorted(set(used))) or "cache"


def read_verified_raw(path: Path, expected: str) -> bytes:
    """Decompressed bytes of ``path`` whose MD5 must be ``expected`` (the Debian source's check)."""
    data = read_bytes(path)
    got = md5_bytes(data)
    if got != expected:
        raise DataError(f"{path}: MD5 of the decompressed file is {got}, expected {expected}; "
                        "the file is damaged or not the official data (reinstall the package)")
    return data
