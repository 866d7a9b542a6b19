"""A mirror of the book's downloads, in their published formats, made from the samples in ../shared.

``make real-book`` downloads DEAM's two zips, the PANNs checkpoint, musicnn's MSD weights and the 4Q zip.
None of these can be fetched on the machines the tests run on, so the end-to-end test serves stand-ins from
a local HTTP server (``test_download.FakeServer``) and points ``make real-book`` at them with a downloads
manifest (``DOWNLOADS=<file>``, :func:`mer_utils.corpus.download.read_manifest`):

* ``DEAM_audio.zip`` and ``DEAM_Annotations.zip``: the 10 clips and the two real static annotation files of
  ``../shared/deam-sample``, at the paths of DEAM's own zips (``MEMD_audio/<id>.mp3``;
  ``annotations/annotations averaged per song/song_level/...``);
* ``Cnn14_mAP=0.431.pth``: a checkpoint in the PANNs format (``{"model": state_dict, ...}`` of
  panns-inference's Cnn14 with :data:`mer_utils.phase3.cnn14.CNN14_ARGS`) holding seeded random weights;
* ``MSD_musicnn.h5``: the real file from ``../shared/weights``;
* ``MER_audio_taffc_dataset.zip``: whole artists of ``../shared/4q-sample`` (all their clips, every quadrant)
  with the full metadata CSVs and the authors' readme, under ``MER_audio_taffc_dataset/`` as in the real zip.
  Each clip is the first quarter of its MP3 file's bytes: its own tags and frames, about 7.5 s of its 30 s,
  so that the test stays quick (the end of an MP3 can be cut between frames and still decode).

The manifest gives each file's address on the server and its own sha256 (and size and md5 for the checkpoint,
as Zenodo publishes them), so every check the real downloads make is made here too.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pandas as pd
from conftest import DEAM_SAMPLE, REPO

SHARED = REPO.parent / "shared"
FOURQ_SAMPLE = SHARED / "4q-sample"
MUSICNN_WEIGHTS = SHARED / "weights" / "MSD_musicnn.h5"
FOURQ_TOP = "MER_audio_taffc_dataset"


def missing_samples() -> str | None:
    """Why the mirror cannot be made here, or None."""
    for path in (DEAM_SAMPLE / "MEMD_audio", FOURQ_SAMPLE / FOURQ_TOP, MUSICNN_WEIGHTS):
        if not path.exists():
            return f"{path} is not there (the samples live in ../shared beside the repository)"
    return None


def _zip(path: Path, members: dict[str, Path | bytes]) -> Path:
    """A zip of ``members`` (name in the zip -> file or content), stored as DEAM's and 4Q's are (MP3s do not
    deflate)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, source in sorted(members.items()):
            if isinstance(source, bytes):
                archive.writestr(name, source)
            else:
                archive.write(source, name)
    return path


def deam_archives(folder: Path) -> dict[str, Path]:
    """DEAM_audio.zip and DEAM_Annotations.zip of the sample, in DEAM's layout."""
    audio = {f"MEMD_audio/{p.name}": p for p in sorted((DEAM_SAMPLE / "MEMD_audio").glob("*.mp3"))}
    annotations = {p.relative_to(DEAM_SAMPLE).as_posix(): p
                   for p in sorted((DEAM_SAMPLE / "annotations").rglob("*.csv"))}
    return {"deam_audio": _zip(folder / "DEAM_audio.zip", audio),
            "deam_annotations": _zip(folder / "DEAM_Annotations.zip", annotations)}


def panns_checkpoint(path: Path, seed: int = 7) -> Path:
    """A checkpoint in the PANNs format (what ``torch.save`` of the published file holds), with random weights."""
    import torch

    from mer_utils.phase3.cnn14 import build_cnn14

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": build_cnn14(seed=seed).state_dict(), "iteration": 0}, path)
    return path


def fourq_artists(clips: int = 16) -> list[str]:
    """Whole artists of the 4Q sample, about ``clips`` clips in all, every quadrant present: the fewest-clip
    artists of each quadrant in turn (by name within a count), so the choice is fixed."""
    root = FOURQ_SAMPLE / FOURQ_TOP
    metadata = pd.read_csv(root / "panda_dataset_taffc_metadata.csv", encoding="utf-8")
    have = {p.stem for p in root.glob("Q*/*.mp3")}
    metadata = metadata[metadata["Song"].isin(have) & metadata["Artist"].notna()]
    sizes = metadata.groupby("Artist").size()
    home = metadata.groupby("Artist")["Quadrant"].agg(lambda q: q.mode().iloc[0])
    queues = {q: sorted(home.index[home == q], key=lambda a: (sizes[a], a)) for q in sorted(home.unique())}
    chosen: list[str] = []
    while sum(sizes[a] for a in chosen) < clips and any(queues.values()):
        for queue in queues.values():
            if queue and sum(sizes[a] for a in chosen) < clips:
                chosen.append(queue.pop(0))
    return chosen


def fourq_archive(folder: Path, artists: list[str]) -> Path:
    """MER_audio_taffc_dataset.zip with every clip of ``artists`` (its first quarter), the full CSVs, the readme."""
    root = FOURQ_SAMPLE / FOURQ_TOP
    metadata = pd.read_csv(root / "panda_dataset_taffc_metadata.csv", encoding="utf-8")
    songs = set(metadata.loc[metadata["Artist"].isin(artists), "Song"])
    members: dict[str, Path | bytes] = {}
    for clip in sorted(root.glob("Q*/*.mp3")):
        if clip.stem in songs:
            data = clip.read_bytes()
            members[f"{FOURQ_TOP}/{clip.relative_to(root).as_posix()}"] = data[: len(data) // 4]
    for name in ("panda_dataset_taffc_annotations.csv", "panda_dataset_taffc_metadata.csv", "readme.txt"):
        members[f"{FOURQ_TOP}/{name}"] = root / name
    return _zip(folder / "MER_audio_taffc_dataset.zip", members)


def _checks(key: str, path: Path) -> dict:
    """The size and checksum a manifest gives for ``path``: the md5 for the checkpoint (as Zenodo publishes it),
    the sha256 for the others."""
    data = path.read_bytes()
    digest = {"md5": hashlib.md5(data).hexdigest()} if key == "panns" else {"sha256": hashlib.sha256(data).hexdigest()}
    return {"size": len(data), **digest}


def write_manifest(path: Path, base_url: str, files: dict[str, Path], served: Path) -> Path:
    """The downloads manifest for ``files`` (manifest key -> file under ``served``, the server's root)."""
    manifest = {key: {"url": f"{base_url}/{file.relative_to(served).as_posix()}", **_checks(key, file)}
                for key, file in files.items()}
    path.write_text(json.dumps(manifest, indent=2))
    return path
