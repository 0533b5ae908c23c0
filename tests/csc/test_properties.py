"""Property-based tests of the public API of ``csc`` (hypothesis, deterministic).

Each call gets arguments drawn valid or invalid (tests/properties.py); it must return a result of
the documented shape, dtype and range, or raise a ValueError/TypeError naming the invalid
argument.
"""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from csc import (
    ConvolutionalDictionary,
    LearningOptions,
    admm_sparse_code,
    fista_sparse_code,
    learn_dictionary,
)
from csc.coding import CodingState
from csc.fourier import pad_filters, pad_signal, spectra
from csc.images import as_float, image_layout, mask_weights
from tests.properties import (
    Pool,
    bad_count,
    bad_positive,
    check_outcome,
    draw_arguments,
    property_settings,
    random_array,
    seeds,
)

from .helpers import DICTIONARY_DAMAGES, write_dictionary_file

IMAGE_DTYPES = ("float32", "float64", "float16", "uint8", "uint16", "int16", "bool")


def expected_float(dtype):
    return np.float64 if np.dtype(dtype) == np.float64 else np.float32


@st.composite
def learning_calls(draw):
    """Arguments of ``ConvolutionalDictionary(...).fit(images, mask)``."""
    colour = draw(st.booleans())
    n_images, height, width = draw(st.integers(1, 2)), draw(st.integers(5, 10)), \
        draw(st.integers(5, 10))
    shape = (n_images, height, width) + ((2,) if colour else ())
    seed = draw(seeds)
    dtype = draw(st.sampled_from(IMAGE_DTYPES))
    images = random_array(seed, shape, dtype)
    bad_images = st.sampled_from([
        np.full(shape, np.nan), images.astype(complex), [images[0], images[0][:-1]],
        np.zeros((0,) + shape[1:]), np.zeros(7), "images", images[..., :2, :2, :] if colour
        else images[:, :2, :2], np.zeros(shape, object)])
    mask = random_array(seed + 1, shape[:3], "bool")
    mask[..., 0, 0] = True
    pools = {
        "images": Pool(st.just(images), bad_images, ("images", "filter_size", "mask")),
        "mask": Pool(st.sampled_from([None, mask, mask.astype(np.float32)]),
                     st.sampled_from([np.zeros(shape[:3], bool), mask[:, :-1],
                                      np.full(shape[:3], np.nan), np.full(shape[:3], -1.0)])),
        "n_filters": Pool(st.integers(1, 3), bad_count),
        "filter_size": Pool(st.integers(3, 5), bad_count),
        "sparsity_weight": Pool(st.floats(1e-3, 10), st.one_of(bad_positive,
                                                             st.just(1e300), st.just(1e-300))),
        "max_iter": Pool(st.integers(1, 2), bad_count),
        "optimizer": Pool(st.sampled_from(["admm", "cogd"]), st.sampled_from(["sgd", None, 1])),
        "random_state": Pool(st.sampled_from([None, 0, 7, np.random.default_rng(1)]),
                             st.sampled_from(["seed", -1, 1.5, [object()]])),
        "initial_filters": Pool(st.just(None), st.sampled_from(
            [np.full((3, 5, 5), np.nan), np.zeros((2, 2)), np.ones((1, 1, 1), complex)]),
            ("initial_filters", "n_filters", "filter_size")),
    }
    values, bad = draw_arguments(draw, pools)
    values["channel_axis"] = -1 if colour else None
    return values, bad


@property_settings(max_examples=160)
@given(learning_calls())
def test_fit_encode_decode_return_documented_arrays_or_name_the_argument(call):
    values, bad = call
    images, mask = values.pop("images"), values.pop("mask")
    n_filters, filter_size = values.pop("n_filters"), values.pop("filter_size")
    model = ConvolutionalDictionary(n_filters, filter_size, coding_iter=2, dictionary_iter=2,
                                    encode_iter=2, **values)

    def check(fitted):
        dtype = expected_float(np.asarray(images).dtype)
        n_images, height, width = np.shape(images)[:3]
        colour = values["channel_axis"] is not None
        filter_shape = (n_filters,) + ((2,) if colour else ()) + (filter_size, filter_size)
        assert fitted.filters_.shape == filter_shape and fitted.filters_.dtype == dtype
        assert np.all(np.isfinite(fitted.filters_))
        norms = np.linalg.norm(fitted.filters_.reshape(n_filters, -1), axis=1)
        assert np.all(norms <= 1 + 1e-5)
        objective = np.asarray(fitted.history_["objective"])
        assert np.all(np.isfinite(objective)) and np.all(np.diff(objective) <= 1e-9 * objective[0])
        grid = (height + filter_size - 1, width + filter_size - 1)
        assert fitted.codes_.shape == (n_images, n_filters) + grid
        codes = fitted.encode(images, mask)
        assert codes.shape == fitted.codes_.shape and codes.dtype == dtype
        assert np.all(np.isfinite(codes))
        decoded = fitted.decode(codes)
        assert decoded.shape == np.shape(images) and np.all(np.isfinite(decoded))

    check_outcome(lambda: model.fit(images, mask), bad, check)


@st.composite
def option_calls(draw):
    pair = st.tuples(st.floats(0.1, 10), st.floats(0.1, 10))
    pools = {
        "sparsity_weight": Pool(st.floats(1e-6, 1e3), bad_positive),
        "optimizer": Pool(st.sampled_from(["admm", "cogd"]), st.sampled_from(["ADMM", 0, None])),
        "max_iter": Pool(st.integers(1, 50), bad_count),
        "coding_iter": Pool(st.integers(1, 50), bad_count),
        "dictionary_iter": Pool(st.integers(1, 50), bad_count),
        "coding_penalty": Pool(st.one_of(st.none(), pair),
                               st.sampled_from([(1.0,), (0.0, 1.0), "1,1", (1.0, float("nan"))])),
        "dictionary_penalty": Pool(pair, st.sampled_from([(1.0, -1.0), 3.0, (True, 1.0)])),
        "relaxation": Pool(st.floats(0.1, 1.9), st.sampled_from([0, 2, -1, float("nan"), "1"])),
        "dictionary_solver": Pool(st.sampled_from(["auto", "woodbury", "consensus"]),
                                  st.sampled_from(["fast", None])),
        "non_negative": Pool(st.booleans(), st.sampled_from([0, "yes", None])),
        "coupling": Pool(st.sampled_from(["reference", "filter"]), st.sampled_from(["x", 1])),
        "coupling_quantiles": Pool(st.tuples(st.floats(0, 1), st.floats(0, 1)),
                                   st.sampled_from([(0.5,), (0.5, 2.0), None])),
        "backtrack_rate": Pool(st.floats(0.01, 1), st.sampled_from([0, 1.5, -0.1])),
    }
    return draw_arguments(draw, pools)


@property_settings(max_examples=200)
@given(option_calls())
def test_learning_options_validate_every_field(call):
    values, bad = call

    def check(options):
        assert isinstance(options.sparsity_weight, float)
        assert len(options.coding_penalty) == 2 and all(v > 0 for v in options.coding_penalty)

    check_outcome(lambda: LearningOptions(**values), bad, check)


@st.composite
def coding_calls(draw):
    """Arguments of ``admm_sparse_code`` / ``fista_sparse_code`` on a small padded problem."""
    seed, dtype = draw(seeds), draw(st.sampled_from([np.float32, np.float64]))
    n_images, n_channels, n_filters = draw(st.integers(1, 2)), draw(st.integers(1, 2)), \
        draw(st.integers(1, 3))
    size, filter_size = draw(st.integers(4, 9)), draw(st.integers(1, 4))
    rng = np.random.default_rng(seed)
    signal = pad_signal(rng.standard_normal((n_images, n_channels, size, size)).astype(dtype),
                        filter_size, xp=np)
    weights = pad_signal(np.ones((n_images, n_channels, size, size), dtype), filter_size, xp=np)
    filters = rng.standard_normal((n_filters, n_channels, filter_size, filter_size)) / filter_size
    filters_hat = spectra(pad_filters(filters.astype(dtype), signal.shape[-2:], xp=np), xp=np)
    grid = signal.shape[-2:]
    state = CodingState.zeros(n_images, n_channels, n_filters, grid, dtype=dtype, xp=np)
    pools = {
        "signal": Pool(st.just(signal), st.sampled_from(
            [signal[..., :-1], signal[0], signal.astype(complex), signal.astype(np.int32),
             signal.tolist()])),
        "weights": Pool(st.sampled_from([weights, weights[:1, :1], weights > 0]),
                        st.sampled_from([weights[..., :-1], weights.astype(complex), 1.0])),
        "filters_hat": Pool(st.just(filters_hat), st.sampled_from(
            [filters_hat[..., :-1], filters_hat.real, filters_hat[:0], filters_hat[:, :, None]])),
        "sparsity_weight": Pool(st.floats(1e-3, 10), st.one_of(bad_positive, st.just(1e300))),
        "max_iter": Pool(st.integers(1, 3), bad_count),
        "tol": Pool(st.sampled_from([None, 1e-3]), st.sampled_from([0, -1.0, "x"])),
        "rho_data": Pool(st.floats(0.1, 10), bad_positive),
        "rho_sparse": Pool(st.floats(0.1, 10), bad_positive),
        "relaxation": Pool(st.floats(0.5, 1.9), st.sampled_from([0, 2.5, float("nan")])),
        "state": Pool(st.sampled_from([None, state]),
                      st.sampled_from(["state", CodingState(signal, signal, signal, signal)])),
        "filter_size": Pool(st.sampled_from([None, filter_size]),
                            st.sampled_from([0, size + filter_size + 1, 1.5])),
        "non_negative": Pool(st.booleans(), st.sampled_from([None, "no"])),
    }
    values, bad = draw_arguments(draw, pools)
    values["solver"] = draw(st.sampled_from(["admm", "fista"]))
    return values, bad


@property_settings(max_examples=160)
@given(coding_calls())
def test_sparse_coding_returns_finite_codes_or_names_the_argument(call):
    values, bad = call
    solver = values.pop("solver")
    signal, weights, filters_hat = values.pop("signal"), values.pop("weights"), \
        values.pop("filters_hat")
    if solver == "fista":
        for name in ("rho_data", "rho_sparse", "relaxation", "state"):
            bad.discard(name)
            values.pop(name)
        function = fista_sparse_code
    else:
        function = admm_sparse_code

    def check(result):
        expected = (signal.shape[0], filters_hat.shape[0]) + signal.shape[2:]
        assert result.coefficients.shape == expected
        assert result.coefficients.dtype == signal.dtype
        assert np.all(np.isfinite(result.coefficients))
        assert 1 <= result.n_iter <= values["max_iter"]
        if values["non_negative"]:
            assert np.all(result.coefficients >= 0)

    check_outcome(lambda: function(signal, weights, filters_hat, xp=np, **values), bad, check)


@st.composite
def image_arrays(draw):
    dtype = draw(st.sampled_from(IMAGE_DTYPES + ("int64", "uint32", "complex64", "object", "<U1")))
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=0, max_size=4)))
    kind = np.dtype(dtype).kind
    if kind in "cOU":
        return np.zeros(shape, dtype), {"images"}
    images = random_array(draw(seeds), shape, dtype)
    if kind == "f" and draw(st.booleans()) and images.size:
        images.flat[0] = np.nan
        return images, {"images"}
    return images, set()


@property_settings(max_examples=120)
@given(image_arrays(), st.sampled_from([None, -1, 0, 2, 5, -4, 1.0, True]))
def test_float_policy_and_layout(drawn, channel_axis):
    images, bad = drawn

    def check(values):
        dtype = images.dtype
        assert values.shape == images.shape
        assert values.dtype == (dtype if dtype in (np.float32, np.float64) else np.float32)
        if dtype.kind in "ub" and values.size:
            assert values.min() >= 0 and values.max() <= 1
        if dtype.kind == "i" and values.size:
            assert values.min() >= -1 and values.max() <= 1

    check_outcome(lambda: as_float(images), bad, check)
    axis_ok = channel_axis is None or (isinstance(channel_axis, int)
                                       and not isinstance(channel_axis, bool)
                                       and -3 <= channel_axis <= 2)
    single = 2 if channel_axis is None else 3
    layout_bad = set() if axis_ok and images.ndim in (single, single + 1) \
        and 0 not in images.shape else {"images", "channel_axis"}

    def check_layout(layout):
        n_images, n_channels, height, width = layout.internal_shape
        assert n_images * n_channels * height * width == images.size
        internal = layout.to_internal(images, xp=np)
        assert internal.shape == layout.internal_shape
        np.testing.assert_array_equal(layout.from_internal(internal, xp=np), images)
        mask = mask_weights(np.ones(images.shape, bool), layout, dtype=np.float32)
        assert mask.shape == layout.internal_shape and np.all(mask == 1)

    check_outcome(lambda: image_layout(images, channel_axis), layout_bad, check_layout)


@property_settings(max_examples=64)
@given(seeds, st.integers(1, 3), st.sampled_from((None,) + DICTIONARY_DAMAGES))
def test_load_returns_a_dictionary_or_names_the_file(tmp_path_factory, seed, n_filters, damage):
    filters = random_array(seed, (n_filters, 3, 3), "float32") - 0.5
    path = tmp_path_factory.mktemp("load") / "d.npz"
    write_dictionary_file(path, filters, damage)
    try:
        model = ConvolutionalDictionary.load(path)
    except ValueError as error:
        assert damage is not None, error
        assert str(path) in str(error) and "\n" not in str(error)
        return
    assert damage is None
    assert model.filters_.shape == filters.shape
    codes = model.encode(np.zeros((1, 6, 6), np.float32))
    assert codes.shape == (1, n_filters, 8, 8)


@property_settings(max_examples=40)
@given(st.integers(1, 3), st.sampled_from([None, "here", 3, b"x"]),
       st.sampled_from([None, print, "callback"]))
def test_learn_dictionary_checks_checkpoint_and_callback(n_filters, checkpoint, callback):
    bad = set()
    if checkpoint not in (None, "here"):
        bad.add("checkpoint")
    if callback == "callback":
        bad.add("callback")
    images = random_array(n_filters, (1, 6, 6), "float32")
    if checkpoint == "here":
        checkpoint = None  # a real path is covered by tests/csc/test_learn.py
    check_outcome(lambda: learn_dictionary(images, n_filters=n_filters, filter_size=3,
                                           options=LearningOptions(max_iter=1),
                                           checkpoint=checkpoint, callback=callback),
                  bad, lambda result: result.filters.shape == (n_filters, 3, 3))
