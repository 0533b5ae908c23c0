"""A small CNN for the 8x8 digits of scikit-learn: :class:`SmallCNN` (sparse training)."""

from __future__ import annotations

from torch import Tensor, nn

from csc.validation import check_choice, check_int

from ..binarized import BinarizedReLU

__all__ = ["SmallCNN"]

_ACTIVATIONS = ("relu", "binarized", "binarized_clipped")


def _make_activation(activation: str) -> nn.Module:
    if activation == "relu":
        return nn.ReLU()
    if activation == "binarized":
        return BinarizedReLU("relu")
    return BinarizedReLU("clipped_relu")


class SmallCNN(nn.Module):
    r"""Two conv layers and two linear layers for 8x8 single-channel images (sklearn digits).

    ``conv3x3(1->w) - act - conv3x3(w->2w) - act - maxpool2 - linear(2w*16->hidden) - act -
    linear(hidden->num_classes)``.

    Parameters
    ----------
    num_classes : int, default 10
    activation : {"relu", "binarized", "binarized_clipped"}, default "relu"
        Hidden activation: ReLU, or :class:`~nets.binarized.BinarizedReLU` with the ReLU
        or clipped-ReLU straight-through gradient.
    width : int, default 16
        Channels of the first conv (the second has ``2 * width``).
    hidden : int, default 64
        Units of the hidden linear layer.
    batch_norm : bool, default False
        Insert ``BatchNorm2d`` after each conv and ``BatchNorm1d`` after the hidden linear
        layer (before the activation).

    Raises
    ------
    ValueError
        If ``activation`` is unknown or a size is not a positive int.

    Examples
    --------
    >>> import torch
    >>> SmallCNN()(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 10, *, activation: str = "relu", width: int = 16,
                 hidden: int = 64, batch_norm: bool = False):
        super().__init__()
        check_choice("activation", activation, _ACTIVATIONS)
        for name, value in (("num_classes", num_classes), ("width", width),
                            ("hidden", hidden)):
            check_int(name, value, 1)

        def norm(kind, n):
            return kind(n) if batch_norm else nn.Identity()

        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), norm(nn.BatchNorm2d, width),
            _make_activation(activation),
            nn.Conv2d(width, 2 * width, 3, padding=1), norm(nn.BatchNorm2d, 2 * width),
            _make_activation(activation),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(2 * width * 16, hidden), norm(nn.BatchNorm1d, hidden),
            _make_activation(activation), nn.Linear(hidden, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Logits of shape (n_images, num_classes) for ``x`` of shape (n_images, 1, 8, 8)."""
        return self.classifier(self.features(x))
