"""Image restoration on arrays and files: inpaint, reconstruct, metrics, the `cogd` CLI."""
