"""Many images at once: collect the inputs, downscale each in a worker, report.

The unit of work is one file (:func:`process`): read, downscale, write to a temporary name,
rename. It needs nothing from the other files, so the same tasks run in-process
(``jobs=1``), in a pool of local worker processes, or on a Dask cluster, with the same
outputs and the same :class:`Outcome` for each file. A failure is an outcome, never an
exception: one bad file does not stop the others.

On the GPU the workers are threads of this process, sharing one CUDA context, each with its
own stream and pinned buffers (:mod:`dpdown.kernels.device`): while one thread's image is copied in
or out, another's kernels run, and the others decode and encode on the CPU.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import glob
import os
import signal
import string
import tempfile
import threading
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from ..errors import DpdownError, ImageError, Interrupted, ParameterError
from ..kernels import device as devices
from ..kernels import footprints
from ..methods import registry
from . import gpu_codecs
from .formats import EXTENSIONS, FORMATS, READABLE
from .one_file import FileOptions

DEFAULT_NAME = "{stem}_{method}_{tag}.{ext}"
NAME_FIELDS = ("stem", "ext", "method", "k", "size", "tag")


@dataclass(frozen=True)
class Job:
    """What to do to every image: ``downscale`` holds the arguments of
    :func:`dpdown.downscale` (``k``, ``method``, the method's parameters, ``linear``...),
    ``files`` how files are read and written, ``name`` the output name template."""

    downscale: dict
    files: FileOptions = FileOptions()
    name: str = DEFAULT_NAME
    skip_existing: bool = False


@dataclass(frozen=True)
class Item:
    """One input file and where its output goes: a folder (named by ``Job.name``) or a file."""

    source: str
    out_dir: str
    out_file: str | None = None


@dataclass
class Outcome:
    source: str
    target: str | None
    status: str                 # "done", "skipped" or "failed"
    reason: str = ""
    exit_code: int = 0          # of the error, for a single-file run
    pixels: int = 0             # input pixels of a done image
    seconds: dict = field(default_factory=dict)  # decode, compute, encode
    notes: list = field(default_factory=list)    # conversions made (read.Image.notes)


@dataclass
class Summary:
    """Every file's :class:`Outcome`, the wall time, and (for an interrupted run) the inputs
    that had not finished."""

    outcomes: list
    wall: float
    unfinished: list = field(default_factory=list)

    def count(self, status):
        return sum(o.status == status for o in self.outcomes)

    @property
    def failures(self):
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def megapixels_per_second(self):
        return sum(o.pixels for o in self.outcomes) / 1e6 / self.wall if self.wall > 0 else 0.0

    def shares(self):
        """Fraction of the per-file time spent decoding, computing and encoding."""
        totals = {step: sum(o.seconds.get(step, 0.0) for o in self.outcomes)
                  for step in ("decode", "compute", "encode")}
        whole = sum(totals.values())
        return {step: t / whole if whole else 0.0 for step, t in totals.items()}


# ---- inputs --------------------------------------------------------------------------------

def is_image_name(path) -> bool:
    return os.path.splitext(path)[1].lower() in READABLE


def collect(inputs, output=None, recursive=False) -> list[Item]:
    """The files named, found in folders (``recursive``: and their subfolders) or matched by
    glob patterns (``**`` crosses folders), each with its output folder: ``output`` plus
    the file's folder relative to the folder or pattern base it was found under (the tree
    is mirrored), or the file's own folder when ``output`` is None."""
    items, seen = [], set()

    def add(path, base):
        path = os.path.normpath(path)
        if path in seen:
            return
        seen.add(path)
        if output is None:
            out_dir = os.path.dirname(path) or "."
        else:
            rel = os.path.relpath(os.path.dirname(path), base) if base is not None else "."
            out_dir = os.path.normpath(os.path.join(output, rel))
        items.append(Item(path, out_dir))

    for given in inputs:
        given = os.fspath(given)
        if os.path.isdir(given):
            for path in _images_in(given, recursive):
                add(path, given)
        elif glob.has_magic(given) and not os.path.exists(given):
            base = _pattern_base(given)
            matches = sorted(p for p in glob.glob(given, recursive=True) if os.path.isfile(p) and is_image_name(p))
            if not matches:
                raise ParameterError(f"no image file matches {given!r}")
            for path in matches:
                add(path, base)
        else:  # a file, or a missing one: reading it says what is wrong
            add(given, None)
    return items


def _images_in(folder, recursive):
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if recursive else []
        yield from (os.path.join(root, f) for f in sorted(files)
                    if is_image_name(f) and not f.startswith("."))


def _pattern_base(pattern):
    """The folder a glob pattern starts from: its parts before the first wildcard."""
    parts = []
    for part in pattern.split(os.sep):
        if glob.has_magic(part):
            break
        parts.append(part)
    return os.sep.join(parts) or "."


# ---- naming --------------------------------------------------------------------------------

def check_name(template):
    """A usage error unless ``template`` only uses the fields of :data:`NAME_FIELDS`."""
    try:
        used = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise ParameterError(f"--name {template!r}: {exc}") from None
    unknown = [f for f in used if f not in NAME_FIELDS]
    if unknown:
        raise ParameterError(f"--name {template!r}: unknown field {{{unknown[0]}}}; "
                             f"use {', '.join('{' + f + '}' for f in NAME_FIELDS)}")
    try:  # as -k and as --size/--scale fill it in
        example = template.format(stem="x", ext="png", method="m", k=2, size="1x1", tag="k2")
        template.format(stem="x", ext="png", method="m", k="", size="1x1", tag="1x1")
    except (ValueError, IndexError, KeyError) as exc:
        raise ParameterError(f"--name {template!r}: {exc}") from None
    if not _inside(example):
        raise ParameterError(f"--name {template!r}: a name must stay inside the output folder "
                             "(subfolders are fine; no absolute path, no '..' above it)")


def _inside(name) -> bool:
    """Whether the relative file name ``name`` stays inside the folder it is joined to."""
    return (not os.path.isabs(name) and os.path.basename(name) not in ("", ".", "..")
            and os.path.normpath(name).split(os.sep)[0] != "..")


def output_name(job: Job, source: str, out_shape) -> str:
    """The output file name for ``source``: ``job.name`` filled in. ``{tag}`` is ``k<k>`` for
    windows, ``<W>x<H>`` (the output size) for ``--size`` and ``--scale``."""
    stem, ext = os.path.splitext(os.path.basename(source))
    fmt = job.files.format or ext.lstrip(".").lower()
    ext = EXTENSIONS[FORMATS[fmt]].lstrip(".") if fmt in FORMATS else "png"
    k = job.downscale.get("k")
    size = f"{out_shape[1]}x{out_shape[0]}"
    return job.name.format(stem=stem, ext=ext, method=job.downscale.get("method", "dpid"),
                           k="" if k is None else k, size=size, tag=f"k{k}" if k is not None else size)


def _out_shape(job: Job, shape):
    args = job.downscale
    if args.get("k") is not None:
        return tuple(footprints.window_count(n, args["k"], args.get("stride") or args["k"]) for n in shape)
    return footprints.output_shape(shape, size=args.get("shape"), scale=args.get("scale"))


# ---- one file ------------------------------------------------------------------------------

class _Skip(Exception):
    """The output exists and the job keeps existing outputs."""


def process(job: Job, item: Item) -> Outcome:
    """Downscale one file as ``job`` says. Never raises for a bad file: the outcome says why."""
    from .one_file import scale_file
    from .read import image_shape

    def target_for(out_shape):
        name = output_name(job, item.source, out_shape)
        if not _inside(name):  # check_name refuses such templates; a field's value must not escape either
            raise ParameterError(f"{item.source}: output name {name!r} leaves the output folder")
        target = os.path.join(item.out_dir, name)
        if job.skip_existing and os.path.exists(target):
            raise _Skip(target)
        _make_folder(os.path.dirname(target))  # --name may have subfolders
        return target

    target = item.out_file
    try:
        if item.source != "-" and not os.path.exists(item.source):  # before any folder is made for it
            raise ImageError(f"{item.source}: no such file or folder")
        if target is None:  # named before decoding where the header tells the size
            shape = image_shape(item.source)
            target = target_for(_out_shape(job, shape)) if shape is not None else target_for
        elif job.skip_existing and os.path.exists(target):
            raise _Skip(target)
        if isinstance(target, str) and os.path.exists(target) and not job.files.overwrite:  # before any work
            if os.path.exists(item.source) and os.path.samefile(target, item.source):
                raise ParameterError(f"{target}: refusing to overwrite the input (use --overwrite)")
            raise DpdownError(f"{target}: already exists (use --overwrite to replace it, "
                              "--skip-existing to keep it)")
        report = scale_file(item.source, target, job.files, **job.downscale)
    except _Skip as skip:
        return Outcome(item.source, str(skip), "skipped", "output exists")
    except DpdownError as exc:
        target = target if isinstance(target, str) else None
        return Outcome(item.source, target, "failed", _naming(str(exc), item.source, target), exc.exit_code)
    except MemoryError:
        return Outcome(item.source, None, "failed", f"{item.source}: out of memory", 1)
    except Exception as exc:  # an unforeseen failure of one file must not stop the batch
        return Outcome(item.source, None, "failed", f"{item.source}: {type(exc).__name__}: {exc}", 1)
    w, h = report.in_size
    return Outcome(item.source, report.target, "done", pixels=w * h, seconds=report.seconds, notes=report.notes)


def _naming(reason, source, target):
    """``reason`` as a line that names the file it is about."""
    return reason if source in reason or (target and target in reason) else f"{source}: {reason}"


def _make_folder(folder):
    if folder:
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise ImageError(f"{folder}: cannot create the output folder ({exc.strerror})") from None


def unwritable(folder) -> str | None:
    """Why no output can be written in ``folder`` (created if missing), or None if one can:
    a file is made there and removed, which holds for root and read-only file systems too."""
    try:
        _make_folder(folder)
        with tempfile.TemporaryFile(dir=folder or "."):
            pass
    except ImageError as exc:
        return str(exc)
    except OSError as exc:
        return f"{folder}: cannot write to the output folder ({exc.strerror})"
    return None


# ---- many files ----------------------------------------------------------------------------

def run(job: Job, items, jobs=None, dask=None, on_outcome=None) -> Summary:
    """Process ``items`` in-process (``jobs=1``), in ``jobs`` worker processes (default: one
    per core), or on the Dask scheduler at address ``dask``; ``on_outcome`` is called in
    this process as each file finishes. With worker processes, the first file is done here
    first, so that its kernels are compiled once, not by every worker. Output folders are
    tried first: where no file can be
    written, its inputs fail at once, and if none can be, that is one error before any file.
    Ctrl-C or SIGTERM stops the run with no partial file left: :class:`dpdown.errors.Interrupted`
    (a ``KeyboardInterrupt``) is raised after the workers are stopped, its ``summary`` saying
    what finished and what did not.

    The device is settled once, here: ``cuda`` without a GPU is one error before any file,
    and on the GPU the ``jobs`` workers are threads (see the module's note). So are the
    codecs (``job.files.codec``, :func:`dpdown.io.gpu_codecs.resolve`): ``gpu`` where they
    cannot run is one error before any file."""
    items = list(items)
    outcomes = []
    device = devices.resolve(job.downscale.get("device", "cpu")) if not dask else None
    if device:
        job = dataclasses.replace(job, downscale=dict(job.downscale, device=device))
        # the codecs too: codec gpu that cannot run is one error before any file, auto settled once
        job = dataclasses.replace(job, files=dataclasses.replace(job.files, codec=gpu_codecs.resolve(job.files.codec,
                                                                                              device)))

    def done(outcome):
        outcomes.append(outcome)
        (on_outcome or (lambda o: None))(outcome)

    def lost(item, reason):
        return Outcome(item.source, None, "failed", f"{item.source}: {reason}", 1)

    start = time.perf_counter()
    folders = sorted({item.out_dir for item in items})
    blocked = {} if dask else {folder: why for folder in folders if (why := unwritable(folder))}
    if blocked and len(blocked) == len(folders):
        raise ImageError(next(iter(blocked.values())) + ("" if len(blocked) == 1 else
                                                          f" (and {len(blocked) - 1} other output folders)"))
    for item in items:
        if item.out_dir in blocked:
            done(Outcome(item.source, None, "failed", f"{item.source}: {blocked[item.out_dir]}", 1))
    todo = [item for item in items if item.out_dir not in blocked]
    try:
        if not dask and device != "cuda" and min(jobs or available_cores(), len(todo)) > 1:
            # the first file here, before the worker processes start: the kernels it needs are
            # compiled once and saved in the disk cache, where every worker finds them
            done(process(job, todo.pop(0)))
        run_tasks(functools.partial(process, job), todo, jobs, dask, done, lost, threads=device == "cuda")
    except KeyboardInterrupt as exc:
        finished = {o.source for o in outcomes}
        summary = Summary(outcomes, time.perf_counter() - start,
                          [item.source for item in items if item.source not in finished])
        raise Interrupted(getattr(exc, "signum", signal.SIGINT), summary) from None
    finally:
        from .write import remove_stale_parts

        for folder in folders:
            remove_stale_parts(folder)
    return Summary(outcomes, time.perf_counter() - start)


def run_tasks(task, items, jobs=None, dask=None, done=None, lost=None, threads=False):
    """Call ``task(item)`` for every item in-process (``jobs=1``), in ``jobs`` worker
    processes (default: one per core, Numba's threads shared out among them) or, with
    ``threads``, ``jobs`` threads of this process, or on the Dask scheduler at address
    ``dask``, and ``done(result)`` here as each finishes. A task
    must report its own failures in its result; one whose worker died gives
    ``lost(item, reason)`` instead. ``task`` must pickle (a module-level function or a
    ``functools.partial`` of one). SIGTERM is turned into ``KeyboardInterrupt`` meanwhile."""
    items = list(items)
    jobs = max(1, min(jobs or available_cores(), len(items) or 1))
    previous = signal.signal(signal.SIGTERM, _interrupt) if _main_thread() else None
    try:
        if dask:
            _run_dask(task, items, dask, done, lost)
        elif jobs == 1:
            for item in items:
                done(task(item))
        elif threads:
            _run_threads(task, items, jobs, done)
        else:
            _run_pool(task, items, jobs, done, lost)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _main_thread():
    return threading.current_thread() is threading.main_thread()


def _interrupt(signum, frame):
    raise Interrupted(signum)


def _init_worker(threads):
    # before the worker first imports Numba: share the cores, do not oversubscribe them
    os.environ["NUMBA_NUM_THREADS"] = str(threads)
    signal.signal(signal.SIGTERM, _interrupt)  # a killed worker removes its partial file
    # Ctrl-C reaches the whole process group: the parent stops the run, and the file a worker
    # is writing finishes (run's promise) instead of being cut short
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_pool(task, items, jobs, done, lost):
    """Up to ``2·jobs`` files in flight, so memory stays bounded however many there are.

    A worker that dies (killed, out of memory) breaks its pool, and with it every file then in
    flight: those are tried again one at a time in a new pool, so a file fails only if its
    worker dies again with no other file beside it; the rest go on in the new pool."""
    import multiprocessing

    threads = max(1, available_cores() // jobs)
    pending = list(reversed(items))
    suspects = []  # in flight when a worker died
    while pending or suspects:
        pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker, initargs=(threads,))
        try:
            _retry_alone(pool, task, suspects, done, lost)
            _fill_pool(pool, task, pending, 2 * jobs, done, suspects)
        except BrokenProcessPool:
            pass
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _retry_alone(pool, task, suspects, done, lost):
    """Run each suspect alone in ``pool``: one whose worker dies fails (BrokenProcessPool is re-raised
    for a new pool). On Ctrl-C the one running finishes and is reported (:func:`_finishing`)."""
    while suspects:
        item = suspects[-1]
        future = pool.submit(task, item)
        with _finishing({future: item}, done):
            wait([future])
        suspects.pop()
        if isinstance(future.exception(), BrokenProcessPool):
            done(lost(item, "the worker process died while processing it, also when tried alone "
                            "(killed, or out of memory)"))
            raise BrokenProcessPool("a worker process died")
        done(future.result())


def _fill_pool(pool, task, pending, limit, done, suspects):
    """Up to ``limit`` of ``pending`` in flight in ``pool`` until all are done; if the pool breaks, the
    files it held move to ``suspects`` and BrokenProcessPool is raised."""
    in_flight = {}
    with _finishing(in_flight, done):
        while pending or in_flight:
            try:
                while pending and len(in_flight) < limit:
                    in_flight[pool.submit(task, pending[-1])] = pending[-1]
                    pending.pop()  # only once submitted: a pool that broke meanwhile refuses it, and it waits
                wait(in_flight, return_when=FIRST_COMPLETED)
                broken = _take_finished(in_flight, done)
            except BrokenProcessPool:  # the pool broke before the futures said so
                _take_finished(in_flight, done)
                broken = True
            if broken:
                suspects.extend(reversed(in_flight.values()))
                warnings.warn(f"a worker process died (killed, or out of memory); the {len(in_flight)} files it "
                              "and its pool had in flight are tried again, one at a time", RuntimeWarning,
                              stacklevel=3)
                raise BrokenProcessPool("a worker process died")


def _take_finished(in_flight, done) -> bool:
    """``done`` for each finished future of ``in_flight``, removed from it; whether the pool broke
    (its futures stay)."""
    broken = False
    for future in [f for f in in_flight if f.done()]:
        if isinstance(future.exception(), BrokenProcessPool):
            broken = True
            continue
        del in_flight[future]
        done(future.result())  # re-raises what a task did not catch: not ours to hide
    return broken


@contextlib.contextmanager
def _finishing(in_flight, done):
    """On Ctrl-C or SIGTERM, the files of ``in_flight`` not started are dropped, and those
    running finish (whole, or not at all) and are reported before the interrupt goes on."""
    try:
        yield
    except KeyboardInterrupt:
        for future in in_flight:
            future.cancel()
        for future in in_flight:
            if not future.cancelled() and future.exception() is None:
                done(future.result())
        raise


def _run_threads(task, items, jobs, done):
    """Up to ``2·jobs`` files in flight in ``jobs`` threads (see :func:`_finishing` for Ctrl-C);
    a thread pool never breaks, so nothing is ever tried again."""
    pool = ThreadPoolExecutor(jobs, thread_name_prefix="dpdown")
    try:
        _fill_pool(pool, task, list(reversed(items)), 2 * jobs, done, suspects=[])
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def compile_ahead(kinds, jobs=None, on_done=None) -> list:
    """Compile the kernels each :class:`dpdown.core.warmup.Kind` needs before a job runs: every
    kind in one worker process (``jobs`` as for :func:`run_tasks`), so that a variant is
    compiled once, in parallel with the others, and saved in the disk cache the job's workers
    load it from. ``on_done((kind, seconds or why))`` as each finishes; returns them all."""
    from ..core.warmup import try_warm

    results = []

    def done(result):
        results.append(result)
        if on_done:
            on_done(result)

    run_tasks(try_warm, list(dict.fromkeys(kinds)), jobs, done=done,
              lost=lambda kind, why: (kind, f"the worker died ({why})"))
    return results


def dask_timeout() -> float:
    """Seconds to wait for the Dask scheduler: ``$DPDOWN_DASK_TIMEOUT``, default 10."""
    text = os.environ.get("DPDOWN_DASK_TIMEOUT", "10")
    try:
        return float(text)
    except ValueError:
        raise ParameterError(f"DPDOWN_DASK_TIMEOUT must be a number of seconds (got {text!r})") from None


def _run_dask(task, items, address, done, lost):
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ParameterError("--dask needs the distributed package: pip install 'dpdown[dask]'") from None
    try:
        client = Client(address, timeout=f"{dask_timeout()}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise DpdownError(f"cannot reach the Dask scheduler at {address} ({exc})") from None
    with client:
        futures = {client.submit(task, item, pure=False): item for item in items}
        for future in as_completed(futures):
            item = futures[future]
            try:
                done(future.result())
            except Exception as exc:  # the task died with its worker (KilledWorker) or could not run
                done(lost(item, f"{type(exc).__name__}: {exc}"))


# ---- the Python API ---------------------------------------------------------------------------

def downscale_files(inputs, output=None, k=None, *, recursive=False, jobs=None, dask=None, name=None,
                    skip_existing=False, format=None, quality=None, strip=False, max_pixels=None,
                    overwrite=False, codec="auto", on_outcome=None, **downscale_args):
    """Downscale image files and folders, in parallel, as ``dpdown scale`` does.

    Parameters
    ----------
    inputs : str or path, or a list of them
        Files, folders (their images by extension; ``recursive`` adds subfolders) and glob
        patterns (``**`` crosses folders).
    output : str, optional
        Folder for the outputs, which mirror the input tree; None writes each beside its input.
    k : int, optional
        Window size; with ``**downscale_args`` (``stride``, ``shape``, ``scale``, ``method``,
        ``linear``, ``memory_budget``, ``device``, the method's parameters...) as for
        :func:`downscale`.
    recursive : bool
        Look in the subfolders of folder inputs too.
    jobs : int, optional
        Worker processes (default: one per core; 1 runs in this process); with
        ``device="cuda"`` threads of this process, each on its own CUDA stream.
    dask : str, optional
        Address of a Dask scheduler to run the files on instead (needs ``distributed``).
    name : str, optional
        Output name template, default ``{stem}_{method}_{tag}.{ext}``; fields ``stem``,
        ``ext``, ``method``, ``k``, ``size`` (``WxH``) and ``tag`` (``k<k>`` or the size).
    skip_existing, overwrite : bool
        Leave alone, or replace, existing outputs; by default each is a failure.
    format, quality, strip, max_pixels
        How files are written and read: :class:`dpdown.io.one_file.FileOptions`.
    codec : {"auto", "cpu", "gpu"}
        Who decodes and encodes JPEG when ``device="cuda"``: ``gpu``, NVIDIA nvImageCodec
        (``pip install 'dpdown[gpu-codecs]'``), in GPU memory, with a per-file fallback to
        the CPU codecs for what it cannot do (said in the outcome's notes), and an error
        before any file where it cannot run at all; ``cpu``, Pillow as on the CPU; ``auto``
        (default), ``gpu`` where nvImageCodec is installed and starts, else ``cpu``. See
        :mod:`dpdown.io.gpu_codecs`.
    on_outcome : callable, optional
        Called with each file's :class:`dpdown.io.batch.Outcome` as it finishes.

    Returns
    -------
    dpdown.io.batch.Summary
        Every file's outcome (``done``, ``skipped`` or ``failed`` with a reason), the wall
        time and throughput. A bad file never raises; bad arguments do.

    Raises
    ------
    dpdown.errors.Interrupted
        On Ctrl-C or SIGTERM (a ``KeyboardInterrupt``), once the files being written are
        finished; its ``summary`` holds the outcomes so far and the files not done.

    Examples
    --------
    >>> summary = downscale_files("photos/", "small/", recursive=True, shape=(None, 1920))
    >>> [o.reason for o in summary.failures]
    """
    from .read import DEFAULT_MAX_PIXELS

    downscale_args = dict(downscale_args, k=k)
    spec = registry.get(downscale_args.get("method", "dpid"))
    own = set(downscale_args) - {p.name for p in spec.params}
    spec.resolve({key: v for key, v in downscale_args.items() if key not in own})
    footprints.check_request(k, downscale_args.get("stride"), downscale_args.get("shape"), downscale_args.get("scale"))
    if name is not None:
        check_name(name)
    if overwrite and skip_existing:
        raise ParameterError("overwrite and skip_existing exclude each other")
    files = FileOptions(format, quality, strip, DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels, overwrite,
                        codec)
    job = Job(downscale_args, files, name or DEFAULT_NAME, skip_existing)
    inputs = [inputs] if isinstance(inputs, (str, bytes)) or not hasattr(inputs, "__iter__") else inputs
    return run(job, collect(inputs, output, recursive), jobs, dask, on_outcome)
