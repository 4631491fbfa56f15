"""Image file formats by extension: what dpdown reads from folders and what it writes.

Kept apart from :mod:`dpdown.read` and :mod:`dpdown.write` so that the command line can
list them without importing NumPy or Pillow.
"""

# ext -> the Pillow format that writes it
WRITABLE = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF",
            ".webp": "WEBP", ".bmp": "BMP", ".gif": "GIF"}
# what folders and glob patterns pick up (case-insensitive); a file named on the command
# line is always tried, whatever its name
READABLE = tuple(WRITABLE)
