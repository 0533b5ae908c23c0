import pytest

torch = pytest.importorskip("torch")

from nets import BinarizedReLU, SmallCNN  # noqa: E402
from nets.binarized import binarized_relu  # noqa: E402


@pytest.mark.parametrize("straight_through, window", [
    ("relu", lambda x: x > 0), ("clipped_relu", lambda x: (x > 0) & (x < 1))])
def test_binarized_relu_forward_is_step_and_backward_is_surrogate_derivative(
        straight_through, window):
    generator = torch.Generator().manual_seed(3)
    x = (2 * torch.randn(50, generator=generator)).requires_grad_()
    upstream = torch.randn(50, generator=generator)
    out = BinarizedReLU(straight_through)(x)
    torch.testing.assert_close(out.detach(), (x.detach() > 0).float())
    out.backward(upstream)
    torch.testing.assert_close(x.grad, upstream * window(x.detach()).float())
    # the surrogate is the autograd derivative of ReLU (or clipped ReLU)
    y = x.detach().clone().requires_grad_()
    surrogate = torch.relu(y) if straight_through == "relu" else torch.clamp(y, 0, 1)
    surrogate.backward(upstream)
    torch.testing.assert_close(x.grad, y.grad)


def test_binarized_relu_rejects_unknown_surrogate():
    with pytest.raises(ValueError, match="straight_through"):
        BinarizedReLU("sigmoid")
    with pytest.raises(ValueError, match="straight_through"):
        binarized_relu(torch.zeros(2), straight_through="identity")


def test_small_cnn_binarized_has_float32_outputs_and_gradients():
    model = SmallCNN(activation="binarized", batch_norm=True)
    out = model(torch.randn(4, 1, 8, 8))
    assert out.shape == (4, 10) and out.dtype == torch.float32
    out.sum().backward()
    assert model.features[0].weight.grad is not None
    assert float(model.features[0].weight.grad.abs().sum()) > 0
    with pytest.raises(ValueError, match="activation"):
        SmallCNN(activation="tanh")
