"""VGMIDI: measures through the tempo map, 2 Hz curves, ids across rounds, wrong traces, rendering, folds, download."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import socket
import threading
import time
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import mido
import numpy as np
import pytest

from mer_utils.corpus import vgmidi, vgmidi_fetch, vgmidi_render
from mer_utils.corpus.split import grouped_folds
from mer_utils.corpus.vgmidi import (
    average_curves,
    frames_of,
    group_of,
    load_vgmidi,
    parse_midi_name,
    piece_label,
    read_annotations,
    song_id,
)
from mer_utils.corpus.vgmidi_render import (
    channel_events,
    measure_spans,
    midi_timing,
    render_midi,
    render_pieces,
    slot_spans,
)
from mer_utils.errors import MerError
from mer_utils.phase4.curves import load_curves
from mer_utils.phase4.reference import spearman_brown, split_half_curves, split_half_pieces, split_half_summary

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "vgmidi-sample"
NO_RENDERER = vgmidi_render.renderer_problems()


# --------------------------------------------------------------------------- tiny MIDI files and trees


def write_midi(path: Path, quarters: int, tempos=((0, 120),), signatures=((0, 4, 4),), tempo_track: int = 0,
               pedal: bool = False, program: int = 0) -> Path:
    """A MIDI file of ``quarters`` quarter notes (one C4 each), with tempo changes ``(quarter, bpm)`` and time
    signatures ``(quarter, numerator, denominator)``; ``tempo_track=1`` puts the tempo map in a second track."""
    tpb = 480
    midi = mido.MidiFile(ticks_per_beat=tpb, type=1)
    meta = sorted([(q * tpb, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))) for q, bpm in tempos]
                  + [(q * tpb, mido.MetaMessage("time_signature", numerator=n, denominator=d))
                     for q, n, d in signatures], key=lambda e: e[0])
    notes = [(0, mido.Message("program_change", program=program))]
    if pedal:
        notes.append((0, mido.Message("control_change", control=64, value=127)))
    for q in range(quarters):
        notes += [(q * tpb, mido.Message("note_on", note=60 + q % 12, velocity=90)),
                  (q * tpb + tpb // 4, mido.Message("note_off", note=60 + q % 12, velocity=0))]
    tracks = [meta, notes] if tempo_track == 1 else [meta + notes]
    for events in tracks:
        track, last = mido.MidiTrack(), 0
        for tick, message in sorted(events, key=lambda e: e[0]):
            track.append(message.copy(time=tick - last))
            last = tick
        midi.tracks.append(track)
    path.parent.mkdir(parents=True, exist_ok=True)
    midi.save(path)
    return path


def write_tree(root: Path, rounds: dict) -> Path:
    """A VGMIDI tree: ``rounds`` maps a round to ``{piece: (midi name, quarters, tempos, traces)}``, traces a list
    of ``(valence list, arousal list)``; ``measures`` is ``ceil(quarters / 4)`` as the dataset's builder counts."""
    for r, pieces in rounds.items():
        data = {"pieces": {}, "annotations": {}}
        for piece, (name, quarters, tempos, traces) in pieces.items():
            timing = midi_timing(write_midi(root / "labelled" / "midi" / name, quarters, tempos))
            data["pieces"][piece] = {"name": piece, "midi": name, "measures": -(-quarters // 4),
                                     "duration": timing.end_seconds, "audio": f"audio/{piece}.wav"}
            for listener, (valence, arousal) in enumerate(traces, start=1):
                data["annotations"][f"{piece}_{listener}"] = {"valence": valence, "arousal": arousal, "age": "21-25"}
        folder = root / "labelled" / "annotations"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / vgmidi.ROUNDS[r]).write_text(json.dumps(data))
    return root


def panel(measures: int, listeners: int = 4, level: float = 0.0, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    return [(list(np.round(np.clip(level + 0.1 * rng.standard_normal(measures), -1, 1), 2)),
             list(np.round(np.clip(-level + 0.1 * rng.standard_normal(measures), -1, 1), 2)))
            for _ in range(listeners)]


# --------------------------------------------------------------------------- time


def test_a_tempo_change_moves_the_measures_in_time_as_the_midi_plays_them(tmp_path):
    # 120 bpm for two measures (2 s each), then 60 bpm (4 s each), the tempo map in a conductor track
    path = write_midi(tmp_path / "t.mid", 16, tempos=((0, 120), (8, 60)), tempo_track=1)
    timing = midi_timing(path)
    assert timing.end_seconds == pytest.approx(mido.MidiFile(path).length)
    # the last note ends a quarter of a beat after quarter 15 starts: the MIDI, and its last measure, end at 11.25 s
    np.testing.assert_allclose(measure_spans(timing, 4), [[0, 2], [2, 4], [4, 8], [8, 11.25]], atol=1e-3)
    # a measure past the MIDI's end has no length; the tool's own slots are equal parts of the duration
    np.testing.assert_allclose(measure_spans(timing, 5)[-1], [timing.end_seconds] * 2)
    np.testing.assert_allclose(slot_spans(12, 4), [[0, 3], [3, 6], [6, 9], [9, 12]])
    # the synthesizer plays on the same clock: the note of quarter 12 sounds at 4 + 4 * 1 s
    onsets = [t for t, m in channel_events(path)[0] if m.type == "note_on" and m.velocity > 0]
    assert onsets[12] == pytest.approx(8.0, abs=1e-3) and onsets[7] == pytest.approx(3.5, abs=1e-3)


def test_a_time_signature_does_not_change_vgmidis_four_quarter_measure_but_bars_follow_it(tmp_path):
    # 3/4 for 6 quarters (two bars), then 2/4 for 4 quarters (two bars), at 60 bpm: one quarter a second
    path = write_midi(tmp_path / "waltz.mid", 10, tempos=((0, 60),), signatures=((0, 3, 4), (6, 2, 4)))
    timing = midi_timing(path)
    assert timing.time_signatures == ((0, 3, 4), (6 * 480, 2, 4))
    np.testing.assert_allclose(measure_spans(timing, 3), [[0, 4], [4, 8], [8, 9.25]], atol=1e-3)
    np.testing.assert_allclose(measure_spans(timing, 4, unit="bars"), [[0, 3], [3, 6], [6, 8], [8, 9.25]], atol=1e-3)
    with pytest.raises(MerError, match="unknown measure unit"):
        measure_spans(timing, 3, unit="beats")


def test_each_measure_value_holds_over_its_half_seconds_and_shares_a_frame_it_ends_in():
    spans = np.array([[0, 2], [2, 4], [4, 8]])
    times, frames = frames_of(np.array([[1.0, -1.0, 0.5]]), spans)
    np.testing.assert_allclose(times, np.arange(1, 17) * 0.5)
    np.testing.assert_allclose(frames[0], [1] * 4 + [-1] * 4 + [0.5] * 8)
    # a measure ending inside a half second counts for its share of it
    times, frames = frames_of(np.array([[1.0, 0.0]]), np.array([[0, 0.75], [0.75, 1.5]]))
    np.testing.assert_allclose(frames[0], [1.0, 0.5, 0.0])


# --------------------------------------------------------------------------- the annotations


def test_piece_ids_restart_per_round_and_the_two_pieces_stay_apart(tmp_path):
    root = write_tree(tmp_path / "vg", {
        1: {"piece0": ("Zelda_N64_Ocarina_Song.mid", 8, ((0, 120),), panel(2, level=0.5))},
        2: {"piece0": ("Final Fantasy_PS1_FF7_Theme.mid", 12, ((0, 120),), panel(3, level=-0.5))}})
    found = read_annotations(root)
    assert list(found.pieces.index) == [1000, 2000]
    assert list(found.pieces["piece"]) == ["r1-piece0", "r2-piece0"]
    assert list(found.pieces["measures"]) == [2, 3]
    means = found.traces.groupby("song_id")["valence"].mean()
    assert means[1000] > 0.3 and means[2000] < -0.3
    assert song_id(2, "piece103") == 2103 and piece_label(2103) == "r2-piece103"
    assert list(read_annotations(root, subset="round2").pieces.index) == [2000]


def test_a_trace_of_the_wrong_length_is_reported_and_left_out(tmp_path, caplog):
    traces = panel(3, listeners=3, level=0.2)
    traces.append(([1.0] * 4, [1.0] * 4))  # listener 4: four values for three measures
    root = write_tree(tmp_path / "vg", {1: {"piece7": ("A_B_C_D.mid", 12, ((0, 100),), traces)},
                                        2: {"piece1": ("E_F_G_H.mid", 8, ((0, 100),), panel(2))}})
    found = read_annotations(root)
    assert found.wrong_length.to_dict("records") == [
        {"song_id": 1007, "piece": "r1-piece7", "listener": "4", "valence": 4, "arousal": 4, "measures": 3}]
    assert set(found.traces[found.traces["song_id"] == 1007]["listener"]) == {"1", "2", "3"}
    assert "1 listener trace" in found.notes[0] and "r1-piece7 listener 4" in found.notes[0]
    curves = average_curves(found.traces)
    assert curves[curves["song_id"] == 1007]["valence"].max() < 0.9  # the left-out trace (all 1.0) is not in it
    assert set(curves["listeners"][curves["song_id"] == 1007]) == {3}


def test_series_are_the_groups_and_each_game_of_other_is_its_own():
    assert parse_midi_name("Final Fantasy_PS1_Final Fantasy VII_Aeris Theme.mid")["group"] == "Final Fantasy"
    other = parse_midi_name("Other_PC_The Sims_Building Mode 3.mid")
    assert (other["series"], other["game"], other["title"], other["group"]) == (
        "Other", "The Sims", "Building Mode 3", "Other: The Sims")
    assert group_of("Other", "Tetris") != group_of("Other", "GoldenEye 007")
    assert parse_midi_name("oddly named.mid")["group"] == "Other: oddly named"


def test_no_series_is_ever_on_both_sides_of_a_fold(tmp_path):
    series = ["Zelda", "Zelda", "Mario", "Mario", "Sonic", "Metroid", "Other", "Other", "Other", "Kirby"]
    games = ["OoT", "MM", "SMW", "SMB", "S2", "SM", "Tetris", "Tetris", "The Sims", "K64"]
    root = write_tree(tmp_path / "vg", {1: {f"piece{i}": (f"{s}_NES_{g}_Song {i}.mid", 4, ((0, 240),),
                                                         panel(1, listeners=2, seed=i))
                                            for i, (s, g) in enumerate(zip(series, games))}})
    groups = read_annotations(root, subset="round1").pieces["group"]
    assert groups.nunique() == 7  # 5 series, and "Other" split into its 2 games
    folds = grouped_folds(groups.index, groups, n_folds=4)
    for _, fold in folds.groupby("fold"):
        sides = fold.assign(group=groups.loc[fold["song_id"]].to_numpy()).groupby("group")["part"].nunique()
        assert (sides == 1).all()
    assert folds.groupby("song_id")["part"].apply(lambda p: (p == "test").sum()).eq(1).all()


# --------------------------------------------------------------------------- the synthesizer


def test_a_missing_synthesizer_or_soundfont_stops_at_once_naming_the_command_that_installs_it(tmp_path, monkeypatch):
    root = write_tree(tmp_path / "vg", {1: {"piece0": ("A_B_C_D.mid", 4, ((0, 120),), panel(1))}})
    monkeypatch.setattr(vgmidi_render, "renderer_version", lambda: None)
    monkeypatch.setattr(vgmidi_render, "soundfont_path", lambda: None)
    start = time.perf_counter()
    with pytest.raises(MerError) as error:
        load_vgmidi(root, render_dir=tmp_path / "audio")
    assert time.perf_counter() - start < 1.0
    assert "pip install --no-deps tinysoundfont==0.3.7" in str(error.value)
    assert "pip install pretty-midi==0.2.11.post0" in str(error.value) and "make venv" in str(error.value)
    assert not (tmp_path / "audio").exists()
    assert "does not exist" in vgmidi_render.renderer_problems(tmp_path / "none.sf2")[-1]


@pytest.mark.skipif(bool(NO_RENDERER), reason="; ".join(NO_RENDERER))
def test_rendering_plays_the_midi_as_piano_and_caches_it_atomically(tmp_path):
    path = write_midi(tmp_path / "m.mid", 8, tempos=((0, 120),))
    audio = render_midi(path)
    sr, end = vgmidi_render.SAMPLE_RATE, midi_timing(path).end_seconds
    assert len(audio) == int(np.ceil((end + vgmidi_render.TAIL_SECONDS) * sr)) and audio.dtype == np.float32
    first = audio[: sr // 2]  # a struck piano note: loud at once, then decaying, with harmonics
    assert np.sqrt(np.mean(first**2)) > 0.005 and np.abs(first[: sr // 20]).max() > np.abs(first[-sr // 20:]).max()
    held = render_midi(write_midi(tmp_path / "p.mid", 8, tempos=((0, 120),), pedal=True))
    tail = slice(int((end + 0.5) * sr), None)
    assert np.sqrt(np.mean(held[tail] ** 2)) > 2 * np.sqrt(np.mean(audio[tail] ** 2))  # the pedal holds the notes
    paths = render_pieces({1: path, 2: path}, render_dir=tmp_path / "cache", progress=False)
    assert paths[1] == paths[2] and paths[1].suffix == ".flac"  # one render per MIDI content
    settings = json.loads((paths[1].parent / "settings.json").read_text())
    assert settings["renderer"] == "tinysoundfont" and settings["soundfont_sha256"] == vgmidi_render.SOUNDFONT_SHA256
    stamp = paths[1].stat().st_mtime_ns
    assert render_pieces({1: path}, render_dir=tmp_path / "cache", progress=False)[1].stat().st_mtime_ns == stamp
    assert [p.name for p in paths[1].parent.iterdir() if p.name.startswith(".")] == []


@pytest.mark.skipif(bool(NO_RENDERER), reason="; ".join(NO_RENDERER))
def test_the_corpus_gives_piece_labels_on_minus_one_to_one_and_phase4_reads_its_curves(tmp_path):
    traces = [([0.5, 0.5, -0.5], [0.0, 0.2, 0.4]), ([0.3, 0.3, -0.3], [0.2, 0.2, 0.2])]
    root = write_tree(tmp_path / "vg", {1: {"piece0": ("A_B_C_D.mid", 12, ((0, 120), (8, 60)), traces)},
                                        2: {"piece0": ("E_F_G_H.mid", 4, ((0, 120),), panel(1))}})
    corpus = load_vgmidi(root, render_dir=tmp_path / "audio", progress=False, mapping="tempo")
    assert corpus.kind == "VGMIDI" and "[-1, 1]" in corpus.scale and corpus.group_column == "group"
    song = corpus.songs.loc[1000]
    # measures last 2, 2 and 3.25 s (the MIDI ends there): 4, 4 and 6 whole half seconds in the mean over time
    assert song["valence_mean"] == pytest.approx((0.4 * 8 - 0.4 * 6) / 14)
    assert song["listeners"] == 2 and Path(song["audio_path"]).is_file()
    curves = load_curves(corpus)
    assert curves.source == "VGMIDI" and curves.has_spread and curves.song_ids == [1000, 2000]
    piece = curves.of([1000])
    assert piece["time_s"].iloc[-1] == 7.0 and piece["valence"].iloc[0] == pytest.approx(0.4)
    assert piece["valence_std"].iloc[0] == pytest.approx(0.1)


# --------------------------------------------------------------------------- the human reference


def test_the_split_half_reference_is_one_for_a_unanimous_panel_and_spearman_brown_steps_it_up():
    times = np.arange(1, 41) * 0.5
    rows = []
    for song in (1, 2, 3):
        shape = np.sin(times / (song + 1))
        for listener in range(8):
            noise = 0.01 * np.random.default_rng([song, listener]).standard_normal(len(times))
            rows += [{"song_id": song, "listener": str(listener), "time_s": t, "valence": v, "arousal": -v}
                     for t, v in zip(times, shape + noise)]
    import pandas as pd

    traces = pd.DataFrame(rows)
    summary = split_half_summary(split_half_curves(traces, n_splits=20))
    assert (summary["half panel r"] > 0.99).all() and (summary["half panel RMSE"] < 0.02).all()
    assert spearman_brown(0.36) == pytest.approx(0.529, abs=1e-3)
    assert split_half_pieces(traces, n_splits=10).loc["valence", "half panel r"] > 0.99


# --------------------------------------------------------------------------- the shared sample


@pytest.fixture(scope="module")
def sample():
    if not (SAMPLE / "labelled" / "annotations").is_dir():
        pytest.skip(f"the VGMIDI sample is not at {SAMPLE} (it lives in ../shared beside the repository)")
    return read_annotations(SAMPLE)


def test_the_shared_sample_has_150_pieces_of_8_series_and_one_wrong_trace(sample):
    pieces = sample.pieces
    assert len(pieces) == 150 and pieces["series"].nunique() == 8 and pieces["group"].nunique() == 19
    assert sample.wrong_length[["piece", "listener"]].values.tolist() == [["r2-piece43", "1"]]
    assert len(sample.traces.groupby(["song_id", "listener"])) == 4492
    off = pieces[(pieces["midi_seconds"] - pieces["duration"]).abs() > 2]
    assert sorted(off["piece"]) == ["r1-piece15", "r1-piece35", "r1-piece6"]
    # the dataset's measure is four quarter notes: ceil(quarters / 4) is the JSON's count, give or take one
    quarters = [midi_timing(p).quarters for p in pieces["midi_path"]]
    close = np.abs(np.ceil(np.array(quarters) / 4) - pieces["measures"].to_numpy()) <= 1
    assert close.sum() >= 149


def test_the_sample_reproduces_the_split_half_agreement_of_its_listeners(sample):
    summary = split_half_summary(split_half_curves(sample.traces))
    assert summary.loc["valence", "half panel r"] == pytest.approx(0.36, abs=0.03)
    assert summary.loc["arousal", "half panel r"] == pytest.approx(0.28, abs=0.03)
    assert summary.loc["valence", "whole panel r (Spearman-Brown)"] == pytest.approx(0.53, abs=0.03)
    assert split_half_pieces(sample.traces, n_splits=20).loc["valence", "half panel r"] > 0.8


@pytest.mark.skipif(bool(NO_RENDERER), reason="; ".join(NO_RENDERER))
def test_sample_renders_last_as_long_as_the_tool_played_them_and_are_not_silent(sample, tmp_path):
    pieces = sample.pieces[~sample.pieces["piece"].isin(["r1-piece15", "r1-piece35", "r1-piece6"])]
    for _, piece in pieces.sort_values("duration").head(3).iterrows():
        audio = render_midi(piece["midi_path"])
        seconds = len(audio) / vgmidi_render.SAMPLE_RATE - vgmidi_render.TAIL_SECONDS
        assert abs(seconds - piece["duration"]) < 2 and np.sqrt(np.mean(audio**2)) > 0.005


# --------------------------------------------------------------------------- download and check


class Server:
    """Serves ``root`` on 127.0.0.1 and logs the paths asked for."""

    def __init__(self, root: Path):
        self.log: list[str] = []
        log = self.log

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(root), **kwargs)

            def log_message(self, *args):
                log.append(self.path)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


@pytest.fixture
def server(tmp_path):
    (tmp_path / "www").mkdir()
    serving = Server(tmp_path / "www")
    yield serving
    serving.httpd.shutdown()
    serving.httpd.server_close()


def github_zip(tree: Path, target: Path) -> dict:
    """``tree`` zipped as GitHub does (one top folder ``vgmidi-<commit>/``); returns the annotation files' sha256."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(tree.rglob("*")):
            if path.is_file():
                archive.write(path, f"vgmidi-{vgmidi.COMMIT}/{path.relative_to(tree)}")
    target.write_bytes(buffer.getvalue())
    return {r: hashlib.sha256((tree / "labelled" / "annotations" / name).read_bytes()).hexdigest()
            for r, name in vgmidi.ROUNDS.items()}


def small_tree(root: Path) -> Path:
    return write_tree(root, {1: {"piece0": ("A_B_C_D.mid", 4, ((0, 120),), panel(1))},
                             2: {"piece0": ("E_F_G_H.mid", 4, ((0, 120),), panel(1))}})


def test_make_data_vgmidi_downloads_verifies_the_annotations_and_unpacks_from_a_local_server(
        tmp_path, server, monkeypatch, capsys):
    digests = github_zip(small_tree(tmp_path / "tree"), tmp_path / "www" / "vgmidi.zip")
    monkeypatch.setattr(vgmidi_fetch, "PUBLISHED_SHA256", digests)
    target = tmp_path / "data"
    assert vgmidi_fetch.main_vgmidi(["--vgmidi-dir", str(target), "--url", server.url + "/vgmidi.zip"]) == 0
    assert (target / "labelled" / "midi" / "A_B_C_D.mid").is_file()  # GitHub's top folder stripped
    record = json.loads((target / vgmidi_fetch.RECORD).read_text())[vgmidi_fetch.ZIP_NAME]
    assert record["annotations_sha256"]["vgmidi_raw_1.json"] == digests[1] and record["commit"] == vgmidi.COMMIT
    assert not list(target.glob("*.zip")) and not list(target.glob(".*"))
    out = capsys.readouterr().out
    assert "github.com/lucasnfe/vgmidi" in out and "Ferreira and Whitehead" in out
    assert "ready: make book DATA=vgmidi" in out
    asked = len(server.log)
    vgmidi_fetch.fetch_vgmidi(target, url=server.url + "/vgmidi.zip", progress=False)
    assert len(server.log) == asked  # a complete tree is left alone


def test_a_zip_whose_annotations_are_not_the_published_files_is_refused_and_deleted(tmp_path, server):
    github_zip(small_tree(tmp_path / "tree"), tmp_path / "www" / "vgmidi.zip")
    with pytest.raises(MerError, match="differ from the published ones"):
        vgmidi_fetch.fetch_vgmidi(tmp_path / "data", url=server.url + "/vgmidi.zip", progress=False)
    assert not (tmp_path / "data" / vgmidi_fetch.ZIP_NAME).exists() and not (tmp_path / "data" / "labelled").exists()


def test_an_offline_download_fails_at_once_with_the_address_to_fetch_by_hand(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    start = time.perf_counter()
    with pytest.raises(MerError, match="cannot reach .*vgmidi-1e62f0af8c86.zip"):
        vgmidi_fetch.fetch_vgmidi(tmp_path / "data", url=f"http://127.0.0.1:{port}/v.zip", progress=False)
    assert time.perf_counter() - start < 5


def test_the_check_names_a_missing_annotation_file_and_pieces_without_midi(tmp_path, capsys):
    root = small_tree(tmp_path / "vg")
    (root / "labelled" / "midi" / "E_F_G_H.mid").unlink()
    found = vgmidi_fetch.check_vgmidi_tree(root)
    assert found["pieces"] == 2 and found["missing_midi"] == ["round 2 piece0: E_F_G_H.mid"]
    assert found["published"] == {1: False, 2: False}
    assert vgmidi_fetch.main_vgmidi(["--vgmidi-dir", str(root), "--check-only"]) == 0
    assert "1 annotated piece without its MIDI file" in capsys.readouterr().out
    (root / "labelled" / "annotations" / "vgmidi_raw_2.json").unlink()
    with pytest.raises(MerError, match="vgmidi_raw_2.json.*make data-vgmidi"):
        vgmidi_fetch.check_vgmidi_tree(root)


def test_pieces_without_midi_are_reported_and_left_out(tmp_path, caplog, monkeypatch):
    root = small_tree(tmp_path / "vg")
    (root / "labelled" / "midi" / "E_F_G_H.mid").unlink()
    found = read_annotations(root)
    assert found.missing_midi == [2000] and "r2-piece0" in " ".join(found.notes)
    assert set(found.traces["song_id"]) == {1000}
    monkeypatch.setattr(vgmidi_render, "check_renderer", lambda soundfont=None: None)
    monkeypatch.setattr(vgmidi_render, "render_pieces", lambda paths, **kw: {i: tmp_path / "x.flac" for i in paths})
    monkeypatch.setattr(vgmidi_render, "provenance", lambda soundfont=None: {
        "renderer_label": "a stand-in", "soundfont_label": "none", "soundfont_sha256": "0" * 64, "program": 0,
        "sample_rate": 22050})
    with caplog.at_level(logging.WARNING):
        corpus = load_vgmidi(root)
    assert corpus.song_ids == [1000] and corpus.missing_audio == [2000]
    assert "have no MIDI file" in caplog.text


def test_by_default_a_listeners_values_sit_in_the_tools_equal_slots_and_the_tempo_maps_shift_is_reported(tmp_path):
    # 12 quarters: 3 measures; 120 bpm for 8 quarters (4 s) then 60 bpm for 4 (4 s): 8 s, slots of 8/3 s each
    traces = [([1.0, 0.0, -1.0], [0.0, 0.0, 0.0])] * 2
    root = write_tree(tmp_path / "vg", {1: {"piece0": ("A_B_C_D.mid", 12, ((0, 120), (8, 60)), traces)},
                                        2: {"piece0": ("E_F_G_H.mid", 4, ((0, 120),), panel(1))}})
    corpus = load_vgmidi(root, render_dir=tmp_path / "audio", progress=False)
    assert vgmidi.DEFAULT_MAPPING == "slots"
    piece = load_curves(corpus).of([1000]).set_index("time_s")["valence"]
    # the MIDI ends 7.25 s in: slots end at 2.42, 4.83 and 7.25 s, where the tempo map's measures end at 2, 4 and
    # 7.25 s; the half second (2.0, 2.5] is 5/6 in the first slot, and wholly in the tempo map's second measure (0.0)
    assert corpus.songs.loc[1000, "duration"] == pytest.approx(7.25)
    assert piece.loc[2.5] == pytest.approx(5 / 6) and piece.loc[4.0] == 0.0 and piece.loc[6.0] == -1.0
    shift = next(note for note in corpus.notes if "placed in time" in note)
    assert "equal slots" in shift and "1 of 2 pieces" not in shift and "in the worst" in shift
