import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from .example_loader import load_example  # noqa: E402


@pytest.fixture(scope="module")
def irda_digits():
    return load_example("irda_digits")


@pytest.fixture(scope="module")
def small_data(irda_digits):
    x_train, y_train, x_test, y_test = irda_digits.load_data()
    return x_train[:192], y_train[:192], x_test[:64], y_test[:64]


@pytest.fixture
def deterministic():
    was = torch.are_deterministic_algorithms_enabled()
    threads = torch.get_num_threads()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    yield
    torch.use_deterministic_algorithms(was)
    torch.set_num_threads(threads)


@pytest.mark.parametrize("method", ["irda", "sgd"])
def test_fixed_seed_short_run_is_bitwise_repeatable(irda_digits, small_data, deterministic,
                                                    method):
    # 2 epochs, step 2 from the second: both iRDA phases and the BN re-estimation run
    args = irda_digits.build_parser().parse_args(["--epochs", "2", "--retrain-fraction", "0.5"])
    first = irda_digits.run_method(method, small_data, seed=3, args=args)
    again = irda_digits.run_method(method, small_data, seed=3, args=args)
    other_seed = irda_digits.run_method(method, small_data, seed=4, args=args)
    assert first["digest"] == again["digest"]
    assert first["test_acc"] == again["test_acc"]
    assert first["digest"] != other_seed["digest"]  # the digest does see the weights


def test_perturbed_init_changes_the_weights_but_not_their_scale(irda_digits):
    model = torch.nn.Linear(50, 40)
    before = model.weight.detach().clone()
    irda_digits.perturb_(model, 1e-6, seed=0)
    change = (model.weight.detach() - before) / before
    assert 0 < float(change.abs().max()) < 1e-5
