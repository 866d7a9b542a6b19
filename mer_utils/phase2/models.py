"""The four networks of Phase 2, as PyTorch modules.

Used by: ``notebooks/phase2_train.py``, which trains four regressors on one 3-second
log-mel chunk each, one model per target (valence or arousal):

* ``EmotionCNN``: three conv blocks, then a dense head (the baseline);
* ``EmotionCNN_SE_Temporal``: conv blocks with squeeze-and-excitation, then a
  1-D convolution along the flattened time axis;
* ``EmotionCNN_GRU``: SE conv blocks, then a GRU over the 16 time steps whose
  last hidden state feeds the head;
* ``EmotionCNN_GRU_Attention``: as above, but an attention layer averages all
  16 GRU outputs instead of taking the last one.

Input layout.  A chunk is stored as ``(n_mels, n_frames) = (128, 128)`` (see
:mod:`mer_utils.phase2.logmel`): **rows are mel bands (frequency), columns are
frames (time)**, so a batch is ``(B, 1, F=128, T=128)``.  After three conv
blocks (each halving both axes) the map is ``(B, 64, F=16, T=16)``.  The GRU
models move the time axis forward, ``(B, 64, 16, 16) -> (B, T=16, C*F=1024)``,
so that the recurrence runs over time, not over frequency.

Every Phase 2 model returns ``(B, 1)``.  :mod:`mer_utils.training.modelfile` builds them by name.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import MerError

N_MELS = 128
N_FRAMES = 128
CHANNELS = (16, 32, 64)
DROPOUT = 0.3
GRU_HIDDEN = 64
SE_REDUCTION = 8  # the report gives no ratio; 8 keeps 2, 4 and 8 hidden units for 16, 32 and 64 channels


class SEBlock(nn.Module):
    """Squeeze-and-excitation: reweight each channel by a learned gate in (0, 1).

    Squeeze: average each channel over the whole map.  Excite: two dense layers
    (``C -> C/reduction -> C``, ReLU then sigmoid) give one gate per channel,
    which multiplies that channel's map.
    """

    def __init__(self, channels: int, reduction: int = SE_REDUCTION):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(channels, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, channels),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.gate(x)
        return x * weights[:, :, None, None]


def conv_block(in_channels: int, out_channels: int, se: bool = False) -> nn.Sequential:
    """Conv2d(3x3, padding 1) -> BatchNorm2d -> ReLU -> MaxPool2d(2) [-> SEBlock], computed pool first.

    The report's block is Conv -> BN -> ReLU -> MaxPool.  ReLU and a max
    commute exactly (``max(relu(a), relu(b)) == relu(max(a, b))``), so the
    block pools first and applies the ReLU to the pooled map: the same outputs
    and the same gradients, with the ReLU and its backward pass on a quarter of
    the values (about 1.1x faster training on CPU).  Only the order inside the
    ``nn.Sequential`` differs; the parameters, their names and saved models are
    unchanged.

    The SE gate follows the pooling, as the report draws it for its model 4
    (its text for models 2 and 3 puts the gate before the pool).  The gate is a
    positive factor per channel, so max pooling gives the same map either way;
    only the average the gate is computed from differs (pooled or full map),
    and gating the pooled map costs a quarter of the memory traffic.
    """
    layers = [
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
        nn.BatchNorm2d(out_channels),
        nn.MaxPool2d(2),
        nn.ReLU(inplace=True),
    ]
    if se:
        layers.append(SEBlock(out_channels))
    return nn.Sequential(*layers)


def conv_stack(se: bool) -> nn.Sequential:
    """Three conv blocks, 1 -> 16 -> 32 -> 64 channels: (B,1,128,128) -> (B,64,16,16)."""
    channels = (1,) + CHANNELS
    return nn.Sequential(*[conv_block(channels[i], channels[i + 1], se=se) for i in range(len(CHANNELS))])


def regression_head(in_features: int, outputs: int = 1) -> nn.Sequential:
    """Dense ``in_features -> 128``, ReLU, Dropout(0.3), dense ``128 -> outputs``."""
    return nn.Sequential(
        nn.Linear(in_features, 128),
        nn.ReLU(inplace=True),
        nn.Dropout(DROPOUT),
        nn.Linear(128, outputs),
    )


def _check_input(x: torch.Tensor) -> None:
    if x.dim() != 4 or x.shape[1:] != (1, N_MELS, N_FRAMES):
        raise MerError(
            f"expected a batch of log-mel chunks of shape (B, 1, {N_MELS}, {N_FRAMES}), got {tuple(x.shape)}; "
            "build the inputs with mer_utils.phase2.datasets.ChunkDataset."
        )


def time_sequence(feature_map: torch.Tensor) -> torch.Tensor:
    """(B, C, F, T) -> (B, T, C*F): one feature vector per time step.

    For the (B, 64, 16, 16) map of :func:`conv_stack` this is (B, 16, 1024).
    """
    batch, channels, freq, time = feature_map.shape
    return feature_map.permute(0, 3, 1, 2).reshape(batch, time, channels * freq)


class EmotionCNN(nn.Module):
    """Model 1, the baseline: three conv blocks, flatten (16,384), dense 128, dropout, 1."""

    def __init__(self):
        super().__init__()
        self.features = conv_stack(se=False)
        self.head = regression_head(CHANNELS[-1] * 16 * 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x)
        return self.head(torch.flatten(self.features(x), 1))


class EmotionCNN_SE_Temporal(nn.Module):
    """Model 2: SE conv blocks, then a 1-D convolution over the flattened time-frequency axis.

    The (B, 64, F=16, T=16) map is reshaped to (B, 64, F*T=256) with time as the
    fast axis, so the kernel of 3 slides over neighbouring frames of each
    frequency row.  Conv1d(64 -> 64, kernel 3, padding 1) -> BatchNorm1d -> ReLU,
    then flatten (16,384), dense 128, dropout, 1.
    """

    def __init__(self):
        super().__init__()
        channels = CHANNELS[-1]
        self.features = conv_stack(se=True)
        self.temporal = nn.Sequential(
            nn.Conv1d(channels, channels, kernel_size=3, padding=1),
            nn.BatchNorm1d(channels),
            nn.ReLU(inplace=True),
        )
        self.head = regression_head(channels * 16 * 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x)
        fmap = self.features(x)
        sequence = self.temporal(torch.flatten(fmap, 2))  # (B, 64, F*T)
        return self.head(torch.flatten(sequence, 1))


class EmotionCNN_GRU(nn.Module):
    """Model 3: SE conv blocks, a one-layer GRU (hidden 64) over the 16 time steps.

    The GRU's final hidden state -> dense 128 -> ReLU -> Dropout(0.3) -> 1.
    """

    def __init__(self, hidden: int = GRU_HIDDEN):
        super().__init__()
        self.features = conv_stack(se=True)
        self.gru = nn.GRU(input_size=CHANNELS[-1] * 16, hidden_size=hidden, num_layers=1, batch_first=True)
        self.head = regression_head(hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x)
        _, last = self.gru(time_sequence(self.features(x)))  # last: (1, B, hidden)
        return self.head(last[-1])


class EmotionCNN_GRU_Attention(nn.Module):
    """Model 4: as model 3, but attention pools all 16 GRU outputs.

    A linear layer scores each step's GRU output (64 -> 1); a softmax over the
    16 steps turns the scores into weights; the weighted average of the outputs
    (B, 64) -> dense 128 -> ReLU -> Dropout(0.3) -> 1.
    :meth:`attention_weights` returns the (B, 16) weights for inspection.
    """

    def __init__(self, hidden: int = GRU_HIDDEN):
        super().__init__()
        self.features = conv_stack(se=True)
        self.gru = nn.GRU(input_size=CHANNELS[-1] * 16, hidden_size=hidden, num_layers=1, batch_first=True)
        self.score = nn.Linear(hidden, 1)
        self.head = regression_head(hidden)

    def _outputs_and_weights(self, x: torch.Tensor):
        _check_input(x)
        outputs, _ = self.gru(time_sequence(self.features(x)))  # (B, T, hidden)
        weights = torch.softmax(self.score(outputs).squeeze(-1), dim=1)  # (B, T)
        return outputs, weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs, weights = self._outputs_and_weights(x)
        context = torch.bmm(weights.unsqueeze(1), outputs).squeeze(1)  # (B, hidden)
        return self.head(context)

    @torch.no_grad()
    def attention_weights(self, x: torch.Tensor) -> torch.Tensor:
        """Attention weight of each of the 16 time steps (rows sum to 1)."""
        return self._outputs_and_weights(x)[1]


PHASE2_MODELS = ["EmotionCNN", "EmotionCNN_SE_Temporal", "EmotionCNN_GRU", "EmotionCNN_GRU_Attention"]
CNN_CLASSES = {
    "EmotionCNN": EmotionCNN,
    "EmotionCNN_SE_Temporal": EmotionCNN_SE_Temporal,
    "EmotionCNN_GRU": EmotionCNN_GRU,
    "EmotionCNN_GRU_Attention": EmotionCNN_GRU_Attention,
}
LABELS = {
    "EmotionCNN": "CNN baseline",
    "EmotionCNN_SE_Temporal": "CNN + SE + temporal conv",
    "EmotionCNN_GRU": "CNN + SE + GRU",
    "EmotionCNN_GRU_Attention": "CNN + SE + GRU + attention",
}


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def summary(model: nn.Module):
    """One row per top-level part of ``model``: its name, type and parameter count."""
    import pandas as pd

    rows = [
        {"part": name, "type": type(module).__name__, "parameters": sum(p.numel() for p in module.parameters())}
        for name, module in model.named_children()
    ]
    rows.append({"part": "total", "type": type(model).__name__, "parameters": count_parameters(model)})
    return pd.DataFrame(rows)
