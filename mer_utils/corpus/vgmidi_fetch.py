"""``make data-vgmidi``: where VGMIDI comes from, its download (verified) and a check of an unpacked tree.

Used by: ``python -m mer_utils download-vgmidi --vgmidi-dir <dir>`` (:func:`main_vgmidi`) and the tests.

VGMIDI is published as a public GitHub repository (:data:`mer_utils.corpus.vgmidi.REPOSITORY`) with no
release archive and no licence file: the book pins one commit (:data:`~mer_utils.corpus.vgmidi.COMMIT`) and
fetches GitHub's zip of it.  GitHub makes that zip on request, so its bytes are not guaranteed to stay the same;
what is checked is what matters, the two annotation files inside it, against the sha256 of the published files
(:data:`~mer_utils.corpus.vgmidi.PUBLISHED_SHA256`), before anything is unpacked.  The zip is fetched
through the book's downloads (:mod:`mer_utils.corpus.download`: pooch with a resumable downloader, written under a
temporary name and renamed when complete) after a short reachability probe, so an offline machine fails at once
with the address to fetch by hand; it is unzipped by pooch into a hidden temporary folder inside ``VGMIDI_DIR``,
its top folder (``vgmidi-<commit>/``) stripped, and moved into place only when complete.  What
was fetched (address, size, sha256 of the zip and of the two files) is recorded in ``downloads.json``.
"""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path

from ..errors import MerError
from .download import (
    add_source_arguments,
    add_to_record,
    check_reachable,
    clear_stale_unpacks,
    download,
    fetch_record,
    source,
    unpack,
)
from .vgmidi import (
    CITATION,
    COMMIT,
    HOW_TO_GET,
    PUBLISHED_SHA256,
    REPOSITORY,
    ROUNDS,
    VGMIDI_URL,
    find_annotation_files,
    midi_index,
    read_round,
)

RECORD = "downloads.json"
ZIP_NAME = f"vgmidi-{COMMIT[:12]}.zip"


def provenance_lines() -> list[str]:
    """Where the data comes from, for the command line and the data page."""
    return [f"VGMIDI ({CITATION}): 200 piano arrangements of video game music as MIDI, each annotated over time "
            "by about 30 listeners (valence and arousal per measure, in [-1, 1]).",
            f"Source: the public repository {REPOSITORY} at commit {COMMIT} (GitHub's zip of that commit); the "
            "repository carries no licence file: the MIDI and the annotations are the authors' work, published for "
            "research. Cite the paper; do not redistribute the files."]


def check_vgmidi_tree(root) -> dict:
    """What an unpacked tree holds, or a :class:`MerError` saying what is missing.

    Returns ``rounds`` (round -> annotation file), ``published`` (round -> whether the file is the published
    one, by sha256: a filtered copy such as the book's sample is not), ``pieces``, ``traces``, ``midi_files``
    (MIDI files found by the annotations' names) and ``missing_midi`` (pieces whose MIDI file is absent).
    """
    from .vgmidi_render import file_sha256

    root = Path(root).expanduser()
    if not root.is_dir():
        raise MerError(f"VGMIDI_DIR '{root}' is not a folder; {HOW_TO_GET}.")
    files = find_annotation_files(root)
    found = {"rounds": files, "published": {}, "pieces": 0, "traces": 0, "midi_files": 0, "missing_midi": []}
    for r, path in files.items():
        data = read_round(path)
        midis = midi_index(root, path, [info.get("midi") for info in data["pieces"].values()])
        found["published"][r] = file_sha256(path) == PUBLISHED_SHA256[r]
        found["pieces"] += len(data["pieces"])
        found["traces"] += len(data["annotations"])
        for piece, info in data["pieces"].items():
            if str(info.get("midi")) in midis:
                found["midi_files"] += 1
            else:
                found["missing_midi"].append(f"round {r} {piece}: {info.get('midi')}")
    if found["midi_files"] == 0:
        raise MerError(f"no MIDI file of the annotated pieces under {root} (expected labelled/midi/*.mid beside "
                       f"labelled/annotations/); {HOW_TO_GET}.")
    return found


def describe_tree(found: dict) -> str:
    which = ", ".join(f"round {r} " + ("(the published file)" if ok else
                                       "(not the published file: a subset or another version)")
                      for r, ok in found["published"].items())
    lacking = found["missing_midi"]
    missing = (f"; {len(lacking)} annotated piece{'s' if len(lacking) != 1 else ''} without its MIDI file: "
               f"{'; '.join(lacking[:5])}{' ...' if len(lacking) > 5 else ''}") if lacking else ""
    return (f"{found['pieces']} annotated pieces, {found['traces']} listener traces, {found['midi_files']} MIDI files "
            f"({which}){missing}")


def _is_complete(root: Path) -> bool:
    try:
        found = check_vgmidi_tree(root)
    except MerError:
        return False
    return not found["missing_midi"]


def verify_zip(path: Path, url: str) -> dict[int, str]:
    """The sha256 of each annotation file inside the zip, checked against the published ones; a bad zip is deleted."""
    import hashlib

    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            digests = {}
            for r, name in ROUNDS.items():
                member = next((n for n in names if n.endswith(f"labelled/annotations/{name}")), None)
                if member is None:
                    raise MerError(f"{path} from {url} holds no labelled/annotations/{name}: it is not the VGMIDI "
                                   f"repository at commit {COMMIT[:12]}. It was deleted.")
                digest = hashlib.sha256()
                with archive.open(member) as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
                digests[r] = digest.hexdigest()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        path.unlink(missing_ok=True)
        raise MerError(f"{path} from {url} is not a readable zip ({exc}); it was deleted: run again.") from exc
    except MerError:
        path.unlink(missing_ok=True)
        raise
    wrong = [r for r in ROUNDS if digests[r] != PUBLISHED_SHA256[r]]
    if wrong:
        path.unlink()
        raise MerError(f"the annotation file(s) of round {', '.join(map(str, wrong))} in {url} differ from the "
                       f"published ones (sha256 {', '.join(digests[r] for r in wrong)}, expected "
                       f"{', '.join(PUBLISHED_SHA256[r] for r in wrong)}); the zip was deleted. Check the address.")
    return digests


def fetch_vgmidi(vgmidi_dir, *, url: str = VGMIDI_URL, progress: bool = True) -> Path:
    """Download GitHub's zip of the pinned commit into ``vgmidi_dir``, verify its annotation files, unpack it.

    A complete tree already there is left alone (no network); a zip placed there by hand (:data:`ZIP_NAME`) is
    used without network access.  Returns ``vgmidi_dir``.
    """
    root = Path(vgmidi_dir).expanduser()
    if root.exists() and not root.is_dir():
        raise MerError(f"VGMIDI_DIR '{root}' is not a folder: pass the folder to unpack VGMIDI into.")
    root.mkdir(parents=True, exist_ok=True)
    clear_stale_unpacks(root)
    if _is_complete(root):
        return root
    path = root / ZIP_NAME
    if not path.exists():
        check_reachable(url, [(url, path)], alternative=f"or unzip that commit of {REPOSITORY} into {root} yourself")
    download(url, path, progress=progress)
    digests = verify_zip(path, url)
    fetched = fetch_record(path, url, commit=COMMIT, annotations_sha256={ROUNDS[r]: d for r, d in digests.items()})
    unpack(path, root, url, strip_top=True)
    add_to_record(root / RECORD, ZIP_NAME, fetched)
    path.unlink()
    if not _is_complete(root):
        raise MerError(f"{ZIP_NAME} was unpacked into {root} but the tree is incomplete "
                       f"({describe_tree(check_vgmidi_tree(root))}): a folder of the same name already in the way "
                       "is never overwritten. Move it away and run again.")
    return root


def main_vgmidi(argv=None) -> int:
    """``python -m mer_utils download-vgmidi --vgmidi-dir <dir>`` (``make data-vgmidi VGMIDI_DIR=<dir>``)."""
    parser = argparse.ArgumentParser(prog="python -m mer_utils download-vgmidi",
                                     description="Download VGMIDI (verified) and check the unpacked tree.")
    parser.add_argument("--vgmidi-dir", required=True, help="folder to unpack the repository into (VGMIDI_DIR)")
    parser.add_argument("--check-only", action="store_true", help="check the tree, download nothing")
    args = add_source_arguments(parser, "vgmidi").parse_args(argv)
    for line in provenance_lines():
        print(line)
    if not args.check_only:
        fetch_vgmidi(args.vgmidi_dir, url=source(args, "vgmidi").url)
    found = check_vgmidi_tree(args.vgmidi_dir)
    print(f"VGMIDI at {Path(args.vgmidi_dir).expanduser()}: {describe_tree(found)}")
    from .vgmidi_render import renderer_problems

    problems = renderer_problems()
    print("renderer: " + ("; ".join(problems) if problems else "TinySoundFont and TimGM6mb are installed"))
    print(f"ready: make book DATA=vgmidi VGMIDI_DIR={args.vgmidi_dir}")
    return 0
