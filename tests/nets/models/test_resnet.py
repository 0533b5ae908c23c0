import pytest

torch = pytest.importorskip("torch")

from nets import measure_cost, resnet18, resnet20, resnet56, resnet110  # noqa: E402
from nets.cost import count_parameters  # noqa: E402
from nets.models import BasicBlock, CifarResNet  # noqa: E402


def test_resnet56_counts_the_papers_125_49_mflops():
    cost = measure_cost(resnet56())
    assert cost.macs == 125_485_696
    assert round(cost.macs / 1e6, 2) == 125.49


def test_resnet18_cifar_stem_counts_555_42_mflops():
    cost = measure_cost(resnet18())
    assert cost.macs == 555_422_720
    assert round(cost.macs / 1e6, 2) == 555.42


def test_macs_match_the_closed_form_for_option_a_resnets():
    # conv + linear multiply-adds: stem, 2 convs per block (the first of a stage is strided),
    # option-A shortcuts cost nothing.
    def closed_form(n):
        stem = 16 * 3 * 9 * 32 * 32
        stage1 = 2 * n * 16 * 16 * 9 * 32 * 32
        later = 2 * (32 * 16 * 9 * 16 * 16 + (2 * n - 1) * 32 * 32 * 9 * 16 * 16)
        return stem + stage1 + later + 64 * 10

    for factory, n in ((resnet20, 3), (resnet56, 9), (resnet110, 18)):
        assert measure_cost(factory()).macs == closed_form(n)


def test_option_a_resnets_have_the_published_parameter_counts():
    # 0.27 M and 0.85 M (He et al. 2016, Table 6), counting every parameter entry.
    assert count_parameters(resnet20()) == 269_722
    assert count_parameters(resnet56()) == 853_018


def test_soft_mask_sits_after_first_conv_of_every_block_and_starts_at_one():
    model = resnet20(soft_mask=True)
    blocks = [m for m in model.modules() if isinstance(m, BasicBlock)]
    assert len(blocks) == 9
    for block in blocks:
        assert block.mask.weight.shape == (block.conv1.out_channels,)
        assert torch.equal(block.mask.weight, torch.ones_like(block.mask.weight))
    # position: conv2 receives relu(bn1(conv1 x)) scaled channel-wise by the mask
    generator = torch.Generator().manual_seed(0)
    seen = {}
    with torch.no_grad():
        for block in blocks:
            block.mask.weight.copy_(torch.rand(block.mask.weight.shape, generator=generator))
            block.bn1.register_forward_hook(
                lambda module, args, out, block=block: seen.__setitem__((block, "bn1"), out))
            block.conv2.register_forward_pre_hook(
                lambda module, args, block=block: seen.__setitem__((block, "conv2"), args[0]))
        model.eval()(torch.randn(2, 3, 32, 32, generator=generator))
    for block in blocks:
        expected = torch.relu(seen[block, "bn1"]) * block.mask.weight.detach().view(1, -1, 1, 1)
        torch.testing.assert_close(seen[block, "conv2"], expected)


def test_mask_of_ones_does_not_change_outputs():
    torch.manual_seed(0)
    plain = resnet20().eval()
    masked = resnet20(soft_mask=True).eval()
    masked.load_state_dict(plain.state_dict(), strict=False)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    assert torch.equal(plain(x), masked(x))


def test_forward_shapes_and_float32():
    x = torch.zeros(2, 3, 32, 32)
    for factory in (resnet20, resnet18):
        out = factory(num_classes=7)(x)
        assert out.shape == (2, 7)
        assert out.dtype == torch.float32


def test_bad_arguments_raise_value_error_naming_them():
    with pytest.raises(ValueError, match="num_classes"):
        resnet20(num_classes=0)
    with pytest.raises(ValueError, match="n_blocks"):
        CifarResNet([1, 1], [16])
    with pytest.raises(ValueError, match="shortcut"):
        BasicBlock(16, 16, 16, shortcut="C")
