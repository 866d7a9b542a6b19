"""CNN14's embedding, computed fast on CPU: the same numbers as ``Cnn14.forward``, arranged for speed.

Used by: ``notebooks/phase3_panns.py`` and ``mer predict``, through
:class:`mer_utils.phase3.embeddings.Embedder`; measured by ``benchmarks/bench_embeddings.py``.

:class:`FastCnn14` computes exactly the ``embedding`` output of
``Cnn14.forward`` in eval mode, arranged for CPUs: the STFT by FFT instead of
a convolution with DFT matrices, batch norms folded into the convolutions, the
AudioSet classifier skipped, the first four conv blocks run on a few segments
at a time (their activations stay in cache) and the last two on the whole batch
(their large weights are read once per batch), and, where the CPU supports
bfloat16 (``precision="auto"``, :func:`mer_utils.training.runtime.resolve_precision`),
the convolutions under bfloat16 autocast (embeddings agree with float32 to a
relative error of about 0.4 %).  The precision is part of the cache key and of
the saved model.

:meth:`FastCnn14.forward_with_frames` also returns, from the same forward pass,
a frame-level sequence: the same pooling head applied to six stretches of about
0.5 s of the last block's time axis (Phase 4 reads it, ``notebooks/phase4_dynamic.py``),
so a song is never embedded twice.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn

from .cnn14 import CNN14_ARGS


def _fold_batch_norm(conv, bn):
    """A Conv2d with bias equal to ``bn(conv(x))`` for a batch norm in eval mode."""
    scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
    fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=True)
    with torch.no_grad():
        fused.weight.copy_(conv.weight.detach() * scale[:, None, None, None])
        bias = conv.bias.detach() if conv.bias is not None else torch.zeros_like(scale)
        fused.bias.copy_((bias - bn.running_mean) * scale + bn.bias.detach())
    return fused


class FastCnn14(nn.Module):
    """The ``embedding`` output of a CNN14 in eval mode, computed faster on CPU (see the module docstring).

    ``forward(x)`` takes ``(batch, 96000)`` float32 waveforms at 32 kHz and
    returns ``(batch, 2048)``.  Stage one (STFT, log-mel, conv blocks 1-4)
    runs ``stage_one_batch`` segments at a time; stage two (blocks 5-6 and the
    pooling head) runs on the whole batch.  The log-mel filter bank and ``fc1``
    are the loaded CNN14's own modules; batch norms are folded into copies of
    its convolutions.
    """

    def __init__(self, cnn14, precision: str = "float32", stage_one_batch: int = 4):
        super().__init__()
        self.n_fft = CNN14_ARGS["window_size"]
        self.hop = CNN14_ARGS["hop_size"]
        self.register_buffer("window", torch.hann_window(self.n_fft, periodic=True))  # librosa's 'hann', fftbins=True
        self.logmel = cnn14.logmel_extractor
        bn0 = cnn14.bn0
        scale = bn0.weight.detach() / torch.sqrt(bn0.running_var + bn0.eps)
        self.register_buffer("mel_scale", scale.clone())
        self.register_buffer("mel_shift", (bn0.bias.detach() - bn0.running_mean * scale).clone())
        self.convs = nn.ModuleList()
        for i in range(1, 7):
            block = getattr(cnn14, f"conv_block{i}")
            self.convs.append(
                nn.ModuleList([_fold_batch_norm(block.conv1, block.bn1), _fold_batch_norm(block.conv2, block.bn2)])
            )
        self.fc1 = cnn14.fc1
        self.precision = precision
        self.stage_one_batch = int(stage_one_batch)
        self.eval()

    def front(self, x):
        """Log-mel spectrogram ``(B, 1, frames, 64)`` after ``bn0``, in float32."""
        spec = torch.stft(
            x, self.n_fft, self.hop, self.n_fft, self.window, center=True, pad_mode="reflect", return_complex=True
        )
        power = (spec.real**2 + spec.imag**2).transpose(1, 2)[:, None]
        return self.logmel(power) * self.mel_scale + self.mel_shift

    def blocks(self, x, first: int, last: int):
        for i in range(first, last):
            conv1, conv2 = self.convs[i]
            x = F.relu_(conv2(F.relu_(conv1(x))))
            if i < 5:  # block 6 pools with a (1, 1) window, i.e. not at all
                x = F.avg_pool2d(x, kernel_size=2)
        return x

    def head(self, x):
        x = x.float().mean(dim=3)
        x = x.max(dim=2).values + x.mean(dim=2)
        return F.relu_(self.fc1(x))

    def frame_head(self, x, frames: int):
        """The head applied to ``frames`` equal stretches of the last block's time axis: ``(B, frames, 2048)``.

        The same max + mean pooling and ``fc1`` as :meth:`head`, over each stretch
        (adaptive pooling: the 9 time steps of a 3-second segment into 6 frames of
        about 0.5 s, neighbouring frames sharing a step where the division is uneven).
        """
        x = x.float().mean(dim=3)
        x = F.adaptive_max_pool1d(x, frames) + F.adaptive_avg_pool1d(x, frames)
        return F.relu_(self.fc1(x.transpose(1, 2)))

    def deep(self, x):
        """The last conv block's output ``(B, 2048, time, mel)`` of ``(B, 96000)`` waveforms (see :meth:`forward`)."""
        autocast = (  # on the device the waveforms are on (a fine-tuned CNN14 may run on a GPU)
            torch.autocast(x.device.type, dtype=torch.bfloat16) if self.precision == "bfloat16"
            else contextlib.nullcontext()
        )
        parts = []
        for at in range(0, x.shape[0], self.stage_one_batch):
            mel = self.front(x[at : at + self.stage_one_batch])
            with autocast:
                parts.append(self.blocks(mel, 0, 4))
        with autocast:
            return self.blocks(torch.cat(parts), 4, 6)

    def forward(self, x):
        return self.head(self.deep(x))

    def forward_with_frames(self, x, frames: int):
        """``forward(x)`` and, from the same computation, :meth:`frame_head`: ``((B, 2048), (B, frames, 2048))``."""
        deep = self.deep(x)
        return self.head(deep), self.frame_head(deep, frames)
