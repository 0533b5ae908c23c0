"""Property-based tests of the public API of ``nets`` (hypothesis, deterministic).

Each call gets arguments drawn valid or invalid (tests/properties.py); it must return a result of
the documented kind, or raise a ValueError/TypeError naming the invalid argument.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.properties import (
    Pool,
    bad_count,
    check_outcome,
    draw_arguments,
    property_settings,
)

torch = pytest.importorskip("torch")

import nets  # noqa: E402

BAD_RATE = st.sampled_from([0, -1.0, float("nan"), float("inf"), True, "0.1", None])
BAD_WEIGHT = st.sampled_from([-1.0, float("nan"), float("inf"), True, "0.1", None])


def small_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3),
                               torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(12, 2))


@st.composite
def optimizer_calls(draw):
    which = draw(st.sampled_from(["IRDA", "ProxSGD", "SqrtProxSGD", "SoftMaskFISTA", "RVS"]))
    pools = {
        "IRDA": {"sparsity_weight": Pool(st.floats(0, 1e-2), BAD_WEIGHT),
                 "gamma": Pool(st.floats(0.1, 10), BAD_RATE),
                 "retrain_after": Pool(st.sampled_from([None, 0, 5]), bad_count.filter(
                     lambda v: v is not None and v != 0)),
                 "center": Pool(st.sampled_from(["zero", "initial"]), st.sampled_from(["x", 0]))},
        "ProxSGD": {"lr": Pool(st.floats(1e-4, 1), BAD_RATE),
                    "sparsity_weight": Pool(st.floats(0, 1e-2), BAD_WEIGHT)},
        "SqrtProxSGD": {"lr": Pool(st.floats(1e-4, 1), BAD_RATE),
                        "sparsity_weight": Pool(st.floats(0, 1e-2), BAD_WEIGHT),
                        "gamma": Pool(st.floats(0.1, 10), BAD_RATE)},
        "SoftMaskFISTA": {"lr": Pool(st.floats(1e-4, 1), BAD_RATE),
                          "sparsity_weight": Pool(st.floats(0, 1e-2), BAD_WEIGHT)},
        "RVS": {"penalty": Pool(st.sampled_from(["l0", "l1", "transformed_l1"]),
                                st.sampled_from(["l2", 1])),
                "sparsity_weight": Pool(st.floats(1e-4, 1e-2), BAD_RATE),
                "coupling": Pool(st.floats(1e-3, 1), BAD_RATE),
                "a": Pool(st.floats(0.1, 5), BAD_RATE)},
    }[which]
    values, bad = draw_arguments(draw, pools)
    return which, values, bad


@property_settings(max_examples=150)
@given(optimizer_calls())
def test_optimizers_validate_their_hyperparameters_and_step(call):
    which, values, bad = call
    model = small_model()
    parameters = [p for p in model.parameters()]
    if which == "SoftMaskFISTA":
        parameters = [torch.nn.Parameter(torch.ones(3))]
    cls = getattr(nets, which)
    if which == "RVS":
        parameters = nets.prunable_weights(model)

    def check(optimizer):
        for p in parameters:
            p.grad = torch.ones_like(p)
        if which == "RVS":
            optimizer.update_sparse()
            optimizer.add_coupling_grad()
            assert 0 <= optimizer.sparsity() <= 1
        else:
            optimizer.step()
        assert all(bool(torch.isfinite(p).all()) for p in parameters)

    check_outcome(lambda: cls(parameters, **values), bad, check)


@st.composite
def cogd_calls(draw):
    units = draw(st.integers(1, 4))
    x = torch.nn.Parameter(torch.rand(units))
    w = torch.nn.Parameter(torch.randn(units, 2, 3, 3))
    consumer = torch.nn.Parameter(torch.randn(2, units, 3, 3))
    good_pairs = [(x, w)]
    bad_pairs = [[], [(torch.zeros(0), torch.zeros(0, 2))], [(x, w), (x, w)], [(x,)],
                 [(x, torch.randn(units + 1, 2))], [(x.detach().long(), w)], "pairs",
                 [(x.view(-1, 1), w)], 5]
    pools = {
        "pairs": Pool(st.just(good_pairs), st.sampled_from(bad_pairs)),
        "rule": Pool(st.sampled_from(["backtrack", "revival"]), st.sampled_from(["x", None])),
        "kernel": Pool(st.sampled_from([None, "linear", "polynomial", "sqrt"]),
                       st.sampled_from(["cubic", 1])),
        "coupling_quantiles": Pool(st.tuples(st.floats(0, 1), st.floats(0, 1)),
                                   st.sampled_from([(-0.1, 0.5), (0.5, 1.5), (float("nan"), 0.5),
                                                    (0.5, 2), (0.5, "0.5"), 0.5, (0.5,)])),
        "backtrack_rate": Pool(st.floats(0.01, 1), st.sampled_from([0, 1.5, -1])),
        "collapse_below": Pool(st.floats(0, 1), st.sampled_from([-1.0, float("nan"), "x"])),
        "revival": Pool(st.floats(0, 1), st.sampled_from([-0.5, float("inf"), None])),
    }
    values, bad = draw_arguments(draw, pools)
    values["partner_axis"] = 0 if values["rule"] == "backtrack" else 1
    if values["rule"] == "revival":
        values["pairs"] = [(x, consumer)] if values["pairs"] is good_pairs else values["pairs"]
    return values, bad, draw(st.booleans())


@property_settings(max_examples=150)
@given(cogd_calls())
def test_cogd_checks_pairs_and_options_and_couples(call):
    values, bad, poison = call
    base = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    pairs = values.pop("pairs")

    def check(optimizer):
        if poison:
            with torch.no_grad():
                pairs[0][1].view(-1)[0] = float("nan")
            with pytest.warns(RuntimeWarning, match="pair 0"):
                report = optimizer.couple()
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                report = optimizer.couple()
        assert report.n_units == (pairs[0][0].shape[0],)
        assert 0 <= report.total_flagged <= pairs[0][0].shape[0]

    check_outcome(lambda: nets.CoGD(base, pairs, **values), bad, check)


@property_settings(max_examples=80)
@given(st.sampled_from([torch.float32, torch.float64, torch.float16, torch.int64, torch.bool,
                        torch.complex64, "list"]),
       st.lists(st.integers(0, 3), min_size=0, max_size=3),
       st.sampled_from(["relu", "clipped_relu", "x"]))
def test_binarized_relu_outputs_zeros_and_ones_or_names_the_argument(dtype, shape, surrogate):
    bad = set()
    if surrogate == "x":
        bad.add("straight_through")
    if dtype == "list":
        x = [0.5, -1.0]
        bad.add("x")
    else:
        x = torch.randn(shape).to(dtype)
        if not (dtype.is_floating_point):
            bad.add("x")

    def check(result):
        assert result.shape == x.shape and result.dtype == x.dtype
        assert bool(((result == 0) | (result == 1)).all())

    check_outcome(lambda: nets.BinarizedReLU(surrogate)(x), bad, check)


@property_settings(max_examples=80)
@given(st.sampled_from(["conv", "relu", "linear"]),
       st.sampled_from([(1, 2, 4, 4), (2, 2, 4, 5), (1, 12), (1, 3), (1, 2, 2, 2), (), (1, 0),
                        (1, 2.5), (True, 2), "1x2", (1, -2)]))
def test_measure_cost_counts_or_names_example_inputs(kind, shape):
    model = {"conv": small_model(), "relu": torch.nn.ReLU(),
             "linear": torch.nn.Linear(12, 2)}[kind]
    model.train()
    try:
        example_inputs = torch.zeros(shape)
    except (TypeError, RuntimeError):  # not a shape: passed as it is
        example_inputs = shape
    fits = {"conv": [(1, 2, 4, 4)], "relu": [(1, 2, 4, 4), (2, 2, 4, 5), (1, 12), (1, 3),
                                             (1, 2, 2, 2), (), (1, 0)],
            "linear": [(1, 12)]}[kind]
    bad = set() if shape in fits else {"example_inputs"}

    def check(cost):
        assert cost.macs >= 0 and cost.parameters == nets.cost.count_parameters(model)
        assert model.training  # the mode is restored

    check_outcome(lambda: nets.measure_cost(model, example_inputs), bad, check)


RESNET = nets.resnet20(soft_mask=True)


@property_settings(max_examples=80)
@given(st.sampled_from(["stages.0.0.conv1", "stages.1.2.conv1", "stages.0", "nothing"]),
       st.lists(st.one_of(st.integers(-2, 40), st.sampled_from([1.5, True, "1", None])),
                min_size=0, max_size=5),
       st.booleans())
def test_apply_plan_checks_the_plan_and_keeps_modes(layer, channels, evaluation):
    pytest.importorskip("torch_pruning")
    width = 16 if layer.startswith("stages.0.") else 32
    valid = layer.endswith(".conv1") and bool(channels) and all(
        isinstance(c, int) and not isinstance(c, bool) and 0 <= c < width for c in channels)
    model = RESNET.train(not evaluation)

    def check(pruned):
        assert all(m.training != evaluation for m in pruned.modules())
        assert pruned.get_submodule(layer).out_channels == len(set(channels))
        x = torch.randn(1, 3, 8, 8)
        assert pruned(x).shape == (1, 10)

    check_outcome(lambda: nets.apply_plan(model, torch.zeros(1, 3, 8, 8),
                                          nets.PruningPlan(keep={layer: tuple(channels)})),
                  set() if valid else {"plan"}, check)


@property_settings(max_examples=80)
@given(st.integers(0, 6), st.sampled_from([None, 0.0, 0.5, 0.99, 1.0, -0.1, "x"]),
       st.sampled_from([None, 1, 3, 0, 10, 2.0, True]))
def test_compute_mask_keeps_the_requested_count_or_names_the_argument(n, ratio, n_channels):
    scores = torch.from_numpy(np.random.default_rng(n).random(n))
    bad = set()
    if (ratio is None) == (n_channels is None):
        bad = {"ratio", "n_channels"}
    elif ratio is not None:
        kept = n - int(np.floor(ratio * n)) if isinstance(ratio, float) else None
        if not isinstance(ratio, float) or not 0 <= ratio < 1 or kept < 1:
            bad = {"ratio", "n_channels"}
    elif isinstance(n_channels, bool) or not isinstance(n_channels, int) \
            or not 1 <= n_channels <= n:
        bad = {"n_channels"}

    def check(mask):
        assert mask.dtype == torch.bool and mask.shape == (n,) and int(mask.sum()) >= 1

    check_outcome(lambda: nets.compute_mask(scores, ratio=ratio, n_channels=n_channels), bad,
                  check)
