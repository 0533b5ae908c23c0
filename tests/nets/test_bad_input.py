"""Bad input to the public API of ``nets``: a ValueError or TypeError naming the argument, or a
warning, never a silent change (regressions of issue 16)."""

import pytest

torch = pytest.importorskip("torch")

import nets  # noqa: E402
from nets.pruning import PruningPlan  # noqa: E402


def test_remove_channels_keeps_eval_mode_and_running_statistics():
    torch.manual_seed(0)
    model = nets.resnet20(soft_mask=True)
    model.train()
    model(torch.randn(8, 3, 16, 16))  # non-trivial running statistics
    model.eval()
    pruned = nets.remove_channels(model, PruningPlan(keep={"stages.0.0": tuple(range(16))}))
    assert all(not module.training for module in pruned.modules())
    x = torch.randn(2, 3, 16, 16)
    before = {name: buffer.clone() for name, buffer in pruned.named_buffers()}
    with torch.no_grad():
        torch.testing.assert_close(pruned(x), model(x))
    after = dict(pruned.named_buffers())
    assert all(torch.equal(before[name], after[name]) for name in before)


@pytest.mark.parametrize("channels", [(1.5,), (True,), (0, False), (), (16,), (-1,),
                                      torch.tensor([0.0, 1.0]), "01", None])
def test_a_plan_must_hold_integer_channel_indices(channels):
    model = nets.resnet20()
    with pytest.raises(ValueError, match=r"`plan.keep\['stages.0.0'\]`"):
        nets.remove_channels(model, PruningPlan(keep={"stages.0.0": channels}))
    with pytest.raises(TypeError, match="`plan`"):
        nets.remove_channels(model, {"stages.0.0": (0,)})


def test_cogd_refuses_zero_unit_and_repeated_pairs():
    base = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="at least one unit"):
        nets.CoGD(base, [(torch.zeros(0), torch.zeros(0, 3))])
    x, w = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2, 3))
    with pytest.raises(ValueError, match="repeats a tensor"):
        nets.CoGD(base, [(x, w), (x, w)])
    with pytest.raises(TypeError, match="floating-point"):
        nets.CoGD(base, [(torch.ones(2, dtype=torch.long), w)])
    with pytest.raises(ValueError, match="`revival`"):
        nets.CoGD(base, [(x, w)], revival=float("nan"))


def test_a_nan_gradient_is_reported_instead_of_switching_the_rule_off():
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4))
    base = torch.optim.SGD(model.parameters(), lr=0.1)
    optimizer = nets.CoGD(base, nets.conv_bn_pairs(model))
    model(torch.randn(2, 1, 5, 5)).sum().backward()
    model[0].weight.grad[0, 0, 0, 0] = float("nan")
    optimizer.step()
    with pytest.warns(RuntimeWarning, match="pair 0 .* NaN"):
        report = optimizer.couple()
    assert report.n_flagged == (0,)


def test_measure_cost_without_parameters_and_with_an_input_it_cannot_take():
    assert nets.measure_cost(torch.nn.ReLU(), input_size=(1, 3, 4, 4)).macs == 0
    assert nets.measure_cost(torch.nn.Sequential(), input_size=(1, 3)).parameters == 0
    with pytest.raises(ValueError, match="`input_size` \\(1, 5\\)"):
        nets.measure_cost(torch.nn.Linear(3, 2), input_size=(1, 5))
    for bad in ((), (1, 0), (1, 2.5), "1x3", None):
        with pytest.raises(ValueError, match="`input_size`"):
            nets.measure_cost(torch.nn.Linear(3, 2), input_size=bad)
    with pytest.raises(TypeError, match="`model`"):
        nets.measure_cost(lambda x: x)


def test_binarized_relu_refuses_complex_and_integer_input():
    for x in (torch.tensor([1j]), torch.tensor([1, -1]), [0.5]):
        with pytest.raises(TypeError, match="`x` must be a real floating-point Tensor"):
            nets.BinarizedReLU()(x)


def test_recalibrate_bn_works_on_a_model_without_parameters():
    model = torch.nn.Sequential(torch.nn.BatchNorm2d(2, affine=False)).eval()
    nets.recalibrate_bn(model, torch.randn(4, 2, 3, 3), batch_size=2)
    assert int(model[0].num_batches_tracked) == 2 and not model.training
    with pytest.raises(ValueError, match="`batch_size`"):
        nets.recalibrate_bn(model, torch.randn(4, 2, 3, 3), batch_size=0)
