import numpy as np
import pytest

from csc import coupling


def test_minmax_normalize_maps_to_unit_interval_and_constant_scores_to_zero():
    np.testing.assert_allclose(coupling.minmax_normalize(np.array([2.0, 4.0, 3.0]), xp=np),
                               [0.0, 1.0, 0.5])
    np.testing.assert_array_equal(coupling.minmax_normalize(np.full(4, 7.0), xp=np), np.zeros(4))


def test_kernels_follow_their_definitions():
    scores = np.array([0.0, 1.0, 4.0, 16.0])
    normalized = scores / 16
    np.testing.assert_allclose(coupling.apply_kernel(scores, "linear", xp=np), normalized)
    np.testing.assert_allclose(coupling.apply_kernel(scores, "polynomial", power=2, xp=np),
                               normalized**2)
    root = np.sqrt(normalized)
    np.testing.assert_allclose(coupling.apply_kernel(scores, "sqrt", xp=np),
                               (root - root.min()) / (root.max() - root.min()))
    with pytest.raises(ValueError, match="kernel"):
        coupling.apply_kernel(scores, "gaussian", xp=np)


def test_asynchronous_units_are_collapsed_sparse_with_active_partner():
    sparse = np.array([0.0, 0.1, 5.0, 6.0, 0.2, 7.0])
    partner = np.array([9.0, 0.1, 8.0, 0.2, 7.0, 0.3])
    # medians: sparse 2.6 (after normalisation), partner 3.65 -> units 0 and 4
    units = coupling.asynchronous_units(sparse, partner, xp=np)
    np.testing.assert_array_equal(units, [True, False, False, False, True, False])


def test_backtrack_moves_only_flagged_units_toward_the_anchor():
    values = np.arange(12.0).reshape(3, 4)
    anchor = np.zeros((3, 4))
    result = coupling.backtrack(values, anchor, np.array([False, True, False]), rate=0.25, xp=np)
    np.testing.assert_array_equal(result[[0, 2]], values[[0, 2]])
    np.testing.assert_allclose(result[1], 0.75 * values[1])
    assert values[1, 0] == 4.0  # input unchanged


def test_reference_mask_revival_on_a_hand_made_example():
    """Reference pruning rule: ind = minmax(sqrt(minmax(ks))), alpha = median(ind), and every
    channel with ind > alpha and mask < 0.5 is set to 0.75."""
    mask = np.array([0.1, 0.9, 0.0, 0.3, 0.6, 0.2])
    partner = np.array([16.0, 9.0, 1.0, 0.0, 4.0, 25.0])
    # minmax -> [.64, .36, .04, 0, .16, 1]; sqrt -> [.8, .6, .2, 0, .4, 1] (already in [0, 1]);
    # median 0.5 -> above: channels 0, 1, 5; collapsed among them: 0 and 5
    revived = coupling.revive_collapsed_masks(mask, partner, xp=np)
    np.testing.assert_allclose(revived, [0.75, 0.9, 0.0, 0.3, 0.6, 0.75])


def test_constant_scores_flag_no_unit():
    varied = np.array([0.0, 3.0, 1.0, 2.0])
    assert not coupling.asynchronous_units(np.ones(4), varied, xp=np).any()
    assert not coupling.asynchronous_units(varied, np.full(4, 2.0), xp=np).any()
