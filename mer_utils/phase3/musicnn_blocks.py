"""The front-end layers of musicnn's network in PyTorch: frozen batch norms and the timbral and temporal blocks.
Used by: :class:`mer_utils.phase3.musicnn.Musicnn` (which re-exports every name here), and through it
``notebooks/real_music.py``, ``benchmarks/bench_musicnn.py`` and ``mer predict``.

Why this module: the fast convolutions are most of the port's code and of its cost; apart,
they and :mod:`mer_utils.phase3.musicnn` each stay short enough to read.

Speed (``benchmarks/bench_musicnn.py``).  A patch costs 1.3 GMAC, 85 % of
it in the two timbral convolutions.  What makes it fast on a CPU:

* a batch norm after a ReLU, followed by a max over frequency, equals the
  batch norm of the ReLU of the max (scale >= 0) or of the min (scale < 0) of
  the raw convolution output (170 of the 204 scales of the first timbral layer
  are negative); the weights of channels with a negative scale are stored
  negated (``FrequencyMaxBlock.signs`` undoes it), so one max serves every
  channel and ReLU and batch norm touch a 30 to 96 times smaller array;
* the front-end convolutions have one input channel.  In float32 the timbral
  ones go through the discrete Fourier transform of the 96 mel bands, where a
  correlation is a product per frequency bin: a few matrix products per patch,
  381 million multiply-adds instead of 1,136 (:meth:`TimbralBlock.conv_max_spectral`,
  2.4x faster, float32 rounding below the direct product's); the temporal ones
  are a matrix product over overlapping strided views of the patch, with no
  im2col copy (:class:`TemporalBlock`);
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class FrozenBatchNorm(nn.Module):
    """A Keras batch norm at inference, as ``x * scale + shift`` over one axis (``dim``)."""

    def __init__(self, size: int, dim: int = 1):
        super().__init__()
        self.dim = dim
        self.register_buffer("scale", torch.ones(size))
        self.register_buffer("shift", torch.zeros(size))

    def set_from_keras(self, weights: dict[str, np.ndarray], eps: float):
        scale = weights["gamma"] / np.sqrt(weights["moving_variance"] + np.float32(eps))
        self.scale.copy_(torch.from_numpy(scale))
        self.shift.copy_(torch.from_numpy(weights["beta"] - weights["moving_mean"] * scale))

    def forward(self, x):
        shape = [1] * x.dim()
        shape[self.dim] = -1
        return x * self.scale.view(shape) + self.shift.view(shape)


class FrequencyMaxBlock(nn.Module):
    """A front-end branch: conv over (time, mel) -> ReLU -> batch norm -> max over frequency, ``(B, C, frames)``.

    Computed as ``norm(relu(signs * (max_f(conv'(x)) + bias')))`` where
    ``conv'`` and ``bias'`` are the convolution's weights and bias with the
    channels of a negative batch-norm scale negated (``signs`` = -1 there): the
    max of the negated output is minus the min, which is what the batch norm's
    max picks for those channels.  Exact, the large (B, C, frames, positions)
    output is read once, and ReLU and batch norm touch the pooled array only.
    The bias is constant over frequency, so it is added after the max.
    Subclasses compute ``max_f(conv'(x))`` (:meth:`conv_max`).
    """

    def __init__(self, filters: int, kernel: tuple[int, int], time_padding: tuple[int, int]):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(filters, 1, *kernel), requires_grad=False)  # (out, in, time, mel)
        self.bias = nn.Parameter(torch.zeros(filters), requires_grad=False)
        self.norm = FrozenBatchNorm(filters)
        self.time_padding = time_padding
        self.register_buffer("signs", torch.ones(filters))

    compute_dtype = torch.float32  # of the convolution (see Musicnn.precision); ReLU and batch norm are float32

    def set_from_keras(self, conv: dict[str, np.ndarray], norm: dict[str, np.ndarray], eps: float):
        self.norm.set_from_keras(norm, eps)
        signs = torch.where(self.norm.scale < 0, -1.0, 1.0)
        self.signs.copy_(signs)
        kernel = torch.from_numpy(conv["kernel"]).permute(3, 2, 0, 1)  # (time, mel, in, out) -> (out, in, time, mel)
        self.weight.copy_(kernel * signs[:, None, None, None])
        self.bias.copy_(torch.from_numpy(conv["bias"]) * signs)

    def conv_max(self, x):
        raise NotImplementedError

    def conv_max_direct(self, x):
        """``max_f(conv'(x))`` by the library's 2-D convolution: on a GPU, and when the weights train.

        The strided products of :meth:`conv_max` are made for inference on a
        CPU; autograd through their overlapping views is slow, and a GPU runs
        cuDNN's convolution faster than a loop over patches.  The same numbers
        (to float rounding).
        """
        return F.conv2d(x[:, None], self.weight).amax(dim=3)

    def forward(self, x):
        """``(B, frames, 96)`` normalised patches -> ``(B, filters, frames)`` float32."""
        x = F.pad(x, (0, 0, *self.time_padding)).contiguous()  # conv_max takes strided views of each patch
        direct = x.device.type != "cpu" or (torch.is_grad_enabled() and self.weight.requires_grad)
        peak = (self.conv_max_direct(x) if direct else self.conv_max(x)).float() + self.bias[:, None]
        return self.norm(F.relu(peak * self.signs[:, None]))


def _inverse_dft(points: int, outputs: np.ndarray, scale: int) -> np.ndarray:
    """``(len(outputs), 2 * (points // 2 + 1))``: the inverse real DFT over ``points`` at ``outputs``, divided by
    ``scale``, on the real parts of the half spectrum, then its imaginary parts (float64)."""
    k = np.arange(points // 2 + 1)
    weight = np.where((k == 0) | (2 * k == points), 1.0, 2.0)  # the other bins stand for their conjugates too
    angle = 2 * np.pi * np.outer(outputs, k) / points
    return np.concatenate([weight * np.cos(angle), -weight * np.sin(angle)], axis=1) / scale


class TimbralBlock(FrequencyMaxBlock):
    """Filters spanning 7 frames and part of the mel axis (38 or 67 bands), max over the mel positions.

    ``compute_dtype`` float32 (:meth:`conv_max_spectral`): the correlation
    along the mel axis goes through the discrete Fourier transform of the 96
    bands, where it is a product per frequency bin; a patch then costs two
    rounds of matrix products (the 7 taps of each bin, then the inverse
    transform at the valid mel positions only), 217 and 164 million
    multiply-adds for the two layers instead of 599 and 537, with float32
    rounding below the direct product's (max error 4e-7 of the largest output
    against float64, direct 7e-7).  2x and 2.8x faster than the strided
    product below on the 2-core EPYC held to AVX2.  A patch whose input needs
    gradients takes the strided product (:meth:`conv_max_strided`): the patch
    is unfolded along the mel axis only (``U[t, j, p] = x[t, p + j]``); the 7
    time taps then need no copy, because in ``U`` the pair (tap, band offset)
    of frame ``t`` is one index with a constant stride.
    bfloat16: an im2col per patch and one matrix product, the fastest way
    measured for bfloat16 (AVX512-BF16), 1.5 to 2.5x faster than the strided
    float32 product, 1.5 to 1.8x faster than the spectral one.
    """

    def conv_max(self, x):
        taps, width = self.weight.shape[2:]
        frames, positions = x.shape[1] - taps + 1, x.shape[2] - width + 1
        if self.compute_dtype == torch.bfloat16:
            weight = self.weight[:, 0].flatten(1).bfloat16().t()  # (7 * width, filters)
            peaks = []
            for patch in x.bfloat16():
                columns = patch.unfold(0, taps, 1).unfold(1, width, 1).reshape(frames, positions, taps * width)
                peaks.append((columns @ weight).amax(dim=1))  # (frames, filters)
            return torch.stack(peaks).transpose(1, 2)
        if x.requires_grad:
            return self.conv_max_strided(x)
        return self.conv_max_spectral(x)

    SPECTRAL_CHUNK = 32  # frames per round of products: the intermediate (32, 98, 204) array stays in the L2 cache

    def spectral_plan(self, bands: int) -> list[tuple[np.ndarray, ...]]:
        """The products of :meth:`conv_max_spectral` for patches of ``bands`` mel bands: a list of groups
        ``(bins, W_re, W_im, inverse)``, float32, computed in float64 from the current weights once per change.

        For bin ``k`` of the real DFT over ``bands`` points, the correlation of
        a frame with filter ``f``'s band profile at tap ``i`` is ``X[k] *
        conj(F[f, i, k])``; with real numbers, ``(frames, 2 * taps) @ W`` gives
        the real and imaginary parts of the sum over taps, the columns of the
        input being the taps' real parts, then their imaginary parts.  One
        group: every bin alone (``bins`` ``(49, 1)``), then ``inverse``
        ``(positions, 98)``, the inverse real DFT at the valid positions (real
        parts' columns first).  Where more than half the bands are valid
        positions (the 38-band filters: 59 of 96) the even and the odd
        positions are two groups instead, each the inverse DFT over ``bands /
        2`` points of ``O[k] + conj(O[bands/2 - k])`` and of ``(O[k] -
        conj(O[bands/2 - k])) * exp(2 pi i k / bands)`` (``bins`` ``(25, 2)``:
        bins ``k`` and ``bands/2 - k`` together): twice the work in the first
        product and half in the second, 217 instead of 272 million multiply-adds
        a patch, 1.15x faster.
        """
        key = (self.weight.data_ptr(), self.weight._version, int(bands))
        cached = self.__dict__.get("_spectral")
        if cached is not None and cached[0] == key:
            return cached[1]
        kernel = self.weight.detach()[:, 0].double().cpu().numpy()  # (filters, taps, width)
        positions = bands - kernel.shape[2] + 1
        spectrum = np.conj(np.fft.rfft(kernel, n=bands, axis=2)).transpose(2, 1, 0)  # (bins, taps, filters)
        w_re = np.concatenate([spectrum.real, -spectrum.imag], axis=1)  # (bins, 2 * taps, filters): real part of O[k]
        w_im = np.concatenate([spectrum.imag, spectrum.real], axis=1)  # its imaginary part
        if 2 * positions <= bands or bands % 4:
            groups = [(np.arange(len(spectrum))[:, None], w_re, w_im, _inverse_dft(bands, np.arange(positions), bands))]
        else:
            half = bands // 2
            k = np.arange(half // 2 + 1)
            pairs = np.stack([k, half - k], axis=1)
            even_re = np.concatenate([w_re[k], w_re[half - k]], axis=1)  # O[k] + conj(O[half - k])
            even_im = np.concatenate([w_im[k], -w_im[half - k]], axis=1)
            odd_re = np.concatenate([w_re[k], -w_re[half - k]], axis=1)  # O[k] - conj(O[half - k]) ...
            odd_im = np.concatenate([w_im[k], w_im[half - k]], axis=1)
            cos, sin = (f(2 * np.pi * k / bands)[:, None, None] for f in (np.cos, np.sin))  # ... exp(2 pi i k / N)
            groups = [(pairs, even_re, even_im, _inverse_dft(half, np.arange((positions + 1) // 2), bands)),
                      (pairs, odd_re * cos - odd_im * sin, odd_re * sin + odd_im * cos,
                       _inverse_dft(half, np.arange(positions // 2), bands))]
        plan = [(bins, *(np.ascontiguousarray(a, dtype=np.float32) for a in arrays)) for bins, *arrays in groups]
        self.__dict__["_spectral"] = (key, plan)
        return plan

    def conv_max_spectral(self, x):
        """``max_f(conv'(x))`` in float32 through the DFT over the mel axis (see the class docstring).

        Per patch: the real DFT of every frame (49 bins for 96 bands); for each
        bin (or pair of bins) of a group of :meth:`spectral_plan`, the 7 time
        taps as one matrix product ``(frames, 14) @ (14, filters)`` (28 for a
        pair), written straight into a ``(frames, 2, bins, filters)`` layout;
        then, for each frame, the group's inverse DFT at its valid mel positions
        as one product ``(positions, 2 * bins) @ (2 * bins, filters)``, and the
        max over all positions.  A DFT of the whole 96 bands is exact for the
        valid positions (the circular wrap only reaches positions a valid
        correlation does not have).  The products are NumPy's (OpenBLAS, 1.25x
        MKL's for these shapes here); callers that run patches in parallel hold
        BLAS to one thread (:class:`MusicnnEmbedder`).
        """
        taps = self.weight.shape[2]
        patches = x.detach().cpu().numpy()
        n, frames_in, bands = patches.shape
        frames = frames_in - taps + 1
        plan = self.spectral_plan(bands)
        filters, positions = self.weight.shape[0], sum(len(group[3]) for group in plan)
        chunk = min(self.SPECTRAL_CHUNK, frames)
        spectra = np.fft.rfft(patches, axis=2).astype(np.complex64, copy=False)  # (n, frames_in, 49)
        parts = [np.empty((chunk, 2, len(bins), filters), dtype=np.float32) for bins, *_ in plan]
        values = np.empty((chunk, positions, filters), dtype=np.float32)
        peaks = torch.empty((n, frames, filters))
        windows = np.lib.stride_tricks.sliding_window_view
        for at, spectrum in enumerate(spectra):
            by_bin = spectrum.T  # (49, frames_in)
            taps_of = np.concatenate([windows(by_bin.real, taps, axis=1), windows(by_bin.imag, taps, axis=1)], axis=2)
            inputs = [taps_of[bins].transpose(0, 2, 1, 3).reshape(len(bins), frames, -1) for bins, *_ in plan]
            for start in range(0, frames, chunk):
                m, row = min(chunk, frames - start), 0
                for (bins, w_re, w_im, inverse), part, a in zip(plan, parts, inputs):
                    np.matmul(a[:, start : start + m], w_re, out=part[:m, 0].transpose(1, 0, 2))
                    np.matmul(a[:, start : start + m], w_im, out=part[:m, 1].transpose(1, 0, 2))
                    rows = slice(row, row + len(inverse))
                    np.matmul(inverse, part[:m].reshape(m, 2 * len(bins), filters), out=values[:m, rows])
                    row = rows.stop
                torch.amax(torch.from_numpy(values[:m]), dim=1, out=peaks[at, start : start + m])
        return peaks.transpose(1, 2)

    def conv_max_strided(self, x):
        """``max_f(conv'(x))`` in float32 by strided batched matrix products (differentiable; see the class
        docstring)."""
        weight = self.weight[:, 0].flatten(1)  # (filters, 7 * width): index tap * width + offset
        taps, width = self.weight.shape[2:]
        frames, positions = x.shape[1] - taps + 1, x.shape[2] - width + 1
        peaks = []
        for patch in x:
            unfolded = patch.unfold(1, width, 1).transpose(1, 2).contiguous()  # (frames + 6, width, positions)
            windows = unfolded.as_strided((frames, positions, taps * width), (width * positions, 1, positions))
            peaks.append(torch.matmul(windows, weight.t()).amax(dim=1))  # (frames, filters)
        return torch.stack(peaks).transpose(1, 2)


class TemporalBlock(FrequencyMaxBlock):
    """Filters spanning many frames (128, 64 or 32) and one mel band, max over the 96 bands.

    With one input channel and a kernel one band wide, the output at frame t is
    ``W (filters, k) @ x[t : t + k, :] (k, 96)``, and ``x[t : t + k]`` is a
    contiguous slice of the patch: one strided batched matrix product per patch
    over overlapping views, without the copy an im2col would make.  Several
    times faster than the 2-D convolution for these shapes.
    """

    def conv_max(self, x):
        weight = self.weight[:, 0, :, 0]  # (filters, k)
        k, bands = weight.shape[1], x.shape[2]
        frames = x.shape[1] - k + 1
        peaks = []
        for patch in x:
            windows = patch.as_strided((frames, k, bands), (bands, bands, 1))
            peaks.append(torch.matmul(weight, windows).amax(dim=2))  # (frames, filters)
        return torch.stack(peaks).transpose(1, 2)
