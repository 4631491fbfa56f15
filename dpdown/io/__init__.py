"""Files: ``formats`` (names and extensions), ``read`` (decode, orientation, ICC, bit depth),
``write`` (encode, atomically), ``one_file`` (read → downscale → write) and ``batch``
(many files in worker processes, threads or on Dask). Above :mod:`dpdown.core`."""
