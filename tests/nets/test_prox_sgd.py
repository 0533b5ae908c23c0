import math

import pytest

torch = pytest.importorskip("torch")

from nets import ProxSGD, SqrtProxSGD  # noqa: E402
from nets.prox import prox_l1  # noqa: E402
from nets.prox_sgd import prox_sgd_update  # noqa: E402


def test_prox_sgd_threshold_is_lr_times_lambda():
    weight = torch.nn.Parameter(torch.tensor([1.0, 0.05, -0.3, 0.0]))
    weight.grad = torch.tensor([0.0, 0.1, 1.0, -5.0])
    lr, lam = 0.1, 2.0
    expected = prox_l1(weight.detach() - lr * weight.grad, lr * lam)
    ProxSGD([weight], lr=lr, sparsity_weight=lam).step()
    torch.testing.assert_close(weight.detach(), expected)
    torch.testing.assert_close(expected, torch.tensor([0.8, 0.0, -0.2, 0.3]))


def test_sqrt_prox_sgd_threshold_grows_like_sqrt_t():
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = SqrtProxSGD([weight], lr=1.0, sparsity_weight=0.1, gamma=0.5)
    thresholds = []
    for _ in range(4):
        weight.data.zero_()
        weight.grad = torch.tensor([-10.0])
        optimizer.step()
        thresholds.append(10.0 - float(weight.detach()))
    expected = [math.sqrt(t) * 0.1 / 0.5 for t in range(1, 5)]
    assert thresholds == pytest.approx(expected, rel=1e-5)
    torch.testing.assert_close(prox_sgd_update(torch.tensor([1.0]), torch.tensor([0.5]),
                                               lr=1.0, threshold=0.25), torch.tensor([0.25]))
