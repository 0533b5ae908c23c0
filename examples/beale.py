"""CoGD on the Beale function (CoGD paper, section 5.1): SGD, momentum and Adam, with and without
the coupling rule; writes a trajectory/convergence figure and prints the final values.

The Beale function

    f(x, y) = (1.5 - x + x y)^2 + (2.25 - x + x y^2)^2 + (2.625 - x + x y^3)^2
            = sum_i (c_i + x (y^i - 1))^2,

is bilinear in ``x`` and ``g_i(y) = y^i - 1``: every term couples ``x`` with a function of
``y``, as the CSC objective couples codes with filters. Its global minimum is f(3, 0.5) = 0. The
failure that CoGD targets appears here exactly: when ``x`` collapses to 0 the gradient in ``y``
(which carries a factor ``x``) vanishes, and the pair stalls on the plateau f(0, y) = 14.20.

How this example maps the rule of ``csc/coupling.py`` (SPEC 3) onto the problem. The paper's text
lost its equations, so the values below are this example's choices, not the paper's:

- Units ``j`` are independent starting points (``--n-starts`` of them, drawn uniformly in the
  usual Beale box [-4.5, 4.5]^2 from ``--seed``), optimised together as one batch; the rule needs
  a population of units for its quantile thresholds, as filters are the units in CSC.
- Sparse variable ``x_j`` with score ``|x_j|``; partner ``y_j`` with score ``|y_j - y_j^anchor|``,
  its movement over the epoch (``--epoch`` iterations).
- ``csc.coupling.asynchronous_units`` flags the units whose ``|x|`` is at most its
  ``--sparse-quantile`` quantile while ``y`` moved at least its ``--partner-quantile`` quantile
  (``x`` collapsing while ``y`` is still active); ``csc.coupling.backtrack`` moves their ``x``
  back toward the epoch-start anchor by ``--backtrack-rate``. Everything else is the plain
  optimizer step. Iterates are clipped to the box (the constraint).

Run (about 2 s on one core):

    python examples/beale.py --out beale.png
"""

import argparse
import os
import sys

import numpy as np

BOX = 4.5
MINIMUM = (3.0, 0.5)
# learning rates: the largest of {1e-3, 1e-4, 3e-5} (SGD, momentum) that did not bounce between
# the box walls from these starts, and Adam at 0.01 (the paper's values were lost with its equations)
OPTIMIZERS = {"SGD": ("SGD", {"lr": 1e-4}), "Momentum": ("SGD", {"lr": 1e-4, "momentum": 0.9}),
              "Adam": ("Adam", {"lr": 0.01})}


def beale(x, y):
    """Beale function, elementwise (NumPy arrays or torch tensors)."""
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def optimize(starts, optimizer, *, n_iter, cogd, epoch=20, sparse_quantile=0.5,
             partner_quantile=0.5, backtrack_rate=1.0):
    """Minimise the Beale function from every start at once; return the trajectories.

    Parameters
    ----------
    starts : ndarray of shape (n_starts, 2)
    optimizer : {'SGD', 'Momentum', 'Adam'}
    n_iter : int
    cogd : bool
        Apply the coupling rule at the end of every epoch.

    Returns
    -------
    dict with ``path`` (n_iter + 1, n_starts, 2), ``objective`` (n_iter + 1, n_starts) and
    ``backtracked`` (total number of units moved back)
    """
    import torch

    from csc import coupling

    name, options = OPTIMIZERS[optimizer]
    x = torch.tensor(starts[:, 0], dtype=torch.float64, requires_grad=True)
    y = torch.tensor(starts[:, 1], dtype=torch.float64, requires_grad=True)
    solver = getattr(torch.optim, name)([x, y], **options)
    path, objective = [starts.copy()], [beale(starts[:, 0], starts[:, 1])]
    anchor_x, anchor_y = x.detach().clone(), y.detach().clone()
    n_backtracked = 0
    for iteration in range(1, n_iter + 1):
        solver.zero_grad()
        beale(x, y).sum().backward()  # the units are independent: one gradient per start
        solver.step()
        with torch.no_grad():
            x.clamp_(-BOX, BOX)
            y.clamp_(-BOX, BOX)
            if cogd and iteration % epoch == 0:
                units = coupling.asynchronous_units(
                    x.abs(), (y - anchor_y).abs(), sparse_quantile=sparse_quantile,
                    partner_quantile=partner_quantile, xp=torch)
                x.copy_(coupling.backtrack(x, anchor_x, units, rate=backtrack_rate, xp=torch))
                n_backtracked += int(units.sum())
                anchor_x, anchor_y = x.detach().clone(), y.detach().clone()
        current = np.stack([x.detach().numpy(), y.detach().numpy()], axis=1)
        path.append(current)
        objective.append(beale(current[:, 0], current[:, 1]))
    return {"path": np.array(path), "objective": np.array(objective),
            "backtracked": n_backtracked}


def run_all(starts, *, n_iter, **rule):
    """Every optimizer, without and with CoGD: dict label -> :func:`optimize` result."""
    return {f"{name}{' + CoGD' if cogd else ''}": optimize(starts, name, n_iter=n_iter,
                                                           cogd=cogd, **rule)
            for name in OPTIMIZERS for cogd in (False, True)}


def plot(results, path, *, shown_start=0):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    grid = np.linspace(-BOX, BOX, 300)
    gx, gy = np.meshgrid(grid, grid)
    left.contour(gx, gy, np.log10(beale(gx, gy) + 1e-3), levels=25, cmap="gray", alpha=0.5)
    left.plot(*MINIMUM, "k*", markersize=12)
    for index, (label, result) in enumerate(results.items()):
        style = "-" if "CoGD" in label else "--"
        color = f"C{index // 2}"
        trajectory = result["path"][:, shown_start]
        left.plot(trajectory[:, 0], trajectory[:, 1], style, color=color, label=label)
        right.plot(np.mean(result["objective"], axis=1), style, color=color, label=label)
    left.plot(*results[next(iter(results))]["path"][0, shown_start], "ko")
    left.set(xlabel="x", ylabel="y", title=f"paths from start {shown_start}")
    right.set(xlabel="iteration", ylabel="mean f over starts", yscale="log",
              title="Beale function, all starts")
    right.grid(alpha=0.3)
    left.legend(fontsize=8)
    figure.tight_layout()
    temporary = path + ".partial.png"
    figure.savefig(temporary, dpi=100)
    plt.close(figure)
    os.replace(temporary, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-iter", type=int, default=2000)
    parser.add_argument("--n-starts", type=int, default=64)
    parser.add_argument("--epoch", type=int, default=20, help="iterations between couplings")
    parser.add_argument("--sparse-quantile", type=float, default=0.5)
    parser.add_argument("--partner-quantile", type=float, default=0.5)
    parser.add_argument("--backtrack-rate", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="beale.png")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    args = parser.parse_args(argv)
    if os.path.exists(args.out) and not args.force:
        parser.error(f"{args.out} exists; pass --force to overwrite it")
    if not os.path.isdir(os.path.dirname(os.path.abspath(args.out))):
        parser.error(f"the folder of {args.out} does not exist")
    starts = np.random.default_rng(args.seed).uniform(-BOX, BOX, (args.n_starts, 2))
    results = run_all(starts, n_iter=args.n_iter, epoch=args.epoch,
                      sparse_quantile=args.sparse_quantile,
                      partner_quantile=args.partner_quantile, backtrack_rate=args.backtrack_rate)
    print(f"Beale function, {args.n_starts} starts in [-{BOX}, {BOX}]^2 (seed {args.seed}), "
          f"{args.n_iter} iterations, coupling every {args.epoch}")
    print(f"{'method':<18} {'mean f start':>12} {'mean f end':>11} {'median f end':>12} "
          f"{'at minimum':>10} {'on x=0 plateau':>14} {'backtracked':>11}")
    for label, result in results.items():
        final = result["objective"][-1]
        end = result["path"][-1]
        at_minimum = np.mean(np.hypot(end[:, 0] - MINIMUM[0], end[:, 1] - MINIMUM[1]) < 1e-2)
        plateau = np.mean(np.abs(end[:, 0]) < 1e-2)
        print(f"{label:<18} {np.mean(result['objective'][0]):>12.4g} {np.mean(final):>11.4g} "
              f"{np.median(final):>12.4g} {at_minimum:>10.0%} {plateau:>14.0%} "
              f"{result['backtracked']:>11d}")
    plot(results, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
