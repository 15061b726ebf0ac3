"""Builds the emoji snapshot of ``corpora/`` from the npm package ``emoji-datasource-google`` 16.0.0, once.

Fetch the package with npm (nothing is installed) and point the builder at its folder::

    (cd /tmp && npm pack emoji-datasource-google@16.0.0 && tar xzf emoji-datasource-google-16.0.0.tgz)
    .venv/bin/python corpora/build_emoji.py /tmp/package        # a second or two

It writes, in ``corpora/`` (or ``--out DIR``):

- ``emoji-google-64.png``: the ``SUBSET`` below as one RGBA sprite sheet, ``COLUMNS`` emoji per row,
  each the package's own 64x64 Noto Emoji picture (``img/google/64/<code points>.png``), pixel for
  pixel, in ``SUBSET`` order. Saved by Pillow without metadata (no tIME or text chunks), so the same
  pictures, Pillow and zlib give the same bytes.
- ``emoji-google-64.json``: the index, in the same order: the caption name we give each emoji, and the
  package's short name, code points, Unicode name, category and subcategory.
- ``LICENSE-emoji-datasource``: the package's MIT licence (its data), its statement that the Google
  images are Apache-2.0, and the Apache License 2.0 text (Debian's ``/usr/share/common-licenses``
  copy: the package does not ship it).
- ``SHA256SUMS``: the two snapshot files' lines are added or replaced; other lines are kept.

``zoo.data.scenes`` reads the snapshot (after checking ``SHA256SUMS``); ``corpora/README.md`` says why
these 64 emoji.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import pathlib

from PIL import Image

from zoo.data.corpora import update_checksums

HERE = pathlib.Path(__file__).resolve().parent
PACKAGE = "emoji-datasource-google"
VERSION = "16.0.0"
SIDE = 64  # pixels, the package's img/google/64 pictures
COLUMNS = 8  # emoji per sprite row
SPRITE = "emoji-google-64.png"
INDEX = "emoji-google-64.json"
LICENCE = "LICENSE-emoji-datasource"
APACHE = pathlib.Path("/usr/share/common-licenses/Apache-2.0")
# The package's short name -> the caption's name (one or two lowercase words), in snapshot order.
# Chosen to be told apart at 20-32 pixels: varied shapes and colours, one of each look-alike group
# (the dog and cat faces, not the tiger, lion, bear or monkey ones; apple, not tomato or peach; no moon
# beside the banana, no bell or lock beside the trophy, no whale beside the fish); no flags, skin
# tones, people or text; no plural names ("grapes", "scissors"), since every caption says "a".
SUBSET = {
    # Animals & Nature
    "dog": "dog", "cat": "cat", "pig": "pig", "frog": "frog", "panda_face": "panda", "penguin": "penguin",
    "elephant": "elephant", "snail": "snail", "butterfly": "butterfly", "octopus": "octopus", "bee": "bee",
    "fish": "fish", "cactus": "cactus", "sunflower": "sunflower", "rose": "rose", "evergreen_tree": "tree",
    "mushroom": "mushroom",
    # Food & Drink
    "apple": "apple", "banana": "banana", "watermelon": "watermelon", "strawberry": "strawberry",
    "eggplant": "eggplant", "pineapple": "pineapple", "carrot": "carrot", "broccoli": "broccoli", "pizza": "pizza",
    "hamburger": "burger", "doughnut": "donut", "icecream": "ice cream",
    # Travel & Places
    "house": "house", "car": "car", "bus": "bus", "tractor": "tractor", "airplane": "airplane", "rocket": "rocket",
    "boat": "boat", "rainbow": "rainbow", "umbrella": "umbrella", "snowman": "snowman", "fire": "fire",
    "droplet": "drop", "star": "star", "earth_americas": "globe",
    # Activities
    "soccer": "soccer ball", "basketball": "basketball", "gift": "gift", "trophy": "trophy", "kite": "kite",
    "game_die": "die", "guitar": "guitar",
    # Objects
    "tophat": "hat", "crown": "crown", "athletic_shoe": "shoe", "gem": "gem", "magnet": "magnet",
    "battery": "battery", "bulb": "light bulb", "green_book": "book", "pencil2": "pencil", "bomb": "bomb",
    # Smileys & Emotion
    "heart": "heart", "ghost": "ghost", "robot_face": "robot", "alien": "alien",
}
MIT_INTRO = f"""The emoji pictures in emoji-google-64.png and the data in emoji-google-64.json come from the npm
package {PACKAGE} {VERSION} (https://github.com/iamcal/emoji-data), by Cal Henderson.

- The data (names, code points, categories: emoji.json) is under the MIT License, as the package's
  LICENSE file states (copied below).
- The pictures are Google's Noto Emoji (https://github.com/googlefonts/noto-emoji, v2.048 per the
  package's README; the Noto project's AUTHORS file lists Google Inc.), under the Apache License,
  Version 2.0 (full text below). The package's README says:

      Android/Google/Noto images, are available under the [Apache License
      2.0](https://github.com/googlei18n/noto-emoji/blob/master/LICENSE).

Changes made here: {len(SUBSET)} of the package's img/google/64/*.png pictures, unmodified pixel for
pixel, are packed into one sprite sheet (corpora/build_emoji.py); the index keeps the package's fields
for them and adds the names our captions use.

"""


def read_package(folder: pathlib.Path) -> tuple[list[dict], list[Image.Image], str]:
    """The package folder -> (index entries, 64x64 RGBA pictures, its LICENSE text), in ``SUBSET`` order."""
    meta = json.loads((folder / "package.json").read_text(encoding="utf-8"))
    if (meta.get("name"), meta.get("version")) != (PACKAGE, VERSION):
        raise SystemExit(f"{folder} holds {meta.get('name')} {meta.get('version')}, not {PACKAGE} {VERSION}")
    by_short_name = {entry["short_name"]: entry for entry in json.loads((folder / "emoji.json").read_text("utf-8"))}
    entries, pictures = [], []
    for short_name, name in SUBSET.items():
        entry = by_short_name[short_name]
        if not entry["has_img_google"]:
            raise SystemExit(f"{short_name} has no Google picture in {PACKAGE} {VERSION}")
        picture = Image.open(folder / "img" / "google" / str(SIDE) / entry["image"]).convert("RGBA")
        if picture.size != (SIDE, SIDE):
            raise SystemExit(f"{entry['image']} is {picture.size}, not {SIDE}x{SIDE}")
        entries.append({"name": name, "short_name": short_name, "unified": entry["unified"],
                        "unicode_name": entry["name"], "category": entry["category"],
                        "subcategory": entry["subcategory"]})
        pictures.append(picture)
    names = [entry["name"] for entry in entries]
    if len(set(names)) != len(names):
        raise SystemExit("two emoji share a caption name")
    return entries, pictures, (folder / "LICENSE").read_text(encoding="utf-8")


def sprite_png(pictures: list[Image.Image]) -> bytes:
    """The pictures side by side, ``COLUMNS`` per row (transparent where none): RGBA PNG bytes, no metadata."""
    rows = -(-len(pictures) // COLUMNS)
    sheet = Image.new("RGBA", (COLUMNS * SIDE, rows * SIDE), (0, 0, 0, 0))
    for i, picture in enumerate(pictures):
        sheet.paste(picture, ((i % COLUMNS) * SIDE, (i // COLUMNS) * SIDE))
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def index_json(entries: list[dict]) -> bytes:
    """The index file: source, layout and one entry per emoji, UTF-8 JSON with a final newline."""
    index = {"package": PACKAGE, "version": VERSION, "side": SIDE, "columns": COLUMNS, "sprite": SPRITE,
             "emoji": entries}
    return (json.dumps(index, indent=1, ensure_ascii=True) + "\n").encode("utf-8")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("package", type=pathlib.Path, help=f"the unpacked {PACKAGE} {VERSION} folder")
    parser.add_argument("--out", type=pathlib.Path, default=HERE, help="where to write (default: corpora/)")
    args = parser.parse_args(argv)
    entries, pictures, mit = read_package(args.package)
    args.out.mkdir(parents=True, exist_ok=True)
    sums = {}
    for name, data in ((SPRITE, sprite_png(pictures)), (INDEX, index_json(entries))):
        (args.out / name).write_bytes(data)
        sums[name] = hashlib.sha256(data).hexdigest()
    (args.out / LICENCE).write_text(MIT_INTRO + mit.rstrip("\n") + "\n\n" + "=" * 100 + "\n\n"
                                    + APACHE.read_text(encoding="utf-8"), encoding="utf-8")
    update_checksums(args.out / "SHA256SUMS", sums)
    for name, digest in sorted(sums.items()):
        print(f"{digest}  {name}  ({(args.out / name).stat().st_size} bytes)")


if __name__ == "__main__":
    main()
