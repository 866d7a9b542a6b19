"""mer_utils.embeddings: CNN14 without side effects, checkpoints, segment embeddings and their cache, the MLP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import REPO, make_tree, write_tone
from fake_records import records_of

from mer_utils.corpus.audio import file_digest
from mer_utils.corpus.deam import load_corpus
from mer_utils.errors import MerError
from mer_utils.phase3 import narrative
from mer_utils.phase3.cnn14 import CHECKPOINT_NAME, Backbone, backbone_for, build_cnn14, load_backbone, random_backbone
from mer_utils.phase3.embeddings import (
    EMBEDDING_DIM,
    SEGMENT_SETTINGS,
    Embedder,
    cache_folder,
    embed_corpus,
    segment_audio,
)
from mer_utils.phase3.space import neighbour_agreement, tsne_map
from mer_utils.training.mlp import fit_emotion_mlp


@pytest.fixture(scope="module")
def backbone():
    return random_backbone(seed=3)


@pytest.fixture(scope="module")
def embedder(backbone):
    return Embedder(backbone, batch_size=8, n_threads=1, precision="float32")


# --------------------------------------------------------------------------- no network, nothing in HOME

GUARD = """
import os, socket, subprocess
def refuse(*args, **kwargs):
    shown = [a for a in args if isinstance(a, (str, bytes, list, tuple))][:1]
    raise RuntimeError("BLOCKED process or network call: " + repr(shown))
for name in ("system", "popen", "posix_spawn", "posix_spawnp", "execv", "execve", "execvp", "execvpe", "fork", "forkpty"):
    if hasattr(os, name):
        setattr(os, name, refuse)
subprocess.Popen.__init__ = refuse
socket.socket.connect = refuse
socket.create_connection = refuse
"""


def _run_guarded(code: str, home, elsewhere) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "HOME": str(home),
        "MPLCONFIGDIR": str(elsewhere / "mpl"),
        "XDG_CACHE_HOME": str(elsewhere / "cache"),
        "PYTHONPATH": str(REPO),
    }
    return subprocess.run(
        [sys.executable, "-c", GUARD + textwrap.dedent(code)],
        env=env,
        cwd=str(elsewhere),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cnn14_loads_without_processes_network_or_home_writes(tmp_path):
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    done = _run_guarded(
        """
        import sys
        import numpy as np
        from mer_utils.phase3.cnn14 import random_backbone
        from mer_utils.phase3.embeddings import Embedder
        embedder = Embedder(random_backbone(seed=1), n_threads=1, precision="float32")
        out = embedder.embed_segments(np.random.default_rng(0).standard_normal((1, 96000)).astype("float32"))
        assert out.shape == (1, 2048), out.shape
        assert not any(m == "panns_inference" or m.startswith("panns_inference.") for m in sys.modules), "package imported"
        print("EMBEDDED", out.shape)
    """,
        home,
        elsewhere,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "EMBEDDED (1, 2048)" in done.stdout
    assert list(home.rglob("*")) == [], f"files appeared under HOME: {list(home.rglob('*'))}"
    assert not list(tmp_path.rglob("panns_data")), "panns_data was created"


def test_guard_catches_what_importing_the_package_would_do(tmp_path):
    """Control: plain `import panns_inference` does try to start wget, and the guard above stops it."""
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    # matplotlib.pyplot is replaced as in cnn14_class, so that the first blocked call is the package's own
    done = _run_guarded(
        """
        import sys, types
        sys.modules["matplotlib.pyplot"] = types.ModuleType("matplotlib.pyplot")
        import panns_inference
    """,
        home,
        elsewhere,
    )
    assert done.returncode != 0
    assert "BLOCKED process or network call" in done.stderr
    assert "wget" in done.stderr


# --------------------------------------------------------------------------- the fast forward pass


def test_fast_cnn14_matches_the_package_forward(backbone):
    model = build_cnn14(seed=5)
    generator = torch.Generator().manual_seed(0)
    for module in model.modules():  # non-trivial batch-norm statistics, so folding them is really tested
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.1, generator=generator)
            module.running_var.uniform_(0.5, 2.0, generator=generator)
            module.weight.data.uniform_(0.5, 1.5, generator=generator)
            module.bias.data.normal_(0, 0.1, generator=generator)
    x = torch.randn(3, 96000, generator=generator) * 0.3
    with torch.inference_mode():
        reference = model(x)["embedding"].numpy()
    wrapped = Backbone(model=model, kind="random", identity="test", seed=5)
    fast32 = Embedder(wrapped, batch_size=2, n_threads=1, precision="float32").embed_segments(x.numpy())
    assert fast32.shape == (3, EMBEDDING_DIM)
    np.testing.assert_allclose(fast32, reference, rtol=1e-4, atol=1e-5)
    fast16 = Embedder(wrapped, batch_size=2, n_threads=1, precision="bfloat16").embed_segments(x.numpy())
    assert np.linalg.norm(fast16 - reference) / np.linalg.norm(reference) < 2e-2


def test_segments_drop_the_tail_and_refuse_short_clips():
    sr = SEGMENT_SETTINGS["sr"]
    segments = segment_audio(np.arange(int(7.5 * sr), dtype=np.float32))
    assert segments.shape == (2, 3 * sr)
    assert segments[1, 0] == 3 * sr
    with pytest.raises(MerError, match="shorter than one 3-second segment"):
        segment_audio(np.zeros(int(2.9 * sr), dtype=np.float32), name="short.wav")


# --------------------------------------------------------------------------- the corpus cache


def test_embed_corpus_shapes_pooling_skips_and_cache(tmp_path, backbone, embedder):
    root = make_tree(tmp_path / "deam", song_ids=(2, 3, 4), seconds=7.0)
    write_tone(root / "MEMD_audio" / "5.mp3", 2.0, 330.0)  # too short for one segment
    (root / "MEMD_audio" / "6.mp3").write_bytes(b"ID3 this is not an mp3 at all" * 20)  # corrupt
    static = next(root.rglob("static_annotations_averaged_songs_1_2000.csv"))
    static.write_text(static.read_text() + "5,4.0,1.0,5.0,1.0\n6,6.0,1.0,3.0,1.0\n")
    corpus = load_corpus(root)

    result = embed_corpus(corpus, tmp_path / "cache", backbone, progress=False, embedder=embedder)
    assert result.song_ids == [2, 3, 4]
    assert result.songs.shape == (3, EMBEDDING_DIM)
    assert result.n_segments.tolist() == [2, 2, 2]  # 7 s -> two 3-second segments, the last second dropped
    for row, song_id in enumerate(result.song_ids):
        segments = result.segments(song_id)
        assert segments.shape == (2, EMBEDDING_DIM)
        np.testing.assert_allclose(result.songs[row], segments.mean(axis=0), rtol=1e-6)
    assert dict(zip(result.skipped["song_id"], result.skipped["kind"])) == {5: "too short", 6: "corrupt"}
    assert "6.mp3" in result.skipped.set_index("song_id").loc[6, "reason"]
    assert result.computed_audio_seconds == 18.0
    settings = json.loads((result.folder / "settings.json").read_text())
    assert settings["backbone"]["kind"] == "random" and settings["settings"]["precision"] == "float32"

    again = embed_corpus(corpus, tmp_path / "cache", backbone, progress=False, embedder=embedder)
    assert again.reused_songs == 5 and again.computed_audio_seconds == 0.0
    np.testing.assert_array_equal(again.songs, result.songs)

    other = Embedder(backbone, batch_size=8, n_threads=1, precision="bfloat16")
    assert cache_folder(corpus, tmp_path / "cache", other) != result.folder  # precision is part of the key


def test_embedding_of_a_file_is_its_segments(tmp_path, embedder):
    path = tmp_path / "stereo.wav"
    t = np.arange(int(6.2 * 44100)) / 44100
    import soundfile as sf

    sf.write(
        path,
        np.stack([np.sin(2 * np.pi * 220 * t), np.sin(2 * np.pi * 330 * t)], axis=1).astype(np.float32) * 0.3,
        44100,
    )
    values = embedder.embed_file(path)
    assert values.shape == (2, EMBEDDING_DIM) and np.isfinite(values).all()


# --------------------------------------------------------------------------- checkpoints and backbones


def test_checkpoint_round_trip(tmp_path):
    source = build_cnn14(seed=11)
    path = tmp_path / "weights" / CHECKPOINT_NAME
    path.parent.mkdir()
    torch.save({"model": source.state_dict(), "iteration": 100}, path)
    loaded = load_backbone(path)
    assert loaded.kind == "pretrained" and not loaded.is_random
    assert loaded.sha256 == file_digest(path) and loaded.identity == f"sha256-{loaded.sha256}"
    assert torch.equal(loaded.model.fc1.weight, source.fc1.weight)
    assert torch.equal(loaded.model.conv_block6.bn2.running_var, source.conv_block6.bn2.running_var)
    assert loaded.info()["checkpoint"] == str(path)


def test_missing_checkpoint_says_how_to_get_it(tmp_path):
    missing = tmp_path / "weights" / CHECKPOINT_NAME
    with pytest.raises(MerError) as info:
        load_backbone(missing)
    message = str(info.value)
    assert str(missing) in message and "make weights" in message and "3987831" in message


@pytest.mark.parametrize("content", [b"", b"<html>404 Not Found</html>", b"PK\x03\x04 truncated zip"])
def test_corrupt_checkpoint_is_a_clear_error(tmp_path, content):
    path = tmp_path / CHECKPOINT_NAME
    path.write_bytes(content)
    with pytest.raises(MerError, match="corrupt or incomplete") as info:
        load_backbone(path, allow_random=True)  # a broken file is never silently replaced by random weights
    assert str(path) in str(info.value) and "make weights" in str(info.value)


def test_foreign_checkpoint_fails_the_strict_key_check(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"model": {"fc1.weight": torch.zeros(3, 3)}}, path)
    with pytest.raises(MerError, match="does not fit CNN14"):
        load_backbone(path)


def test_backbone_policy_per_data(tmp_path):
    missing = tmp_path / CHECKPOINT_NAME
    with pytest.raises(MerError, match="PANNS_RANDOM=1"):
        backbone_for("deam", missing, random_backbone=False)
    asked = backbone_for("deam", missing, random_backbone=True, seed=4)
    assert asked.is_random and "asked for" in asked.reason
    fallback = backbone_for("synth", missing, seed=4)
    assert fallback.is_random and str(missing) in fallback.reason
    assert "not PANNs" in fallback.banner_text() and "random weights" in fallback.banner_text()
    assert fallback.identity == asked.identity  # same seed, same weights
    assert random_backbone(seed=5).fingerprint != fallback.fingerprint


# --------------------------------------------------------------------------- the t-SNE helpers and the MLP


def test_tsne_and_neighbour_agreement():
    rng = np.random.default_rng(0)
    latent = rng.uniform(1, 9, size=40)
    points = np.column_stack([latent, rng.normal(0, 0.2, size=40)]) @ rng.normal(size=(2, 16))
    coords, perplexity = tsne_map(points, seed=1)
    assert coords.shape == (40, 2) and perplexity == 13.0
    assert neighbour_agreement(coords, latent, k=5) > 0.8
    assert abs(neighbour_agreement(coords, rng.permutation(latent), k=5)) < 0.5


def test_mlp_learns_a_linear_mapping():
    rng = np.random.default_rng(1)
    n, latent_dim = 500, 6
    latent = rng.standard_normal((n, latent_dim))
    x = latent @ rng.standard_normal((latent_dim, EMBEDDING_DIM)) + 0.1 * rng.standard_normal((n, EMBEDDING_DIM))
    y = 5 + latent @ rng.uniform(-0.6, 0.6, size=(latent_dim, 2)) + 0.05 * rng.standard_normal((n, 2))
    train, val, test = slice(0, 350), slice(350, 425), slice(425, n)
    result = fit_emotion_mlp(
        x[train],
        y[train],
        x[val],
        y[val],
        target_names=["valence_mean", "arousal_mean"],
        epochs=40,
        patience=8,
        batch_size=32,
        lr=1e-3,
        seed=0,
        progress=False,
    )
    from sklearn.metrics import r2_score

    predicted = result.predict(x[test])
    assert predicted.shape == (75, 2)
    assert r2_score(y[test][:, 0], predicted[:, 0]) > 0.8
    assert r2_score(y[test][:, 1], predicted[:, 1]) > 0.8
    assert {"epoch", "train_loss", "val_loss", "val_r2_valence_mean", "best"} <= set(result.history.columns)


def test_decoding_runs_at_most_a_few_clips_ahead_of_a_slow_consumer():
    """A pool's map would decode the whole corpus ahead of the network (10 GB of waveforms at DEAM scale)."""
    import threading
    import time

    from mer_utils.corpus.audio import decoded_ahead

    lock, started, consumed = threading.Lock(), [], []

    def decode(item):
        with lock:
            started.append(item)
        return item * 2

    seen = []
    for item, future in decoded_ahead(decode, range(20), workers=1, ahead=2):
        time.sleep(0.01)  # the network is slower than decoding
        with lock:
            assert len(started) - len(consumed) <= 3, "at most `ahead` clips wait besides the one in hand"
        consumed.append(item)
        seen.append(future.result())
    assert seen == [2 * k for k in range(20)], "in order, every item"


def test_a_decoding_error_reaches_the_consumer_at_its_item():
    from mer_utils.corpus.audio import decoded_ahead
    from mer_utils.errors import AudioReadError

    def decode(item):
        if item == 1:
            raise AudioReadError("clip 1 is corrupt")
        return item

    outcomes = []
    for item, future in decoded_ahead(decode, [0, 1, 2]):
        try:
            outcomes.append(future.result())
        except AudioReadError as exc:
            outcomes.append(str(exc))
    assert outcomes == [0, "clip 1 is corrupt", 2]


def test_the_decoding_budget_holds_the_default_corpus_and_bounds_deam():
    from mer_utils.corpus.audio import DECODE_AHEAD_BYTES, clips_ahead

    assert clips_ahead(12.0, 32000) >= 500, "the default book's 500 clips of 12 s fit: decoding runs in one burst"
    deam = clips_ahead(45.0, 32000)
    assert deam * 45 * 32000 * 4 <= DECODE_AHEAD_BYTES and deam < 1744, "at DEAM scale, a bounded window"
    assert clips_ahead(3600.0, 32000, budget=10) == 2, "never fewer than two"


# --------------------------------------------------------------------------- the Phase 3 page's sentences


@pytest.mark.parametrize(
    "r, words",
    [
        (narrative.CLEAR_GRADIENT_R, "a clear gradient"),
        (narrative.CLEAR_GRADIENT_R - 0.01, "a partial gradient"),
        (narrative.PARTIAL_GRADIENT_R, "a partial gradient"),
        (narrative.PARTIAL_GRADIENT_R - 0.01, "at most a faint trend"),
        (narrative.FAINT_TREND_R, "at most a faint trend"),
        (narrative.FAINT_TREND_R - 0.01, "no visible order"),
        (float("nan"), "cannot be measured"),
    ],
)
def test_neighbour_strength_words_change_exactly_at_their_thresholds(r, words):
    assert narrative.neighbour_strength(r) == words


def agreement_notes(valence, arousal, random_backbone=False, synthetic=False):
    values = {"valence_mean": valence, "arousal_mean": arousal}
    return narrative.embedding_map_notes(values, values, 13.0, 40, 42, random_backbone, synthetic)


def test_the_map_notes_say_arousal_separates_only_when_it_leads_by_more_than_the_gap():
    gap = narrative.CLEAR_AGREEMENT_GAP
    assert "this run shows the same difference" in agreement_notes(0.3, 0.3 + gap + 0.01)
    assert "does not show that difference clearly" in agreement_notes(0.3, 0.3 + gap - 0.01)
    assert "does not show that difference clearly" in agreement_notes(0.6, 0.3)  # valence leads
    assert "Neither target is ordered" in agreement_notes(0.0, narrative.FAINT_TREND_R - 0.01)
    notes = agreement_notes(0.5, 0.7, random_backbone=True, synthetic=True)
    assert "**random weights**" in notes and "**synthetic**" in notes


def test_the_map_notes_name_the_embeddings_own_size():
    values = {"valence_mean": 0.5, "arousal_mean": 0.7}
    text = narrative.embedding_map_notes(values, values, 30.0, 500, 42, False, True, dimensions=200)
    assert "full 200-dimensional space" in text and "2048" not in text


def mlp_table(valence_test, arousal_test, synthetic=True):
    rows = [
        {
            "target": t,
            "test_r2": r,
            "validation_r2": r + 0.05,
            "test_rmse": 0.9,
            "report_r2": rep,
            "ceiling_r2": 0.7,
            "below_ceiling": 0.7 - r,
        }
        for t, r, rep in (("valence_mean", valence_test, 0.4509), ("arousal_mean", arousal_test, 0.667))
    ]
    return pd.DataFrame(rows)


def history(best=4, run=7, stopped=True):
    frame = pd.DataFrame({"epoch": range(1, run + 1)})
    frame.attrs.update(best_epoch=best, epochs_run=run, stopped_early=stopped)
    return frame


def test_mlp_findings_name_the_easier_target_only_when_the_paired_interval_says_so():
    clear = records_of([(3, "EmotionMLP", "valence_mean", 0.2, 1.0, {}), (3, "EmotionMLP", "arousal_mean", 0.5, 0.3, {})])
    text = narrative.mlp_findings(mlp_table(0.2, 0.5), history(), random_backbone=False, synthetic=True, records=clear)
    assert "On this run **arousal** is predicted better than valence on the same 120 test songs" in text
    assert "The report found arousal far easier than valence for this model (0.667 against 0.451)" in text
    assert "the generating function's R² on these test songs is 0.700, 0.500 above this test score" in text
    assert "The best validation epoch was 4 of 7 run (early stopping ended the run)." in text
    close = records_of([(3, "EmotionMLP", "valence_mean", 0.2, 0.6, {}), (3, "EmotionMLP", "arousal_mean", 0.5, 0.6, {})],
                       seed=2)
    text = narrative.mlp_findings(mlp_table(0.2, 0.5), history(), random_backbone=False, synthetic=True, records=close)
    assert "there is **no detectable difference** between the two targets" in text
    none = narrative.mlp_findings(mlp_table(0.0, -0.1), history(stopped=False), random_backbone=True, synthetic=False,
                                  records=clear)
    assert "Neither target is predicted better than by the mean label" in none
    assert "random-weight CNN14 features" in none and "this run's test score is 0.451 below it" in none


def test_each_backbone_has_its_method_and_the_caption_names_the_reports_backbone():
    assert "2048-dimensional" in narrative.backbone_method("cnn14")
    assert "200-dimensional" in narrative.backbone_method("musicnn")
    caption = narrative.phase3_table_caption("musicnn (MSD)", 7)
    assert caption.startswith("EmotionMLP on musicnn (MSD) embeddings") and "on PANNs CNN14" in caption
