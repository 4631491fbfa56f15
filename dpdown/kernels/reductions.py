"""How a separable rule reduces a footprint's per-pixel terms: the values of ``REDUCE``.

Shared by the separable walker (:mod:`dpdown.kernels.walkers.separable`) and its CUDA twin,
which each compile the choice in (:mod:`dpdown.kernels.walkers.folds`).

``SUM``
    add the terms (avg, sum, Lp, power-average, stochastic's expectation);
``MAX_OF`` / ``MIN_OF``
    keep the largest / smallest;
``TOP``
    keep the ``TOP_R`` largest (value, coverage) pairs of each channel (ordinal pooling);
``MAX_AND_SUM``
    keep the largest term in the first sum and add the terms in the others (mixed pooling's
    max and coverage-weighted sum, in one pass).
"""

SUM, MAX_OF, MIN_OF, TOP, MAX_AND_SUM = 0, 1, 2, 3, 4
