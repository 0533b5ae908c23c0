import numpy as np
import pytest

pytest.importorskip("torch")

from .example_loader import load_example  # noqa: E402


@pytest.fixture(scope="module")
def beale():
    return load_example("beale")


def test_beale_minimum_and_x_zero_plateau(beale):
    assert beale.beale(3.0, 0.5) == 0
    assert beale.beale(0.0, np.linspace(-2, 2, 5)) == pytest.approx(1.5**2 + 2.25**2 + 2.625**2)


def test_every_optimizer_with_and_without_cogd_decreases_the_objective(beale):
    starts = np.random.default_rng(1).uniform(-2, 2, (8, 2))
    results = beale.run_all(starts, n_iter=60, epoch=10)
    assert set(results) == {f"{n}{s}" for n in ("SGD", "Momentum", "Adam")
                            for s in ("", " + CoGD")}
    for label, result in results.items():
        assert result["path"].shape == (61, 8, 2)
        assert np.mean(result["objective"][-1]) < np.mean(result["objective"][0]), label
        assert np.all(np.abs(result["path"]) <= beale.BOX)
    assert sum(results[f"{n} + CoGD"]["backtracked"] for n in ("SGD", "Momentum", "Adam")) > 0


def test_cogd_backtracks_x_toward_its_anchor_only_for_flagged_units(beale):
    starts = np.random.default_rng(2).uniform(-2, 2, (16, 2))
    plain = beale.optimize(starts, "Adam", n_iter=10, cogd=False, epoch=10)
    coupled = beale.optimize(starts, "Adam", n_iter=10, cogd=True, epoch=10)
    moved = np.flatnonzero(plain["path"][-1, :, 0] != coupled["path"][-1, :, 0])
    assert coupled["backtracked"] == len(moved) > 0
    np.testing.assert_allclose(coupled["path"][-1, moved, 0], starts[moved, 0])  # rate 1: anchor
    np.testing.assert_array_equal(plain["path"][-1, :, 1], coupled["path"][-1, :, 1])


def test_script_writes_the_figure_and_refuses_to_overwrite(beale, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "beale.png"
    assert beale.main(["--n-iter", "20", "--n-starts", "6", "--epoch", "5", "--out",
                       str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Adam + CoGD" in printed and out.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(SystemExit):
        beale.main(["--n-iter", "20", "--out", str(out)])
    assert beale.main(["--n-iter", "5", "--n-starts", "4", "--out", str(out), "--force"]) == 0
