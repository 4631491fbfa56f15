"""Image sets for ``dpdown eval``: named offline sets from Debian packages, and folders.

SoftPool's Table 1 (Stergiou et al., ICCV 2021) uses DIV2K, Urban100 and Manga109, which are not
redistributable offline. dpdown names two stand-ins that install from Debian's packages:

* ``photos`` — DIV2K-style: real photographs of 1365 to 6028 pixels across.
* ``urban`` — Urban100-style: buildings and street scenes with regular structure.

Every image records its package and licence. Most are JPEGs, so their compression
artefacts are part of the ground truth. A folder given instead is searched recursively; a
folder named like DIV2K, Urban100, Manga109 or Flickr2K is labelled so, and where it has
high-resolution subfolders (``HR``, ``*_HR``) or ``*_HR`` files only those are taken.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass

from ..errors import ParameterError


def root() -> str:
    """Where the packages' files are looked for: ``/``, or ``$DPDOWN_DATASETS_ROOT`` for
    packages unpacked elsewhere without root (``apt-get download P && dpkg-deb -x P.deb DIR``)."""
    return os.environ.get("DPDOWN_DATASETS_ROOT") or "/"


@dataclass(frozen=True)
class Entry:
    package: str
    path: str      # absolute, where the package installs it
    licence: str
    author: str = ""

    @property
    def location(self) -> str:
        return os.path.join(root(), self.path.lstrip("/"))


@dataclass(frozen=True)
class Dataset:
    name: str
    label: str
    paper: str | None   # the paper's dataset this one stands in for (its Table 1 column)
    description: str
    entries: tuple[Entry, ...]

    @property
    def packages(self) -> list[str]:
        return sorted({e.package for e in self.entries})

    def installed(self) -> list[Entry]:
        return [e for e in self.entries if os.path.isfile(e.location)]

    def missing_packages(self) -> list[str]:
        present = set(self.installed())
        return sorted({e.package for e in self.entries if e not in present})


def _lomiri(file, licence, author):
    return Entry("lomiri-wallpapers-16.04", f"/usr/share/backgrounds/{file}.jpg", licence, author)


def _plasma(name, author):
    return Entry("plasma-workspace-wallpapers", f"/usr/share/wallpapers/{name}/contents/images/2560x1600.jpg",
                 "LGPL-3.0", author)


_OPENCV = "Apache-2.0 AND BSD-3-Clause (opencv-doc)"
_PALAPELI = "GPL-2.0+ (palapeli-data)"

NAMED = {d.name: d for d in (
    Dataset("photos", "photos", "DIV2K",
            "Real photographs, 1365–6028 px across: 13 of lomiri-wallpapers-16.04 (its two renders left "
            "out), lomiri-wallpapers-20.04's 6028×3391 photo, the 11 photo wallpapers of "
            "plasma-workspace-wallpapers (2560×1600) and libjxl-testdata's lossless flower.png.",
            (_lomiri("Bridge_by_Sander_Klootwijk", "CC-BY-SA-4.0", "Sander Klootwijk"),
             _lomiri("Dragonfly_by_Bolly", "CC-BY-SA-4.0", "Bolly"),
             _lomiri("Picture_0B_by_freespace", "CC-BY-4.0", "Trevor \"Freespace\""),
             _lomiri("Picture_1A_by_freespace", "CC-BY-4.0", "Trevor \"Freespace\""),
             _lomiri("Wine_by_Jakkub_Mede", "CC-BY-4.0", "Jakub Mede"),
             _lomiri("aitzgorri_by_Aitzol_Berasategi", "CC-BY-4.0", "Aitzol Berasategi"),
             _lomiri("free_by_Peter_Nerlich", "CC-BY-SA-4.0", "Peter Nerlich"),
             _lomiri("friends_by_Aitzol_Berasategi", "CC-BY-4.0", "Aitzol Berasategi"),
             _lomiri("greentock_by_Peter_Nerlich", "CC-BY-SA-4.0", "Peter Nerlich"),
             _lomiri("life_by_Aitzol_Berasategi", "CC-BY-4.0", "Aitzol Berasategi"),
             _lomiri("picosdeeuropa_by_Aitzol_Berasategi", "CC-BY-4.0", "Aitzol Berasategi"),
             _lomiri("seeding_by_Clements_Engelhardt", "CC0-1.0", "Clemens Engelhardt"),
             _lomiri("sunset_by_Aitzol_Berasategi", "CC-BY-4.0", "Aitzol Berasategi"),
             Entry("lomiri-wallpapers-20.04", "/usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg",
                   "CC-BY-SA-3.0", "Lukas Baubkus"),
             _plasma("BytheWater", "Maciej Wiklo"), _plasma("ColdRipple", "Risto Saukonpää"),
             _plasma("ColorfulCups", "Dmitri Popov"), _plasma("DarkestHour", "Risto Saukonpää"),
             _plasma("EveningGlow", "Ian Hex"), _plasma("FallenLeaf", "Martin Klapetek"),
             _plasma("Grey", "Sigi Sagi"), _plasma("Kite", "Risto Saukonpää"),
             _plasma("OneStandsOut", "Risto Saukonpää"), _plasma("Path", "Risto Saukonpää"),
             _plasma("summer_1am", "Risto Saukonpää"),
             Entry("libjxl-testdata", "/usr/share/libjxl-testdata/jxl/flower/flower.png",
                   "BSD-3-Clause (libjxl-testdata)", "the JPEG XL Project Authors"))),
    Dataset("urban", "urban", "Urban100",
            "Buildings and street scenes with regular structure, 751–1302 px across: palapeli-data's "
            "castle-maintenon and cincinnati-bridge, opencv-doc's building, leuvenA/B and scenetext02–05.",
            (Entry("palapeli-data", "/usr/share/palapeli/collection/castle-maintenon.jpg", _PALAPELI),
             Entry("palapeli-data", "/usr/share/palapeli/collection/cincinnati-bridge.jpg", _PALAPELI),
             *(Entry("opencv-doc", f"/usr/share/doc/opencv-doc/examples/data/{name}.jpg", _OPENCV)
               for name in ("building", "leuvenA", "leuvenB")),
             *(Entry("opencv-doc", f"/usr/share/doc/opencv-doc/examples/text/scenetext0{i}.jpg", _OPENCV)
               for i in range(2, 6)))),
)}

# Folder names of the benchmark sets (SoftPool's Tables 1 and 3), as they are usually unpacked.
_KNOWN = (("DIV2K", re.compile(r"div2k", re.I)), ("Urban100", re.compile(r"urban100", re.I)),
          ("Manga109", re.compile(r"manga109", re.I)), ("Flickr2K", re.compile(r"flicke?r2k", re.I)))
_HIGH_RES = re.compile(r"(^|[_-])HR$", re.I)


def apt_command(packages) -> str:
    return "sudo apt-get install " + " ".join(packages)


def recognise(folder: str) -> str | None:
    """The benchmark set a folder's path names (DIV2K, Urban100, Manga109, Flickr2K), if any."""
    path = os.path.abspath(folder)
    for paper_name, pattern in _KNOWN:
        if pattern.search(path):
            return paper_name
    return None


def folder_images(folder: str) -> list[str]:
    """The images under ``folder`` (recursive, sorted); only the high-resolution ones where the
    folder holds HR subfolders or ``*_HR`` files, as super-resolution sets are laid out."""
    from ..io.batch import is_image_name

    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        found += [os.path.join(root, f) for f in sorted(files) if is_image_name(f)]
    high = [p for p in found if any(_HIGH_RES.search(part) for part in
                                    os.path.relpath(os.path.dirname(p), folder).split(os.sep))
            or _HIGH_RES.search(os.path.splitext(os.path.basename(p))[0])]
    return high or found


def resolve(folders=(), names=()):
    """``(label, paper_dataset, [paths])`` for each folder (or the one folder given as a string)
    and named set; a named set must be installed (at least partly: the images present are used)."""
    folders = [folders] if isinstance(folders, (str, os.PathLike)) else folders
    sets = []
    for name in names:
        if name not in NAMED:
            raise ParameterError(f"unknown dataset {name!r}; choose one of {', '.join(NAMED)} "
                                 "(dpdown datasets lists them)")
        d = NAMED[name]
        paths = [e.location for e in d.installed()]
        if not paths:
            raise ParameterError(f"dataset {name!r} is not installed: {apt_command(d.packages)}")
        if len(paths) < len(d.entries):
            warnings.warn(f"dataset {name!r}: {len(paths)} of its {len(d.entries)} images are installed; the "
                          f"others need: {apt_command(d.missing_packages())}", RuntimeWarning, stacklevel=2)
        sets.append((d.label, d.paper, paths))
    for folder in folders:
        if not os.path.isdir(folder):
            raise ParameterError(f"{folder}: " + ("not a folder" if os.path.exists(folder) else "no such folder"))
        paths = folder_images(folder)
        if not paths:
            raise ParameterError(f"{folder}: no image files found")
        paper = recognise(folder)
        label = os.path.basename(os.path.normpath(folder)) or folder
        sets.append((label if paper is None or paper.lower() in label.lower() else f"{label} ({paper})",
                     paper, paths))
    if not sets:
        raise ParameterError("give a folder or --dataset NAME (dpdown datasets lists the named sets)")
    return sets
