"""Fine-tuning throughput: patches per second through each part of musicnn (and CNN14), forward and backward.

    .venv/bin/python benchmarks/bench_finetune.py [--device cpu|cuda] [--threads 2] [--batch-size 32] [--steps 8]
                                                  [--weights FILE] [--cnn14] [--precisions float32,bfloat16]

What the fine-tuning page (``notebooks/phase3_finetune.py``) spends its time on,
side by side in one run, for each network and precision:

* ``front end, forward``: the frozen front end once per patch (musicnn's timbral
  and temporal convolutions in the page's two single-thread workers; CNN14's
  spectrogram and blocks 1-4), the one-off cost of the cache;
* ``upper layers, train step``: forward, backward and an Adam step of the layers
  that train on the cached front-end output (musicnn: mid-end, dense layer and
  head; CNN14: blocks 5-6, ``fc1`` and head), the cost of every epoch;
* ``upper layers, forward``: the same layers without gradients (validation and test);
* ``whole network, train step``: the end-to-end variant (``train_front_end=True``),
  every layer training from the patches, no cache.

Inputs are random (log-mel-like patches for musicnn, noise for CNN14): the cost
does not depend on the values.  musicnn starts from ``--weights`` (default
``../shared/weights/MSD_musicnn.h5``), or from random weights when that file is
absent (it says so; the cost is the same).  CNN14 (``--cnn14``, on by default
with ``--device cuda``) loads a random checkpoint in the PANNs format that the
benchmark writes to a temporary folder itself, so nothing outside the repository
is needed.  bfloat16 is autocast, timed where the device supports it natively
(``--precisions`` forces a list).  On a CPU, ``--threads`` torch threads (the
page trains on 1, two pages side by side); the load average is printed before
and after: above the thread count, the machine was busy and the figures are
pessimistic.  Each figure is the median over ``--steps`` timed steps after
two untimed ones.
"""
from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED_WEIGHTS = REPO.parent / "shared" / "weights" / "MSD_musicnn.h5"


def timed(step, steps: int, device) -> tuple[float, float]:
    """Median wall seconds of ``step()`` over ``steps`` runs after two untimed ones (synchronising a GPU), and the
    median CPU seconds this process used in a run (all its threads)."""
    import torch

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(2):
        step()
    sync()
    walls, cpus = [], []
    for _ in range(steps):
        start, cpu = time.perf_counter(), time.process_time()
        step()
        sync()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def rate(batch: int, seconds: tuple[float, float]) -> tuple[float, float]:
    """Patches per wall second and per CPU second."""
    return batch / seconds[0], batch / max(seconds[1], 1e-9)


def inputs(name: str, batch: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if name == "musicnn":
        from mer_utils.phase3.musicnn import N_MELS, PATCH_FRAMES

        return rng.uniform(0, 3, size=(batch, PATCH_FRAMES, N_MELS)).astype(np.float32)
    return (0.1 * rng.standard_normal((batch, 96000))).astype(np.float32)


def networks(args, workdir: Path) -> list[tuple[str, object, str]]:
    """``(name, regressor, where its weights came from)`` for musicnn and (with --cnn14) CNN14."""
    import torch

    from mer_utils.errors import MerError
    from mer_utils.phase3 import finetune_models as fm

    out = []
    weights = Path(args.weights) if args.weights else SHARED_WEIGHTS
    if weights.is_file():
        network, _ = fm.musicnn_regressor("finetuned", weights, seed=0)
        out.append(("musicnn", network, f"musicnn from {weights}"))
    else:
        network, _ = fm.musicnn_regressor("scratch", seed=0)
        out.append(("musicnn", network, f"musicnn with random weights ({weights} not found; the cost is the same)"))
    if args.cnn14:
        from mer_utils.phase3.cnn14 import CHECKPOINT_NAME, build_cnn14, cnn14_class

        try:
            cnn14_class()  # CNN14's code comes from panns-inference (with torchlibrosa and librosa)
        except (ImportError, MerError) as exc:
            print(f"CNN14 skipped: its code cannot be imported here ({type(exc).__name__}: {exc}); install "
                  "panns-inference==0.1.1 (it brings torchlibrosa and librosa) to time it")
            return out
        checkpoint = workdir / CHECKPOINT_NAME
        torch.save({"model": build_cnn14(seed=1).state_dict()}, checkpoint)  # the PANNs format, random weights
        network, _ = fm.cnn14_regressor("finetuned", checkpoint, seed=0)
        out.append(("cnn14", network, f"CNN14 from a random checkpoint in the PANNs format ({checkpoint.name})"))
    return out


def measure(name: str, network, precision: str, args, device) -> dict:
    """Patches per second of each part (see the module docstring) for one network and precision."""
    import torch

    from mer_utils.phase3.finetune_models import parameter_groups
    from mer_utils.phase3.musicnn import MusicnnEmbedder
    from mer_utils.training.runtime import autocast

    batch = args.batch_size
    x = torch.from_numpy(inputs(name, batch)).to(device)
    target = torch.zeros(batch, 2, device=device)
    network = network.to(device)
    rates = {}

    if name == "musicnn" and device.type == "cpu":  # the page computes musicnn's cache in single-thread workers
        network.backbone.precision = precision
        embedder = MusicnnEmbedder(network.backbone, batch_size=16, n_threads=args.threads)
        patches = x.cpu().numpy()
        rates["front end, forward"] = rate(batch, timed(lambda: embedder.run_front_end(patches), args.steps, device))
        network.backbone.precision = "float32"
    else:
        def front():
            with torch.inference_mode(), autocast(device, precision):
                network.front_end(x)
        rates["front end, forward"] = rate(batch, timed(front, args.steps, device))
    with torch.no_grad(), autocast(device, precision):  # a normal tensor (not an inference one): autograd takes it
        cached = network.front_end(x).float()

    def train_step(module, data, optimiser):
        module.train()
        optimiser.zero_grad(set_to_none=True)
        with autocast(device, precision):
            prediction = module(data)
        loss = ((prediction.float() - target) ** 2).mean(dim=0).sum()
        loss.backward()
        optimiser.step()

    upper = copy.deepcopy(network).set_trainable()
    module = upper.for_training()
    optimiser = torch.optim.Adam(parameter_groups(upper, 1e-3, 1e-4), lr=1e-3)
    rates["upper layers, train step"] = rate(batch, timed(lambda: train_step(module, cached, optimiser), args.steps,
                                                          device))

    def upper_forward():
        module.eval()
        with torch.inference_mode(), autocast(device, precision):
            module(cached)
    rates["upper layers, forward"] = rate(batch, timed(upper_forward, args.steps, device))

    whole = copy.deepcopy(network)
    whole.train_front_end = True
    whole.set_trainable()
    optimiser = torch.optim.Adam(parameter_groups(whole, 1e-3, 1e-4), lr=1e-3)
    rates["whole network, train step"] = rate(batch, timed(lambda: train_step(whole, x, optimiser),
                                                           max(2, args.steps // 2), device))
    return rates


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--batch-size", type=int, default=32, help="patches per step (default 32, the page's)")
    parser.add_argument("--steps", type=int, default=8, help="timed steps per figure (default 8)")
    parser.add_argument("--weights", help="musicnn's .h5 (default ../shared/weights/MSD_musicnn.h5)")
    parser.add_argument("--cnn14", action="store_true", help="also CNN14 (on by default with --device cuda)")
    parser.add_argument("--precisions", help="comma-separated, e.g. float32,bfloat16 (default: float32, and "
                                             "bfloat16 where the device computes it natively)")
    args = parser.parse_args(argv)

    import torch

    from mer_utils.training.runtime import keep_freed_memory, pick_device, resolve_precision, torch_threads

    device = pick_device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is visible to PyTorch here.")
    args.cnn14 = args.cnn14 or device.type == "cuda"
    precisions = (args.precisions.split(",") if args.precisions else
                  ["float32"] + (["bfloat16"] if resolve_precision("auto", device) == "bfloat16" else []))
    keep_freed_memory()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"device: {name}; torch {torch.__version__}; "
          f"ATEN_CPU_CAPABILITY={os.environ.get('ATEN_CPU_CAPABILITY', '(unset)')}; "
          f"threads {args.threads}; batch {args.batch_size}; precisions {', '.join(precisions)}")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as workdir, torch_threads(args.threads if device.type == "cpu" else None):
        rows = []
        for name, network, where in networks(args, Path(workdir)):
            print(where)
            for precision in precisions:
                for part, (wall, cpu) in measure(name, network, precision, args, device).items():
                    rows.append((name, precision, part, wall))
                    per_cpu = f"{cpu:9.1f} per CPU s" if device.type == "cpu" else ""
                    print(f"  {name:8s} {precision:9s} {part:28s} {wall:9.1f} patches/s {per_cpu}", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print("\nAn epoch of a Soundtracks sample's fold (about 720 training and 240 validation patches), wall seconds:")
    rates = {(n, p, q): r for n, p, q, r in rows}
    for name, precision, part, _ in rows:
        if part == "upper layers, train step":
            forward = rates[(name, precision, "upper layers, forward")]
            print(f"  {name} {precision}: {720 / rates[(name, precision, part)] + 240 / forward:.1f} s with the front "
                  f"end cached; {720 / rates[(name, precision, 'whole network, train step')] + 240 / forward:.1f} s "
                  "training every layer")


if __name__ == "__main__":
    main()
