"""Image restoration on arrays and files: inpaint, reconstruct, metrics, the `cogd` CLI."""

from .dictionaries import load_dictionaries, load_dictionary
from .inpainting import inpaint, reconstruct, restore, restore_batch
from .pipeline import Restoration

__all__ = ["Restoration", "inpaint", "load_dictionaries", "load_dictionary", "reconstruct",
           "restore", "restore_batch"]
