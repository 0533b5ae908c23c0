import pytest

torch = pytest.importorskip("torch")

from nets import RVS, BinarizedReLU, SmallCNN, prunable_weights  # noqa: E402
from nets.prox import prox_l1  # noqa: E402


def test_rvs_coupling_gradient_and_sparse_inference_swap():
    generator = torch.Generator().manual_seed(8)
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), BinarizedReLU(), torch.nn.Linear(5, 2))
    rvs = RVS(prunable_weights(model), penalty="l1", sparsity_weight=0.02, coupling=0.5)
    weights = prunable_weights(model)
    dense = [w.detach().clone() for w in weights]
    for w, u in zip(weights, rvs.sparse, strict=True):
        torch.testing.assert_close(u, prox_l1(w.detach(), 0.02 / 0.5))
    x = torch.randn(4, 6, generator=generator)
    model.zero_grad()
    rvs.add_coupling_grad()  # no task gradient: grad is exactly beta (w - u)
    for w, u in zip(weights, rvs.sparse, strict=True):
        torch.testing.assert_close(w.grad, 0.5 * (w.detach() - u))
    with rvs.sparse_weights():
        for w, u in zip(weights, rvs.sparse, strict=True):
            assert torch.equal(w.detach(), u)
        sparse_out = model(x)
    for w, d in zip(weights, dense, strict=True):
        assert torch.equal(w.detach(), d)
    rvs.apply_sparse_()
    torch.testing.assert_close(model(x), sparse_out)
    assert rvs.sparsity() == pytest.approx(
        sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights))


def test_rvs_state_dict_round_trip():
    model = SmallCNN(width=2, hidden=4)
    rvs = RVS(prunable_weights(model), sparsity_weight=1e-3, coupling=0.1)
    state = rvs.state_dict()
    other = RVS(prunable_weights(SmallCNN(width=2, hidden=4)), penalty="l1",
                sparsity_weight=1.0, coupling=1.0)
    other.load_state_dict(state)
    assert other.penalty == "l0" and other.coupling == 0.1
    for a, b in zip(other.sparse, rvs.sparse, strict=True):
        assert torch.equal(a, b)


def test_rvs_training_sparsifies_a_binarized_network():
    generator = torch.Generator().manual_seed(9)
    torch.manual_seed(9)
    inputs = torch.randn(256, 10, generator=generator)
    labels = (inputs[:, 0] + inputs[:, 1] > 0).long()  # depends on two features only
    model = torch.nn.Sequential(torch.nn.Linear(10, 32), torch.nn.BatchNorm1d(32),
                                BinarizedReLU(), torch.nn.Linear(32, 2))
    rvs = RVS(prunable_weights(model), penalty="l0", sparsity_weight=1e-2, coupling=0.5)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(300):
        index = torch.randint(0, 256, (64,), generator=generator)
        rvs.update_sparse()
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(inputs[index]), labels[index]).backward()
        rvs.add_coupling_grad()
        optimizer.step()
    rvs.update_sparse()
    model.eval()
    with rvs.sparse_weights():
        accuracy = float((model(inputs).argmax(1) == labels).float().mean())
    assert rvs.sparsity() > 0.5
    assert accuracy > 0.85


def test_rvs_rejects_bad_arguments():
    params = [torch.nn.Parameter(torch.zeros(2))]
    with pytest.raises(ValueError, match="sparsity_weight"):
        RVS(params, sparsity_weight=0.0, coupling=1.0)
    with pytest.raises(ValueError, match="penalty"):
        RVS(params, penalty="l2", sparsity_weight=1.0, coupling=1.0)
    with pytest.raises(ValueError, match="params"):
        RVS([], sparsity_weight=1.0, coupling=1.0)
