"""BRB with BatchNorm as the authors' runs had it (issue 20): the first clustering's mode and DEC's view passes.

Checked by hand on a tiny network: a Linear layer followed by BatchNorm1d whose per-batch normalisation and
running-statistics updates are computed here with plain tensor arithmetic.
"""
from __future__ import annotations

import pandas as pd
import pytest
import torch
from torch import nn

from dcutils import brb
from dcutils.core import RunConfig, RunContext
from dcutils.data import Dataset
from dcutils.models import brb_autoencoder, embed


class _TinyBN(nn.Module):
    """encode = BatchNorm1d(Linear(x)); decode = Linear(z). Enough to see which statistics a pass uses."""

    def __init__(self, d: int = 3, k: int = 2):
        super().__init__()
        torch.manual_seed(0)
        self.lin = nn.Linear(d, k)
        self.bn = nn.BatchNorm1d(k)
        self.dec = nn.Linear(k, d)

    def encode(self, x):
        return self.bn(self.lin(x.reshape(x.shape[0], -1)))

    def decode(self, z):
        return self.dec(z)


def _by_hand_train_mode(h: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """BatchNorm1d in train mode at its initial affine (weight 1, bias 0): each batch by its own statistics."""
    return (h - h.mean(0)) / torch.sqrt(h.var(0, unbiased=False) + eps)


def test_train_mode_embedding_normalises_each_batch_in_data_order_and_updates_running_statistics():
    model = _TinyBN()
    x = torch.randn(10, 3) * 3 + 1
    h = model.lin(x).detach()
    z = embed(model, x, batch_size=4, train_mode=True)
    # batches 0:4, 4:8, 8:10 each normalised by its own mean and variance
    expected = torch.cat([_by_hand_train_mode(h[a:b]) for a, b in ((0, 4), (4, 8), (8, 10))])
    torch.testing.assert_close(z, expected, rtol=1e-4, atol=1e-5)
    # three running-statistics updates at momentum 0.1, starting from mean 0
    mean = torch.zeros(2)
    for a, b in ((0, 4), (4, 8), (8, 10)):
        mean = 0.9 * mean + 0.1 * h[a:b].mean(0)
    torch.testing.assert_close(model.bn.running_mean, mean, rtol=1e-5, atol=1e-6)
    assert int(model.bn.num_batches_tracked) == 3
    assert model.training  # the mode it had before is restored

    # eval mode: the running statistics normalise every sample alike, and nothing is updated
    model2 = _TinyBN()
    z_eval = embed(model2, x, batch_size=4)
    torch.testing.assert_close(z_eval, h / torch.sqrt(torch.ones(2) + 1e-5), rtol=1e-4, atol=1e-5)
    assert int(model2.bn.num_batches_tracked) == 0


def test_train_mode_embedding_joins_a_last_batch_of_one_sample_to_the_batch_before():
    model = _TinyBN()
    x = torch.randn(9, 3)
    z = embed(model, x, batch_size=4, train_mode=True)
    h = model.lin(x).detach()
    expected = torch.cat([_by_hand_train_mode(h[:4]), _by_hand_train_mode(h[4:])])
    torch.testing.assert_close(z, expected, rtol=1e-4, atol=1e-5)


def _blobs(n: int = 64, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    protos = torch.randn(4, 1, 8, 8, generator=g) * 2
    y = torch.arange(4).repeat_interleave(n // 4)
    x = protos[y] + 0.4 * torch.randn(len(y), 1, 8, 8, generator=g)
    return ((x - x.mean()) / x.std()).contiguous(), y


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_first_clustering_embeds_in_the_mode_asked_for(mode, monkeypatch):
    """The initial k-means sees the train-mode embedding (batches of batch_size in data order) or the eval one."""
    x, y = _blobs()
    torch.manual_seed(0)
    model = brb_autoencoder(64, 4, batch_norm=True)
    seen = []
    real = brb.train.km.kmeans

    def spy(z, k, **kw):
        seen.append(z.clone())
        return real(z, k, **kw)

    monkeypatch.setattr(brb.train.km, "kmeans", spy)
    fresh = {k: v.clone() for k, v in model.state_dict().items()}
    brb.train_clustering(model, x, y, method="dec", variant="none", cluster_epochs=1, batch_size=16,
                         augment=False, first_clustering=mode, metrics_subsample=None)
    ref = brb_autoencoder(64, 4, batch_norm=True)
    ref.load_state_dict(fresh)
    expected = embed(ref, x, batch_size=16, train_mode=True) if mode == "train" else embed(ref, x)
    torch.testing.assert_close(seen[0], expected)
    if mode == "train":  # it differs from the eval-mode embedding of the same fresh network
        assert not torch.allclose(seen[0], embed(ref, x), atol=1e-3)


def test_dec_with_batchnorm_passes_its_views_as_the_authors_code():
    """DEC ("authors"): one no-grad pass over both views, then the augmented and the clean view alone (three
    running-statistics updates, each view normalised by its own batch); IDEC / DCN: both views as one batch."""
    x, x_aug = torch.randn(8, 3), torch.randn(8, 3) * 2 + 1
    c = torch.randn(2, 2)
    model = _TinyBN()
    model.train()
    _, _, cluster, _ = brb.clustering_loss("dec", model, x, c, x_aug)
    assert int(model.bn.num_batches_tracked) == 3
    h, h_aug = model.lin(x).detach(), model.lin(x_aug).detach()
    z, z_aug = _by_hand_train_mode(h), _by_hand_train_mode(h_aug)
    assert float(cluster.detach()) == pytest.approx(float(brb.dec_cluster_loss(z, c, z_aug).detach()), rel=1e-4)
    mean = torch.zeros(2)
    for part in (torch.cat([h_aug, h]), h_aug, h):
        mean = 0.9 * mean + 0.1 * part.mean(0)
    torch.testing.assert_close(model.bn.running_mean, mean, rtol=1e-5, atol=1e-6)

    model = _TinyBN()
    model.train()
    _, recon, cluster, _ = brb.clustering_loss("idec", model, x, c, x_aug)
    assert int(model.bn.num_batches_tracked) == 1
    zz = _by_hand_train_mode(torch.cat([h_aug, h]))
    assert float(cluster.detach()) == pytest.approx(float(brb.dec_cluster_loss(zz[8:], c, zz[:8]).detach()), rel=1e-4)
    x_hat = model.dec(zz)
    by_hand = ((x_hat - torch.cat([x_aug, x])) ** 2).mean().detach()
    assert float(recon.detach()) == pytest.approx(float(by_hand), rel=1e-4)


def test_without_batchnorm_the_view_passes_and_first_clustering_change_nothing():
    x, y = _blobs()
    out = []
    for fc, vp in (("train", "authors"), ("eval", "joint")):
        torch.manual_seed(0)
        model = brb_autoencoder(64, 4)
        r = brb.train_clustering(model, x, y, method="dec", variant="none", cluster_epochs=2, batch_size=16,
                                 augment=True, first_clustering=fc, view_passes=vp, metrics_subsample=None,
                                 generator=torch.Generator().manual_seed(1))
        out.append(r.history["acc"].tolist())
    assert out[0] == pytest.approx(out[1], abs=1e-9)


def test_run_dc_embeds_a_fresh_network_in_train_mode_and_a_pretrained_one_in_eval_mode(monkeypatch):

    x, y = _blobs()
    data = Dataset(x=x, y=y, name="toy", info={"n_classes": 4, "display_name": "toy", "channel_mean": [0.0],
                                               "channel_std": [1.0]})
    monkeypatch.setattr(brb.run, "_load", lambda *a: data)
    modes = []

    class Seen(Exception):
        pass

    def spy(*a, **kw):
        modes.append(kw["first_clustering"])
        raise Seen

    monkeypatch.setattr(brb.run, "train_clustering", spy)
    pretrained = brb_autoencoder(64, 4, batch_norm=True)
    pretrained.pretrain_info = {"from_cache": True, "losses": []}
    monkeypatch.setattr(brb.run, "pretrained_autoencoder", lambda *a, **kw: pretrained)
    for pretrain in (False, True):
        cfg = RunConfig.make("brb.dc", "usps", seed=0, profile="smoke", pretrain=pretrain, subsample=64,
                             batch_size=16)
        with pytest.raises(Seen):
            brb.run_dc(cfg, RunContext(cfg, torch.device("cpu")))
    assert modes == ["train", "eval"]


def test_crosscheck_compares_per_epoch_means_unpaired_within_two_standard_errors():
    from dcutils.brb import crosscheck

    theirs = crosscheck.brb_authors_dec_optdigits()
    assert set(theirs["variant"]) == {"DEC", "DEC+BRB"} and theirs.groupby("variant")["seed"].nunique().min() == 3
    assert theirs["epoch"].max() == 130 and theirs["acc"].between(0, 100).all()
    ours = pd.DataFrame({"variant": ["DEC"] * 3 + ["DEC+BRB"] * 3, "seed": [0, 1, 2] * 2, "epoch": [0] * 6,
                         "acc": [40.0, 42.0, 44.0, 10.0, 11.0, 12.0]})
    their0 = theirs[(theirs["variant"] == "DEC") & (theirs["epoch"] == 0)]["acc"]
    table = crosscheck.comparison(ours, theirs).set_index("variant")
    dec = table.loc["DEC"]
    assert dec["ours"] == pytest.approx(42.0) and dec["ours_se"] == pytest.approx(2 / 3 ** 0.5)
    assert dec["theirs"] == pytest.approx(their0.mean())
    se = (dec["ours_se"] ** 2 + their0.std(ddof=1) ** 2 / 3) ** 0.5
    assert dec["difference"] == pytest.approx(42.0 - their0.mean()) and dec["difference_se"] == pytest.approx(se)
    assert dec["agrees"] == ("yes" if abs(dec["difference"]) <= 2 * se else "no")
    assert table.loc["DEC+BRB", "agrees"] == "no"  # 11 % against the authors' ~43 %


def test_table5_shows_the_texts_batchnorm_and_the_runs_one_which_brb_dc_uses():
    from dcutils import hparams
    from dcutils.core import get_algorithm

    rows = {name: value for _, name, value in hparams.BRB_GRAYSCALE.rows()}
    assert rows["BatchNorm"].startswith("False in the text; True in the authors' runs")
    assert get_algorithm("brb.dc").defaults["batch_norm"] is hparams.BRB_GRAYSCALE.batch_norm_runs is True
    same = hparams.BRBAutoencoderSetup(batch_norm=True)
    assert {n: v for _, n, v in same.rows()}["BatchNorm"] == "True"
