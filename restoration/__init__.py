"""Image restoration on arrays and files: inpaint, reconstruct, metrics, the `cogd` CLI."""

from .inpainting import RestorationInfo, inpaint, load_dictionary, reconstruct

__all__ = ["RestorationInfo", "inpaint", "load_dictionary", "reconstruct"]
