"""Lazy Numba compilation, for the CPU and for CUDA.

Kernels are written as plain Python functions and compiled on their first call, so that
importing dpdown (and ``dpdown --help``) never imports Numba, and a CPU run never imports
numba.cuda. One source function can be compiled several times with different global
bindings (:func:`specialise`): this is how one footprint walker serves many pooling rules.
The same helper functions (a pooling rule, pixel loading, the random numbers) compile for
either target: with ``numba.njit`` for the CPU, and as ``numba.cuda`` device functions for
the CUDA kernels that call them (:meth:`Lazy.compiled`).

Every compiled function is cached on disk (``cache=True``). Numba keys its cache on the
function's own code only, so a change in a function it calls would go unnoticed; the
qualified name given to Numba therefore carries a digest of the code of the function and
of every lazily compiled function it reaches.
"""

from __future__ import annotations

import functools
import hashlib
import sys
import threading
import types
import weakref


class Lazy:
    """A Python function compiled with ``numba.njit(**options)`` on first use (or, for a
    ``target`` of CUDA, with ``numba.cuda.jit``). ``bands=True`` marks a kernel that
    :func:`dpdown.kernels.bands.run` runs over bands of output rows, one per thread: it is
    compiled serial, as Numba compiles the body of a parallel loop (:func:`_pipeline`)."""

    def __init__(self, py_func, name=None, bindings=None, **options):
        self.py_func = py_func
        self.name = name or py_func.__name__
        self.bindings = dict(bindings or {})
        self.options = options
        self._compiled = {}

    def _globals(self):
        namespace = dict(self.py_func.__globals__)
        namespace.update(self.bindings)
        return namespace

    def _dependencies(self):
        namespace = self._globals()
        return [namespace[n] for n in self.py_func.__code__.co_names
                if isinstance(namespace.get(n), Lazy)]

    def digest(self):
        """Hash of this function's code, of the bindings it reads, and of every lazy function
        it calls."""
        h = hashlib.sha1(_code_bytes(self.py_func.__code__))
        names = _names(self.py_func.__code__)
        for name, value in sorted(self.bindings.items()):
            if isinstance(value, Lazy) or name not in names:
                continue
            # constants frozen into the compiled code; an array by all its bytes (its repr elides)
            array = hasattr(value, "tobytes") and not isinstance(value, type)
            h.update(f"{name}=".encode() + (value.tobytes() if array else repr(value).encode()))
        for dep in self._dependencies():
            h.update(dep.digest().encode())
        return h.hexdigest()[:12]

    @property
    def dispatcher(self):
        return self.compiled("cpu")

    def python_function(self, target="cpu"):
        """This function with its names bound for ``target``: what Numba compiles (and what
        ``benchmarks/cuda_static.py`` compiles to PTX without a GPU)."""
        namespace = self._globals()
        for n in self.py_func.__code__.co_names:
            value = namespace.get(n)
            if isinstance(value, Lazy):
                namespace[n] = value.compiled("cpu" if target == "cpu" else "cuda_device")
        if target != "cpu":
            from numba import cuda

            namespace["cuda"] = cuda
            if "np" in namespace:
                namespace["np"] = _numpy_on_cuda()
        fn = types.FunctionType(self.py_func.__code__, namespace, self.name,
                                self.py_func.__defaults__, self.py_func.__closure__)
        fn.__qualname__ = f"{self.name}_{self.digest()}"
        fn.__module__ = self.py_func.__module__
        if self.options.get("inline") == "always":
            _INLINED.add(fn)
        return fn

    def compiled(self, target="cpu"):
        """The compiled function: ``cpu`` (njit), ``cuda`` (a kernel) or ``cuda_device``."""
        key = target
        if key not in self._compiled:
            fn = self.python_function(target)
            if target == "cpu":
                options = dict(self.options)
                band = options.pop("bands", False)
                if band:  # the GIL released, so that bands run at once; numpy's error model, as a loop body
                    options.update(nogil=True, error_model="numpy")
                self._compiled[key] = _numba().njit(cache=True, pipeline_class=_pipeline(band), **options)(fn)
            else:
                from numba import cuda

                device = target == "cuda_device"
                # CUDA device functions are inlined by NVVM; the kernel is cached on disk
                self._compiled[key] = cuda.jit(device=device, cache=not device)(fn)
        return self._compiled[key]

    def __call__(self, *args):
        return self.dispatcher(*args)


def _names(code) -> set:
    """The global names ``code`` and the code nested in it read."""
    return set(code.co_names).union(*(_names(c) for c in code.co_consts if isinstance(c, types.CodeType)))


def _code_bytes(code) -> bytes:
    """A canonical serialisation of a code object, for :meth:`Lazy.digest`. Not
    ``marshal.dumps``: it marks an object shared by reference or not by its reference count,
    so one function's bytes (and the kernels' cache names) changed with what else the process
    had done, and a variant compiled ahead was compiled again in a process that got another
    name for it."""
    def const(value):
        if isinstance(value, types.CodeType):
            return b"code(" + _code_bytes(value) + b")"
        if isinstance(value, tuple):
            return b"(" + b",".join(const(v) for v in value) + b")"
        if isinstance(value, frozenset):  # iterated in an order that depends on string hashing
            return b"{" + b",".join(sorted(const(v) for v in value)) + b"}"
        return repr(value).encode()

    parts = [code.co_code, repr((code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars,
                                 code.co_argcount, code.co_kwonlyargcount, code.co_flags)).encode()]
    return b"\0".join(parts + [const(value) for value in code.co_consts])


_NUMBA_START = threading.Lock()


def _numba():
    """Numba, its CPU target set up. Setting up imports SciPy's linalg — a fifth of a warm
    ``dpdown scale`` — only to pick a BLAS inner product for ``np.correlate``/``np.convolve``,
    which no dpdown kernel calls: hidden from that one import, Numba takes its own loop for
    them (in this process, for any jitted code). A later ``import scipy.linalg``, and
    ``np.dot`` in jitted code, work as usual."""
    import numba

    with _NUMBA_START:
        if "numba.np.arraymath" in sys.modules or "scipy.linalg" in sys.modules:
            return numba
        from numba.core.registry import cpu_target

        _serialise_cache_saves()
        _reuse_inlined_ir()
        sys.modules["scipy.linalg"] = None  # an import of it raises ImportError, which Numba expects
        try:
            cpu_target.target_context.refresh()  # loads Numba's implementations, numba.np.arraymath among them
        finally:
            sys.modules.pop("scipy.linalg", None)
    return numba


def _serialise_cache_saves():
    """Numba saves a compiled function to its disk cache by reading the function's index,
    adding the new entry and writing the index back. Two processes saving the same function
    at once — ``dpdown compile``'s workers, when two methods share a kernel with different
    argument types (DPID's guidance runs avg's kernel with a float64 output) — could each write
    an index without the other's entry, and that variant was compiled again by every later
    process. Here the read-add-write holds a lock file beside the index (POSIX ``flock``;
    elsewhere Numba's own behaviour is kept)."""
    try:
        import fcntl
    except ImportError:
        return
    from numba.core import caching

    save = caching.IndexDataCacheFile.save
    if getattr(save, "serialised", False):
        return

    def locked_save(self, key, data):
        with open(self._index_path + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                return save(self, key, data)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    locked_save.serialised = True
    caching.IndexDataCacheFile.save = locked_save


_INLINED = weakref.WeakSet()
"""The inlined helpers' Python functions, as :meth:`Lazy.python_function` made them: their
qualified names carry the digest of their code and bindings, so equal names, equal IR."""
_INLINED_IR = {}  # (module, qualified name, in SSA form or not) → a helper's untyped IR


def _reuse_inlined_ir():
    """Numba inlines an ``inline="always"`` function by making its IR again at every call
    site: bytecode to IR, then the function's own untyped passes, its own inlining among
    them. The walkers call a few helpers (``decode``, ``_reduce``, ``_insert``,
    ``load_pixel``…) from many sites, in every variant; making each helper's IR once per
    process takes a tenth off a variant's compile time, a fifth off ordinal pooling's
    (docs/benchmarks.md). The IR is the same every time for dpdown's helpers: their globals
    are bound in a namespace of their own that nothing changes (other functions, whose module
    globals may change, are left to Numba), and Numba copies the IR before inlining it. A
    helper bound alike in two variants (the same code and bindings: the same digest) has the
    same IR in both."""
    from numba.core import bytecode
    from numba.core.inline_closurecall import InlineWorker

    make = InlineWorker.run_untyped_passes
    if getattr(make, "reused", False):
        return

    def reuse(self, func, enable_ssa=False):
        if func not in _INLINED:
            return make(self, func, enable_ssa)
        key = func.__module__, func.__qualname__, enable_ssa
        if key not in _INLINED_IR:
            _INLINED_IR[key] = make(self, func, enable_ssa)
        self.flags.enable_ssa = enable_ssa  # as Numba's own sets it, on every call
        ir = _INLINED_IR[key].copy()
        ir.func_id = bytecode.FunctionIdentity.from_function(func)  # fresh names for its variables
        return ir

    reuse.reused = True
    InlineWorker.run_untyped_passes = reuse


@functools.lru_cache(maxsize=None)
def _pipeline(band=False):
    """Numba's nopython pipeline, with dead code removed once types are known. An inlined
    helper leaves its unused global behind; Numba lowers such a value as a pointer to the
    live dispatcher object, and a function that holds one cannot be cached on disk: without
    this the table fillers (``lut_*``) and every kernel compiled again in each process.

    A band kernel (``band``) is compiled as Numba's parallel transform compiles the body of a
    ``prange`` loop, without the transform's cost (about half of the compile time): its IR
    simplified once types are known (copies propagated, dead code and empty blocks removed)
    and its array arguments marked as not aliasing (``noalias``; a band kernel never gets one
    array twice). Without them the same code ran up to 2.4× slower (docs/benchmarks.md). The
    simplification removes the dead code too, so a band kernel skips the pass that does only
    that (3–9 % of its compile time).

    Every kernel skips the pass that inlines closures and list comprehensions: dpdown's
    kernels have none (one would fail to type, not run wrongly), and the pass walks the whole
    template before its unused paths are pruned (about 8 % of a variant's compile time)."""
    from numba.core.compiler import CompilerBase, DefaultPassBuilder
    from numba.core.typed_passes import DeadCodeElimination, NopythonRewrites, NopythonTypeInference
    from numba.core.untyped_passes import InlineClosureLikes

    simplify = _simplify_pass()

    class Pipeline(CompilerBase):
        def define_pipelines(self):
            passes = DefaultPassBuilder.define_nopython_pipeline(self.state)
            passes.passes = [(p, d) for p, d in passes.passes if p is not InlineClosureLikes]
            if band:
                passes.add_pass_after(simplify, NopythonRewrites)
                self.state.flags.noalias = True
            else:
                passes.add_pass_after(DeadCodeElimination, NopythonTypeInference)
            passes.finalize()
            return [passes]

    return Pipeline


@functools.lru_cache(maxsize=None)
def _simplify_pass():
    """The pass that simplifies a typed function's IR as the parallel transform does."""
    from numba.core import ir_utils
    from numba.core.compiler_machinery import FunctionPass, register_pass

    @register_pass(mutates_CFG=True, analysis_only=False)
    class Simplify(FunctionPass):
        _name = "dpdown_simplify"

        def __init__(self):
            FunctionPass.__init__(self)

        def run_pass(self, state):
            ir_utils.simplify(state.func_ir, state.typemap, state.calltypes, state.metadata)
            return True

    return Simplify


@functools.lru_cache(maxsize=None)
def _numpy_on_cuda():
    """``np`` as the CUDA compiler sees it in shared code: the scalar functions the rules call
    (numba.cuda compiles few NumPy ufuncs) mapped to their ``math`` and libdevice versions."""
    import math

    import numpy
    from numba import cuda
    from numba.cuda import config

    if config.ENABLE_CUDASIM:  # the simulator runs the kernels as Python: NumPy itself
        return numpy
    shim = types.ModuleType("numpy_on_cuda")
    for name in ("float32", "float64", "int64", "uint64", "inf"):
        setattr(shim, name, getattr(numpy, name))
    shim.exp, shim.log, shim.sqrt, shim.rint = math.exp, math.log, math.sqrt, cuda.libdevice.rint
    return shim


def jit(**options):
    """Decorator: compile lazily with ``numba.njit(cache=True, **options)``."""
    def wrap(py_func):
        return Lazy(py_func, **options)
    return wrap


def inline(py_func):
    """Decorator for small device-style helpers, inlined into their callers."""
    return Lazy(py_func, inline="always")


def specialise(template: Lazy, name: str, **bindings) -> Lazy:
    """The function of ``template`` with some of its global names bound to other functions."""
    return Lazy(template.py_func, name=name, bindings={**template.bindings, **bindings},
                **template.options)
