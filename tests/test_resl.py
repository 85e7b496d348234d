"""ReSL's training primitives: network shapes, the three losses, the reset strategies, neighbour mining."""
from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dcutils.resl.losses import nt_xent, scan_loss, self_label_loss
from dcutils.resl.mining import mine_neighbours, neighbour_accuracy
from dcutils.resl.network import ClusteringModel, ContrastiveModel, ResNet18, resnet18, stage_channels
from dcutils.resl.strategies import (
    HareTortoise,
    InjectedHead,
    NoReset,
    PlasticityInjection,
    ShrinkPerturb,
    reset_due,
)


class TinyBackbone(nn.Module):
    """Flatten + Linear + BatchNorm: a backbone with parameters and running statistics."""

    out_dim = 6

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 6)
        self.bn = nn.BatchNorm1d(6)

    def forward(self, x):
        return torch.relu(self.bn(self.fc(x.flatten(1))))


def _tiny(seed: int = 0, n_clusters: int = 3) -> ClusteringModel:
    torch.manual_seed(seed)
    return ClusteringModel(TinyBackbone(), n_clusters)


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# ------------------------------------------------------------------ network
def test_resnet18_shapes_at_width_one_eighth():
    net = resnet18(in_channels=1, width=0.125)
    assert stage_channels(0.125) == (8, 16, 32, 64)
    x = torch.randn(2, 1, 28, 28)
    assert net(x).shape == (2, 64) and net.out_dim == 64
    stem = net.conv1
    assert (stem.in_channels, stem.kernel_size, stem.stride) == (1, (3, 3), (1, 1))
    assert not any(isinstance(m, nn.MaxPool2d) for m in net.modules())
    blocks = [m for m in net.modules() if type(m).__name__ == "BasicBlock"]
    assert len(blocks) == 8  # [2, 2, 2, 2]
    assert ClusteringModel(net, 10)(x).shape == (2, 10)
    assert ClusteringModel(ResNet18(1, 0.125), 10, heads=3)(x).shape == (3, 2, 10)
    z = ContrastiveModel(ResNet18(1, 0.125))(x)
    assert z.shape == (2, 128)
    torch.testing.assert_close(z.norm(dim=1), torch.ones(2))
    proj = [m for m in ContrastiveModel(ResNet18(1, 0.125)).head if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in proj] == [(64, 64), (64, 128)]


# ------------------------------------------------------------------- losses
@pytest.mark.parametrize("n, t", [(2, 0.5), (2, 0.1), (3, 1.0)])
def test_nt_xent_closed_form_for_identical_one_hot_views(n, t):
    z = torch.eye(n, 4)
    expected = math.log(1 + (2 * n - 2) * math.exp(-1 / t))  # positive cos 1, all negatives cos 0
    # float32 log-softmax: absolute error ~1e-7 when the loss is as small as 9e-5 (t = 0.1)
    assert nt_xent(z, z.clone(), temperature=t).item() == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_scan_loss_by_hand():
    anchors = torch.tensor([[0.0, 0.0], [math.log(3), 0.0]])          # p = (.5, .5), (.75, .25)
    neighbours = torch.tensor([[math.log(3), 0.0], [0.0, math.log(3)]])  # p = (.75, .25), (.25, .75)
    total, consistency, ent = scan_loss(anchors, neighbours, entropy_weight=5.0)
    dots = [0.5 * 0.75 + 0.5 * 0.25, 0.75 * 0.25 + 0.25 * 0.75]       # 0.5, 0.375
    exp_cons = -(math.log(dots[0]) + math.log(dots[1])) / 2
    mean_p = (0.625, 0.375)
    exp_ent = -sum(p * math.log(p) for p in mean_p)
    assert consistency.item() == pytest.approx(exp_cons, rel=1e-6)
    assert ent.item() == pytest.approx(exp_ent, rel=1e-6)
    assert total.item() == pytest.approx(exp_cons - 5 * exp_ent, rel=1e-6)


def test_self_label_threshold_is_strict():
    weak = torch.tensor([[4.6, 0.0]])
    p = F.softmax(weak, dim=1).max().item()  # the exact float32 confidence
    loss, n = self_label_loss(weak, weak.clone(), threshold=p)
    assert loss is None and n == 0           # exactly at the threshold: not confident
    loss, n = self_label_loss(weak, weak.clone(), threshold=p - 1e-6)
    assert loss is not None and n == 1


def test_self_label_loss_returns_none_without_confident_sample():
    weak = torch.zeros(5, 4)                  # every probability 0.25 < 0.99
    loss, n = self_label_loss(weak, torch.randn(5, 4), threshold=0.99)
    assert loss is None and n == 0


def test_self_label_loss_class_weights_by_hand():
    weak = torch.tensor([[10.0, 0.0], [10.0, 0.0], [0.0, 10.0], [0.1, 0.0]], requires_grad=True)
    strong = torch.tensor([[1.0, 2.0], [0.5, 0.0], [3.0, 1.0], [5.0, -5.0]], requires_grad=True)
    # confident: rows 0-2 (p = 0.99995), targets 0, 0, 1; row 3 (p = 0.52) is dropped

    def ce(row, y):
        return -(row[y] - math.log(sum(math.exp(v) for v in row)))

    ls = [ce([1.0, 2.0], 0), ce([0.5, 0.0], 0), ce([3.0, 1.0], 1)]
    w0, w1 = 3 / 2, 3 / 1                     # |S| / n_c
    expected = (w0 * ls[0] + w0 * ls[1] + w1 * ls[2]) / (w0 + w0 + w1)
    loss, n = self_label_loss(weak, strong, threshold=0.99, balance=True)
    assert n == 3
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert loss.item() != pytest.approx(sum(ls) / 3, rel=1e-3)  # the weights matter here
    unbalanced, _ = self_label_loss(weak, strong, threshold=0.99, balance=False)
    assert unbalanced.item() == pytest.approx(sum(ls) / 3, rel=1e-6)
    loss.backward()
    assert weak.grad is None                  # targets carry no gradient
    assert strong.grad[3].abs().sum() == 0 and strong.grad[:3].abs().sum() > 0


# --------------------------------------------------------------- schedules
def test_reset_due():
    assert [e for e in range(10) if reset_due(e, 3)] == [2, 5, 8]
    assert [e for e in range(10) if reset_due(e, 3, reset_at_epoch_zero=True)] == [0, 3, 6, 9]
    assert [e for e in range(9) if reset_due(e, 3, epochs=9)] == [2, 5]  # none after the last epoch


# ---------------------------------------------------------- shrink & perturb
@pytest.mark.parametrize("alpha", [0.3, 0.8])
def test_shrink_perturb_mixes_head_with_fresh_init_and_nothing_else(alpha):
    model = _tiny()
    model.train()(torch.randn(8, 4))          # move the BatchNorm statistics off their init
    before = _state(model)
    strategy = ShrinkPerturb(alpha, every=2, seed=7)
    assert strategy.on_epoch_end(model, 0) is False   # not due
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert strategy.on_epoch_end(model, 1) is True
    g = torch.Generator().manual_seed(7)      # PyTorch's default Linear init, drawn by hand
    fresh_w = torch.empty(3, 6)
    nn.init.kaiming_uniform_(fresh_w, a=math.sqrt(5), generator=g)
    fresh_b = torch.empty(3)
    nn.init.uniform_(fresh_b, -1 / math.sqrt(6), 1 / math.sqrt(6), generator=g)
    after = model.state_dict()
    torch.testing.assert_close(after["heads.0.weight"], alpha * before["heads.0.weight"] + (1 - alpha) * fresh_w)
    torch.testing.assert_close(after["heads.0.bias"], alpha * before["heads.0.bias"] + (1 - alpha) * fresh_b)
    assert not torch.equal(after["heads.0.weight"], before["heads.0.weight"])
    others = [k for k in before if not k.startswith("heads.")]
    assert others and all(torch.equal(after[k], before[k]) for k in others)


def test_shrink_perturb_alpha_one_is_a_no_op():
    model = _tiny()
    before = _state(model)
    assert ShrinkPerturb(1.0, every=1).on_epoch_end(model, 0) is True
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_sp_star_reaches_alpha_one_at_the_last_epoch():
    sp = ShrinkPerturb(0.5, every=1, schedule="linear", epochs=4)
    assert [sp.alpha_at(e) for e in range(4)] == [0.625, 0.75, 0.875, 1.0]
    with pytest.raises(ValueError, match="epochs"):
        ShrinkPerturb(0.5, every=1, schedule="linear")
    model = _tiny()
    sp.on_epoch_end(model, 1)                 # a real reset on the way (alpha 0.75)
    before = _state(model)
    assert sp.on_epoch_end(model, 3) is False  # after the last epoch: nothing
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


# ---------------------------------------------------------- hare & tortoise
def test_hare_tortoise_ema_reset_and_eval_model():
    mu = 0.9
    model = _tiny()
    ht = HareTortoise(mu, every=2, update="step")
    ht.start(model)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    model.train()
    for _step in range(2):
        old = _state(ht.tortoise)
        loss = model(torch.randn(8, 4)).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        ht.after_step(model)
        hare = model.state_dict()
        for k, v in ht.tortoise.state_dict().items():
            if v.is_floating_point():
                torch.testing.assert_close(v, mu * old[k] + (1 - mu) * hare[k], rtol=0, atol=1e-7)
            else:
                assert torch.equal(v, hare[k])
        assert not torch.equal(ht.tortoise.state_dict()["heads.0.weight"], hare["heads.0.weight"])
    assert ht.eval_model(model) is ht.tortoise
    assert ht.on_epoch_end(model, 0, opt) is False
    assert not torch.equal(model.state_dict()["backbone.fc.weight"],
                           ht.tortoise.state_dict()["backbone.fc.weight"])
    assert ht.on_epoch_end(model, 1, opt) is True
    for k, v in model.state_dict().items():
        assert torch.equal(v, ht.tortoise.state_dict()[k]), k
    assert not any(p.requires_grad for p in ht.tortoise.parameters())


def test_hare_tortoise_per_epoch_update_waits_for_the_epoch_end():
    model = _tiny()
    ht = HareTortoise(0.5, every=10, update="epoch")
    ht.start(model)
    t0 = _state(ht.tortoise)
    with torch.no_grad():
        model.heads[0].weight.add_(1.0)
    ht.after_step(model)
    assert torch.equal(ht.tortoise.state_dict()["heads.0.weight"], t0["heads.0.weight"])
    ht.on_epoch_end(model, 0)
    torch.testing.assert_close(ht.tortoise.state_dict()["heads.0.weight"], t0["heads.0.weight"] + 0.5)


def _train(strategy, seed: int = 0, epochs: int = 3, batches: int = 1) -> tuple[dict, int]:
    """A few self-labeling steps of a tiny ResNet on random data; returns the evaluated state and #resets."""
    data = torch.Generator().manual_seed(123)
    xs = torch.randn(epochs, batches, 4, 1, 8, 8, generator=data)
    noise = 0.1 * torch.randn(epochs, batches, 4, 1, 8, 8, generator=data)
    torch.manual_seed(seed)
    model = ClusteringModel(resnet18(1, 0.125), 3)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-4)
    strategy.start(model)
    resets = 0
    for e in range(epochs):
        model.train()
        for b in range(batches):
            with torch.no_grad():
                weak = model(xs[e, b])
            loss, _ = self_label_loss(weak, model(xs[e, b] + noise[e, b]), threshold=0.0)
            opt.zero_grad()
            loss.backward()
            opt.step()
            strategy.after_step(model)
        resets += strategy.on_epoch_end(model, e, opt)
    return _state(strategy.eval_model(model)), resets


def test_sp_alpha_one_and_ht_momentum_zero_reproduce_training_without_resets():
    reference, _ = _train(NoReset())
    for strategy in (ShrinkPerturb(1.0, every=1), HareTortoise(0.0, every=1)):
        state, resets = _train(strategy)
        assert resets == 3
        assert all(torch.equal(state[k], reference[k]) for k in reference), type(strategy).__name__
    reference, _ = _train(NoReset(), epochs=1)
    perturbed, _ = _train(ShrinkPerturb(0.5, every=1), epochs=1)   # the comparison can fail
    assert not torch.equal(perturbed["heads.0.weight"], reference["heads.0.weight"])


# ------------------------------------------------------- plasticity injection
def test_plasticity_injection_keeps_logits_and_trains_only_h1():
    model = _tiny()
    model.eval()
    x = torch.randn(5, 4)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    before = model(x)
    pi = PlasticityInjection([2], seed=3)
    assert pi.on_epoch_end(model, 0, opt) is False
    assert pi.on_epoch_end(model, 1, opt) is True
    head = model.heads[0]
    assert isinstance(head, InjectedHead) and len(opt.param_groups) == 2
    assert torch.equal(model(x), before)
    assert not torch.equal(head.h1.weight, head.h.weight)   # h1 is fresh
    frozen = {"h": _state(head.h), "h2": _state(head.h2)}
    h1_before = _state(head.h1)
    loss = model(x).logsumexp(dim=1).mean() - model(x)[:, 0].mean()
    opt.zero_grad()
    loss.backward()
    assert head.h.weight.grad is None and head.h2.weight.grad is None
    assert head.h1.weight.grad.abs().sum() > 0
    opt.step()
    assert all(torch.equal(v, frozen["h"][k]) for k, v in head.h.state_dict().items())
    assert all(torch.equal(v, frozen["h2"][k]) for k, v in head.h2.state_dict().items())
    assert not torch.equal(head.h1.weight, h1_before["weight"])
    with pytest.raises(ValueError, match="optimizer"):
        PlasticityInjection([1]).on_epoch_end(copy.deepcopy(model), 0, None)


# ------------------------------------------------------------------ mining
def test_mine_neighbours_excludes_self_and_finds_the_nearest():
    deg = torch.tensor([0.0, 5.0, 12.0, 90.0, 96.0, 101.0, 0.0])  # point 6 duplicates point 0
    scale = torch.tensor([1.0, 10.0, 0.5, 2.0, 1.0, 7.0, 3.0])     # cosine: lengths do not matter
    rad = deg * math.pi / 180
    feats = torch.stack([rad.cos(), rad.sin()], dim=1) * scale[:, None]
    idx = mine_neighbours(feats, k=2, batch_size=3)
    assert idx.shape == (7, 2) and idx.dtype == torch.long
    assert all(i not in idx[i].tolist() for i in range(7))
    assert idx[0].tolist() == [6, 1] and idx[6].tolist() == [0, 1]
    assert idx[1].tolist()[0] in (0, 6) and idx[2].tolist()[0] == 1
    assert idx[3].tolist() == [4, 5] and idx[5].tolist() == [4, 3]
    labels = torch.tensor([0, 0, 0, 1, 1, 1, 0])
    assert neighbour_accuracy(idx, labels) == 1.0
    assert neighbour_accuracy(torch.tensor([[1], [0], [0]]), torch.tensor([0, 0, 1])) == pytest.approx(2 / 3)
