import copy

import pytest

torch = pytest.importorskip("torch")

from nets import IRDA, ProxSGD, SoftMaskFISTA, SqrtProxSGD  # noqa: E402
from nets.optim import ProximalOptimizer  # noqa: E402

# (build with the hyperparameters under test, build with other hyperparameters)
OPTIMIZERS = {
    "irda": (lambda p: IRDA(p, sparsity_weight=0.05, gamma=0.5),
             lambda p: IRDA(p, sparsity_weight=1.0, gamma=9.0)),
    "prox_sgd": (lambda p: ProxSGD(p, lr=0.1, sparsity_weight=0.05),
                 lambda p: ProxSGD(p, lr=1.0, sparsity_weight=1.0)),
    "sqrt_prox_sgd": (lambda p: SqrtProxSGD(p, lr=0.1, sparsity_weight=0.05, gamma=0.5),
                      lambda p: SqrtProxSGD(p, lr=1.0, sparsity_weight=1.0, gamma=9.0)),
    "soft_mask_fista": (lambda p: SoftMaskFISTA(p, lr=0.1, sparsity_weight=0.05),
                        lambda p: SoftMaskFISTA(p, lr=1.0, sparsity_weight=1.0)),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_step_runs_the_closure_with_gradients_on_and_returns_its_loss(name):
    weight = torch.nn.Parameter(torch.tensor([1.0, 0.5, 2.0]))
    optimizer = OPTIMIZERS[name][0]([weight])
    assert isinstance(optimizer, ProximalOptimizer)
    returned = []

    def closure():
        assert torch.is_grad_enabled()
        optimizer.zero_grad()
        loss = ((weight - 0.25) ** 2).sum()
        loss.backward()
        returned.append(loss)
        return loss

    before = weight.detach().clone()
    with torch.no_grad():
        loss = optimizer.step(closure)
    assert len(returned) == 1 and loss is returned[0]
    assert not torch.equal(weight.detach(), before)
    assert optimizer.step() is None


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_parameters_without_gradient_are_left_alone_and_get_no_state(name):
    used = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    unused = torch.nn.Parameter(torch.tensor([3.0, 4.0]))
    optimizer = OPTIMIZERS[name][0]([used, unused])
    used.grad = torch.tensor([0.5, -0.5])
    optimizer.step()
    assert torch.equal(unused.detach(), torch.tensor([3.0, 4.0]))
    assert unused not in optimizer.state
    assert not torch.equal(used.detach(), torch.tensor([1.0, 2.0]))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_dict_round_trip_reproduces_the_trajectory(name):
    make, make_other = OPTIMIZERS[name]

    def run(n_steps, optimizer, param, generator):
        for _ in range(n_steps):
            param.grad = torch.randn(param.shape, generator=generator)
            optimizer.step()

    generator = torch.Generator().manual_seed(0)
    param = torch.nn.Parameter(torch.rand(3, 4, generator=generator) + 0.5)
    optimizer = make([param])
    run(4, optimizer, param, generator)
    checkpoint = (copy.deepcopy(optimizer.state_dict()), param.detach().clone(),
                  generator.get_state())
    run(4, optimizer, param, generator)

    param2 = torch.nn.Parameter(checkpoint[1].clone())
    optimizer2 = make_other([param2])
    optimizer2.load_state_dict(checkpoint[0])
    generator.set_state(checkpoint[2])
    run(4, optimizer2, param2, generator)
    assert torch.equal(param2.detach(), param.detach())
