"""Image restoration on arrays and files: inpaint, reconstruct, metrics, the `cogd` CLI."""

from .inpainting import (
    Restoration,
    inpaint,
    load_dictionaries,
    load_dictionary,
    reconstruct,
    restore,
)

__all__ = ["Restoration", "inpaint", "load_dictionaries", "load_dictionary", "reconstruct",
           "restore"]
