from __future__ import annotations

import pytest
import torch
from torch import nn

from dcutils.models import (
    FeedForwardAutoencoder,
    brb_autoencoder,
    embed,
    linear_autoencoder,
    rdc_autoencoder,
)


def _linear_shapes(seq: nn.Sequential) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in seq if isinstance(m, nn.Linear)]


def test_brb_autoencoder_layer_dims():
    model = brb_autoencoder(784, 10)
    assert _linear_shapes(model.encoder) == [(784, 1024), (1024, 512), (512, 256), (256, 10)]
    assert _linear_shapes(model.decoder) == [(10, 256), (256, 512), (512, 1024), (1024, 784)]
    # ReLU between layers, none after the embedding layer or the output layer
    assert isinstance(model.encoder[-1], nn.Linear) and isinstance(model.decoder[-1], nn.Linear)
    assert sum(isinstance(m, nn.ReLU) for m in model.encoder) == 3
    assert sum(isinstance(m, nn.ReLU) for m in model.decoder) == 3
    assert not any(isinstance(m, nn.BatchNorm1d) for m in model.modules())
    assert model.embedding_layer is model.encoder[-1]
    assert model.encoder_linears == [m for m in model.encoder if isinstance(m, nn.Linear)]
    assert model.embedding_dim == 10 and model.input_dim == 784


def test_forward_shapes_flat_and_image_input():
    model = brb_autoencoder(784, 10)
    x_img = torch.randn(5, 1, 28, 28)
    z, x_hat = model(x_img)
    assert z.shape == (5, 10) and x_hat.shape == (5, 784)
    z_flat = model.encode(x_img.reshape(5, -1))
    torch.testing.assert_close(z, z_flat)
    assert model.decode(z).shape == (5, 784)


def test_batch_norm_placement():
    model = brb_autoencoder(784, 10, batch_norm=True)
    enc = list(model.encoder)
    bn_enc = [i for i, m in enumerate(enc) if isinstance(m, nn.BatchNorm1d)]
    assert len(bn_enc) == 3
    for i in bn_enc:  # Linear -> BatchNorm -> ReLU
        assert isinstance(enc[i - 1], nn.Linear) and isinstance(enc[i + 1], nn.ReLU)
        assert enc[i].num_features == enc[i - 1].out_features
    assert isinstance(enc[-1], nn.Linear)
    assert sum(isinstance(m, nn.BatchNorm1d) for m in model.decoder) == 3
    assert isinstance(model.decoder[-1], nn.Linear)


def test_rdc_and_linear_autoencoders():
    model = rdc_autoencoder(784)
    assert _linear_shapes(model.encoder) == [(784, 500), (500, 500), (500, 2000), (2000, 10)]
    lin = linear_autoencoder()
    assert _linear_shapes(lin.encoder) == [(2, 16), (16, 2)]
    assert not any(isinstance(m, nn.ReLU) for m in lin.modules())
    # affine: encode of a midpoint is the midpoint of the encodings
    a, b = torch.randn(4, 2), torch.randn(4, 2)
    torch.testing.assert_close(lin.encode((a + b) / 2), (lin.encode(a) + lin.encode(b)) / 2)
    relu = linear_autoencoder(activation="relu")
    assert sum(isinstance(m, nn.ReLU) for m in relu.modules()) == 2


def test_input_validation():
    model = brb_autoencoder(784, 10)
    with pytest.raises(ValueError, match="784"):
        model.encode(torch.randn(3, 100))
    with pytest.raises(ValueError):
        FeedForwardAutoencoder([784])
    with pytest.raises(ValueError, match="activation"):
        FeedForwardAutoencoder([4, 2], activation="swish")


def test_embed_batches_eval_mode_and_restores_training():
    torch.manual_seed(0)
    model = FeedForwardAutoencoder([12, 8, 3], batch_norm=True)
    model.train()
    x = torch.randn(23, 12)
    model(x)  # update BatchNorm running stats so train and eval differ
    z = embed(model, x, batch_size=7)
    assert model.training, "embed must restore the training mode"
    assert not z.requires_grad
    model.eval()
    with torch.no_grad():
        expected = model.encode(x)
    torch.testing.assert_close(z, expected)
    with pytest.raises(ValueError):
        embed(model, x, batch_size=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_embed_moves_cpu_batches_to_the_model_device():
    model = brb_autoencoder(784, 10).cuda()
    z = embed(model, torch.randn(10, 784), batch_size=4)
    assert z.device.type == "cuda" and z.shape == (10, 10)
