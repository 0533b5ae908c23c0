import pytest

from .example_loader import load_example


@pytest.fixture(scope="module")
def seed_statistics():
    return load_example("seed_statistics")


def test_paired_difference_against_hand_computed_values(seed_statistics):
    # differences 1, 2, 3: mean 2, sample std 1, two standard errors 2 / sqrt(3) = 1.1547
    summary = seed_statistics.paired_difference([11.0, 12.0, 13.0], [10.0, 10.0, 10.0])
    assert summary["differences"] == [1.0, 2.0, 3.0]
    assert summary["mean"] == pytest.approx(2.0)
    assert summary["spread"] == pytest.approx(1.0)
    assert summary["half_width"] == pytest.approx(2 / 3 ** 0.5)
    assert summary["exceeds"]


def test_difference_inside_its_noise_is_not_called_an_effect(seed_statistics):
    # differences +1, -1, +1.5, -0.5: mean 0.25, far below 2 standard errors
    summary = seed_statistics.paired_difference([1.0, -1.0, 1.5, -0.5], [0.0] * 4)
    assert not summary["exceeds"]
    assert not seed_statistics.paired_difference([5.0], [1.0])["exceeds"]  # one seed: no noise


def test_paired_difference_refuses_unequal_seed_counts(seed_statistics):
    with pytest.raises(ValueError):
        seed_statistics.paired_difference([1.0, 2.0], [1.0])
