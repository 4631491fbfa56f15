"""The walkers: loop nests over output pixels and their footprints, into which a method's
rule is compiled.

* :mod:`.footprint` — any rule over a footprint's pixels (DPID, Full-DPP, LIP, stochastic);
* :mod:`.separable` — rules whose footprints reduce column by column (avg, max, Lp, ordinal);
* :mod:`.block` — an output value straight from its block, where footprints tile the image;
* :mod:`.shared` — what they share: a pixel loaded and stored, the plan, the kernel;
* :mod:`.folds` — how the separable walkers fold terms (sum, max, min, top r);
* :mod:`.footprint_cuda`, :mod:`.separable_cuda`, :mod:`.window_cuda` — the numba.cuda twins;
* :mod:`.launch` — ``run``: a kernel's variant built and launched, from one table of targets.
"""
