"""Pretrained musicnn from the package index: pip fetches the wheel hash-pinned from a local index, its networks land
in the cache folder whole or not at all, and the book's default weights are the wheel's MSD network."""
from __future__ import annotations

import functools
import hashlib
import threading
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mer_utils.errors import MerError
from mer_utils.phase3 import musicnn, musicnn_wheel

NETWORK_BYTES = {"MSD_musicnn": (b"msd index", b"msd data " * 100), "MTT_musicnn": (b"mtt index", b"mtt data " * 90)}


def stand_in_wheel(folder: Path) -> Path:
    """A wheel named as musicnn's, laid out as it is (the two networks' checkpoint files and pip's metadata)."""
    wheel = folder / musicnn_wheel.WHEEL
    with zipfile.ZipFile(wheel, "w") as archive:
        for network, (index, data) in NETWORK_BYTES.items():
            archive.writestr(f"musicnn/{network}/.index", index)
            archive.writestr(f"musicnn/{network}/.data-00000-of-00001", data)
        archive.writestr("musicnn-0.1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: musicnn\nVersion: 0.1.0\n")
        archive.writestr("musicnn-0.1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr("musicnn-0.1.0.dist-info/RECORD", "")
    return wheel


@pytest.fixture
def local_index(tmp_path, monkeypatch):
    """A PEP 503 package index on 127.0.0.1 serving the stand-in wheel; pip's own configuration left out."""
    served = tmp_path / "served"
    (served / "simple" / "musicnn").mkdir(parents=True)
    wheel = stand_in_wheel(served / "simple" / "musicnn")
    (served / "simple" / "musicnn" / "index.html").write_text(f'<a href="{wheel.name}">{wheel.name}</a>\n')
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(SimpleHTTPRequestHandler, directory=served))
    httpd.RequestHandlerClass.log_message = lambda *args: None
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    for name in ("PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv(musicnn_wheel.CACHE_ENV, str(tmp_path / "cache"))
    yield wheel, f"http://127.0.0.1:{httpd.server_address[1]}/simple/"
    httpd.shutdown()
    httpd.server_close()


def pin_stand_in(monkeypatch, wheel: Path) -> None:
    monkeypatch.setattr(musicnn_wheel, "WHEEL_SHA256", musicnn_wheel.sha256_of(wheel))
    monkeypatch.setattr(musicnn_wheel, "DATA_SHA256", {n: hashlib.sha256(d).hexdigest()
                                                       for n, (_, d) in NETWORK_BYTES.items()})


@pytest.mark.slow
def test_pip_fetches_the_pinned_wheel_from_an_index_and_each_network_is_unpacked_into_the_cache(local_index,
                                                                                               monkeypatch):
    wheel, index_url = local_index
    pin_stand_in(monkeypatch, wheel)
    folders = musicnn_wheel.ensure_networks(pip_args=("--index-url", index_url, "--no-cache-dir"), quiet=True)
    root = musicnn_wheel.cache_root() / musicnn_wheel.FOLDER
    assert folders == {n: root / n for n in musicnn_wheel.NETWORKS}
    for network, (index, data) in NETWORK_BYTES.items():
        assert (root / network / ".index").read_bytes() == index
        assert (root / network / ".data-00000-of-00001").read_bytes() == data
    assert sorted(p.name for p in root.iterdir()) == sorted(musicnn_wheel.NETWORKS), "the wheel and temporaries gone"
    assert musicnn_wheel.ensure_networks(pip_args=("--index-url", "http://127.0.0.1:9/simple/")) == folders, \
        "present networks are not fetched again"


@pytest.mark.slow
def test_a_wheel_that_is_not_the_pinned_one_is_refused_and_nothing_is_left_in_the_cache(local_index):
    wheel, index_url = local_index  # the pins stay the real wheel's: the stand-in's hash differs
    with pytest.raises(MerError, match="pip could not fetch musicnn==0.1.0.*hash"):
        musicnn_wheel.ensure_networks(pip_args=("--index-url", index_url, "--no-cache-dir"), quiet=True)
    root = musicnn_wheel.cache_root() / musicnn_wheel.FOLDER
    assert not any(musicnn_wheel.is_checkpoint(root / n) for n in musicnn_wheel.NETWORKS)
    assert [p.name for p in root.iterdir()] == [], "no wheel, no partial folder"


def test_a_network_whose_data_differs_from_its_pin_is_not_unpacked(tmp_path, monkeypatch):
    wheel = stand_in_wheel(tmp_path)
    pin_stand_in(monkeypatch, wheel)
    monkeypatch.setitem(musicnn_wheel.DATA_SHA256, "MTT_musicnn", "0" * 64)
    with pytest.raises(MerError, match="MTT_musicnn's data file has sha256"):
        musicnn_wheel.unpack_networks(wheel, tmp_path / "cache")
    assert musicnn_wheel.is_checkpoint(tmp_path / "cache" / "MSD_musicnn")
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["MSD_musicnn"], "no half-written MTT folder"


def test_the_cache_folder_is_the_platforms_unless_mer_cache_dir_moves_it(monkeypatch, tmp_path):
    import pooch

    monkeypatch.delenv(musicnn_wheel.CACHE_ENV, raising=False)
    assert musicnn_wheel.cache_root() == Path(pooch.os_cache("mer"))
    monkeypatch.setenv(musicnn_wheel.CACHE_ENV, str(tmp_path))
    assert musicnn_wheel.checkpoint_dir("MTT_musicnn") == tmp_path / "musicnn-0.1.0" / "MTT_musicnn"
    with pytest.raises(MerError, match="unknown musicnn network 'MSD_vgg'"):
        musicnn_wheel.checkpoint_dir("MSD_vgg")


def test_the_default_weights_are_the_wheels_msd_network_and_a_name_picks_a_network(monkeypatch, tmp_path):
    monkeypatch.setenv(musicnn_wheel.CACHE_ENV, str(tmp_path))
    monkeypatch.delenv(musicnn.WEIGHTS_ENV, raising=False)
    assert musicnn.weights_path() == tmp_path / "musicnn-0.1.0" / "MSD_musicnn"
    assert musicnn.weights_path("") == musicnn.weights_path(None)
    assert musicnn.weights_path("MTT_musicnn") == tmp_path / "musicnn-0.1.0" / "MTT_musicnn"
    monkeypatch.setenv(musicnn.WEIGHTS_ENV, "MTT_musicnn")
    assert musicnn.weights_path().name == "MTT_musicnn"


def test_the_pretrained_networks_from_the_wheel_load_with_their_tags_and_identity():
    folder = musicnn_wheel.checkpoint_dir("MTT_musicnn")
    if not musicnn_wheel.is_checkpoint(folder):
        pytest.skip(f"the wheel's networks are not unpacked at {folder.parent}: run 'make venv' (it fetches them)")
    mtt = musicnn.load_musicnn("MTT_musicnn")
    assert mtt.tag_names == musicnn.MTT_TAGS and mtt.sha256 == musicnn_wheel.DATA_SHA256["MTT_musicnn"]
    msd = musicnn.load_musicnn()
    assert msd.tag_names == musicnn.MSD_TAGS and msd.sha256 == musicnn_wheel.DATA_SHA256["MSD_musicnn"]
