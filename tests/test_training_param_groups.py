"""loop.param_groups: the unfrozen backbone blocks can learn slower than the new layers."""

from aesview.core.model import build_model
from aesview.training.loop import TrainConfig, param_groups


def test_one_group_by_default_and_two_with_a_scale():
    net = build_model("efficientnet_lite0", 8, imagenet=False)
    cfg = TrainConfig(freeze=12, lr=1e-3)
    (only,) = param_groups(net, cfg)
    assert only["lr"] == 1e-3
    n_trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    assert sum(p.numel() for p in only["params"]) == n_trainable

    cfg = TrainConfig(freeze=12, lr=1e-3, backbone_lr_scale=0.1)
    slow, fast = param_groups(net, cfg)
    assert abs(slow["lr"] - 1e-4) < 1e-12
    assert fast["lr"] == 1e-3
    stages = net.backbone.stages
    blocks = {id(p) for s in list(stages)[12:-1] for p in s.parameters()}
    head_conv = {id(p) for p in stages[-1].parameters()}
    assert {id(p) for p in slow["params"]} == blocks
    fast_ids = {id(p) for p in fast["params"]}
    assert head_conv <= fast_ids and not fast_ids & blocks
    assert all(id(p) in fast_ids for p in net.aes_head.parameters())
    # the frozen prefix is in neither group
    frozen = {id(p) for s in list(stages)[:12] for p in s.parameters()}
    assert not frozen & (fast_ids | blocks)
    assert not any(p.requires_grad for s in list(stages)[:12] for p in s.parameters())
