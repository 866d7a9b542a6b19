# The reproducible book on music emotion recognition.
#
#   make book                               SynthDEAM (generated here), every notebook, the site
#   make book DATA=deam DEAM_DIR=<dir>      the same on a real DEAM tree
#   make test                               set-up, then the tests
#   make data-deam DEAM_DIR=<dir>           download DEAM (needs internet)
#   make book DATA=soundtracks SOUNDTRACKS_DIR=<dir>   the same on the Soundtracks film excerpts (real ratings),
#                                           evaluated by film-grouped 5-fold cross-validation
#   make data-soundtracks SOUNDTRACKS_DIR=<dir>  where Soundtracks is obtained; checks an unpacked tree
#   make data-4q FOURQ_DIR=<dir>            download the 4Q emotion dataset (needs internet)
#   make book DATA=vgmidi VGMIDI_DIR=<dir>  the book on VGMIDI: piano renders of its MIDI, listeners' curves over time
#   make data-vgmidi VGMIDI_DIR=<dir>       download VGMIDI (the pinned commit of its repository; needs internet)
#   make book FOURQ_DIR=<dir>               also the Real music chapter on 4Q (musicnn from MUSICNN_WEIGHTS)
#                                           (with DATA=soundtracks|deam and musicnn, the predictor learns 4Q's quadrants too)
#   make weights                            download the PANNs Cnn14 checkpoint and MSD_musicnn.h5 (needs internet)
#   make real-book                          all the downloads, then the book on DEAM with both pretrained backbones
#                                           and the Real music chapter on 4Q, then the browser check (needs internet,
#                                           or DOWNLOADS=<manifest.json> naming a mirror)
#   make lab                                JupyterLab: notebooks/*.py open as notebooks, run as make book runs them
#   make rehearsal                          time the book at DEAM scale on a generated stand-in (about 50 min)
#
# Make drives it incrementally: a notebook re-runs only when its source, its
# parameters (build/params/*.json, rewritten only when they change), mer_utils
# or the input data changed.  Run `make help` for the knobs.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := book
.SECONDARY:
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
READY  := $(VENV)/.installed

# ----------------------------------------------------------------- parameters
# A knob left empty means the package's default, written once in mer_utils
# (`make help` prints them); only the knobs a user sets are passed on.
DATA          ?= synth
DEAM_DIR      ?=
SOUNDTRACKS_DIR ?=
VGMIDI_DIR    ?=
FOLDS         ?=
FOURQ_DIR     ?=
MUSICNN_WEIGHTS ?=
BACKBONE      ?=
FOURQ_REPEATS ?=
FOURQ_SPLITS  ?=
SUBSET        ?=
SEED          ?=
JOBS          ?=
SYNTH_SONGS   ?=
SYNTH_SECONDS ?=
SYNTH_SEED    ?=
SYNTH_SR      ?=
P1_GRID       ?=
PANNS_CHECKPOINT ?=
PANNS_RANDOM  ?= 0
P2_EPOCHS     ?=
P2_PATIENCE   ?=
P2_PRECISION  ?=
P3_EPOCHS     ?=
P4_EPOCHS     ?=
# A downloads manifest (JSON): other addresses, sizes and checksums for the downloads (python -m mer_utils downloads
# prints the published ones in its format).  Empty: the publishers' own.
DOWNLOADS     ?=
FINETUNE      ?=
FINETUNE_EPOCHS ?=
FINETUNE_FULL ?=
FINETUNE_CNN14 ?=
# Pages run two at a time.  Each Phase 2 page trains on one torch thread (mer_utils.training.runtime), and two
# single-thread trainings side by side get more from 2 cores than one training on both; the pages' start-up
# (kernels, imports) overlaps too.  PAGE_JOBS=1 runs one page at a time (the same numbers; a log in order);
# make -jN on the command line wins over it.
PAGE_JOBS     ?= 2
ifeq ($(MAKELEVEL),0)  # a make inside this one (make real-book) shares its job slots
  MAKEFLAGS   += -j$(PAGE_JOBS)
endif
ifneq ($(filter clean clean-book,$(MAKECMDGOALS)),)
  .NOTPARALLEL:  # `make clean book` cleans first, then builds
endif
# `key=value` for each knob that is set: $(call given,key,$(KNOB))
given = $(if $(strip $(2)),$(1)=$(strip $(2)))

ifeq ($(DATA),synth)
  NAME       := synthdeam
  DATA_DIR   := data/synthdeam
  DATA_READY := $(DATA_DIR)/synthdeam.json
else ifeq ($(DATA),deam)
  ifeq ($(strip $(DEAM_DIR)),)
    $(error DATA=deam needs DEAM_DIR=<dir>, the folder holding MEMD_audio/ and annotations/ (get it with 'make data-deam DEAM_DIR=<dir>'))
  endif
  NAME       := deam
  DATA_DIR   := $(DEAM_DIR)
  DATA_READY := build/deam/data.stamp
else ifeq ($(DATA),soundtracks)
  ifeq ($(strip $(SOUNDTRACKS_DIR)),)
    $(error DATA=soundtracks needs SOUNDTRACKS_DIR=<dir>, the folder holding set1/ and the rating CSVs (see 'make data-soundtracks'))
  endif
  NAME       := soundtracks
  DATA_DIR   := $(SOUNDTRACKS_DIR)
  DATA_READY := build/soundtracks/data.stamp
else ifeq ($(DATA),vgmidi)
  ifeq ($(strip $(VGMIDI_DIR)),)
    $(error DATA=vgmidi needs VGMIDI_DIR=<dir>, the folder holding labelled/midi and labelled/annotations (get it with 'make data-vgmidi VGMIDI_DIR=<dir>'))
  endif
  NAME       := vgmidi
  DATA_DIR   := $(VGMIDI_DIR)
  DATA_READY := build/vgmidi/data.stamp
else
  $(error Unknown DATA='$(DATA)': use DATA=synth (the default), DATA=deam DEAM_DIR=<dir>, DATA=soundtracks SOUNDTRACKS_DIR=<dir> or DATA=vgmidi VGMIDI_DIR=<dir>)
endif

RESULTS := results/$(NAME)
CACHE   := cache/$(NAME)
PARAMS  := build/params
SPLIT   := $(RESULTS)/split.csv
PKG     := $(wildcard mer_utils/*.py mer_utils/*/*.py)
NB_DEPS  = $(PKG) $(SPLIT) | $(READY)
COMMON   = data=$(DATA) data_dir="$(DATA_DIR)" results_dir=$(RESULTS) cache_dir=$(CACHE) $(call given,subset,$(SUBSET)) $(call given,seed,$(SEED))
RUN_NB   = $(PY) -m mer_utils run-notebook

# Phase 3 backbones (mer_utils/phase3/backbones.py): BACKBONE=cnn14|musicnn|all; unset, CNN14 and musicnn beside it
# where its weights are present: always with the default weights (the musicnn wheel's MSD network, which make venv
# fetched into the cache folder: mer_utils/phase3/musicnn_wheel.py), and where MUSICNN_WEIGHTS=<file or folder> exists.
# preflight says what to do when BACKBONE asks for musicnn and the weights are missing.
MUSICNN_FILE := $(strip $(MUSICNN_WEIGHTS))
# On VGMIDI the default is musicnn alone (mer_utils/phase3/backbones.py, MUSICNN_ONLY_BY_DEFAULT: the time budget).
ifeq ($(strip $(BACKBONE)),)
  P3_BACKBONES := $(if $(filter vgmidi,$(DATA)),,cnn14) $(if $(MUSICNN_FILE),$(shell test -e "$(MUSICNN_FILE)" && echo musicnn),musicnn)
else ifeq ($(strip $(BACKBONE)),all)
  P3_BACKBONES := cnn14 musicnn
else ifneq ($(filter $(strip $(BACKBONE)),cnn14 musicnn),)
  P3_BACKBONES := $(strip $(BACKBONE))
else
  $(error Unknown BACKBONE='$(BACKBONE)': use cnn14, musicnn or all, or leave it unset (CNN14, and musicnn where its weights are present))
endif
P3_PAGES := $(if $(filter cnn14,$(P3_BACKBONES)),book/phase3/panns.ipynb) $(if $(filter musicnn,$(P3_BACKBONES)),book/phase3/musicnn.ipynb)
# musicnn's MTT network (MagnaTagATune's tags, the same architecture: a second pretrained embedding beside MSD's) gets
# a page of its own on the real rated corpora (DATA=soundtracks|deam) wherever the musicnn page runs; not on SynthDEAM,
# whose time budget is tight.  make venv unpacks it beside MSD's; its records carry setting musicnn-mtt and its model
# has a file of its own (mer_utils/phase3/backbones.py); the conclusions set it against MSD's.
P3_MTT_PAGE := $(if $(and $(filter soundtracks deam,$(DATA)),$(filter musicnn,$(P3_BACKBONES))),book/phase3/musicnn_mtt.ipynb)
P3_PAGES    += $(P3_MTT_PAGE)
# Fine-tuning musicnn (mer_utils/phase3/backbones.py, finetune_runs): FINETUNE=1 on, 0 off; unset, on for
# DATA=synth and DATA=soundtracks where the musicnn page runs (the corpora small enough for its budget), off for DEAM.
# preflight says what to do when FINETUNE=1 meets a run without the musicnn page.
ifeq ($(strip $(FINETUNE)),)
  FT_PAGES := $(if $(and $(filter synth soundtracks,$(DATA)),$(filter musicnn,$(P3_BACKBONES))),book/phase3/finetune.ipynb)
else ifneq ($(filter $(strip $(FINETUNE)),1 yes true),)
  FT_PAGES := book/phase3/finetune.ipynb
else ifneq ($(filter $(strip $(FINETUNE)),0 no false),)
  FT_PAGES :=
else
  $(error Unknown FINETUNE='$(FINETUNE)': use 1 (fine-tune musicnn), 0 (do not), or leave it unset (on for DATA=synth and soundtracks where musicnn's weights are present))
endif

P2_MODELS  := EmotionCNN EmotionCNN_SE_Temporal EmotionCNN_GRU EmotionCNN_GRU_Attention
P2_TARGETS := valence arousal
P2_PAGES   := $(foreach m,$(P2_MODELS),$(foreach t,$(P2_TARGETS),book/phase2/$(m)_$(t).ipynb))
p2target    = $(lastword $(subst _, ,$(1)))
p2model     = $(patsubst %_$(call p2target,$(1)),%,$(1))

# Phase 4 (emotion over time) needs the 2 Hz annotations: SynthDEAM writes them; a DEAM tree has them when
# DEAM_Annotations.zip was unpacked whole; Soundtracks has none, so its book has no Phase 4.  The sequence model
# reads musicnn's frame embeddings where musicnn runs in Phase 3, else CNN14's, from Phase 3's cache.
P4_BACKBONE := $(if $(filter musicnn,$(P3_BACKBONES)),musicnn,cnn14)
ifeq ($(DATA),synth)
  P4_PAGES := book/phase4/dynamic.ipynb
else ifeq ($(DATA),deam)
  P4_PAGES := $(if $(shell find -L "$(DEAM_DIR)" -iname valence.csv -print -quit 2>/dev/null),book/phase4/dynamic.ipynb)
else ifeq ($(DATA),vgmidi)
  P4_PAGES := book/phase4/dynamic.ipynb
endif

PAGES := book/data/corpus.ipynb \
         book/phase1/eda.ipynb book/phase1/features.ipynb book/phase1/models.ipynb \
         $(P2_PAGES) book/phase2/summary.ipynb \
         $(P3_PAGES) $(FT_PAGES) $(P4_PAGES) book/conclusions/comparison.ipynb
# The Real music chapter (4Q) is built only when FOURQ_DIR is given; build/toc.yml lists the chapters that ran.
ifneq ($(strip $(FOURQ_DIR)),)
  PAGES += book/realmusic/fourq.ipynb
endif
# The predictor shipped with the package (mer predict with no book built): its page reads the file, in every build.
PAGES += book/predictor/shipped.ipynb
# The predictor for real songs (`mer predict --data <corpus>`): on a rated corpus (not SynthDEAM), with musicnn.
ifneq ($(filter soundtracks deam,$(DATA)),)
  ifneq ($(filter musicnn,$(P3_BACKBONES)),)
    PAGES += book/predictor/predictor.ipynb
  endif
endif
STATIC := $(wildcard book/*.md book/*/*.md book/_static/*) book/references.bib _config.yml _toc.yml
TOC    := build/toc.yml

.PHONY: book test pages venv data data-deam data-soundtracks data-4q weights clean clean-book help preflight lab FORCE

book: _build/html/index.html ## execute every notebook and build the site

pages: $(PAGES) ## execute the notebooks only

help: ## list the targets and knobs
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'
	@echo; echo "Knobs (empty: the package default): DATA=synth|deam|soundtracks|vgmidi DEAM_DIR=<dir> SOUNDTRACKS_DIR=<dir> VGMIDI_DIR=<dir>"
	@echo "       SUBSET=1_2000|2000_2058|all (DEAM) SEED JOBS FOLDS (K of grouped cross-validation; Soundtracks: 5)"
	@echo "       SYNTH_SONGS SYNTH_SECONDS SYNTH_SEED SYNTH_SR P1_GRID=full|small P2_EPOCHS P2_PATIENCE P3_EPOCHS P4_EPOCHS"
	@echo "       P2_PRECISION=auto|float32|bfloat16 PAGE_JOBS (pages run side by side; default 2) TEST_JOBS (pytest workers)"
	@echo "       P2_MODELS='EmotionCNN EmotionCNN_GRU' (a subset of the four Phase 2 CNNs; default all four)"
	@echo "       PANNS_CHECKPOINT=<file> PANNS_RANDOM=0|1 BACKBONE=cnn14|musicnn|all FOURQ_DIR=<dir> MUSICNN_WEIGHTS=<file>"
	@echo "       FOURQ_REPEATS FOURQ_SPLITS (the Real music chapter's cross-validation) CHECK_WIDTHS (px, make check-book)"
	@echo "       (MUSICNN_WEIGHTS empty: the musicnn wheel's MSD network, fetched by make venv; BACKBONE empty: CNN14 and musicnn)"
	@echo "       (with musicnn on DATA=soundtracks|deam, Phase 3 also runs the wheel's MTT network: book/phase3/musicnn_mtt)"
	@echo "       DOWNLOADS=<manifest.json> (other addresses and checksums for the downloads; make real-book, data-deam, weights, data-4q;"
	@echo "       or MER_MIRROR=<address> in the environment: every download from one mirror, with the published checksums)"
	@echo "       FINETUNE=0|1 (fine-tune musicnn; empty: on with musicnn, except DATA=deam) FINETUNE_EPOCHS"
	@echo "       FINETUNE_FULL=1 (train the front end too) FINETUNE_CNN14=0|1 (empty: with PANNS_CHECKPOINT on a GPU)"
	@test -x $(PY) && $(PY) -m mer_utils defaults || echo "(run 'make venv' to see the package defaults)"

# ----------------------------------------------------------------- set-up
venv: $(READY)

$(READY): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or pass PYTHON=<python3.11>"; exit 1; }
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "error: Python 3.11 is needed, $(PYTHON) is " + sys.version.split()[0] + "; pass PYTHON=<python3.11>")'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check torch==2.13.0
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e .
	@# VGMIDI's synthesizer (mer_utils/corpus/vgmidi_render.py): its PyAudio requirement serves live playback only and
	@# has no Linux wheel, so it is installed without its requirements
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps tinysoundfont==0.3.7
	@# librosa's numba kernels, compiled into their disk cache once, here: processes that compile the same kernel at
	@# once on a cold cache can pair cache files of different compilations and crash (numba issue 10128)
	$(VENV)/bin/python -m mer_utils warm-up
	@# pretrained musicnn on every machine: pip fetches the musicnn wheel (hash-pinned, not installed) and its MSD and
	@# MTT checkpoints are unpacked into the user's cache folder (MER_CACHE_DIR moves it; musicnn_wheel.py)
	$(VENV)/bin/python -m mer_utils fetch-musicnn
	touch $@

# ----------------------------------------------------------------- data
data: $(DATA_READY) ## generate or fingerprint the input data

data/synthdeam/synthdeam.json: $(PARAMS)/synth.json $(wildcard mer_utils/corpus/synth*.py) | $(READY)
	$(PY) -m mer_utils synth --root data/synthdeam $(call given,--songs,$(SYNTH_SONGS)) $(call given,--seconds,$(SYNTH_SECONDS)) $(call given,--seed,$(SYNTH_SEED)) $(call given,--sr,$(SYNTH_SR)) $(call given,--jobs,$(JOBS))

build/deam/data.stamp build/soundtracks/data.stamp build/vgmidi/data.stamp: FORCE | $(READY)
	$(PY) -m mer_utils data-stamp "$(DATA_DIR)" $@

$(SPLIT): $(DATA_READY) $(PARAMS)/prepare.json $(wildcard mer_utils/corpus/*.py) | $(READY)
	$(PY) -m mer_utils prepare --data $(DATA) --data-dir "$(DATA_DIR)" --results-dir $(RESULTS) $(call given,--subset,$(SUBSET)) $(call given,--seed,$(SEED)) $(call given,--folds,$(FOLDS))

# Preflight: `make book`, `make pages` and `make publish` first check every precondition of the run (the data
# layout, the PANNs checkpoint or PANNS_RANDOM=1, free disk for the caches) and report all problems at once.
# It writes nothing and is order-only, so it never makes anything out of date.
PREFLIGHT := $(if $(filter book pages publish,$(or $(MAKECMDGOALS),$(.DEFAULT_GOAL))),preflight)
$(DATA_READY): | $(PREFLIGHT)
preflight: | $(READY) ## check the run's preconditions (make book and make pages do it first)
	@$(PY) -m mer_utils preflight --data $(DATA) --data-dir "$(DATA_DIR)" --cache-dir $(CACHE) $(call given,--subset,$(SUBSET)) $(if $(strip $(PANNS_CHECKPOINT)),--checkpoint "$(PANNS_CHECKPOINT)") $(if $(filter 1 yes true,$(PANNS_RANDOM)),--random-backbone) $(call given,--backbone,$(BACKBONE)) $(if $(strip $(MUSICNN_WEIGHTS)),--musicnn-weights "$(MUSICNN_WEIGHTS)") $(call given,--finetune,$(FINETUNE)) $(call given,--songs,$(SYNTH_SONGS)) $(call given,--seconds,$(SYNTH_SECONDS))

MANIFEST := $(if $(strip $(DOWNLOADS)),--manifest "$(DOWNLOADS)")

data-deam: | $(READY) ## download and unpack DEAM into DEAM_DIR (needs internet)
	@test -n "$(DEAM_DIR)" || { echo "error: pass DEAM_DIR=<dir>, the folder to unpack DEAM into"; exit 1; }
	$(PY) -m mer_utils download-deam --deam-dir "$(DEAM_DIR)" $(MANIFEST)

data-soundtracks: | $(READY) ## say where the Soundtracks dataset is obtained and check the tree in SOUNDTRACKS_DIR
	$(PY) -m mer_utils check-soundtracks --soundtracks-dir "$(SOUNDTRACKS_DIR)"

data-vgmidi: | $(READY) ## download VGMIDI (the pinned commit of its repository) into VGMIDI_DIR and check it (needs internet)
	@test -n "$(VGMIDI_DIR)" || { echo "error: pass VGMIDI_DIR=<dir>, the folder to unpack VGMIDI into"; exit 1; }
	$(PY) -m mer_utils download-vgmidi --vgmidi-dir "$(VGMIDI_DIR)" $(MANIFEST)

data-4q: | $(READY) ## download and unpack the 4Q emotion dataset into FOURQ_DIR (needs internet)
	@test -n "$(FOURQ_DIR)" || { echo "error: pass FOURQ_DIR=<dir>, the folder to unpack 4Q into"; exit 1; }
	$(PY) -m mer_utils download-4q --fourq-dir "$(FOURQ_DIR)" $(MANIFEST)

weights: | $(READY) ## download the PANNs Cnn14 checkpoint and musicnn's MSD weights (needs internet)
	$(PY) -m mer_utils download-weights $(if $(strip $(PANNS_CHECKPOINT)),--dest "$(PANNS_CHECKPOINT)") $(if $(strip $(MUSICNN_WEIGHTS)),--musicnn-dest "$(MUSICNN_WEIGHTS)") $(MANIFEST)

# ----------------------------------------------------------------- parameters of each run
# Rewritten only when a value changes, so Make re-runs exactly what they feed.
$(PARAMS)/synth.json: FORCE | $(READY)
	@$(PY) -m mer_utils params $@ $(call given,songs,$(SYNTH_SONGS)) $(call given,seconds,$(SYNTH_SECONDS)) $(call given,seed,$(SYNTH_SEED)) $(call given,sr,$(SYNTH_SR))
$(PARAMS)/prepare.json: FORCE | $(READY)
	@$(PY) -m mer_utils params $@ $(COMMON) $(call given,folds,$(FOLDS))
$(PARAMS)/corpus.json $(PARAMS)/eda.json $(PARAMS)/phase2_summary.json $(PARAMS)/conclusions.json: FORCE | $(READY)
	@$(PY) -m mer_utils params $@ $(COMMON)
$(PARAMS)/features.json: FORCE | $(READY)
	@$(PY) -m mer_utils params $@ $(COMMON) $(call given,n_jobs,$(JOBS))
$(PARAMS)/models.json: FORCE | $(READY)
	@$(PY) -m mer_utils params $@ $(COMMON) $(call given,n_jobs,$(JOBS)) $(call given,grid,$(P1_GRID))
$(PARAMS)/phase2_%.json: FORCE | $(READY)
	@$(PY) -m mer_utils params $@ $(COMMON) model_name=$(call p2model,$*) target=$(call p2target,$*)_mean $(call given,epochs,$(P2_EPOCHS)) $(call given,patience,$(P2_PATIENCE)) $(call given,precision,$(P2_PRECISION)) $(call given,n_jobs,$(JOBS))
$(PARAMS)/phase3.json: FORCE | $(READY)
	@$(PY) -m mer_utils params $@ $(COMMON) $(if $(strip $(PANNS_CHECKPOINT)),checkpoint="$(PANNS_CHECKPOINT)") random_backbone=$(if $(filter 1 yes true,$(PANNS_RANDOM)),true,false) $(call given,epochs,$(P3_EPOCHS))
$(PARAMS)/phase3_musicnn.json: FORCE | $(READY)
	@$(PY) -m mer_utils params $@ $(COMMON) backbone=musicnn musicnn_weights="$(MUSICNN_FILE)" $(call given,epochs,$(P3_EPOCHS))
$(PARAMS)/phase3_musicnn_mtt.json: FORCE | $(READY)
	@$(PY) -m mer_utils params $@ $(COMMON) backbone=musicnn musicnn_weights=MTT_musicnn $(call given,epochs,$(P3_EPOCHS))
$(PARAMS)/predictor.json: FORCE | $(READY)
	@$(PY) -m mer_utils params $@ $(COMMON) musicnn_weights="$(MUSICNN_FILE)" $(if $(strip $(FOURQ_DIR)),fourq_dir="$(FOURQ_DIR)")
$(PARAMS)/phase4.json: FORCE | $(READY)
	@$(PY) -m mer_utils params $@ $(COMMON) backbone=$(P4_BACKBONE) musicnn_weights="$(MUSICNN_FILE)" $(if $(strip $(PANNS_CHECKPOINT)),checkpoint="$(PANNS_CHECKPOINT)") random_backbone=$(if $(filter 1 yes true,$(PANNS_RANDOM)),true,false) $(call given,epochs,$(P4_EPOCHS)) $(call given,n_jobs,$(JOBS))
$(PARAMS)/phase3_finetune.json: FORCE | $(READY)
	@$(PY) -m mer_utils params $@ $(COMMON) musicnn_weights="$(MUSICNN_FILE)" $(if $(strip $(PANNS_CHECKPOINT)),checkpoint="$(PANNS_CHECKPOINT)") $(call given,epochs,$(FINETUNE_EPOCHS)) $(if $(filter 1 yes true,$(FINETUNE_FULL)),train_front_end=true) $(if $(filter 1 yes true,$(FINETUNE_CNN14)),cnn14=true)$(if $(filter 0 no false,$(FINETUNE_CNN14)),cnn14=false)
$(PARAMS)/real_music.json: FORCE | $(READY)
	@$(PY) -m mer_utils params $@ $(COMMON) fourq_dir="$(FOURQ_DIR)" $(if $(strip $(MUSICNN_WEIGHTS)),musicnn_weights="$(MUSICNN_WEIGHTS)") $(if $(strip $(PANNS_CHECKPOINT)),checkpoint="$(PANNS_CHECKPOINT)") random_backbone=$(if $(filter 1 yes true,$(PANNS_RANDOM)),true,false) $(call given,seed,$(SEED)) $(call given,n_jobs,$(JOBS)) $(call given,n_repeats,$(FOURQ_REPEATS)) $(call given,n_splits,$(FOURQ_SPLITS)) $(call given,soundtracks_dir,$(SOUNDTRACKS_DIR))

# ----------------------------------------------------------------- notebooks -> executed pages
book/data/corpus.ipynb: notebooks/data_corpus.py $(PARAMS)/corpus.json $(NB_DEPS)
	$(RUN_NB) $< $@ --params $(PARAMS)/corpus.json
book/phase1/eda.ipynb: notebooks/phase1_eda.py $(PARAMS)/eda.json $(NB_DEPS)
	$(RUN_NB) $< $@ --params $(PARAMS)/eda.json
book/phase1/features.ipynb: notebooks/phase1_features.py $(PARAMS)/features.json $(NB_DEPS)
	$(RUN_NB) $< $@ --params $(PARAMS)/features.json
book/phase1/models.ipynb: notebooks/phase1_models.py $(PARAMS)/models.json book/phase1/features.ipynb $(NB_DEPS)
	$(RUN_NB) $< $@ --params $(PARAMS)/models.json
book/phase2/%.ipynb: notebooks/phase2_train.py $(PARAMS)/phase2_%.json $(NB_DEPS)
	$(RUN_NB) $< $@ --params $(PARAMS)/phase2_$*.json
book/phase2/summary.ipynb: notebooks/phase2_summary.py $(PARAMS)/phase2_summary.json $(P2_PAGES) book/phase1/models.ipynb $(NB_DEPS)
	$(RUN_NB) $< $@ --params $(PARAMS)/phase2_summary.json
# a checkpoint that appears (make weights) re-runs Phase 3 with it
book/phase3/panns.ipynb: notebooks/phase3_panns.py $(PARAMS)/phase3.json $(wildcard $(or $(PANNS_CHECKPOINT),weights/Cnn14_*.pth)) $(NB_DEPS)
	$(RUN_NB) $< $@ --params $(PARAMS)/phase3.json
book/phase3/musicnn.ipynb: notebooks/phase3_panns.py $(PARAMS)/phase3_musicnn.json $(wildcard $(MUSICNN_FILE)) $(NB_DEPS)
	$(RUN_NB) $< $@ --params $(PARAMS)/phase3_musicnn.json
# the same page on musicnn's MTT network, read from its folder in the cache (MUSICNN_WEIGHTS chooses MSD's file only)
book/phase3/musicnn_mtt.ipynb: notebooks/phase3_panns.py $(PARAMS)/phase3_musicnn_mtt.json $(NB_DEPS)
	$(RUN_NB) $< $@ --params $(PARAMS)/phase3_musicnn_mtt.json
# fine-tuning sets its networks beside the frozen musicnn page's model, so it runs after that page
book/phase3/finetune.ipynb: notebooks/phase3_finetune.py $(PARAMS)/phase3_finetune.json $(wildcard $(MUSICNN_FILE)) book/phase3/musicnn.ipynb $(NB_DEPS)
	$(RUN_NB) $< $@ --params $(PARAMS)/phase3_finetune.json
# Phase 4 after the static models (its constant baseline is their best) and the Phase 3 page whose cache holds its frames
# (CNN14's or MSD's: Phase 4 does not wait for the MTT page)
book/phase4/dynamic.ipynb: notebooks/phase4_dynamic.py $(PARAMS)/phase4.json book/phase1/models.ipynb $(P2_PAGES) $(filter-out $(P3_MTT_PAGE),$(P3_PAGES)) $(NB_DEPS)
	$(RUN_NB) $< $@ --params $(PARAMS)/phase4.json
# the conclusions read Phase 4's saved comparisons too (the lesson on dynamic models)
book/conclusions/comparison.ipynb: notebooks/conclusions.py $(PARAMS)/conclusions.json book/phase1/models.ipynb $(P2_PAGES) $(P3_PAGES) $(FT_PAGES) $(P4_PAGES) $(NB_DEPS)
	$(RUN_NB) $< $@ --params $(PARAMS)/conclusions.json

# Real music (4Q), only with FOURQ_DIR: after Phases 1 and 3, whose models it also scores on the 4Q clips.
# The data stamp re-runs the page when the tree changes; weights that appear re-run it too, and so do the saved
# Phase 3 models of any book (it scores those of other books beside its own: realmusic/transfer.books_to_score).
build/4q/data.stamp: FORCE | $(READY)
	@test -d "$(FOURQ_DIR)" || { echo "error: FOURQ_DIR '$(FOURQ_DIR)' is not a folder: point it at the folder MER_audio_taffc_dataset.zip was unpacked into (get it with 'make data-4q FOURQ_DIR=<dir>')"; exit 1; }
	@$(PY) -m mer_utils data-stamp "$(FOURQ_DIR)" $@
book/realmusic/fourq.ipynb: notebooks/real_music.py $(PARAMS)/real_music.json build/4q/data.stamp $(wildcard $(MUSICNN_FILE)) $(wildcard results/*/models/emotion_mlp*.pt) book/phase1/models.ipynb $(P3_PAGES) $(NB_DEPS)
	$(RUN_NB) $< $@ --params $(PARAMS)/real_music.json

# The predictor after the musicnn page (whose embeddings it reads) and, with FOURQ_DIR, after the Real music chapter
# (which embeds the 4Q clips it learns from, in the same cache).
book/predictor/predictor.ipynb: notebooks/predictor.py $(PARAMS)/predictor.json book/phase3/musicnn.ipynb $(if $(strip $(FOURQ_DIR)),build/4q/data.stamp book/realmusic/fourq.ipynb) $(NB_DEPS)
	$(RUN_NB) $< $@ --params $(PARAMS)/predictor.json

# ----------------------------------------------------------------- the shipped predictor
# The predictor inside the package (mer_utils/predict/shipping.py), which mer predict runs when no book on real ratings
# was built: the predictor page's own notebook on the Soundtracks and 4Q trees (default: the samples in ../shared),
# musicnn's MSD network from the wheel, float32 embeddings (figures that do not depend on the CPU), the book's seed;
# then each out-of-fold figure is compared with the shipped file's interval.  SHIP=1 replaces the shipped file.
PREDICTOR_BUILD       := build/predictor
PREDICTOR_SOUNDTRACKS := $(or $(strip $(SOUNDTRACKS_DIR)),../shared/soundtracks-sample)
PREDICTOR_FOURQ       := $(or $(strip $(FOURQ_DIR)),../shared/4q-sample)
SHIP ?=
.PHONY: predictor
predictor: | $(READY) ## rebuild the shipped predictor on the Soundtracks and 4Q samples and compare (SHIP=1 ships it)
	@test -d "$(PREDICTOR_SOUNDTRACKS)" -a -d "$(PREDICTOR_FOURQ)" || { echo "error: make predictor needs the Soundtracks and 4Q trees: pass SOUNDTRACKS_DIR=<dir> FOURQ_DIR=<dir> (default: the samples in ../shared, not found)"; exit 1; }
	$(PY) -m mer_utils prepare --data soundtracks --data-dir "$(PREDICTOR_SOUNDTRACKS)" --results-dir $(PREDICTOR_BUILD) $(call given,--seed,$(SEED))
	$(PY) -m mer_utils params $(PREDICTOR_BUILD)/params.json data=soundtracks data_dir="$(PREDICTOR_SOUNDTRACKS)" results_dir=$(PREDICTOR_BUILD) cache_dir=cache/predictor/soundtracks fourq_dir="$(PREDICTOR_FOURQ)" fourq_cache_dir=cache/predictor/4q precision=float32 $(call given,seed,$(SEED))
	$(RUN_NB) notebooks/predictor.py $(PREDICTOR_BUILD)/predictor.ipynb --params $(PREDICTOR_BUILD)/params.json
	$(PY) -m mer_utils ship-predictor $(PREDICTOR_BUILD)/models/predictor.pt $(if $(filter 1 yes true,$(SHIP)),--ship)

book/predictor/shipped.ipynb: notebooks/shipped_predictor.py mer_utils/predict/data/predictor.pt $(wildcard book/predictor/measured_peers.json) $(NB_DEPS)
	$(RUN_NB) $< $@

# ----------------------------------------------------------------- the site
# The toc passed to jupyter-book lists only the chapters this build executes (mer_utils/toc.py).
$(TOC): FORCE | $(READY)
	@$(PY) -m mer_utils toc _toc.yml $@ $(PAGES)

_build/html/index.html: $(PAGES) $(STATIC) $(TOC) | $(READY)
	rm -rf _build/.doctrees
	$(VENV)/bin/jupyter-book build . --toc $(TOC) -W --keep-going --quiet
	@echo "The book is at _build/html/index.html"

# ----------------------------------------------------------------- the real book
# Everything downloaded (resumable, verified; DOWNLOADS=<manifest.json> for a mirror), then the book on DEAM with the
# pretrained CNN14 and musicnn and the Real music chapter on 4Q, then the browser check of every page and of every
# button's target (check-book).  DEAM_DIR and FOURQ_DIR default to data/deam and data/4q, the weights go to
# weights/ (or PANNS_CHECKPOINT, MUSICNN_WEIGHTS); the other knobs (P2_EPOCHS, ...) pass through.  .github/workflows/
# real-book.yml runs it on a GitHub runner and publishes the site.
REAL_DEAM_DIR  := $(or $(strip $(DEAM_DIR)),data/deam)
REAL_FOURQ_DIR := $(or $(strip $(FOURQ_DIR)),data/4q)
REAL_KNOBS      = DATA=deam DEAM_DIR="$(REAL_DEAM_DIR)" FOURQ_DIR="$(REAL_FOURQ_DIR)" BACKBONE=all
.PHONY: real-book check-book
real-book: | $(READY) ## download DEAM, 4Q and both pretrained backbones, build the book on them, check it in a browser
	$(MAKE) data-deam DEAM_DIR="$(REAL_DEAM_DIR)"
	$(MAKE) weights
	$(MAKE) data-4q FOURQ_DIR="$(REAL_FOURQ_DIR)"
	$(MAKE) book $(REAL_KNOBS)
	$(MAKE) check-book $(REAL_KNOBS)

# The launch buttons (Binder, Colab) open the executed notebooks on the branch _config.yml names (repository:
# branch:); build/executed is that branch's tree, which the workflow publishes.  The check opens every page of the
# site in headless Chromium and every button's target in that tree (scripts/check_book.py --published).
EXECUTED := build/executed
CHECK_WIDTHS ?=
check-book: | $(READY) ## check the built site in headless Chromium, and every launch and download button's target
	$(PY) -m mer_utils executed-tree $(EXECUTED) $(PAGES)
	$(PY) scripts/check_book.py --html _build/html --published $(EXECUTED) $(if $(strip $(CHECK_WIDTHS)),--widths $(CHECK_WIDTHS))

# ----------------------------------------------------------------- editing a page
lab: | $(READY) ## JupyterLab: notebooks/*.py open as notebooks, kernels run where make book runs them
	$(PY) -m mer_utils lab

# ----------------------------------------------------------------- DEAM-scale rehearsal
# The whole book on SynthDEAM at DEAM's size (1,744 songs x 45 s) with DATA=deam settings, in a copy of the tree
# under build/rehearsal, timed page by page; Phase 2 bounded to P2_EPOCHS epochs per run (default 2) and
# extrapolated to the report's schedule (P2_EPOCHS=report runs it all).  The table lands in build/rehearsal/rehearsal.md.
.PHONY: rehearsal
rehearsal: | $(READY) ## time the book at DEAM scale on a generated stand-in (about 50 min on 2 cores)
	$(PY) benchmarks/rehearsal.py --fresh $(call given,--p2-epochs,$(P2_EPOCHS)) $(call given,--jobs,$(JOBS))

# ----------------------------------------------------------------- tests
# Two pytest workers (pytest-xdist): a test that builds a book keeps both cores busy only part of the time (kernels
# starting, single-threaded steps), and the other worker fills the gaps.  The tests of the tiny book share one worker
# (tests/conftest.py), which builds it once.  TEST_JOBS=0 runs them in this process, in order.
TEST_JOBS ?= 2
test: $(READY) ## set up, then run the tests (unit tests and the end-to-end build)
	$(PY) -m pytest $(if $(filter-out 0,$(TEST_JOBS)),-n $(TEST_JOBS) --dist loadgroup)

clean-book: ## remove executed pages and the site (keeps data and caches)
	rm -rf _build $(PAGES) book/realmusic/*.ipynb book/phase3/*.ipynb book/phase4/*.ipynb book/predictor/*.ipynb build/params build/failed $(TOC)

clean: clean-book ## remove everything generated except the virtualenv
	rm -rf data cache results build

FORCE:

# ----------------------------------------------------------------- publishing
.PHONY: publish
publish: _build/html/index.html | $(READY) ## build the book and push _build/html to the gh-pages branch (GitHub Pages)
	$(VENV)/bin/ghp-import -n -p -f _build/html
	@echo "Pushed _build/html to the gh-pages branch of $$(git remote get-url origin 2>/dev/null || echo origin)"
