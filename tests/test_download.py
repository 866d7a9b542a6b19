"""The book's downloads (mer_utils.corpus.download, deam_fetch, phase3.weights) against a local HTTP server on
127.0.0.1 (no internet needed): pooch with the resumable downloader, checksums, mirrors, failing fast offline."""

from __future__ import annotations

import hashlib
import io
import json
import re
import socket
import threading
import time
import urllib.parse
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mer_utils.corpus import deam_fetch
from mer_utils.corpus import download as dl
from mer_utils.corpus.deam import load_static_annotations
from mer_utils.errors import MerError
from mer_utils.phase3 import weights

STATIC_HEADER = "song_id, valence_mean, valence_std, arousal_mean, arousal_std\n"
SONG_LEVEL = "annotations/annotations averaged per song/song_level/"


class FakeServer:
    """Serves files under ``root`` with Range support; ``cut[path] = n`` sends only n bytes once."""

    def __init__(self, root):
        self.root = root
        self.log: list[dict] = []
        self.cut: dict[str, int] = {}
        self.ignore_range = False
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def _handler(self):
        state = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
                wanted = self.headers.get("Range")
                entry = {"path": path, "range": wanted, "status": 404, "sent": 0}
                state.log.append(entry)
                file = state.root / path
                if not file.is_file():
                    self.send_error(404)
                    return
                data = file.read_bytes()
                start = 0
                if wanted and not state.ignore_range:
                    start = int(re.fullmatch(r"bytes=(\d+)-", wanted).group(1))
                    if start >= len(data):
                        entry["status"] = 416
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    entry["status"] = 206
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    entry["status"] = 200
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                cut = state.cut.pop(path, None)
                sent = body if cut is None else body[:cut]
                entry["sent"] = len(sent)  # before writing: the client may read it all and look before we return
                self.wfile.write(sent)
                self.close_connection = True

        return Handler

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    srv = FakeServer(root)
    yield srv
    srv.close()


def serve(server, name: str, data: bytes) -> str:
    path = server.root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return f"{server.url}/{urllib.parse.quote(name)}"


def payload(n: int = 300_000) -> bytes:
    return bytes((i * 7919 + i // 251) % 256 for i in range(n))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- download


def test_full_download_verifies_and_renames(server, tmp_path):
    data = payload()
    url = serve(server, "file.bin", data)
    dest = tmp_path / "out" / "file.bin"
    got = dl.download(
        url,
        dest,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        md5=hashlib.md5(data).hexdigest(),
        progress=False,
    )
    assert got == dest and dest.read_bytes() == data
    assert not dest.with_name("file.bin.part").exists()
    requests = len(server.log)
    assert dl.download(url, dest, sha256=hashlib.sha256(data).hexdigest(), progress=False) == dest
    assert len(server.log) == requests  # verified on disk, no network


def test_interrupted_download_resumes(server, tmp_path):
    data = payload()
    url = serve(server, "file.bin", data)
    dest = tmp_path / "file.bin"
    part = tmp_path / "file.bin.part"
    server.cut["file.bin"] = 100_000
    with pytest.raises(MerError, match="interrupted"):
        dl.download(url, dest, sha256=hashlib.sha256(data).hexdigest(), progress=True)
    assert not dest.exists() and part.stat().st_size == 100_000
    dl.download(url, dest, sha256=hashlib.sha256(data).hexdigest(), progress=True)
    assert dest.read_bytes() == data and not part.exists()
    last = server.log[-1]
    assert last["range"] == "bytes=100000-" and last["status"] == 206
    assert last["sent"] == len(data) - 100_000


def test_complete_part_is_finished_without_transfer(server, tmp_path):
    data = payload(50_000)
    url = serve(server, "file.bin", data)
    dest = tmp_path / "file.bin"
    (tmp_path / "file.bin.part").write_bytes(data)
    dl.download(url, dest, md5=hashlib.md5(data).hexdigest(), progress=False)
    assert dest.read_bytes() == data and server.log[-1]["status"] == 416


@pytest.mark.parametrize("which", ["sha256", "md5", "size"])
def test_mismatch_raises_and_leaves_nothing(server, tmp_path, which):
    data = payload(50_000)
    url = serve(server, "file.bin", data)
    dest = tmp_path / "file.bin"
    wrong = {"sha256": {"sha256": "0" * 64}, "md5": {"md5": "0" * 32}, "size": {"size": len(data) + 1}}[which]
    with pytest.raises(MerError, match="expected") as info:
        dl.download(url, dest, progress=False, **wrong)
    assert url in str(info.value)
    assert not dest.exists() and not (tmp_path / "file.bin.part").exists()


def test_server_ignoring_range_restarts_cleanly(server, tmp_path):
    data = payload(80_000)
    url = serve(server, "file.bin", data)
    dest = tmp_path / "file.bin"
    (tmp_path / "file.bin.part").write_bytes(b"x" * 1000)
    server.ignore_range = True
    dl.download(url, dest, sha256=hashlib.sha256(data).hexdigest(), progress=False)
    assert dest.read_bytes() == data
    assert server.log[-1]["range"] == "bytes=1000-" and server.log[-1]["status"] == 200


def test_unreachable_host_fails_fast(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/x"
    dest = tmp_path / "x"
    began = time.monotonic()
    with pytest.raises(MerError, match="offline") as info:
        dl.download(url, dest, progress=False, connect_timeout=2)
    assert time.monotonic() - began < 5
    assert str(dest) in str(info.value) and url in str(info.value)
    assert not dest.exists() and not (tmp_path / "x.part").exists()


def test_probe_is_bounded_when_connect_hangs(monkeypatch):
    def hanging_connect(*args, **kwargs):
        time.sleep(5)
        raise OSError("simulated connection that never answered")

    monkeypatch.setattr(dl.socket, "create_connection", hanging_connect)
    began = time.monotonic()
    assert "no answer within 1 s" in dl._probe("example.invalid", 443, 1)
    assert time.monotonic() - began < 3


# --------------------------------------------------------------------------- DEAM


def make_zip(files: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def deam_zips() -> dict[str, bytes]:
    return {
        "DEAM_audio.zip": make_zip({"MEMD_audio/2.mp3": b"ID3" + b"\0" * 500}),
        "DEAM_Annotations.zip": make_zip(
            {
                SONG_LEVEL + "static_annotations_averaged_songs_1_2000.csv": STATIC_HEADER + "2, 3.1, 0.9, 3, 1.1\n",
                SONG_LEVEL + "static_annotations_averaged_songs_2000_2058.csv": STATIC_HEADER
                + "2001, 5, 1, 5.5, 1.2\n",
            }
        ),
    }


def leftovers(deam_dir):
    return [p.name for p in deam_dir.iterdir() if p.name.startswith(".partial") or p.suffix in (".zip", ".part")]


def test_fetch_deam_builds_tree_and_record(server, tmp_path, monkeypatch):
    zips = deam_zips()
    for name, data in zips.items():
        serve(server, f"DEAM/{name}", data)
    monkeypatch.chdir(tmp_path)
    deam_dir = Path("data") / "deam"  # relative, as the Makefile passes it
    assert deam_fetch.fetch_deam(deam_dir, base_url=server.url + "/DEAM", progress=False) == deam_dir
    assert (deam_dir / "MEMD_audio" / "2.mp3").is_file()
    assert (deam_dir / SONG_LEVEL / "static_annotations_averaged_songs_1_2000.csv").is_file()
    assert load_static_annotations(deam_dir).loc[2, "valence_mean"] == pytest.approx(3.1)
    record = json.loads((deam_dir / "downloads.json").read_text())
    for name, data in zips.items():
        assert record[name]["sha256"] == hashlib.sha256(data).hexdigest()
        assert record[name]["bytes"] == len(data)
    assert leftovers(deam_dir) == []
    requests = len(server.log)
    deam_fetch.fetch_deam(deam_dir, base_url=server.url + "/DEAM", progress=False)
    assert len(server.log) == requests  # already unpacked: skipped


@pytest.mark.parametrize("damage", ["flipped", "garbage"])
def test_fetch_deam_corrupt_zip_leaves_no_half_tree(server, tmp_path, damage):
    zips = deam_zips()
    bad = bytearray(zips["DEAM_Annotations.zip"])
    if damage == "flipped":  # member data changed: the CRC check in testzip fails
        at = bad.index(b"song_id")
        bad[at : at + 7] = b"SONG_ID"
    else:
        bad = bytearray(b"not a zip at all" * 10)
    zips["DEAM_Annotations.zip"] = bytes(bad)
    for name, data in zips.items():
        serve(server, f"DEAM/{name}", data)
    deam_dir = tmp_path / "deam"
    with pytest.raises(MerError, match="DEAM_Annotations.zip"):
        deam_fetch.fetch_deam(deam_dir, base_url=server.url + "/DEAM/", progress=False)
    assert not (deam_dir / "annotations").exists()
    assert leftovers(deam_dir) == []
    assert list(json.loads((deam_dir / "downloads.json").read_text())) == ["DEAM_audio.zip"]


def test_fetch_deam_offline_says_where_to_put_files(tmp_path):
    base = f"http://127.0.0.1:{closed_port()}/DEAM/"
    deam_dir = tmp_path / "deam"
    with pytest.raises(MerError, match="offline") as info:
        deam_fetch.fetch_deam(deam_dir, base_url=base, progress=False)
    message = str(info.value)
    for archive in deam_fetch.DEAM_ARCHIVES:
        assert base + archive["name"] in message and str(deam_dir / archive["name"]) in message


def test_main_deam_prints_summary(server, tmp_path, capsys):
    for name, data in deam_zips().items():
        serve(server, f"DEAM/{name}", data)
    assert deam_fetch.main_deam(["--deam-dir", str(tmp_path / "deam"), "--base-url", server.url + "/DEAM/"]) == 0
    assert "DEAM is ready" in capsys.readouterr().out


# --------------------------------------------------------------------------- PANNs


def fake_zenodo(server, data: bytes, md5: str) -> str:
    file_url = serve(server, f"files/{dl.PANNS_FILE}", data)
    record = {
        "id": 3987831,
        "files": [
            {"key": "other.pth", "size": 1, "checksum": "md5:" + "1" * 32, "links": {"self": server.url + "/nope"}},
            {"key": dl.PANNS_FILE, "size": len(data), "checksum": "md5:" + md5, "links": {"self": file_url}},
        ],
    }
    return serve(server, "api/records/3987831", json.dumps(record).encode())


def test_fetch_panns_weights_verifies_md5(server, tmp_path, capsys):
    data = payload(60_000)
    record_url = fake_zenodo(server, data, hashlib.md5(data).hexdigest())
    dest = tmp_path / "weights" / dl.PANNS_FILE
    assert weights.fetch_panns_weights(dest, record_url=record_url, progress=False) == dest
    assert dest.read_bytes() == data
    musicnn = payload(5_000)
    musicnn_url = serve(server, "MSD_musicnn.h5", musicnn)
    with pytest.raises(MerError, match="musicnn weights: .*sha256"):  # the published digest is not this payload's
        weights.main_weights(["--dest", str(dest), "--record-url", record_url, "--musicnn-dest",
                         str(tmp_path / "weights" / "MSD_musicnn.h5"), "--musicnn-url", musicnn_url])
    assert "PANNs checkpoint ready" in capsys.readouterr().out, "one failure does not stop the other download"


def test_fetch_musicnn_weights_checks_the_sha256(server, tmp_path, capsys):
    data = payload(20_000)
    url = serve(server, "MSD_musicnn.h5", data)
    dest = tmp_path / "weights" / "MSD_musicnn.h5"
    assert weights.fetch_musicnn_weights(dest, url=url, sha256=hashlib.sha256(data).hexdigest(), progress=False) == dest
    assert dest.read_bytes() == data
    with pytest.raises(MerError, match="sha256"):
        weights.fetch_musicnn_weights(tmp_path / "other.h5", url=url, progress=False)  # the published MSD digest
    assert not (tmp_path / "other.h5").exists() and not (tmp_path / "other.h5.part").exists()


def test_fetch_panns_weights_bad_md5_fails(server, tmp_path):
    data = payload(60_000)
    record_url = fake_zenodo(server, data, "0" * 32)
    dest = tmp_path / dl.PANNS_FILE
    with pytest.raises(MerError, match="md5"):
        weights.fetch_panns_weights(dest, record_url=record_url, progress=False)
    assert not dest.exists() and not dest.with_name(dest.name + ".part").exists()


def test_fetch_panns_weights_falls_back_when_api_fails(server, tmp_path, monkeypatch):
    data = payload(30_000)
    fallback = dl.Published(serve(server, "direct.pth", data), size=len(data), md5=hashlib.md5(data).hexdigest())
    monkeypatch.setitem(dl.PUBLISHED, "panns", fallback)  # the registry's entry is the fallback
    dest = tmp_path / dl.PANNS_FILE
    weights.fetch_panns_weights(dest, record_url=server.url + "/api/records/missing", progress=False)
    assert dest.read_bytes() == data


# --------------------------------------------------------------------------- a downloads manifest (mirrors)


def test_a_manifest_points_deam_elsewhere_and_its_checksums_are_checked(server, tmp_path):
    zips = deam_zips()
    urls = {name: serve(server, f"mirror/{name}", data) for name, data in zips.items()}
    manifest = tmp_path / "downloads.json"
    manifest.write_text(json.dumps({
        "deam_audio": {"url": urls["DEAM_audio.zip"], "sha256": hashlib.sha256(zips["DEAM_audio.zip"]).hexdigest()},
        "deam_annotations": {"url": urls["DEAM_Annotations.zip"], "sha256": "0" * 64},
    }))
    deam_dir = tmp_path / "deam"
    with pytest.raises(MerError, match="DEAM_Annotations.zip is corrupt: expected sha256 0000"):
        deam_fetch.main_deam(["--deam-dir", str(deam_dir), "--manifest", str(manifest)])
    assert (deam_dir / "MEMD_audio" / "2.mp3").is_file() and not (deam_dir / "annotations").exists()
    entries = dl.read_manifest(manifest)
    assert entries["deam_audio"].url == urls["DEAM_audio.zip"] and "panns" not in entries


def test_a_manifest_entry_keeps_the_published_checksums_it_does_not_replace(tmp_path):
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps({"panns": {"url": "http://127.0.0.1:9/Cnn14.pth"}, "musicnn": {"sha256": None}}))
    entries = dl.read_manifest(manifest)
    assert entries["panns"].md5 == dl.PUBLISHED["panns"].md5 and entries["panns"].size == dl.PUBLISHED["panns"].size
    assert entries["musicnn"].sha256 is None and entries["musicnn"].url == dl.PUBLISHED["musicnn"].url
    assert dl.read_manifest("") == {}


@pytest.mark.parametrize("content, message", [
    ('{"deam": {"url": "x"}}', "names 'deam', which is not a download of the book: use deam_audio"),
    ('{"fourq": {"adress": "x"}}', "entry 'fourq', has unknown field\\(s\\) adress"),
    ("not json", "is not JSON"),
])
def test_a_wrong_manifest_is_named_with_the_fix(tmp_path, content, message):
    manifest = tmp_path / "m.json"
    manifest.write_text(content)
    with pytest.raises(MerError, match=message):
        dl.read_manifest(manifest)


def test_a_mirrored_panns_checkpoint_skips_zenodo_and_checks_the_mirror_s_md5(server, tmp_path):
    data = payload(40_000)
    url = serve(server, "mirror/Cnn14.pth", data)
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps({"panns": {"url": url, "size": len(data), "md5": hashlib.md5(data).hexdigest()},
                                    "musicnn": {"url": serve(server, "mirror/MSD_musicnn.h5", b"h5"),
                                                "sha256": hashlib.sha256(b"h5").hexdigest()}}))
    dest = tmp_path / "weights" / dl.PANNS_FILE
    assert weights.main_weights(["--dest", str(dest), "--musicnn-dest", str(tmp_path / "weights" / "MSD_musicnn.h5"),
                            "--record-url", f"http://127.0.0.1:{closed_port()}/api", "--manifest", str(manifest)]) == 0
    assert dest.read_bytes() == data and (tmp_path / "weights" / "MSD_musicnn.h5").read_bytes() == b"h5"
    assert [e["path"] for e in server.log] == ["mirror/Cnn14.pth", "mirror/MSD_musicnn.h5"]


def test_the_mirror_variable_points_every_download_at_one_mirror_with_the_published_checks(server, tmp_path,
                                                                                           monkeypatch):
    for name, data in deam_zips().items():
        serve(server, f"mirror/{name}", data)
    monkeypatch.setenv(dl.MIRROR_ENV, server.url + "/mirror/")
    musicnn = dl.entry("musicnn")
    assert musicnn.url == server.url + "/mirror/MSD_musicnn.h5" and musicnn.sha256 == dl.PUBLISHED["musicnn"].sha256
    assert dl.entry("panns").md5 == dl.PUBLISHED["panns"].md5
    deam_dir = tmp_path / "deam"
    assert deam_fetch.main_deam(["--deam-dir", str(deam_dir)]) == 0
    assert [e["path"] for e in server.log] == ["mirror/DEAM_audio.zip", "mirror/DEAM_Annotations.zip"]
    manifest = {"musicnn": dl.Published("http://elsewhere.example/MSD_musicnn.h5")}
    assert dl.entry("musicnn", manifest).url == "http://elsewhere.example/MSD_musicnn.h5", "a manifest entry wins"


def test_an_md5_beside_a_sha256_is_checked_too_and_a_mismatch_leaves_nothing(server, tmp_path):
    data = payload(40_000)
    url = serve(server, "file.bin", data)
    dest = tmp_path / "file.bin"
    with pytest.raises(MerError, match="expected md5 0{32}"):
        dl.download(url, dest, sha256=hashlib.sha256(data).hexdigest(), md5="0" * 32, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["served"]
