"""Command line: ``python -m mer_utils <command> ...`` (also installed as ``mer``).

Commands::

    synth            generate the SynthDEAM corpus (mer_utils.corpus.synth)
    defaults         print the package defaults behind the Makefile's knobs
    preflight        check a run's preconditions before its first notebook (Makefile)
    prepare          load a corpus, report missing audio, write the shared split
    params           write a run's parameters to JSON if they changed (Makefile)
    data-stamp       fingerprint a downloaded corpus's tree (Makefile)
    run-notebook     execute a jupytext notebook with papermill (Makefile)
    toc              write the table of contents of the pages this build executes (Makefile)
    download-deam    fetch the official DEAM archives (make data-deam)
    download-4q      fetch the 4Q audio emotion dataset (make data-4q)
    download-vgmidi  fetch VGMIDI's pinned repository zip and check its annotation files (make data-vgmidi)
    check-soundtracks say where Soundtracks is obtained and check an unpacked tree (make data-soundtracks)
    download-weights fetch the PANNs Cnn14 checkpoint and musicnn's MSD weights (make weights)
    lab              JupyterLab with notebooks/*.py opened as notebooks, kernels in the repository root (make lab)
    executed-tree    lay out the executed notebooks as the branch the launch buttons open (make check-book)
    downloads        print every download's published address, size and checksums (a downloads manifest)
    predict          valence and arousal of audio files, folders, patterns (mer predict --help; predict.cli)
    warm-up          compile librosa's numba kernels into their disk cache, once, before parallel work (make venv)
    ship-predictor   make a built predictor shippable and compare it with the shipped one (make predictor)
    fetch-musicnn    fetch the musicnn wheel with pip (hash-pinned) and unpack its MSD and MTT checkpoints (make venv)

User errors print one line starting with ``error:`` and exit with status 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import MerError


def defaults() -> None:
    """Print the package defaults behind the Makefile's knobs (``make help``)."""
    import inspect

    from .corpus.synth import generate
    from .corpus.sources import SOURCES
    from .page import BOOK_DEFAULTS
    from .phase1.regressors import DEFAULT_GRID
    from .phase3.cnn14 import DEFAULT_CHECKPOINT
    from .training.defaults import TRAINING_DEFAULTS
    from .training.runtime import DEFAULT_JOBS

    synth = {
        k: v.default
        for k, v in inspect.signature(generate).parameters.items()
        if k in ("n_songs", "seconds", "seed", "sr")
    }
    print(
        f"Package defaults: SUBSET={SOURCES['deam'].default_subset} SEED={BOOK_DEFAULTS['seed']} JOBS={DEFAULT_JOBS} "
        f"P1_GRID={DEFAULT_GRID} PANNS_CHECKPOINT={DEFAULT_CHECKPOINT}"
    )
    print("SynthDEAM: SYNTH_SONGS={n_songs} SYNTH_SECONDS={seconds:g} SYNTH_SEED={seed} SYNTH_SR={sr}".format(**synth))
    for data, models in TRAINING_DEFAULTS.items():
        print(
            f"training on {data}: "
            + "; ".join(f"{m} {s['epochs']} epochs, patience {s['patience']}" for m, s in models.items())
        )


def prepare(argv) -> None:
    from .cache import write_json_atomic
    from .corpus.sources import corpus_for, source
    from .corpus.split import DEFAULT_FOLDS, load_or_create_split
    from .page import BOOK_DEFAULTS

    parser = argparse.ArgumentParser(
        prog="mer prepare", description="Load a corpus, report missing audio and write the shared split."
    )
    parser.add_argument("--data", default=BOOK_DEFAULTS["data"])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--subset", default=None, help="empty: the corpus's default")
    parser.add_argument("--results-dir", required=True)
    parser.add_argument("--seed", type=int, default=BOOK_DEFAULTS["seed"])
    parser.add_argument("--folds", type=int, default=None,
                        help="K of grouped cross-validation (empty: the corpus's protocol, mer_utils.corpus.sources)")
    args = parser.parse_args(argv)
    corpus = corpus_for(args.data, args.data_dir, args.subset)
    results = Path(args.results_dir)
    n_folds = args.folds or (DEFAULT_FOLDS if source(args.data).protocol == "folds" else None)
    split = load_or_create_split(results / "split.csv", corpus.song_ids, seed=args.seed, groups=corpus.groups,
                                 n_folds=n_folds)
    summary = {
        "data": args.data,
        "name": corpus.name,
        "root": str(corpus.root),
        "subset": corpus.subset,
        "songs": len(corpus.songs),
        "missing_audio": corpus.missing_audio,
        "unlabelled_audio": corpus.unlabelled_audio,
        "split_counts": split["part"].value_counts().to_dict() if not n_folds else {"folds": n_folds},
        "seed": args.seed,
    }
    write_json_atomic(results / "corpus.json", summary)
    print(corpus.describe())
    print(f"split: {summary['split_counts']} -> {results / 'split.csv'}")


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    try:
        if command == "synth":
            from .corpus.synth import main as synth_main

            synth_main(rest)
        elif command == "defaults":
            defaults()
        elif command == "prepare":
            prepare(rest)
        elif command == "preflight":
            from .preflight import main as preflight_main

            preflight_main(rest)
        elif command == "params":
            from .pipeline import write_params

            write_params(rest[0], rest[1:])
        elif command == "data-stamp":
            from .pipeline import data_stamp

            data_stamp(rest[0], rest[1])
        elif command == "run-notebook":
            from .pipeline import run_notebook

            parser = argparse.ArgumentParser(prog="mer run-notebook")
            parser.add_argument("source")
            parser.add_argument("output")
            parser.add_argument("--params")
            args = parser.parse_args(rest)
            run_notebook(args.source, args.output, args.params)
        elif command == "toc":
            from .toc import main as toc_main

            return int(toc_main(rest) or 0)
        elif command == "download-deam":
            from .corpus.deam_fetch import main_deam

            main_deam(rest)
        elif command == "download-vgmidi":
            from .corpus.vgmidi_fetch import main_vgmidi

            return int(main_vgmidi(rest) or 0)
        elif command == "check-soundtracks":
            from .corpus.soundtracks import main_check

            main_check(rest)
        elif command == "download-4q":
            from .corpus.fourq_fetch import main_fourq

            return int(main_fourq(rest) or 0)
        elif command == "download-weights":
            from .phase3.weights import main_weights

            main_weights(rest)
        elif command == "lab":
            from .lab import main as lab_main

            return int(lab_main(rest) or 0)
        elif command == "executed-tree":
            from .executed import main as executed_main

            return int(executed_main(rest) or 0)
        elif command == "downloads":
            from .corpus.download import main_downloads

            return int(main_downloads(rest) or 0)
        elif command == "warm-up":
            from .phase1.features import DEFAULT_SETTINGS, warm_up

            warm_up(DEFAULT_SETTINGS)
        elif command == "ship-predictor":
            from .predict.shipping import main as ship_main

            return int(ship_main(rest) or 0)
        elif command == "fetch-musicnn":
            from .phase3.musicnn_wheel import main as fetch_main

            fetch_main(rest)
        elif command == "predict":
            import gc

            from .predict.cli import main as predict_main

            code = int(predict_main(rest) or 0)
            # the process ends here: spare the interpreter's last collection over torch's 300,000 objects, which
            # took 0.6 s of every run's wall time (what is left is freed by the exit all the same)
            gc.freeze()
            return code
        else:
            raise MerError(f"unknown command '{command}': run 'python -m mer_utils --help' for the list.")
    except MerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
