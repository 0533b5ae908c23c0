import pytest

torch = pytest.importorskip("torch")

from nets import SmallCNN, sparsity  # noqa: E402


def test_sparsity_report_counts_zeros_per_layer_and_overall():
    model = SmallCNN(width=2, hidden=4)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(1.0)
        model.features[0].weight[0].zero_()  # 9 zeros of 18
        model.classifier[1].bias.zero_()  # 4 zeros
    report = sparsity(model)
    layers = {layer.name: layer for layer in report.layers}
    assert layers["features.0.weight"].sparsity == 0.5
    assert layers["classifier.1.bias"].sparsity == 1.0
    n_params = sum(p.numel() for p in model.parameters())
    assert report.n_params == n_params
    assert report.sparsity == pytest.approx(13 / n_params)
    assert sparsity(model, weights_only=True).n_params == sum(
        p.numel() for name, p in model.named_parameters() if name.endswith("weight"))
