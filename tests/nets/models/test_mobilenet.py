import pytest

torch = pytest.importorskip("torch")

from nets import MobileNetV2, measure_cost  # noqa: E402
from nets.cost import count_parameters  # noqa: E402


def test_mobilenet_v2_has_torchvisions_parameters_and_the_closed_form_macs():
    # torchvision.models.mobilenet_v2() has 3,504,872 parameters (1000 classes); the CIFAR
    # strides do not change them.
    assert count_parameters(MobileNetV2(num_classes=1000)) == 3_504_872
    # multiply-adds at 32x32: stem, then per block expansion (input resolution), depthwise 3x3
    # and projection (output resolution), the 1x1 head conv at 4x4 and the classifier
    table = [(1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
             (6, 160, 3, 2), (6, 320, 1, 1)]
    macs, channels, side = 32 * 3 * 9 * 32 * 32, 32, 32
    for t, c, n, s in table:
        for position in range(n):
            hidden = channels * t
            if t != 1:
                macs += channels * hidden * side * side
            side //= s if position == 0 else 1
            macs += hidden * 9 * side * side + hidden * c * side * side
            channels = c
    macs += channels * 1280 * side * side + 1280 * 10
    assert side == 4
    assert measure_cost(MobileNetV2()).macs == macs


def test_mobilenet_v2_residuals_and_narrow_widths():
    blocks = list(MobileNetV2().layers)[1:-1]
    assert len(blocks) == 17
    assert [b.use_residual for b in blocks].count(True) == 10  # the repeated blocks of a stage
    model = MobileNetV2(num_classes=7, width_mult=0.35)
    blocks = list(model.layers)[1:-1]
    # at width 0.35 stages 1 and 2 both have 8 channels: the stride-1 block between them adds
    assert [b.use_residual for b in blocks].count(True) == 11
    # torchvision's rounding: 32 x 0.35 = 11.2 rounds up to 16 (8 would lose over 10 %)
    assert blocks[3].conv[-1][0].out_channels == 16
    x = torch.zeros(2, 3, 32, 32)
    assert model.features(x).shape == (2, 1280)
    assert model(x).shape == (2, 7)
    with pytest.raises(ValueError, match="width_mult"):
        MobileNetV2(width_mult=0)
