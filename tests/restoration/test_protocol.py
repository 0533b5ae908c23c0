import numpy as np
import pytest

from restoration import protocol
from restoration.metrics import protocol_psnr, protocol_ssim, psnr, psnr_missing, ssim

from .conftest import TINY


def test_averages_are_means_of_the_per_image_values(inpainted):
    for key in protocol.METRIC_KEYS:
        values = [row[key] for row in inpainted["per_image"]]
        assert inpainted["averages"][key] == pytest.approx(np.mean(values), rel=1e-12)


def test_metrics_equal_restoration_metrics_on_the_same_arrays(inpainted):
    arrays = inpainted["arrays"]
    for index, row in enumerate(inpainted["per_image"]):
        truth, restored, mask = (arrays[k][index] for k in ("truth", "restored", "mask"))
        data_range = truth.max() - truth.min()
        assert row["protocol_psnr"] == protocol_psnr(truth, restored)
        assert row["protocol_ssim"] == protocol_ssim(truth, restored)
        assert row["psnr"] == psnr(truth, restored, data_range=data_range)
        assert row["ssim"] == ssim(truth, restored, data_range=data_range)
        assert row["psnr_missing"] == psnr_missing(truth, restored, mask, data_range=data_range)


def test_inpainting_mask_keeps_three_quarters_and_depends_on_the_seed(inpainted):
    mask = inpainted["arrays"]["mask"]
    assert 0.65 < mask.mean() < 0.85
    np.testing.assert_array_equal(mask, protocol.protocol_mask(mask.shape, 3))
    assert not np.array_equal(mask, protocol.protocol_mask(mask.shape, 4))
    np.testing.assert_array_equal(inpainted["arrays"]["observed"],
                                  inpainted["arrays"]["truth"] * mask)
    assert inpainted["encode_objective"] > 0 and 0 <= inpainted["encode_nnz"] <= 1


def test_reconstruction_has_no_missing_pixel_metric_and_a_monotone_history(tiny_images):
    result = protocol.evaluate(tiny_images, task="reconstruct", optimizer="admm", **TINY)
    assert result["averages"]["psnr_missing"] is None
    assert result["encode_objective"] is None
    objective = result["history"]["objective"]
    assert len(objective) == TINY["max_iter"] + 1
    assert all(b <= a for a, b in zip(objective, objective[1:], strict=False))
    assert result["objective"] == objective[-1]
