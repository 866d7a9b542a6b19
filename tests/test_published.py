"""The report's figures as written in mer_utils.results.published, checked against the report's own text."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import REPO

from mer_utils.corpus.deam import load_static_annotations
from mer_utils.results.anchors import DEAM_VA_CORRELATION, PUBLISHED_ANCHORS
from mer_utils.results.published import (
    EPOCH_TABLE_COLUMNS,
    PROTOCOL_CAVEATS,
    REPORT_BEST_EPOCHS,
    REPORT_EPOCH_TABLES,
    REPORT_EPOCHS,
    REPORT_FIGURES,
    REPORT_LABELS,
    protocol_caveats,
    report_best_epoch,
    report_epoch_table,
    report_figure,
)

REPORT = REPO.parent / "shared" / "reference" / "report.txt"
TARGET_WORDS = {"valence_mean": "Valence", "arousal_mean": "Arousal"}
NUMBER = re.compile(r"-?\d+\.\d+")


@pytest.fixture(scope="module")
def report() -> str:
    if not REPORT.is_file():
        pytest.skip(f"the reference report is not at {REPORT} (it lives in ../shared/reference beside the repo)")
    return REPORT.read_text(encoding="utf-8")


def _table_lines(text: str, number: int) -> list[list[str]]:
    """The tab-separated lines of Table ``number``: its header(s) and rows, up to the first blank line after them."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"Table {number}:", line))
    block = []
    for line in lines[start + 1 :]:
        if not line.strip():
            if block:
                break
            continue
        block.append(line.split("\t"))
    return block


def _metric(cell: str) -> str:
    if "RMSE" in cell:
        return "rmse"
    if "MAE" in cell:
        return "mae"
    if "MSE" in cell:
        return "train_loss"
    if "Epoch" in cell:
        return "epoch"
    return "r2"


def _numbers(cell: str) -> list[float]:
    return [float(n) for n in NUMBER.findall(cell)]


def _epoch_table(text: str, number: int) -> list[dict]:
    header, *rows = _table_lines(text, number)
    columns = [_metric(c) for c in header if c.strip()]
    parsed = []
    for row in rows:
        cells = [c for c in row if c.strip()]
        parsed.append({col: (int(cell) if col == "epoch" else float(cell)) for col, cell in zip(columns, cells)})
    return parsed


def _table2(text: str) -> dict:
    header, *rows = _table_lines(text, 2)
    metrics = [_metric(c) for c in header[1:] if c.strip()]
    out = {}
    for row in rows:
        cells = [c for c in row if c.strip()]
        for metric, cell in zip(metrics, cells[1:]):
            valence, arousal = _numbers(cell)
            out[(cells[0], "valence_mean", metric)] = valence
            out[(cells[0], "arousal_mean", metric)] = arousal
    return out


def _table11(text: str) -> dict:
    _, header, *rows = _table_lines(text, 11)
    metrics = [_metric(c) for c in header if c.strip()]
    targets = ["valence_mean"] * 3 + ["arousal_mean"] * 3
    out = {}
    for row in rows:
        values = _numbers("\t".join(row[1:]))
        for target, metric, value in zip(targets, metrics, values):
            out[(row[0], target, metric)] = value
    return out


def _table12(text: str) -> dict:
    _, *rows = _table_lines(text, 12)
    out = {}
    for row in rows:
        metric = {"r2": "r2", "rmse": "rmse_01", "mae": "mae_01"}[_metric(row[0])]
        valence, arousal = _numbers("\t".join(row[1:]))
        out[("valence_mean", metric)] = valence
        out[("arousal_mean", metric)] = arousal
    return out


def _model_sections(text: str) -> dict[str, str]:
    """Each Phase 2 model's section of the report, keyed by the class name its code skeleton defines."""
    parts = re.split(r"^Model \d: ", text.split("Phase 3: Hybrid Modeling with Pretrained")[0], flags=re.M)[1:]
    sections = {}
    for part in parts:
        name = re.search(r"class (\w+)\(nn\.Module\)", part).group(1)
        sections[name] = part
    return sections


def test_table_2_figures_are_the_reports_as_printed(report):
    printed = _table2(report)
    keys = [k for k in REPORT_FIGURES if k[0] == 1 and k[1] in REPORT_LABELS]
    assert len(keys) == 8
    for _, setting, target in keys:
        for metric in ("r2", "rmse", "mae"):
            assert REPORT_FIGURES[(1, setting, target)][metric] == printed[(REPORT_LABELS[setting], target, metric)]


def test_xgboost_figures_are_the_best_scores_printed_in_section_5_5(report):
    pattern = r"{}: \$R\^2 = ([\d.]+)\$, RMSE = ([\d.]+), MAE = ([\d.]+)"
    for target, word in TARGET_WORDS.items():
        r2, rmse, mae = (float(v) for v in re.search(pattern.format(word), report).groups())
        assert REPORT_FIGURES[(1, "XGBoost", target)] == {"r2": r2, "rmse": rmse, "mae": mae}


def test_phase_2_figures_are_table_11_as_printed(report):
    printed = _table11(report)
    keys = [k for k in REPORT_FIGURES if k[0] == 2]
    assert len(keys) == 8
    for _, model, target in keys:
        for metric in ("r2", "rmse", "mae"):
            assert REPORT_FIGURES[(2, model, target)][metric] == printed[(REPORT_LABELS[model], target, metric)]


def test_phase_3_figures_are_table_12_with_its_01_scale_kept_out_of_the_1_to_9_columns(report):
    printed = _table12(report)
    for target in TARGET_WORDS:
        figures = REPORT_FIGURES[(3, "EmotionMLP", target)]
        for metric in ("r2", "rmse_01", "mae_01"):
            assert figures[metric] == printed[(target, metric)]
        assert np.isnan(report_figure(3, "EmotionMLP", target, "rmse"))
        assert np.isnan(report_figure(3, "EmotionMLP", target, "mae"))
    assert "normalized [0,1] emotion labels" in report


def test_every_per_epoch_table_is_the_reports_table_as_printed(report):
    assert sorted(REPORT_EPOCH_TABLES.values()) == list(range(3, 11))
    for key, number in REPORT_EPOCH_TABLES.items():
        assert REPORT_EPOCHS[key] == _epoch_table(report, number), f"Table {number}"


def test_each_per_epoch_table_sits_in_its_models_section_and_names_its_target(report):
    sections = _model_sections(report)
    assert set(sections) == {model for model, _ in REPORT_EPOCHS}
    for (model, target), number in REPORT_EPOCH_TABLES.items():
        caption = re.search(rf"^Table {number}: (.*)$", sections[model], flags=re.M)
        assert caption, f"Table {number} is not in the section defining {model}"
        assert TARGET_WORDS[target] in caption.group(1)


def test_the_best_epoch_is_the_one_the_reports_text_names_with_its_r2(report):
    sections = _model_sections(report)
    for (model, target), epoch in REPORT_BEST_EPOCHS.items():
        r2 = f"{REPORT_FIGURES[(2, model, target)]['r2']:.4f}"
        named = (  # "best ... at epoch 7:\n\n- $R^2 = 0.4599$" or "best R^2 of 0.4350 (epoch 5)"
            rf"best[^\n]{{0,60}}?epoch\W*{epoch}\b[\s\S]{{0,40}}?{r2}",
            rf"best[^\n]{{0,30}}?{r2}[^\n]{{0,30}}?epoch\W*{epoch}\b",
        )
        assert any(re.search(p, sections[model], flags=re.I) for p in named), (model, target, epoch)


def test_the_best_epoch_of_each_table_is_its_highest_r2_and_table_11s_figures():
    for (model, target), rows in REPORT_EPOCHS.items():
        best = report_best_epoch(model, target)
        assert best["r2"] == max(row["r2"] for row in rows)
        assert {m: best[m] for m in ("r2", "rmse", "mae")} == REPORT_FIGURES[(2, model, target)]


def test_epoch_tables_name_their_units_and_are_empty_where_the_report_has_none():
    cnn = report_epoch_table("EmotionCNN", "valence_mean")
    assert list(cnn.columns) == list(EPOCH_TABLE_COLUMNS.values())
    assert len(cnn) == 15 and cnn["val RMSE (1–9)"].iloc[4] == 0.8565
    gru = report_epoch_table("EmotionCNN_GRU", "arousal_mean")
    assert list(gru.columns) == ["epoch", "val R²", "val RMSE (1–9)", "val MAE (1–9)"]
    mlp = report_epoch_table("EmotionMLP", "valence_mean")
    assert mlp.empty and "val R²" in mlp.columns
    assert report_best_epoch("EmotionMLP", "valence_mean") == {}


def test_anchors_say_what_they_measured_and_the_meta_analysis_says_it_is_not_deam(report):
    for anchor in PUBLISHED_ANCHORS:
        assert {"source", "target", "r2", "dataset", "caveat"} <= set(anchor)
        if anchor["dataset"] != "DEAM":
            assert "not DEAM" in anchor["source"] and "not a DEAM result" in anchor["caveat"]
    meta = [a for a in PUBLISHED_ANCHORS if "meta-analysis" in a["source"]]
    assert {a["target"]: a["r"] for a in meta} == {"valence_mean": 0.67, "arousal_mean": 0.81}
    for anchor in meta:
        assert anchor["dataset"] != "DEAM" and "34 studies" in anchor["source"]
        assert anchor["r2"] == pytest.approx(anchor["r"] ** 2)
        assert "pooled correlation" in anchor["caveat"] and "rough mark" in anchor["caveat"]
    # Neither anchor comes from the report, so neither may be read as one of its figures.
    assert "Eerola" not in report and "meta-analysis" not in report.lower() and "Music2Emo" not in report


def test_the_valence_arousal_correlation_is_computed_from_deam_not_taken_from_the_report(report, deam_sample):
    assert "0.59" not in NUMBER.findall(report)
    labels = load_static_annotations(deam_sample)
    r = np.corrcoef(labels["valence_mean"], labels["arousal_mean"])[0, 1]
    assert round(r, 2) == DEAM_VA_CORRELATION


def test_protocol_caveats_are_one_line_each_and_cover_the_phases_that_differ():
    assert all("\n" not in line for line in PROTOCOL_CAVEATS.values())
    assert "chunk-level" in protocol_caveats(2)[0]
    assert any("80/20" in line and "no test set" in line for line in protocol_caveats(3))
    assert any("[0, 1]" in line for line in protocol_caveats(3))
    assert protocol_caveats(4) == []
