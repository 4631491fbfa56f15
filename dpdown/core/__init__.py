"""One image through a method: ``working`` (the working form: dtype, alpha, channel pooling,
linear light), ``memory_strips`` (a run in strips of rows within a memory budget) and
``pipeline`` (:func:`dpdown.downscale`). Above :mod:`dpdown.methods`, below :mod:`dpdown.io`."""
