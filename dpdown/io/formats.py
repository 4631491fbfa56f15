"""Image file formats by name: what dpdown reads from folders and what it writes.

Kept apart from :mod:`dpdown.io.read` and :mod:`dpdown.io.write` so that the command line can
list them without importing NumPy or Pillow.
"""

# a format's name or extension (no dot) -> the format
FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "tif": "TIFF", "tiff": "TIFF", "webp": "WEBP",
           "bmp": "BMP", "gif": "GIF"}
# the extension a format is written with
EXTENSIONS = {"PNG": ".png", "JPEG": ".jpg", "TIFF": ".tif", "WEBP": ".webp", "BMP": ".bmp", "GIF": ".gif"}
# what folders and glob patterns pick up (case-insensitive); a file named on the command
# line is always tried, whatever its name
READABLE = tuple("." + ext for ext in FORMATS)
