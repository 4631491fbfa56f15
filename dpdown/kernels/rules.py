"""The names a kernel variant binds, declared with what each means.

The walkers (:mod:`dpdown.kernels.walkers`) and their CUDA twins are templates: Python
functions whose compile-time constants and rule functions are free names, bound per variant
(:func:`dpdown.kernels.walkers.launch.variant`) from its plan (``walkers.shared.Plan`` and
each walker's own). All import those names from here, so every name a kernel uses is
declared in one place.
"""

import numpy as np

from . import colour
from .reductions import SUM

# ---- compile-time constants --------------------------------------------------------------
#
# A kernel variant is the template compiled with these names bound to the values of its plan
# (each plan field is the constant of its name in capitals: walkers.shared.Plan,
# FootprintPlan, SeparablePlan, BlockPlan). They are declared here so that a reader finds what
# each means; the values below are those of a generic variant, and no compiled kernel reads
# them unbound.
CHANNELS = 0          # channels per pixel, compiled in for 1-4 (0: read from the image)
ALPHA = -1            # index of the alpha channel (always the last), or -1
CHANNEL_POOL = 0      # channel pooling: NONE, MAX, MIN, MEAN or TOPK (below)
CHANNEL_SIZE = 1      # channels per group (MAX, MIN, MEAN)
LINEAR = False        # the output is encoded back from linear light to sRGB
REDUCE = SUM          # separable walker: SUM, MAX_OF, MIN_OF or TOP (dpdown.kernels.reductions)
GUIDED = False        # separable walker: the terms read a guide value per output pixel (DPP)
CONSTANT_WEIGHTS = False  # separable walker: the weight table is compiled in (WEIGHTS)
WEIGHTS = np.zeros(1)     # that table
# the rest of the separable walker's choices: see walkers.separable.SeparablePlan
USE_LUT = RAW = EXACT = PAIR = SCALAR = WEIGHTED = False
TOP_R = RAW_SLOTS = INT_SUM = BOX_ROWS = BOX_COLS = 0
SUMS = 1
SUM_TYPE = np.uint32
INTEGER = False       # block walker: the stored values are summed as integers
ACC_WIDTH = 1         # CUDA footprint walker: accumulators per thread (a local array's size)
PRELOAD_ROWS = 1      # CUDA walkers: rows of a block loaded before they are used
PRELOAD_COLS = 1      # CUDA walkers: columns of that preload array: the block's, at least 1 (a local array
                      # is never empty, even in a variant with no block, which never uses it)


# ---- the rule a variant binds ------------------------------------------------------------
#
# Each walker calls a method's rule by these names; a kernel binds them to the method's
# functions (pooling_kernel, separable_kernel, block_kernel). Unbound, they say so.

def unbound(name):
    def rule(*args):
        raise NotImplementedError(f"{name} is bound per kernel variant (dpdown.kernels.rules)")
    rule.__name__ = name
    return rule


acc_width = unbound("acc_width")    # footprint walker: (n, params) → accumulators per output pixel
accumulate = unbound("accumulate")  # footprint walker: fold one input pixel into acc[j]
finalize = unbound("finalize")      # footprint walker: an output pixel's working values from acc[j]
transform = unbound("transform")    # separable walker: (v, s, params) → the term v adds to sum s
finish = unbound("finish")          # separable walker: (sums, total, params) → the output value
guided = unbound("guided")          # separable walker, GUIDED: (v, g, s, params) → the term
exact = unbound("exact")            # separable walker, EXACT: the output from the integer sum
pair = unbound("pair")              # separable walker, PAIR: the output from the two largest
guide = unbound("guide")            # block walker: a block's guide value
weight = unbound("weight")          # block walker: (stored, v, g, params) → a value's weight
decode = unbound("decode")          # a stored value to a working one (colour.decoder)
load = unbound("load")              # CUDA walkers: a footprint pixel into a thread's array (each twin's own)
visit = unbound("visit")            # CUDA walkers: that pixel folded into the thread's state (each twin's own)
linear_to_srgb = colour.linear_to_srgb
