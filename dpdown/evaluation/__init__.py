"""Comparing methods on real images: ``datasets`` (folders and named offline sets),
``evaluate`` (SSIM/PSNR under a protocol), ``report`` (tables, CSV, JSON, HTML),
``paper_values`` (SoftPool's published Table 1), ``fit`` (a method's parameters fitted to
images) and ``learning`` (learned pooling's operator from labelled images). The top layer
below the API and the CLI."""
