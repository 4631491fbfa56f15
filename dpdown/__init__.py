"""dpdown — detail-preserving image downscaling and pooling operators on real images.

>>> import dpdown
>>> small = dpdown.downscale(img, 4, method="dpid", lam=1.0)
"""

from ._version import __version__

__all__ = ["__version__", "downscale", "downscale_files", "available_methods", "evaluate_methods", "fit_method",
           "load_params", "read_image", "write_image", "scale_file"]


def __getattr__(name):
    # The API pulls in NumPy and the registry; keep ``import dpdown`` (and the CLI's --help) light.
    if name in ("downscale", "downscale_files", "available_methods", "evaluate_methods", "fit_method",
                "load_params"):
        from . import api
        return getattr(api, name)
    if name == "read_image":
        from .io.read import read
        return read
    if name == "write_image":
        from .io.write import write
        return write
    if name == "scale_file":
        from .io.one_file import scale_file
        return scale_file
    raise AttributeError(f"module 'dpdown' has no attribute {name!r}")
