"""Smoke tests of mer_utils.models: output shapes, one learning step, the time axis."""

from __future__ import annotations

import pytest
import torch

from mer_utils.errors import MerError
from mer_utils.phase2.models import PHASE2_MODELS, count_parameters, time_sequence
from mer_utils.training.modelfile import build_model

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.mark.parametrize("name", PHASE2_MODELS)
def test_phase2_output_shape(name):
    model = build_model(name, seed=0).eval()
    with torch.no_grad():
        out = model(torch.randn(3, 1, 128, 128))
    assert out.shape == (3, 1)


def test_mlp_output_shape():
    model = build_model("EmotionMLP", seed=0).eval()
    assert model(torch.randn(5, 2048)).shape == (5, 2)
    assert count_parameters(model) == 2048 * 512 + 512 + 512 * 128 + 128 + 128 * 2 + 2


@pytest.mark.parametrize("name", [*PHASE2_MODELS, "EmotionMLP"])  # the fine-tuned backbones: tests/test_finetune.py
def test_one_step_lowers_the_loss(name):
    torch.manual_seed(0)
    inputs = {"EmotionMLP": ((4, 2048), (4, 2)), "DynamicGRU": ((4, 6, 2048), (4, 6, 2))}  # songs x frames x dim
    x_shape, y_shape = inputs.get(name, ((4, 1, 128, 128), (4, 1)))
    x, y = torch.randn(*x_shape), torch.randn(*y_shape)
    model = build_model(name, seed=0).train()
    optimiser = torch.optim.SGD(model.parameters(), lr=1e-4)

    def loss():
        torch.manual_seed(1)  # the same dropout mask both times
        return ((model(x) - y) ** 2).mean()

    before = loss()
    optimiser.zero_grad()
    before.backward()
    optimiser.step()
    with torch.no_grad():
        after = loss()
    assert float(after) < float(before.detach())


def test_unknown_model_name():
    with pytest.raises(MerError, match="unknown model 'CNN9'"):
        build_model("CNN9")


def test_gru_sequence_runs_over_time():
    """Chunks are (mel band, frame): the sequence must step along the last (frame) axis."""
    fmap = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)  # (B, C, F, T)
    seq = time_sequence(fmap)
    assert seq.shape == (2, 5, 12)
    b, c, f, t = 1, 2, 3, 4
    assert seq[b, t, c * 4 + f] == fmap[b, c, f, t]
    model = build_model("EmotionCNN_GRU", seed=0)
    assert model.gru.input_size == 64 * 16


def test_attention_weights_sum_to_one():
    model = build_model("EmotionCNN_GRU_Attention", seed=0).eval()
    weights = model.attention_weights(torch.randn(2, 1, 128, 128))
    assert weights.shape == (2, 16)
    assert torch.allclose(weights.sum(dim=1), torch.ones(2))


def test_seeded_builds_are_identical():
    a, b = build_model("EmotionCNN", seed=7), build_model("EmotionCNN", seed=7)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_wrong_input_shape_is_a_clear_error():
    with pytest.raises(MerError, match=r"\(B, 1, 128, 128\)"):
        build_model("EmotionCNN")(torch.randn(2, 1, 64, 128))


def test_pooling_before_the_relu_gives_the_report_blocks_outputs_and_gradients():
    from torch import nn

    from mer_utils.phase2.models import conv_block

    torch.manual_seed(0)
    ours = conv_block(1, 16)
    conv, norm, pool, relu = ours
    assert isinstance(pool, nn.MaxPool2d) and isinstance(relu, nn.ReLU)
    report = nn.Sequential(conv, norm, nn.ReLU(), nn.MaxPool2d(2))  # the report's order, the same parameters
    x = torch.randn(4, 1, 32, 32)
    outputs, grads = [], []
    for block in (ours, report):
        block.zero_grad()
        out = block(x)
        (out * torch.linspace(-1, 1, out.numel()).reshape(out.shape)).sum().backward()
        outputs.append(out.detach())
        grads.append([p.grad.clone() for p in block.parameters()])
    assert torch.equal(outputs[0], outputs[1])
    for ours_grad, report_grad in zip(*grads):
        torch.testing.assert_close(ours_grad, report_grad, rtol=0, atol=1e-6)
