import pytest

torch = pytest.importorskip("torch")

from nets import recalibrate_bn  # noqa: E402


def test_bn_recalibration_recomputes_running_statistics_from_the_images_only():
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4, momentum=0.3))
    with torch.no_grad():
        model[1].running_mean.fill_(5.0)
        model[1].running_var.fill_(9.0)
    model.eval()
    images = torch.randn(12, 3, 8, 8, generator=generator)
    weights = [p.detach().clone() for p in model.parameters()]
    assert recalibrate_bn(model, images, batch_size=12) is model
    with torch.no_grad():
        features = model[0](images)
    torch.testing.assert_close(model[1].running_mean, features.mean((0, 2, 3)))
    torch.testing.assert_close(model[1].running_var, features.var((0, 2, 3), unbiased=True))
    assert not model.training and model[1].momentum == 0.3
    assert all(torch.equal(a, b) for a, b in zip(weights, model.parameters(), strict=True))
    # several batches: cumulative average of the per-batch statistics
    recalibrate_bn(model, images, batch_size=4)
    with torch.no_grad():
        means = torch.stack([model[0](images[i:i + 4]).mean((0, 2, 3)) for i in (0, 4, 8)])
    torch.testing.assert_close(model[1].running_mean, means.mean(0))


def test_recalibrate_bn_works_on_a_model_without_parameters():
    model = torch.nn.Sequential(torch.nn.BatchNorm2d(2, affine=False)).eval()
    recalibrate_bn(model, torch.randn(4, 2, 3, 3), batch_size=2)
    assert int(model[0].num_batches_tracked) == 2 and not model.training
    with pytest.raises(ValueError, match="`batch_size`"):
        recalibrate_bn(model, torch.randn(4, 2, 3, 3), batch_size=0)


def test_recalibration_restores_every_modules_mode_and_the_statistics_on_error():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4),
                                torch.nn.Dropout()).train()
    model[1].eval()  # mixed modes are kept
    recalibrate_bn(model, torch.randn(4, 3, 6, 6))
    assert [m.training for m in model] == [True, False, True] and model.training
    mean = model[1].running_mean.clone()
    with pytest.raises(ValueError, match=r"`images` of shape \(4, 5, 6, 6\)"):
        recalibrate_bn(model, torch.randn(4, 5, 6, 6))
    assert torch.equal(model[1].running_mean, mean) and model[1].momentum == 0.1
    assert [m.training for m in model] == [True, False, True]
