"""Stacked groups (issue 25): R networks trained as one, each run as it is alone up to float reordering.

How close "alike" can be: BRB's networks with BatchNorm have a Linear bias before every BatchNorm whose
true gradient is 0 (the normalisation removes it); what reaches Adam is rounding noise (~1e-9), which
Adam (eps 1e-8) turns into steps of a sizeable fraction of the learning rate, so the same single run on
1 and on 2 CPU threads already drifts apart by points of ACC within a few epochs. The strict comparison
(final metrics within 1e-4) is therefore made without BatchNorm, from pretrained networks (separated
clusters: no sample sits on a tie that rounding could flip) and at a small learning rate, where the
float noise stays at rounding level; with BatchNorm the step itself is compared (losses, gradients and
running statistics of one mini-batch) and the first epoch.
"""
from __future__ import annotations

import copy
import inspect
import json
import warnings

import _tiny_algorithms as tiny  # noqa: F401  (registers test.tiny and its group)
import numpy as np
import pytest
import torch
from torch import nn

from dcutils import brb, executors, runs
from dcutils.brb import run as brb_run
from dcutils.brb.pretrain import new_model, pretrain_autoencoder
from dcutils.brb.stacked import PER_RUN, SHARED, train_clustering_group
from dcutils.data import load_dataset
from dcutils.models import FeedForwardAutoencoder
from dcutils.runs import RunConfig
from dcutils.stacking import StackedNetworks

pytestmark = pytest.mark.filterwarnings("ignore:.*batching rule.*")


def _nets(n: int, batch_norm: bool = True, dims=(64, 32, 8)) -> list[nn.Module]:
    torch.manual_seed(0)
    return [FeedForwardAutoencoder(dims, batch_norm=batch_norm) for _ in range(n)]


def _recon(net: nn.Module, xb: torch.Tensor) -> torch.Tensor:
    return (net.decode(net.encode(xb)) - xb.reshape(len(xb), -1)).pow(2).mean()


# ----------------------------------------------------------------------------- the stack itself


def test_views_alias_their_row_of_the_stack():
    nets = _nets(3)
    before = [n.encoder[0].weight.detach().clone() for n in nets]
    stack = StackedNetworks(nets)
    with torch.no_grad():
        nets[1].encoder[0].weight.mul_(2.0)  # what a soft reset does to a view
    rows = stack.params["encoder.0.weight"]
    assert torch.equal(rows[1], 2.0 * before[1])
    assert torch.equal(rows[0], before[0]) and torch.equal(rows[2], before[2])
    nets[2].train()
    with torch.no_grad():
        nets[2].encode(torch.randn(16, 64))  # a train-mode pass of one view moves that run's statistics only
    stats = stack.buffers["encoder.1.running_mean"]
    assert stats[2].abs().sum() > 0 and stats[0].abs().sum() == 0 and stats[1].abs().sum() == 0


def test_one_batched_call_equals_each_network_alone_with_batchnorm():
    nets = _nets(3)
    alone = [copy.deepcopy(n) for n in nets]
    stack = StackedNetworks(nets).train()
    x = torch.randn(3, 16, 64, generator=torch.Generator().manual_seed(1))
    losses = stack.map(_recon, x)
    losses.sum().backward()
    for r, net in enumerate(alone):
        net.train()
        loss = _recon(net, x[r])
        loss.backward()
        assert abs(loss.item() - losses[r].item()) < 1e-6
        for name, p in net.named_parameters():
            assert torch.allclose(p.grad, stack.params[name].grad[r], atol=1e-6), name
        for name, b in net.named_buffers():
            assert torch.allclose(b.float(), stack.buffers[name][r].float(), atol=1e-6), name


def test_gradient_clipping_is_each_runs_own():
    nets = _nets(3, batch_norm=False)
    alone = [copy.deepcopy(n) for n in nets]
    own = [nn.Parameter(torch.randn(4, 8)) for _ in range(3)]
    own_alone = [nn.Parameter(c.detach().clone()) for c in own]
    stack = StackedNetworks(nets)
    x = torch.randn(3, 16, 64) * torch.tensor([0.1, 1.0, 10.0]).view(3, 1, 1)  # norms on both sides of the bound
    (stack.map(_recon, x).sum() + sum((c ** 2).sum() for c in own)).backward()
    norms = stack.clip_grad_norms_(12.0, [[c] for c in own])
    for r, net in enumerate(alone):
        (_recon(net, x[r]) + (own_alone[r] ** 2).sum()).backward()
        expected = nn.utils.clip_grad_norm_([*net.parameters(), own_alone[r]], 12.0)
        assert abs(float(expected) - float(norms[r])) <= 1e-5 * float(expected)
        for name, p in net.named_parameters():
            assert torch.allclose(p.grad, stack.params[name].grad[r], rtol=1e-5, atol=1e-7), name
        assert torch.allclose(own_alone[r].grad, own[r].grad, rtol=1e-5, atol=1e-7)
    assert float(norms.min()) < 12.0 < float(norms.max())  # one run clipped, another not


def test_networks_of_different_shapes_do_not_stack():
    with pytest.raises(ValueError, match="one architecture"):
        StackedNetworks([FeedForwardAutoencoder((64, 32, 8)), FeedForwardAutoencoder((64, 16, 8))])
    with pytest.raises(ValueError, match="at least one"):
        StackedNetworks([])


# ----------------------------------------------------------------------------- BRB's clustering loop

RUNS = [dict(variant="brb", reset_interval=2, recluster_subsample=256, n_init=3),
        dict(variant="none", reset_interval=2, recluster_subsample=256, n_init=3),
        dict(variant="recluster", reset_interval=1, recluster_subsample=256, n_init=3)]


#: Reconstruction pretraining of the toy networks: enough for separated clusters (NMI ~0.7-0.8), so no
#: sample sits on a tie between two centroids that rounding could flip.
PRETRAIN_EPOCHS = 40


@pytest.fixture(scope="module")
def digits():
    data = load_dataset("optdigits", split="all", seed=0)
    x = data.x[:512]
    nets = []
    for s in range(len(RUNS)):
        net = new_model(data, s, "cpu", batch_norm=False)
        pretrain_autoencoder(net, x, epochs=PRETRAIN_EPOCHS, batch_size=64,
                             generator=torch.Generator().manual_seed(s))
        nets.append(net)
    return data, x, data.y[:512], nets


def _both(digits, method, *, batch_norm=False, epochs=4, lr=1e-4, runs_=RUNS, **extra):
    data, x, y, nets = digits
    kw = dict(method=method, cluster_epochs=epochs, batch_size=64, augment=True, lr=lr, **extra)
    models = ([copy.deepcopy(n) for n in nets] if not batch_norm
              else [new_model(data, s, "cpu", batch_norm=True) for s in range(len(runs_))])
    alone = [brb.train_clustering(copy.deepcopy(m), x, y, generator=torch.Generator().manual_seed(s), **r, **kw)
             for s, (m, r) in enumerate(zip(models, runs_))]
    group = train_clustering_group(models, x, y, [{**r, "generator": torch.Generator().manual_seed(s)}
                                                  for s, r in enumerate(runs_)], **kw)
    return alone, group


@pytest.mark.parametrize("method", ["idec", "dcn", "dec"])
def test_a_stacked_group_trains_each_run_as_it_trains_alone(digits, method):
    alone, group = _both(digits, method)
    for a, g in zip(alone, group):
        ha, hg = a.history, g.history
        assert ha["nmi"].iloc[-1] > 0.5  # separated clusters: the comparison is not decided by ties
        assert list(ha["brb"]) == list(hg["brb"])  # each run's own steps (T = 2, none, T = 1)
        for col in ("acc", "nmi", "ari"):
            assert abs(ha[col].iloc[-1] - hg[col].iloc[-1]) <= 1e-4, col
        for col in ("recon_loss", "cluster_loss") if method != "dec" else ("cluster_loss",):
            np.testing.assert_allclose(hg[col].iloc[1:], ha[col].iloc[1:], rtol=1e-4, atol=1e-7, err_msg=col)
        assert torch.allclose(a.centroids, g.centroids, atol=1e-4)
    assert len(group[0].steps) == 1 and len(group[1].steps) == 0 and len(group[2].steps) == 3


def test_with_batchnorm_a_group_starts_as_alone_and_stays_alike(digits):
    runs_ = [{**r, "first_clustering": "train"} for r in RUNS]
    alone, group = _both(digits, "idec", batch_norm=True, epochs=1, lr=1e-3, runs_=runs_)
    for a, g in zip(alone, group):
        assert a.history["acc"].iloc[0] == g.history["acc"].iloc[0]  # the train-mode first clustering
        np.testing.assert_allclose(g.history["recon_loss"].iloc[1], a.history["recon_loss"].iloc[1], rtol=1e-2)


def test_a_group_refuses_what_it_cannot_share(digits):
    data, x, y, _ = digits
    models = [new_model(data, s, "cpu") for s in range(2)]
    gens = [{"generator": torch.Generator()} for _ in models]
    with pytest.raises(ValueError, match="not stacked"):
        train_clustering_group(models, x, y, gens, method="dcn", dcn_centroids="eq7", cluster_epochs=1)
    with pytest.raises(ValueError, match="not per-run arguments"):
        train_clustering_group(models, x, y, [{**g, "lr": 0.1} for g in gens], cluster_epochs=1)
    with pytest.raises(ValueError, match="own torch.Generator"):
        train_clustering_group(models, x, y, [{}, {}], cluster_epochs=1)


def test_the_loop_arguments_split_into_shared_and_per_run():
    loop = set(inspect.signature(brb.train_clustering).parameters) - {"model", "x", "y", "ctx"}
    assert set(PER_RUN) | set(SHARED) == loop and not set(PER_RUN) & set(SHARED)


def test_every_brb_dc_parameter_is_shared_or_set_per_run():
    params = set(runs.get_algorithm("brb.dc").defaults)
    shared, own = set(brb_run.SHARED_PARAMS), set(brb_run.RUN_PARAMS)
    assert shared | own == params and not shared & own


# ----------------------------------------------------------------------------- runs and executors


def _dc(seed: int, **params) -> RunConfig:
    base = dict(method="idec", pretrain=True, pretrain_epochs=PRETRAIN_EPOCHS, cluster_epochs=2, reset_interval=1,
                batch_size=64, subsample=512,
                recluster_subsample=256, kmeans_n_init=2, lr=1e-4, batch_norm=False, metrics_subsample=256)
    return RunConfig.make("brb.dc", "optdigits", seed=seed, profile="smoke", **{**base, **params})


def test_stack_groups_by_shape_and_size():
    a = [_dc(s, variant=v) for s, v in ((0, "brb"), (1, "none"), (2, "recluster"))]
    other = _dc(0, lr=1e-3)  # another shape: its own unit
    eq7 = _dc(0, method="dcn", dcn_centroids="eq7")  # never stacked
    cfgs = [a[0], other, a[1], eq7, a[2]]
    assert runs.stack_groups(cfgs, 10) == [[0, 2, 4], [1], [3]]
    assert runs.stack_groups(cfgs, 2) == [[0, 2], [1], [3], [4]]
    assert runs.stack_groups(cfgs, 1) == [[i] for i in range(5)]
    assert runs.stack_key(eq7) is None and runs.stack_key(a[0]) == runs.stack_key(a[2]) != runs.stack_key(other)
    with pytest.raises(ValueError):
        runs.stack_groups(cfgs, 0)


def test_a_group_writes_each_runs_own_record(results):
    cfgs = [_dc(s, variant=v) for s, v in ((0, "brb"), (1, "none"), (2, "recluster"))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grouped = runs.get_run_group(cfgs)
        for cfg, g in zip(cfgs, grouped):
            cached = runs.load_cached(cfg)
            assert cached is not None and cached.meta["stacked"] == {"size": 3, "members": [c.key() for c in cfgs]}
            alone = runs.get_run(cfg, recompute=True)
            assert "stacked" not in alone.meta
            # the plumbing (seed, pretrained start, variant, generator) is each run's own
            np.testing.assert_allclose(g.history["recon_loss"].iloc[1:], alone.history["recon_loss"].iloc[1:],
                                       rtol=1e-4)
            assert abs(alone.final["acc"] - g.final["acc"]) <= 1e-4
    with pytest.raises(ValueError, match="do not stack"):
        runs.get_run_group([cfgs[0], _dc(0, lr=1e-3)])


def _tiny(seed: int, **params) -> RunConfig:
    return RunConfig.make("test.tiny", "usps", seed=seed, profile="smoke", **params)


def _lines(path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.parametrize("kind", ["inprocess", "pool"])
def test_executors_hand_a_group_to_one_job_and_keep_its_good_runs_when_it_fails(results, tmp_path, monkeypatch,
                                                                                 kind):
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("TINY_CALLS", str(calls))
    good = [_tiny(s) for s in range(3)]
    mixed = [_tiny(s, sleep=0.01) for s in range(2)] + [_tiny(2, sleep=0.01, fail=True)]
    ex = executors.make(kind, jobs=2, threads=1, stack=10)
    outcomes = ex.submit_all([*good, *mixed])
    assert [o.ok for o in outcomes] == [True] * 5 + [False]
    assert "asked to fail (seed 2)" in outcomes[5].error
    groups = [line for line in _lines(calls) if line.endswith("group3")]
    assert len(groups) == 6  # both units went to their group computation, three runs each
    assert len({line.split()[1] for line in groups[:3]}) == 1  # one process trained the good group
    for cfg in good:
        assert runs.load_cached(cfg).meta["stacked"]["size"] == 3
    for cfg in mixed[:2]:  # the failed group's good runs were computed alone, and kept
        cached = runs.load_cached(cfg)
        assert cached is not None and "stacked" not in cached.meta
    assert executors.read_marker(mixed[2], "failed") is not None
    assert not list(executors.state_dir("smoke").glob("*.running"))


# ----------------------------------------------------------------------------- pricing from the bench


def test_status_prices_from_this_devices_bench_and_its_stacked_speedup(results, monkeypatch):
    from dcutils import bench, environment, items, status

    cfgs = [_tiny(s) for s in range(4)]
    monkeypatch.setattr(items, "_RUN_LISTS", {"brb/fig01": lambda s: cfgs})
    here = environment.device_label("cpu")
    bench.write_bench_entry({"device": "cuda (a fake GPU)", "seconds_per_step": 0.001,
                             "stacked_speedup": {"1": 0.9, "3": 2.5, "10": 8.0}})
    step = status.step_time()
    assert not step.measured and "no bench of " + here in step.source  # another device's numbers are not used

    bench.write_bench_entry({"device": here, "seconds_per_step": 0.5, "stacked_speedup": {"1": 0.8, "3": 2.0}})
    kept = json.loads((results / "bench.json").read_text())["devices"]
    assert set(kept) == {"cuda (a fake GPU)", here}  # each device keeps its own entry
    step = status.step_time()
    assert step.measured and step.seconds == 0.5 and step.speedup(10) == 2.0 and step.speedup(1) == 0.8

    monkeypatch.setenv("DCUTILS_STACK", "1")
    _, total = status.status_table("smoke")
    assert total["seconds to do"] == pytest.approx(4 * tiny.STEPS * 0.5)
    monkeypatch.setenv("DCUTILS_STACK", "10")  # the tiny runs share one stack key: priced as a group of 3+
    _, total = status.status_table("smoke")
    assert total["seconds to do"] == pytest.approx(4 * tiny.STEPS * 0.5 / 2.0)
    assert "measured 2.00x per run at that size" in status.report("smoke")


def test_compute_refuses_a_group_size_that_is_no_positive_number(capsys):
    from dcutils import compute

    for bad in ("0", "ten"):
        assert compute.main(["--profile", "smoke", "--stack", bad, "--list"]) == 2
        assert "takes a positive number of runs or 'auto'" in capsys.readouterr().err
