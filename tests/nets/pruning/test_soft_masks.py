import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_pruning")

from nets import (  # noqa: E402
    CoGD,
    MaskedLayer,
    MobileNetV2,
    SoftMask,
    SoftMaskFISTA,
    fold_soft_masks,
    insert_soft_masks,
    prune,
    resnet20,
    soft_mask_pairs,
)
from nets.models.zoo import MODELS  # noqa: E402

from ..helpers import zero_part_of_every_mask, zoo_model  # noqa: E402

IMAGENET = (1, 3, 224, 224)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_removing_zero_mask_channels_leaves_the_eval_output_unchanged(name):
    generator = torch.Generator().manual_seed(2)
    model = zoo_model(name, 2)
    masked = insert_soft_masks(model, torch.zeros(IMAGENET)).eval()
    x = torch.randn(2, 3, 224, 224, generator=generator)
    with torch.no_grad():  # masks start at ones: the masked copy computes the model
        torch.testing.assert_close(masked(x), model.eval()(x), rtol=1e-5, atol=1e-6)
    zero_part_of_every_mask(masked, generator)
    result = prune(masked, torch.zeros(IMAGENET))
    folded = fold_soft_masks(result.model)
    with torch.no_grad():
        expected = masked(x)
        torch.testing.assert_close(result.model(x), expected, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(folded(x), expected, rtol=1e-5, atol=1e-6)
    assert result.cost.macs < result.original_cost.macs
    assert not any(isinstance(m, MaskedLayer | SoftMask) for m in folded.modules())
    # every remaining mask value is non-zero unless its whole group was zero (one channel kept)
    kept_zero = sum(int((m.weight == 0).sum()) for m in result.model.modules()
                    if isinstance(m, SoftMask))
    assert kept_zero < sum(int((m.weight == 0).sum()) for m in masked.modules()
                           if isinstance(m, SoftMask))


def test_masks_trained_with_fista_and_cogd_revival_then_removed():
    generator = torch.Generator().manual_seed(7)
    model = zoo_model("mobilenet_v2", 7)
    example = torch.zeros(1, 3, 64, 64)
    masked = insert_soft_masks(model, example)
    masks = [m.weight for m in masked.modules() if isinstance(m, SoftMask)]
    pairs = soft_mask_pairs(masked, example)
    assert pairs and all(x.shape[0] == w.shape[1] for x, w in pairs)
    weights = [p for p in masked.parameters() if all(p is not m for m in masks)]
    weight_optimizer = torch.optim.SGD(weights, lr=0.01)
    mask_optimizer = CoGD(SoftMaskFISTA(masks, lr=0.5, sparsity_weight=0.5), pairs,
                          rule="revival")
    for epoch in range(2):
        for _ in range(3):
            x = torch.randn(4, 3, 64, 64, generator=generator)
            y = torch.randint(0, 10, (4,), generator=generator)
            loss = torch.nn.functional.cross_entropy(masked(x), y)
            weight_optimizer.zero_grad()
            mask_optimizer.zero_grad()
            loss.backward()
            weight_optimizer.step()
            mask_optimizer.step()
        mask_optimizer.couple()
    assert sum(int((m == 0).sum()) for m in masks) > 0
    masked.eval()
    result = prune(masked, example)
    assert result.cost.macs < result.original_cost.macs
    assert result.model.training is False
    x = torch.randn(2, 3, 64, 64, generator=generator)
    with torch.no_grad():
        torch.testing.assert_close(fold_soft_masks(result.model)(x), masked(x),
                                   rtol=1e-5, atol=1e-6)


def test_a_mask_read_by_a_depthwise_conv_is_paired_with_its_filters_and_revived():
    # the stem's channels are read only by the first block's depthwise conv (expansion 1)
    torch.manual_seed(0)
    example = torch.zeros(1, 3, 32, 32)
    masked = insert_soft_masks(MobileNetV2(width_mult=0.35), example)
    stem_mask = masked.layers[0][1].mask.weight
    depthwise = masked.layers[1].conv[0][0]
    assert depthwise.groups == depthwise.in_channels == 16
    partners = {id(x): w for x, w in soft_mask_pairs(masked, example)}
    partner = partners[id(stem_mask)]
    assert partner.shape == (1, 16, 3, 3)
    assert partner.data_ptr() == depthwise.weight.data_ptr()  # a view: filters as they train
    torch.testing.assert_close(partner[0], depthwise.weight[:, 0])
    # the whole group collapsed: the channels whose filters are the strongest come back
    with torch.no_grad():
        stem_mask.zero_()
    CoGD(SoftMaskFISTA([stem_mask], lr=0.1), [(stem_mask, partner)], rule="revival").couple()
    revived = stem_mask.detach() > 0
    strength = depthwise.weight.detach().abs().sum(dim=(1, 2, 3))
    assert 0 < int(revived.sum()) < 16
    assert strength[revived].min() >= strength[~revived].max()


def test_masks_of_the_cifar_resnet_blocks_pair_with_their_second_conv():
    torch.manual_seed(6)
    model = resnet20(soft_mask=True)
    pairs = soft_mask_pairs(model, torch.zeros(1, 3, 32, 32))
    assert [(x is block.mask.weight, w is block.conv2.weight)
            for (x, w), block in zip(pairs, model.blocks, strict=True)] == [(True, True)] * 9


def test_folding_a_block_mask_scales_the_second_conv_and_drops_the_mask():
    generator = torch.Generator().manual_seed(5)
    torch.manual_seed(5)
    model = resnet20(soft_mask=True).train()
    zero_part_of_every_mask(model, generator, 0.3)
    folded = fold_soft_masks(model)
    for block, plain in zip(model.blocks, folded.blocks, strict=True):
        assert block.mask is not None and plain.mask is None
        torch.testing.assert_close(plain.conv2.weight,
                                   block.conv2.weight * block.mask.weight.view(1, -1, 1, 1))
    x = torch.randn(4, 3, 32, 32, generator=generator)
    with torch.no_grad():  # exact in training mode too (batch statistics)
        torch.testing.assert_close(folded(x), model(x), rtol=1e-5, atol=1e-5)
    assert all(m.training for m in folded.modules())
