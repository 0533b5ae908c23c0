"""``cogd inpaint|reconstruct`` on several inputs: each restored on its own into the folder ``-o``,
in this process or as tasks on a Dask cluster (``--workers N``, ``--scheduler ADDRESS``), one
line per file. Every output is checked before the first image is restored."""

import logging
import os

from ..io import IMAGE_SUFFIXES
from .common import UsageError, check_output, one_line, say, say_error, user_input
from .files import comparisons, file_settings, read_input, restore_file, save_dictionary

__all__ = ["run_batch", "restore_task"]


def run_batch(args, inputs):
    """Restore ``inputs`` (file names) into the folder ``args.output``; return the exit status.

    Raises
    ------
    UsageError
        A folder, option or output that is not usable (before any work), or inputs that failed
        (each reported on its own line; the others are written).
    """
    folder = args.output
    if folder is None or not os.path.isdir(folder):
        raise UsageError(f"with several inputs, -o/--output must be an existing folder, got "
                         f"{folder!r}")
    if args.workers is not None and args.scheduler is not None:
        raise UsageError("give --workers or --scheduler, not both")
    outputs = []
    for path in inputs:
        stem, suffix = os.path.splitext(os.path.basename(path))
        output = os.path.join(folder, stem + (suffix if suffix.lower() in IMAGE_SUFFIXES
                                              else ".png"))
        if output in outputs:
            raise UsageError(f"two inputs would both be written to {output}")
        check_output(output, args.force, IMAGE_SUFFIXES)
        outputs.append(output)
    settings = dict(file_settings(args), baseline=False)  # one line per file: no baseline
    where = ("this process" if args.workers is None and args.scheduler is None else
             f"{args.workers} local worker(s)" if args.workers else args.scheduler)
    say(f"cogd {args.command}: {len(inputs)} images on {where} -> {folder}")
    settings["learned"] = _learn_from_all(inputs, settings)
    if getattr(args, "save_dictionary", None) is not None:
        save_dictionary(settings["learned"], args.save_dictionary)
    if args.workers is None and args.scheduler is None:
        failed = sum(not _say_result(restore_task(args.command, path, output, settings))
                     for path, output in zip(inputs, outputs, strict=True))
    else:
        failed = _on_dask(args, inputs, outputs, settings)
    if failed:
        raise UsageError(f"{failed} of {len(inputs)} images failed (see above)")
    return 0


def _learn_from_all(inputs, settings):
    """The dictionary learned from every readable input (the papers' protocol: one dictionary
    from the whole corrupted set), sent with the settings to every task; or None."""
    from ..inpainting import adapt_batch

    if settings["adapt"] is False:
        return None
    images, masks = [], []
    for path in inputs:
        try:
            image, mask = read_input(path, settings)
        except (ValueError, TypeError, OSError):  # reported by its own task
            continue
        images.append(image)
        masks.append(mask)
    if not images:
        return None
    learned = user_input(adapt_batch, images, masks, dictionary=settings["dictionary"],
                         channel_axes=[-1 if image.ndim == 3 else None for image in images],
                         adapt=settings["adapt"])
    if learned is not None:
        say(f"one dictionary learned from the {len(images)} images: {learned.n_windows} "
            f"window(s), {learned.seconds:.1f} s, {learned.n_iter} iterations, objective "
            f"{learned.objective:.6g}")
    return learned


def restore_task(command, path, output, settings):
    """Restore one file where the task runs (this process or a Dask worker): ``(ok, one line)``.

    Parameters
    ----------
    command : {'inpaint', 'reconstruct'}
    path, output : str
        The input and output files.
    settings : dict
        As :func:`restoration.cli.files.file_settings` returns.

    Returns
    -------
    (bool, str)
        Whether the file was restored and written, and its report or its error on one line.
    """
    try:
        image, mask = read_input(path, settings)
        restored = restore_file(command, image, mask, output, settings)
        measured = [text for _, text in comparisons(command, image, mask, restored.stored,
                                                    output, settings)]  # no baseline here
    except (ValueError, TypeError, OSError) as error:
        return False, f"{path}: {one_line(error)}"
    info = restored.restoration
    text = (f"{path}: objective {info.objective:.6g}, nnz {info.nnz:.4f}, {info.candidate}, "
            f"{info.seconds:.1f} s")
    return True, "".join([text] + [f", {line} vs the input" for line in measured]
                         + [f" -> {output}"])


def _say_result(result):
    """Print one image's ``(ok, line)``; return ``ok``."""
    ok, text = result
    if ok:
        say(text)
    else:
        say_error(text)
    return ok


def _task_result(future, path):
    """A task's ``(ok, line)``, or the failure of the task itself (its worker died: out of
    memory, killed) as a failed file."""
    try:
        return future.result()
    except Exception as error:  # distributed raises its own types (KilledWorker, ...)
        return False, f"{path}: the Dask task failed: {type(error).__name__}: {one_line(error)}"


def _on_dask(args, inputs, outputs, settings):
    """Restore the files as tasks of a Dask cluster; return the number that failed."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise UsageError("--workers and --scheduler need Dask: pip install 'cogd[dask]'") from None
    cluster = None
    if args.scheduler is not None:
        client = user_input(Client, args.scheduler, timeout="20s")
    else:
        # no dashboard, and the scheduler's HTTP server (health, metrics) on a free local port:
        # its default, 8787, printed a warning whenever another cluster held it; Dask's own log
        # lines below ERROR (a worker slow to close) are not the tool's
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR,
                               scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
        client = Client(cluster)
    try:  # each task carries two paths and the settings (small): the workers read the files
        futures = {client.submit(restore_task, args.command, path, output, settings,
                                 pure=False): path
                   for path, output in zip(inputs, outputs, strict=True)}
        return sum(not _say_result(_task_result(future, futures[future]))
                   for future in as_completed(futures))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
