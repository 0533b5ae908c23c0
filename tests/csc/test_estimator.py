import numpy as np
import pytest

from csc import ConvolutionalDictionary


@pytest.mark.parametrize("channel_axis, shape", [
    (None, (2, 16, 18)), (0, (2, 3, 16, 18)), (1, (2, 16, 3, 18)), (2, (2, 16, 18, 3)),
    (-1, (2, 16, 18, 3)), (-2, (2, 16, 3, 18)), (-3, (2, 3, 16, 18)),
])
def test_decode_of_encode_has_the_images_layout_for_every_channel_axis(channel_axis, shape):
    # decode once put the channels last whatever channel_axis was: fitted with channel_axis=0 on
    # (2, 3, 16, 16), it returned (2, 16, 16, 3) and objective(decode(codes), codes) raised
    images = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    model = ConvolutionalDictionary(4, 5, max_iter=2, encode_iter=5, random_state=0,
                                    channel_axis=channel_axis).fit(images)
    codes = model.encode(images)
    decoded = model.decode(codes)
    assert decoded.shape == images.shape
    # the decoded images are exactly D X: their data term with their own codes is zero
    l1 = model.sparsity_weight * float(np.abs(codes).sum(dtype=np.float64))
    assert model.objective(decoded, codes) == pytest.approx(l1, rel=1e-5)
