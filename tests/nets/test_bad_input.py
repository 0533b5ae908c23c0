"""Bad input to the public API of ``nets``: a ValueError or TypeError naming the argument, or a
warning, never a silent change (regressions of issue 16)."""

import pytest

torch = pytest.importorskip("torch")

import nets  # noqa: E402


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
    assert nets.measure_cost(torch.nn.ReLU(), torch.zeros(1, 3, 4, 4)).macs == 0
    assert nets.measure_cost(torch.nn.Sequential(), torch.zeros(1, 3)).parameters == 0
    assert nets.measure_cost(torch.nn.ReLU()).macs == 0  # default: zeros (1, 3, 32, 32)
    with pytest.raises(ValueError, match="`example_inputs` of shape \\(1, 5\\)"):
        nets.measure_cost(torch.nn.Linear(3, 2), torch.zeros(1, 5))
    for bad in (torch.zeros(()), torch.zeros(1, 0), torch.zeros(1, 3, dtype=torch.long)):
        with pytest.raises(ValueError, match="`example_inputs`"):
            nets.measure_cost(torch.nn.Linear(3, 2), bad)
    for bad in ((1, 3), "1x3", [torch.zeros(1, 3)]):
        with pytest.raises(TypeError, match="`example_inputs`"):
            nets.measure_cost(torch.nn.Linear(3, 2), bad)
    with pytest.raises(TypeError, match="`model`"):
        nets.measure_cost(lambda x: x)


def test_binarized_relu_refuses_complex_and_integer_input():
    for x in (torch.tensor([1j]), torch.tensor([1, -1]), [0.5]):
        with pytest.raises(TypeError, match="`x` must be a real floating-point Tensor"):
            nets.BinarizedReLU()(x)
