"""The Python API, gathered from the layers that implement it (``import dpdown`` exposes these).

=====================  ==========================================  ================================
name                   what it does                                where it lives
=====================  ==========================================  ================================
``downscale``          one array in, one array out                 :mod:`dpdown.core.pipeline`
``available_methods``  the registry of methods                     :mod:`dpdown.core.pipeline`
``downscale_files``    files and folders, in parallel              :mod:`dpdown.io.batch`
``evaluate_methods``   SSIM/PSNR of every method on image sets     :mod:`dpdown.evaluation.evaluate`
``fit_method``         a method's parameters fitted to images      :mod:`dpdown.evaluation.fit`
``load_params``        a fitted parameters file                    :mod:`dpdown.evaluation.fit`
=====================  ==========================================  ================================
"""

from .core.pipeline import available_methods, downscale
from .evaluation.evaluate import evaluate_methods
from .evaluation.fit import fit_method, load_params
from .io.batch import downscale_files

__all__ = ["available_methods", "downscale", "downscale_files", "evaluate_methods", "fit_method", "load_params"]
