"""The machine layer: Numba kernels for the CPU and their numba.cuda twins.

``jit`` (lazy, cached compilation), ``walkers`` (the footprint, separable and block walkers a
method's rule runs on, their CUDA twins, and ``launch.run``), ``rules`` (the constants and
rule functions a variant binds, declared once for all), ``footprints`` (which input pixels,
with which weights, each output pixel covers; a stack's, frame by frame), ``layouts`` (stacks
between N×C×H×W and N×H×W×C), ``reductions`` (what a separable walker
keeps), and the helpers kernels inline: ``colour`` (sRGB), ``powers`` (x^λ), ``rng``
(counter-based random numbers), ``device`` (the GPU, its streams and buffers). Imports
nothing from the layers above.
"""
