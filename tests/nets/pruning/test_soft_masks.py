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
from nets.models.zoo import MODELS, randomise_batch_norms  # noqa: E402

from ..helpers import zero_part_of_every_mask, zoo_model  # noqa: E402

IMAGENET = (1, 3, 224, 224)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_removing_zero_mask_channels_leaves_the_eval_output_unchanged(name):
    generator = torch.Generator().manual_seed(2)
    model = zoo_model(name, 2)
    with pytest.warns(UserWarning, match="stay before their activation"):
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
    with pytest.warns(UserWarning, match=r"'features\.0\.1' \(its activation's output is read "
                      r"by 2 operations: AddBackward0, Conv2d\)"):  # the stem, before a residual
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
    depthwise = masked.layers[1].conv[0][0]
    stem_mask = depthwise.input_mask.weight  # behind the stem's ReLU6
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


class FunctionalReLU(torch.nn.Module):
    """conv -> BatchNorm -> ``torch.nn.functional.relu`` -> conv (groups 1 or 2), pooled."""

    def __init__(self, groups=1):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 6, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(6)
        self.conv2 = torch.nn.Conv2d(6, 4, 3, padding=1, groups=groups)

    def forward(self, x):
        return self.conv2(torch.nn.functional.relu(self.bn(self.conv1(x)))).mean(dim=(2, 3))


def mask_loss(model, x):
    return model(x).square().sum()


def test_a_zero_mask_behind_a_functional_relu_gets_a_gradient_and_removes_exactly():
    torch.manual_seed(3)
    generator = torch.Generator().manual_seed(3)
    example, x = torch.zeros(1, 3, 8, 8), torch.randn(5, 3, 8, 8, generator=generator)
    model = randomise_batch_norms(FunctionalReLU(), generator).eval()
    masked = insert_soft_masks(model, example).double()  # no warning: the ReLU has one reader
    mask = masked.conv2.input_mask.weight
    with torch.no_grad():
        mask.copy_(torch.tensor([0.0, 0.7, 0.0, 1.2, 0.5, 0.0]))
    mask_loss(masked, x.double()).backward()
    # independent truth: central differences of the loss in each zero mask entry
    for c in (0, 2, 5):
        step = torch.zeros(6, dtype=torch.float64)
        step[c] = 1e-6
        with torch.no_grad():
            mask.add_(step)
            plus = mask_loss(masked, x.double())
            mask.sub_(2 * step)
            minus = mask_loss(masked, x.double())
            mask.add_(step)
        assert mask.grad[c] != 0
        torch.testing.assert_close(mask.grad[c], (plus - minus) / 2e-6, rtol=1e-5, atol=1e-8)
    # before the ReLU (the placement of earlier versions) a zero mask gets no gradient
    before = insert_soft_masks(model, example, placement="before_activation")
    with torch.no_grad():
        before.bn.mask.weight.copy_(mask)
    mask_loss(before, x).backward()
    assert before.bn.mask.weight.grad[[0, 2, 5]].abs().max() == 0
    # removing the zero-mask channels, and folding the others, leaves the eval output unchanged
    masked = masked.float()
    result = prune(masked, example)
    assert result.model.conv2.in_channels == 3 and result.model.conv1.out_channels == 3
    with torch.no_grad():
        expected = masked(x)
        torch.testing.assert_close(result.model(x), expected, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(fold_soft_masks(result.model)(x), expected,
                                   rtol=1e-5, atol=1e-6)
    assert not any(isinstance(m, SoftMask) for m in fold_soft_masks(result.model).modules())
    assert not fold_soft_masks(result.model).conv2._forward_pre_hooks  # the hook went too


def test_folding_a_mask_into_a_grouped_reader_scales_each_input_channel_of_its_group():
    generator = torch.Generator().manual_seed(4)
    torch.manual_seed(4)
    model = randomise_batch_norms(FunctionalReLU(groups=2), generator).train()
    masked = insert_soft_masks(model, torch.zeros(1, 3, 8, 8))
    values = torch.rand(6, generator=generator) + 0.1
    with torch.no_grad():
        masked.conv2.input_mask.weight.copy_(values)
    folded = fold_soft_masks(masked)
    # conv2's outputs 0-1 read input channels 0-2, outputs 2-3 read channels 3-5
    expected = model.conv2.weight * torch.stack([values[:3], values[:3], values[3:],
                                                 values[3:]]).view(4, 3, 1, 1)
    torch.testing.assert_close(folded.conv2.weight, expected)
    x = torch.randn(4, 3, 8, 8, generator=generator)
    with torch.no_grad():  # exact in training mode too
        torch.testing.assert_close(folded(x), masked(x), rtol=1e-5, atol=1e-6)


def test_the_masks_of_the_digits_networks_sit_behind_their_activations():
    example = torch.zeros(1, 3, 32, 32)
    resnet = insert_soft_masks(resnet20(), example)
    assert [name for name, m in resnet.named_modules() if isinstance(m, SoftMask)] == [
        f"stages.{s}.{b}.conv2.input_mask" for s in range(3) for b in range(3)]
    mobilenet = insert_soft_masks(MobileNetV2(width_mult=0.35), example)
    masks = {name: m for name, m in mobilenet.named_modules() if isinstance(m, SoftMask)}
    # the 35 BatchNorms followed by a ReLU6 (stem, two per expanded block, one in the first
    # block, the last conv's) mask the input of the layer reading it (the last one through the
    # global mean, in front of the classifier); the 17 linear bottleneck outputs have no
    # activation and keep their mask on the BatchNorm
    behind = [name for name in masks if name.endswith(".input_mask")]
    assert len(masks) == 52 and len(behind) == 35 and "fc.input_mask" in behind
    assert all(name.endswith(".1.mask") for name in masks if name not in behind)


def test_placement_is_checked():
    with pytest.raises(ValueError, match="`placement` must be one of"):
        insert_soft_masks(resnet20(), torch.zeros(1, 3, 32, 32), placement="after")
    with pytest.raises(ValueError, match="already has soft masks"):
        insert_soft_masks(resnet20(soft_mask=True), torch.zeros(1, 3, 32, 32))
