import copy
import math

import pytest

torch = pytest.importorskip("torch")

from nets import IRDA, SmallCNN, irda_init_  # noqa: E402
from nets.irda import irda_param_groups, irda_update  # noqa: E402


def _brute_force_argmin(objective, grid):
    return grid[torch.argmin(objective(grid))]


def test_irda_closed_form_minimises_rda_subproblem():
    # w_{t+1} = argmin <g_bar, w> + lam |w| + (beta_t / 2t) w^2, beta_t = gamma sqrt(t)
    generator = torch.Generator().manual_seed(1)
    grid = torch.linspace(-20, 20, 80001, dtype=torch.float64)
    lam, gamma, t = 0.3, 0.7, 9
    grad_avg_prev = torch.randn(8, generator=generator, dtype=torch.float64)
    grad = torch.randn(8, generator=generator, dtype=torch.float64)
    new_weight, new_avg = irda_update(grad_avg_prev, grad, step=t, sparsity_weight=lam,
                                      gamma=gamma)
    torch.testing.assert_close(new_avg, grad_avg_prev * (t - 1) / t + grad / t)
    beta = gamma * math.sqrt(t)
    for i in range(8):
        g = new_avg[i]
        expected = _brute_force_argmin(
            lambda w, g=g: g * w + lam * w.abs() + beta / (2 * t) * w ** 2, grid)
        assert abs(float(new_weight[i]) - float(expected)) < 1e-3


def test_irda_update_with_center_minimises_centred_subproblem():
    generator = torch.Generator().manual_seed(2)
    grid = torch.linspace(-20, 20, 80001, dtype=torch.float64)
    lam, gamma, t = 0.2, 0.5, 4
    grad_avg = torch.randn(6, generator=generator, dtype=torch.float64)
    center = torch.randn(6, generator=generator, dtype=torch.float64)
    grad = torch.zeros(6, dtype=torch.float64)
    new_weight, new_avg = irda_update(grad_avg, grad, step=t, sparsity_weight=lam, gamma=gamma,
                                      center=center)
    beta = gamma * math.sqrt(t)
    for i in range(6):
        expected = _brute_force_argmin(
            lambda w, i=i: new_avg[i] * w + lam * w.abs() + beta / (2 * t) * (w - center[i]) ** 2,
            grid)
        assert abs(float(new_weight[i]) - float(expected)) < 1e-3


def test_first_irda_step_ignores_initial_weights_in_paper_mode():
    # Algorithm 1: w_0 = 0, so w_2 = -(1/gamma) S_lam(g_1), whatever w_1 is.
    weight = torch.nn.Parameter(torch.tensor([5.0, -3.0, 0.1, 2.0]))
    weight.grad = torch.tensor([0.5, -0.05, 2.0, -1.0])
    IRDA([weight], sparsity_weight=0.1, gamma=2.0).step()
    torch.testing.assert_close(weight.detach(), torch.tensor([-0.2, 0.0, -0.95, 0.45]))


def test_step_two_keeps_zero_weights_at_zero_and_sparsity_never_drops():
    generator = torch.Generator().manual_seed(3)
    target = torch.randn(40, generator=generator)
    weight = torch.nn.Parameter(torch.randn(40, generator=generator))
    optimizer = IRDA([weight], sparsity_weight=0.3, gamma=1.0, retrain_after=20)
    zeros_at_switch = None
    previous_zeros = None
    for t in range(1, 61):
        noise = 0.5 * torch.randn(40, generator=generator)
        weight.grad = (weight.detach() - target) + noise
        optimizer.step()
        zeros = weight.detach() == 0
        if t == 21:  # first masked step; mask taken from w_21
            zeros_at_switch = zeros.clone()
        if t > 21:
            assert bool((zeros | ~previous_zeros).all()), "a zero weight became non-zero"
        previous_zeros = zeros
    assert zeros_at_switch.any() and (~zeros_at_switch).any()
    assert bool(previous_zeros[zeros_at_switch].all())


def test_start_retraining_switches_to_masked_updates():
    weight = torch.nn.Parameter(torch.tensor([0.0, 1.0]))
    optimizer = IRDA([weight], sparsity_weight=0.0, gamma=1.0, retrain_mode="continue")
    optimizer.start_retraining()
    assert optimizer.in_retraining()
    weight.grad = torch.tensor([-10.0, 1.0])  # would make weight[0] positive without the mask
    optimizer.step()
    assert float(weight.detach()[0]) == 0.0
    assert float(weight.detach()[1]) == pytest.approx(-1.0)


def test_restarted_step_two_is_the_rda_closed_form_centred_at_the_switch():
    # constant gradient g after the switch: the restarted average is g (0 at zero weights), so
    # w_{T+tau} = S_{c lam}(w_T - c g) on the support of w_T, c = sqrt(tau) / (gamma sqrt(T))
    lam, gamma, switch = 0.01, 0.5, 4
    weight = torch.nn.Parameter(torch.tensor([0.0, 0.0, 0.0, 0.0], dtype=torch.float64))
    optimizer = IRDA([weight], sparsity_weight=lam, gamma=gamma, retrain_after=switch,
                     retrain_mode="restart")
    for grad in ([-1.0, 0.001, 2.0, -3.0],) * switch:  # step 1: w_5 = -(2/gamma) S_lam(g)
        weight.grad = torch.tensor(grad, dtype=torch.float64)
        optimizer.step()
    at_switch = weight.detach().clone()
    assert at_switch[1] == 0 and bool((at_switch[[0, 2, 3]] != 0).all())
    g = torch.tensor([0.3, -5.0, -0.2, 0.1], dtype=torch.float64)
    for tau in range(1, 6):
        weight.grad = g.clone()
        optimizer.step()
        c = math.sqrt(tau) / (gamma * math.sqrt(switch))
        shifted = at_switch - c * g
        expected = torch.sign(shifted) * torch.clamp(shifted.abs() - c * lam, min=0)
        expected[1] = 0.0  # zero at the switch: stays zero whatever its gradient
        torch.testing.assert_close(weight.detach(), expected)


def test_restarted_step_two_moves_less_each_step_than_the_paper_schedule():
    # same gradients in both runs; after the switch the restart's steps shrink like 1/sqrt(tau)
    def last_moves(mode):
        generator = torch.Generator().manual_seed(5)
        weight = torch.nn.Parameter(torch.zeros(30))
        optimizer = IRDA([weight], sparsity_weight=0.0, gamma=1.0, retrain_after=50,
                         retrain_mode=mode)
        moves = []
        for _ in range(450):
            before = weight.detach().clone()
            weight.grad = torch.randn(30, generator=generator)
            optimizer.step()
            moves.append(float((weight.detach() - before).norm()))
        return sum(moves[-50:]) / 50

    assert last_moves("restart") < 0.5 * last_moves("continue")


def test_irda_groups_use_their_own_lambda_and_gamma():
    a = torch.nn.Parameter(torch.zeros(3))
    b = torch.nn.Parameter(torch.zeros(3))
    optimizer = IRDA([{"params": [a], "sparsity_weight": 0.0, "gamma": 2.0},
                      {"params": [b]}], sparsity_weight=5.0, gamma=1.0)
    grad = torch.tensor([1.0, -2.0, 3.0])
    a.grad, b.grad = grad.clone(), grad.clone()
    optimizer.step()
    torch.testing.assert_close(a.detach(), -grad / 2.0)
    torch.testing.assert_close(b.detach(), torch.zeros(3))


def test_irda_state_dict_round_trip_reproduces_trajectory():
    def run(n_steps, optimizer, params, generator):
        for _ in range(n_steps):
            for p in params:
                p.grad = torch.randn(p.shape, generator=generator)
            optimizer.step()

    # the restart checkpoint is taken after the switch (step 7), so it holds the restart state
    for center, mode, n_before in (("zero", "continue", 5), ("initial", "continue", 5),
                                   ("zero", "restart", 9)):
        generator = torch.Generator().manual_seed(4)
        params = [torch.nn.Parameter(torch.randn(3, 4, generator=generator))]
        optimizer = IRDA(params, sparsity_weight=0.05, gamma=0.5, retrain_after=7, center=center,
                         retrain_mode=mode)
        run(n_before, optimizer, params, generator)
        checkpoint = (copy.deepcopy(optimizer.state_dict()), [p.detach().clone() for p in params],
                      generator.get_state())
        run(5, optimizer, params, generator)
        expected = params[0].detach().clone()

        params2 = [torch.nn.Parameter(checkpoint[1][0].clone())]
        optimizer2 = IRDA(params2, sparsity_weight=1.0, gamma=9.0, center=center)  # overwritten
        optimizer2.load_state_dict(checkpoint[0])
        generator.set_state(checkpoint[2])
        run(5, optimizer2, params2, generator)
        torch.testing.assert_close(params2[0].detach(), expected)
        assert optimizer2.param_groups[0]["retrain_after"] == 7


@pytest.mark.parametrize("kwargs, name", [
    (dict(sparsity_weight=-1.0), "sparsity_weight"),
    (dict(gamma=0.0), "gamma"),
    (dict(retrain_after=-3), "retrain_after"),
    (dict(center="middle"), "center"),
    (dict(retrain_mode="decay"), "retrain_mode"),
])
def test_irda_rejects_bad_hyperparameters_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        IRDA([torch.nn.Parameter(torch.zeros(2))], **kwargs)


def test_irda_trains_sparse_linear_regression():
    # convex case: recovers a sparse vector's support with a sparse iterate
    generator = torch.Generator().manual_seed(5)
    truth = torch.zeros(20)
    truth[:4] = torch.tensor([1.0, -2.0, 1.5, 0.8])
    inputs = torch.randn(512, 20, generator=generator)
    targets = inputs @ truth
    weight = torch.nn.Parameter(torch.zeros(20))
    optimizer = IRDA([weight], sparsity_weight=0.05, gamma=0.5)
    for _ in range(400):
        index = torch.randint(0, 512, (32,), generator=generator)
        loss = 0.5 * ((inputs[index] @ weight - targets[index]) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert bool((weight.detach()[4:] == 0).all())
    assert bool((weight.detach()[:4] != 0).all())
    assert float((weight.detach() - truth).norm()) < 0.3


def test_init_helper_has_zero_mean_and_requested_std():
    generator = torch.Generator().manual_seed(6)
    conv = torch.nn.Conv2d(8, 64, 3)
    irda_init_(conv, scale=10.0, random_state=generator)
    fan_in = 8 * 9
    values = conv.weight.detach()
    assert float(values.std()) == pytest.approx(10.0 / math.sqrt(fan_in), rel=0.05)
    assert abs(float(values.mean())) < 0.05 * 10.0 / math.sqrt(fan_in)
    assert float(values.abs().max()) <= math.sqrt(3.0) * 10.0 / math.sqrt(fan_in) + 1e-6
    assert bool((conv.bias == 0).all())
    with pytest.raises(ValueError, match="scale"):
        irda_init_(conv, scale=0.0)


def test_init_random_state_is_a_seed_or_a_generator_with_the_same_draws():
    by_seed = irda_init_(torch.nn.Linear(5, 3), scale=2.0, random_state=7).weight
    generator = torch.Generator().manual_seed(7)
    by_generator = irda_init_(torch.nn.Linear(5, 3), scale=2.0, random_state=generator).weight
    assert torch.equal(by_seed, by_generator)
    for bad in (-1, 1.5, True, "7"):
        with pytest.raises(ValueError, match="`random_state`"):
            irda_init_(torch.nn.Linear(5, 3), scale=2.0, random_state=bad)


def test_irda_keeps_float32_parameters():
    model = SmallCNN(width=2, hidden=4)
    optimizer = IRDA(model.parameters(), sparsity_weight=1e-3, gamma=1.0)
    model(torch.randn(3, 1, 8, 8)).sum().backward()
    optimizer.step()
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert all(v["grad_avg"].dtype == torch.float32 for v in optimizer.state.values())


def test_irda_param_groups_put_only_kernels_under_the_l1_term():

    model = SmallCNN(width=2, hidden=4, batch_norm=True)
    everything = irda_param_groups(model)
    assert len(everything) == 1 and len(everything[0]["params"]) == len(list(model.parameters()))
    kernels, others = irda_param_groups(model, penalize="weights")
    expected_kernels = [p for n, p in model.named_parameters()
                        if n.endswith("weight") and p.dim() >= 2]
    assert [id(p) for p in kernels["params"]] == [id(p) for p in expected_kernels]
    assert "sparsity_weight" not in kernels and "center" not in kernels
    assert others["sparsity_weight"] == 0.0 and others["center"] == "initial"
    assert ({id(p) for p in kernels["params"]} | {id(p) for p in others["params"]}
            == {id(p) for p in model.parameters()})
    assert all(p.dim() == 1 for p in others["params"])
    with pytest.raises(ValueError, match="penalize"):
        irda_param_groups(model, penalize="biases")


def test_weights_only_groups_keep_batchnorm_scales_where_paper_mode_resets_them():
    # Algorithm 1 (w_0 = 0) sets every parameter to -S_lam(g_1)/gamma at the first step,
    # BatchNorm scales included; the "weights" grouping dual-averages them from w_1 instead.

    for penalize, expected_scale in (("all", 0.0), ("weights", 1.0)):
        torch.manual_seed(0)
        model = SmallCNN(width=2, hidden=4, batch_norm=True)
        optimizer = IRDA(irda_param_groups(model, penalize=penalize), sparsity_weight=1e-3,
                         gamma=1.0)
        for p in model.parameters():
            p.grad = torch.zeros_like(p)
        conv = model.features[0].weight
        conv.grad = torch.full_like(conv, 0.5)
        optimizer.step()
        bn_scale = model.features[1].weight.detach()
        torch.testing.assert_close(bn_scale, torch.full_like(bn_scale, expected_scale))
        # the kernels follow Algorithm 1 in both groupings: -(g - lam) / gamma
        torch.testing.assert_close(conv.detach(), torch.full_like(conv, -(0.5 - 1e-3)))
