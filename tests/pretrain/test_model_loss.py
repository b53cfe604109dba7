"""DINO head, loss, centring, EMA, gradient rules and schedules: shapes and invariants."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from procmem.pretrain.loss import DINOLoss
from procmem.pretrain.model import DINOHead, build_student_teacher
from procmem.pretrain.schedules import Schedules, cosine_scheduler, teacher_temp_schedule
from procmem.pretrain.update import (
    apply_schedule,
    cancel_last_layer_grads,
    clip_gradients,
    ema_update,
    param_groups,
)


def test_head_shapes_and_unit_norm_last_layer():
    torch.manual_seed(0)
    head = DINOHead(24, 256, hidden_dim=64, bottleneck_dim=16, nlayers=3, norm_last_layer=True)
    out = head(torch.randn(5, 24))
    assert out.shape == (5, 256)
    g = head.last_layer.parametrizations.weight.original0
    assert not g.requires_grad and torch.all(g == 1)
    rows = head.last_layer.weight.norm(dim=1)
    assert torch.allclose(rows, torch.ones_like(rows), atol=1e-5)
    # bottleneck is L2-normalised: logits are bounded by the row norms (1)
    assert out.abs().max() <= 1 + 1e-5
    free = DINOHead(24, 256, hidden_dim=64, bottleneck_dim=16, norm_last_layer=False)
    assert free.last_layer.parametrizations.weight.original0.requires_grad


def _manual_loss(s, t, center, ncrops, tau_s, tau_t):
    s_chunks = (s / tau_s).chunk(ncrops)
    q = F.softmax((t - center) / tau_t, dim=-1).chunk(2)
    terms = [(-q[i] * F.log_softmax(s_chunks[v], -1)).sum(-1).mean()
             for i in range(2) for v in range(ncrops) if v != i]
    return sum(terms) / len(terms), len(terms)


def test_loss_matches_the_paper_formula_and_skips_same_view_pairs():
    torch.manual_seed(1)
    ncrops, B, K = 4, 3, 32
    loss = DINOLoss(K, ncrops, student_temp=0.1, center_momentum=0.9)
    loss.center.copy_(torch.randn(1, K) * 0.1)
    c0 = loss.center.clone()
    s, t = torch.randn(ncrops * B, K), torch.randn(2 * B, K)
    got = loss(s, t, teacher_temp=0.04)
    want, nterms = _manual_loss(s, t, c0, ncrops, 0.1, 0.04)
    assert nterms == 2 * (ncrops - 1)  # 2 teacher views x (ncrops - 1) others
    assert torch.allclose(got, want, atol=1e-5)
    # centre: c <- 0.9 c + 0.1 mean(teacher outputs)
    assert torch.allclose(loss.center, 0.9 * c0 + 0.1 * t.mean(0, keepdim=True), atol=1e-6)


def test_teacher_gets_no_gradient_and_ema_moves_it_toward_student(tiny_cfg):
    student, teacher = build_student_teacher(tiny_cfg)
    assert all(not p.requires_grad for p in teacher.parameters())
    for a, b in zip(student.state_dict().values(), teacher.state_dict().values()):
        assert torch.equal(a, b)  # teacher initialised from the student
    x = torch.randn(2, 3, 32, 32)
    student([x]).sum().backward()
    assert all(p.grad is None for p in teacher.parameters())
    with torch.no_grad():
        for p in student.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    t_before = [p.clone() for p in teacher.parameters()]
    dist_before = sum((t - s).norm() for t, s in zip(t_before, student.parameters()))
    ema_update(teacher, student, momentum=0.9)
    for tb, t, s in zip(t_before, teacher.parameters(), student.parameters()):
        assert torch.allclose(t, 0.9 * tb + 0.1 * s, atol=1e-6)
    dist_after = sum((t - s).norm() for t, s in zip(teacher.parameters(), student.parameters()))
    assert dist_after < 0.95 * dist_before


def test_gradient_rules():
    torch.manual_seed(0)
    head = DINOHead(8, 16, hidden_dim=8, bottleneck_dim=4, norm_last_layer=False)
    groups = param_groups(head)
    assert all(p.ndim > 1 for p in groups[0]["params"])
    assert all(p.ndim == 1 for p in groups[1]["params"]) and groups[1]["weight_decay"] == 0
    opt = torch.optim.AdamW(groups)
    apply_schedule(opt, lr=0.5, wd=0.3)
    assert [g["lr"] for g in opt.param_groups] == [0.5, 0.5]
    assert [g["weight_decay"] for g in opt.param_groups] == [0.3, 0.0]
    (head(torch.randn(4, 8)) * 1000).sum().backward()
    norms = clip_gradients(head, 3.0)
    assert norms.max() > 3.0  # something needed clipping ...
    for p in head.parameters():  # ... and now every tensor is within the clip, on its own
        assert p.grad.norm() <= 3.0 + 1e-4
    cancel_last_layer_grads(head, epoch=1, freeze_last_layer=1)
    assert head.last_layer.parametrizations.weight.original1.grad is not None
    cancel_last_layer_grads(head, epoch=0, freeze_last_layer=1)
    assert all(p.grad is None for n, p in head.named_parameters() if "last_layer" in n)
    assert all(p.grad is not None for n, p in head.named_parameters() if "last_layer" not in n)


def test_cosine_schedule_endpoints():
    s = cosine_scheduler(1.0, 0.1, epochs=4, steps_per_epoch=10, warmup_epochs=1)
    assert len(s) == 40
    assert s[0] == 0.0 and s[9] == pytest.approx(1.0) and s[10] == pytest.approx(1.0)
    assert np.all(np.diff(s[10:]) <= 0) and s[-1] == pytest.approx(0.1, abs=0.01)
    tt = teacher_temp_schedule(0.04, 0.07, warmup_epochs=30, epochs=100)
    assert tt[0] == 0.04 and tt[29] == pytest.approx(0.07) and tt[-1] == 0.07 and len(tt) == 100


def test_paper_preset_schedules():
    from procmem.pretrain.config import load_config

    cfg = load_config("paper-vits16")
    sch = Schedules.from_config(cfg)
    spe = cfg["schedule"]["steps_per_epoch"]
    assert cfg["optim"]["batch_size"] == 512 and cfg["model"]["out_dim"] == 65536
    assert sch.lr.max() == pytest.approx(1e-3)  # 0.0005 * 512 / 256
    assert sch.lr[10 * spe] == pytest.approx(1e-3) and sch.lr[-1] == pytest.approx(1e-6, rel=0.05)
    assert sch.wd[0] == pytest.approx(0.04) and sch.wd[-1] == pytest.approx(0.4, rel=1e-3)
    assert sch.momentum[0] == pytest.approx(0.996) and sch.momentum[-1] == pytest.approx(1, abs=1e-6)
    assert sch.at(0)["teacher_temp"] == sch.at(len(sch.lr) - 1)["teacher_temp"] == 0.04


def test_sinkhorn_targets_are_distributions_that_use_every_prototype_equally():
    from procmem.pretrain.loss import sinkhorn_knopp

    torch.manual_seed(2)
    B, K = 64, 16
    # nearly identical logits (early training): softmax targets would all be alike
    logits = torch.randn(1, K).repeat(B, 1) + 0.01 * torch.randn(B, K)
    q = sinkhorn_knopp(logits, teacher_temp=0.04, iterations=3)
    assert q.shape == (B, K)
    assert torch.allclose(q.sum(1), torch.ones(B), atol=1e-5)        # rows are distributions
    assert torch.allclose(q.sum(0), torch.full((K,), B / K), rtol=0.05)  # equipartition
    softmax = F.softmax(logits / 0.04, dim=-1)
    assert softmax.sum(0).max() > 0.5 * B                             # one prototype takes it all
    # the loss uses it instead of the centre, and leaves the centre alone
    loss = DINOLoss(K, 4, centering="sinkhorn")
    out = loss(torch.randn(4 * B // 2, K), logits, teacher_temp=0.04)
    assert torch.isfinite(out) and torch.equal(loss.center, torch.zeros(1, K))
    with pytest.raises(ValueError, match="centering"):
        DINOLoss(K, 4, centering="mean")


def test_koleo_is_lower_for_spread_features_and_pushes_neighbours_apart():
    from procmem.pretrain.loss import KoLeoLoss

    torch.manual_seed(3)
    koleo = KoLeoLoss()
    spread = torch.eye(8)                                  # orthogonal: neighbours sqrt(2) apart
    bunched = torch.ones(8, 8) + 0.01 * torch.randn(8, 8)  # all near one direction
    assert koleo(spread).item() == pytest.approx(-np.log(np.sqrt(2)), abs=1e-5)
    assert koleo(bunched) > koleo(spread) + 2
    x = bunched.clone().requires_grad_(True)
    koleo(x).backward()
    step = F.normalize(x - 0.1 * x.grad, dim=-1)
    assert koleo(step) < koleo(bunched)                    # a gradient step spreads them


def test_multicrop_wrapper_returns_backbone_features_on_request(tiny_cfg):
    _, teacher = build_student_teacher(tiny_cfg)  # no drop path: deterministic
    x = torch.randn(2, 3, 32, 32)
    out, feats = teacher([x], with_features=True)
    assert torch.equal(out, teacher([x]))
    assert torch.equal(feats, teacher.backbone(x))
    assert feats.shape == (2, teacher.backbone.num_features)
