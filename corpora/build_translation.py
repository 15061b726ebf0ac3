"""Builds the English-Spanish translation snapshots of ``corpora/`` from Debian packages, once.

Run as root on Debian 12 (bookworm) with pysword 0.2.8 in the venv::

    apt-get update && apt-get install -y sword-text-kjv sword-text-sparv
    .venv/bin/pip install pysword==0.2.8
    .venv/bin/python corpora/build_translation.py          # ~2 minutes; --only bible / libreoffice

It writes, in ``corpora/``:

- ``bible-en-es.tsv.xz``: the King James Version (``sword-text-kjv``) and the Reina-Valera 1909
  (``sword-text-sparv``), both public domain, aligned verse by verse, read with pysword (the SWORD
  modules are a compressed binary format: they are not parsed here).
- ``libreoffice-en-es.tsv.xz``: the LibreOffice help (MPL-2.0) in English (``libreoffice-help-en-us``)
  and Spanish (``libreoffice-help-es``), aligned paragraph by paragraph through the element ids of
  the same help page. The two .deb files are fetched with ``apt-get download`` (or taken from
  ``--debs DIR``) and unpacked with ``dpkg-deb -x`` into a temporary folder; nothing is installed.
- ``LICENSE-MPL-2.0``: the licence text the help packages' copyright file points to.
- ``build_translation.log``: what the build found and dropped (no timings: it is rebuilt identically).
- ``SHA256SUMS``: the snapshots' checksums, which ``zoo.data.translation`` verifies on load.

A snapshot is UTF-8 TSV, written by ``zoo.data.corpora.write_tsv`` (xz, CRC64): a header
line ``split  id  en  es``, then one pair per line in a fixed order (canonical book order; help pages
sorted by path, paragraphs in page order). No field holds a tab or a newline. The same packages and
the same liblzma give the same bytes.

The cleaning and alignment rules are those of ``corpora/README.md``; each function below says which
it applies.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import html.parser
import math
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import unicodedata

from zoo.data.corpora import update_checksums, write_tsv

HERE = pathlib.Path(__file__).resolve().parent
HEADER = ("split", "id", "en", "es")
SNAPSHOTS = {"bible": "bible-en-es.tsv.xz", "libreoffice": "libreoffice-en-es.tsv.xz"}
LOG = "build_translation.log"

# --- Bible -----------------------------------------------------------------------------------------

SWORD_PATH = "/usr/share/sword"
BIBLE_PACKAGES = {"sword-text-kjv": "engKJV2006eb", "sword-text-sparv": "spaRV1909eb"}
ENGLISH_MODULE, SPANISH_MODULE = "engKJV2006eb", "spaRV1909eb"
# Whole books per split (neighbouring verses would leak), by OSIS name.
BIBLE_SPLITS = {"test": ("Josh", "Ruth", "Joel", "Mark", "1John"), "dev": ("Judg", "Mic", "Rom", "Phil", "Jas")}

# The lexical check reads the Strong's numbers both modules tag their words with, on verses where each
# side has at least MIN_STRONGS of them. A verse is "displaced" when its Spanish text shares clearly
# more numbers with an English verse up to MAX_OFFSET verses away (same book) than with its own.
MIN_STRONGS = 3
MAX_OFFSET = 6
NEIGHBOUR_MIN = 0.3  # Jaccard of the other English verse's numbers with the Spanish verse's, at least
NEIGHBOUR_MARGIN = 0.1  # ... and this much above the verse's own
SHIFTED_VERSES = 3  # a chapter with at least this many displaced verses is dropped whole
# The length check, for chapters the lexical check cannot judge: mean |log length ratio - median|
# over a chapter's verses above LENGTH_LIMIT, and a verse offset whose mean is below LENGTH_BETTER x it.
LENGTH_LIMIT = 0.2
LENGTH_BETTER = 0.7
# A verse boundary drawn elsewhere (part of a verse in its neighbour): at least LEAK_MIN of one side's
# numbers are missing from the other side and found only in the neighbouring verses of that other
# side, and the lengths disagree by LEAK_LENGTH or more (|log ratio - median|).
LEAK_MIN = 0.35
LEAK_LENGTH = 0.4
# Two English verses are merged when the Spanish puts both in the first and leaves the second empty:
# each English verse has at least COVER_MIN of its numbers in the Spanish verse, and the Spanish
# length fits the two together better than either alone.
COVER_MIN = 0.5

_NOTE = re.compile(r"<note\b.*?</note>", re.S)
_FOREIGN_TITLE = re.compile(r"<title\b[^>]*>\s*<foreign\b.*?</title>", re.S)  # Ps 119's acrostic "ב BETH."
_USFM = re.compile(r"\\\+?nd\*?")  # stray USFM \nd ... \nd* escapes in the KJV module
_INLINE = "w|transChange|divineName|seg|foreign|q"
_ADJACENT = re.compile(rf"(</(?:{_INLINE})>)(?=<(?:{_INLINE})\b)")  # two inline elements, nothing between
_GLUE = "\x00"  # marks two elements with nothing between them: a space or not, decided by the vocabulary
_TAG = re.compile(r"<[^>]*>")
_STRONGS = re.compile(r'lemma="([^"]*)"')
_ENCLITICS = {"me", "te", "se", "le", "les", "lo", "los", "la", "las", "nos", "os"}
_WORD = re.compile(r"[^\W\d_]+")


def read_sword() -> tuple[list[tuple[str, int, list[str], list[str]]], dict[str, str]]:
    """[(book, chapter, English verses, Spanish verses)] in canonical order, raw OSIS, and {module: version}."""
    from pysword.modules import SwordModules

    modules = SwordModules(SWORD_PATH)
    found = modules.parse_modules()
    bibles = {key: modules.get_bible_from_module(key) for key in (ENGLISH_MODULE, SPANISH_MODULE)}
    chapters = []
    for testament, books in bibles[ENGLISH_MODULE].get_structure().get_books().items():
        for book in books:
            for chapter, count in enumerate(book.chapter_lengths, 1):
                texts = [[bibles[key].get(books=[book.name], chapters=[chapter], verses=[verse], clean=False)
                          for verse in range(1, count + 1)] for key in (ENGLISH_MODULE, SPANISH_MODULE)]
                chapters.append((book.osis_name, chapter, *texts))
    return chapters, {key: found[key]["version"] for key in (ENGLISH_MODULE, SPANISH_MODULE)}


def strongs(osis: str) -> frozenset:
    """The Strong's numbers a verse's words are tagged with (footnotes left out): the lexical check."""
    osis = _NOTE.sub("", osis)
    return frozenset(f"{n[0]}{int(n[1:])}" for lemma in _STRONGS.findall(osis) for n in re.findall(r"[HG]\d+", lemma))


def strip_osis(osis: str) -> str:
    """OSIS -> text with ``_GLUE`` where two elements touch: footnotes, the acrostic titles of Psalm 119
    and the USFM escapes dropped, every other tag removed (its text kept: canonical psalm titles,
    epistle subscriptions, the KJV's italic additions), the pilcrows and brackets of the KJV removed."""
    text = _FOREIGN_TITLE.sub("", _NOTE.sub("", osis))
    text = _ADJACENT.sub(r"\1" + _GLUE, _USFM.sub("", text))
    text = _TAG.sub("", text)
    return text.replace("¶", " ").replace("[", "").replace("]", "")


def normalize(text: str) -> str:
    """NFC, zero-width characters removed, every run of white space one space, trimmed."""
    text = unicodedata.normalize("NFC", text)
    text = re.sub("[\u200b\u200c\u200d\u2060\ufeff\u00ad]", "", text)
    return re.sub(r"\s+", " ", text).strip()


def tidy(text: str) -> str:
    """``normalize``, then no space before closing punctuation or after an opening one."""
    text = normalize(text)
    text = re.sub(r"\s+([,.;:!?)’])", r"\1", text)
    return re.sub(r"([¿¡(])\s+", r"\1", text)


def unglue(text: str, vocabulary: collections.Counter) -> str:
    """Resolves each ``_GLUE`` mark of the Spanish module, where two tagged words touch without a space
    (``llamabaSísara``): they stay one word when the joined word occurs elsewhere in the text or the
    second is an enclitic pronoun after an infinitive, an imperative or another enclitic (``selladlo``,
    ``otorgómelo``), else a space."""

    def resolve(match: re.Match) -> str:
        left, right = match.group(1), match.group(2)
        if left and right:
            joined = (left + right).lower()
            if vocabulary[joined] or right.lower() in _ENCLITICS and (
                    left[-1] in "rdRD" or re.search(r"[áéíóú]\w*(me|se|le|les|nos|os)$", left.lower())):
                return left + right
        return f"{left} {right}"

    return re.sub(rf"(\w*){_GLUE}(\w*)", resolve, text)


def is_caps(word: str) -> bool:
    return word.isupper()


def recase_opening(text: str, proper: set) -> str:
    """RV1909 prints the first word(s) of a chapter in capitals (``EN el principio``, ``Y ACONTECIÓ``,
    ``¡OH Jehová``): the first run of capitalised words (one of at least two letters) becomes ordinary
    case: a word that starts a sentence gets an initial capital, a proper noun (``proper``: written
    capitalised mid-sentence more often than not elsewhere in the text) keeps one, the rest lowercase."""
    words = list(_WORD.finditer(text))
    first = next((i for i, w in enumerate(words) if len(w.group()) >= 2 and is_caps(w.group())), None)
    if first is None:
        return text

    def joined(a, b):  # only spaces or commas between two words of a run
        return re.fullmatch(r"[\s,]*", text[a.end():b.start()]) is not None

    start = first
    while start > 0 and is_caps(words[start - 1].group()) and joined(words[start - 1], words[start]):
        start -= 1
    end = first
    while end + 1 < len(words) and is_caps(words[end + 1].group()) and joined(words[end], words[end + 1]):
        end += 1
    out, last = [], 0
    for w in words[start:end + 1]:
        word = w.group()
        before = text[:w.start()].rstrip(" ¡¿(\"'«")
        initial = not before or before[-1] in ".!?:;"
        lower = word.lower()
        new = lower[:1].upper() + lower[1:] if initial or lower in proper else lower
        out += [text[last:w.start()], new]
        last = w.end()
    return "".join(out) + text[last:]


def length_dev(english: str, spanish: str, median: float) -> float:
    return abs(math.log((len(spanish) + 10) / (len(english) + 10)) - median)


def jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def cover(a: frozenset, b: frozenset) -> float:
    """The share of ``a``'s numbers found in ``b``."""
    return len(a & b) / len(a) if a else 0.0


def boundary_leak(rows, k: int) -> float:
    """How much of verse ``k`` sits in its neighbours on the other side: the larger of the share of its
    Spanish numbers missing from its English and found only in the neighbouring English verses, and
    the same with the languages swapped."""
    v, near = rows[k], [rows[j] for j in (k - 1, k + 1) if 0 <= j < len(rows)]
    english_near = frozenset().union(*(n[5] for n in near))
    spanish_near = frozenset().union(*(n[6] for n in near))
    english, spanish = v[5], v[6]
    leak_spanish = len((spanish - english) & (english_near - spanish_near)) / len(spanish)
    leak_english = len((english - spanish) & (spanish_near - english_near)) / len(english)
    return max(leak_spanish, leak_english)


def build_bible(chapters, log) -> list[tuple[str, str, str, str]]:
    """Aligned, cleaned verses: [(split, "Book.chapter.verse", English, Spanish)], in canonical order.

    1. Clean both sides (``strip_osis``, ``unglue``, ``tidy``); drop the acrostic letter names (``ALEPH.``)
       that open every eighth verse of the Spanish Psalm 119; recase the Spanish chapter openings.
    2. Merge two English verses into one pair where the Spanish puts both in the first and leaves the
       second empty (the merged pair fits both by Strong's numbers and by length): id ``Book.c.v-w``.
    3. Drop every chapter with ``SHIFTED_VERSES`` or more displaced verses (lexical check), or whose
       lengths fit a shifted alignment clearly better (length check); then, elsewhere, the verses whose
       Spanish belongs to another English verse, or whose boundary the two versions draw differently
       (``boundary_leak`` and a length mismatch).
    4. Drop the pairs with an empty side.
    """
    verses = []  # [book, chapter, verse id, English, Spanish, English Strong's, Spanish Strong's]
    for book, chapter, english, spanish in chapters:
        for number, (en, es) in enumerate(zip(english, spanish), 1):
            verses.append([book, chapter, str(number), strip_osis(en), strip_osis(es), strongs(en), strongs(es)])
    vocabulary = collections.Counter(w.lower() for v in verses for w in _WORD.findall(v[4].replace(_GLUE, " ")))
    glued = sum(v[4].count(_GLUE) for v in verses)
    for v in verses:
        v[3] = tidy(v[3].replace(_GLUE, " "))
        v[4] = tidy(unglue(v[4], vocabulary))
        if v[0] == "Ps" and v[1] == 119 and (int(v[2]) - 1) % 8 == 0:
            v[4] = re.sub(r"^[A-Z]{2,}\.?\s+", "", v[4])
    proper = proper_nouns(v[4] for v in verses if v[2] != "1")
    for v in verses:  # chapter openings, and a paragraph opening in capitals (Luke 1:5 "HUBO en los días")
        if v[2] == "1" or re.match(r"[A-ZÁÉÍÓÚÑ]{3,} [a-záéíóúñ]", v[4]):
            v[4] = recase_opening(v[4], proper)
    log.append(f"bible: {len(verses)} verses read; {glued} touching Spanish words resolved (joined or spaced)")
    median = statistics.median(math.log((len(v[4]) + 10) / (len(v[3]) + 10)) for v in verses if v[3] and v[4])

    # 2. merges
    merged, i = [], 0
    while i < len(verses):
        v = verses[i]
        w = verses[i + 1] if i + 1 < len(verses) else None
        if (w and w[:2] == v[:2] and not w[4] and w[3] and v[4]
                and cover(v[5], v[6]) >= COVER_MIN and cover(w[5], v[6]) >= COVER_MIN
                and length_dev(v[3] + " " + w[3], v[4], median) < min(length_dev(v[3], v[4], median),
                                                                       length_dev(w[3], v[4], median))):
            log.append(f"  merged {v[0]} {v[1]}:{v[2]}-{w[2]}: the Spanish verse {v[2]} holds both English verses")
            merged.append([v[0], v[1], f"{v[2]}-{w[2]}", f"{v[3]} {w[3]}", v[4], v[5] | w[5], v[6]])
            i += 2
        else:
            merged.append(v)
            i += 1
    verses = merged
    log.append(f"bible: {sum('-' in v[2] for v in verses)} pairs of English verses merged")

    # 3. displaced verses, shifted chapters, verse boundaries drawn elsewhere
    by_book = collections.defaultdict(list)
    for v in verses:
        by_book[v[0]].append(v)
    displaced, misplaced = set(), {}
    chapter_verses, chapter_devs = collections.defaultdict(list), collections.defaultdict(list)
    for book, rows in by_book.items():
        for k, v in enumerate(rows):
            key = (book, v[1], v[2])
            chapter_verses[key[:2]].append(v)
            if not v[3] or not v[4]:
                continue
            chapter_devs[key[:2]].append({d: length_dev(rows[k + d][3], v[4], median)
                                          for d in range(-MAX_OFFSET, MAX_OFFSET + 1)
                                          if 0 <= k + d < len(rows) and rows[k + d][3]})
            if len(v[5]) < MIN_STRONGS or len(v[6]) < MIN_STRONGS:
                continue
            own = jaccard(v[5], v[6])
            best = max((jaccard(rows[k + d][5], v[6]) for d in range(-MAX_OFFSET, MAX_OFFSET + 1)
                        if d and 0 <= k + d < len(rows) and len(rows[k + d][5]) >= MIN_STRONGS), default=0.0)
            if best >= NEIGHBOUR_MIN and best > own + NEIGHBOUR_MARGIN:
                displaced.add(key)
                if own < NEIGHBOUR_MIN:
                    misplaced[key] = f"its Spanish matches another English verse (Jaccard {best:.2f}, own {own:.2f})"
            leak = boundary_leak(rows, k)
            dev = length_dev(v[3], v[4], median)
            if key not in misplaced and leak >= LEAK_MIN and dev >= LEAK_LENGTH:
                misplaced[key] = f"verse boundary drawn elsewhere (leak {leak:.2f}, length mismatch {dev:.2f})"
    shifted = {}
    for key, rows in chapter_verses.items():
        count = sum((*key, v[2]) in displaced for v in rows)
        devs = chapter_devs[key]
        own = statistics.mean(d[0] for d in devs) if devs else 0.0
        offsets = {d: statistics.mean(x[d] for x in devs if d in x)
                   for d in range(-MAX_OFFSET, MAX_OFFSET + 1) if d and sum(d in x for x in devs) >= len(devs) / 2}
        best = min(offsets, key=offsets.get, default=None)
        why = []
        if count >= SHIFTED_VERSES:
            why.append(f"lexical: {count} of {len(rows)} Spanish verses match another English verse's Strong's "
                       f"numbers better than their own")
        if own > LENGTH_LIMIT and best is not None and offsets[best] < LENGTH_BETTER * own:
            why.append(f"length: mean length mismatch {own:.2f} at offset 0, {offsets[best]:.2f} at offset {best:+d}")
        if why:
            shifted[key] = "; ".join(why)
    for (book, chapter), why in shifted.items():
        log.append(f"  shifted chapter dropped: {book} {chapter} ({why})")
    kept, dropped, empty = [], [], []
    for v in verses:
        key = (v[0], v[1], v[2])
        if key[:2] in shifted:
            continue
        if key in misplaced:
            dropped.append(f"  verse dropped: {v[0]} {v[1]}:{v[2]} ({misplaced[key]})")
        elif not v[3] or not v[4]:
            empty.append(f"{v[0]} {v[1]}:{v[2]}")
        else:
            kept.append(v)
    log.append(f"bible: {len(shifted)} shifted chapters dropped "
               f"({sum(len(chapter_verses[k]) for k in shifted)} verses)")
    log += dropped
    log.append(f"bible: {len(dropped)} misaligned verses dropped outside them")
    log.append(f"bible: {len(empty)} verses with an empty side dropped: {', '.join(empty)}")

    split_of = {book: split for split, books in BIBLE_SPLITS.items() for book in books}
    rows = [(split_of.get(v[0], "train"), f"{v[0]}.{v[1]}.{v[2]}", v[3], v[4]) for v in kept]
    log.append(f"bible: {len(rows)} pairs")
    return rows


def proper_nouns(texts) -> set:
    """Lowercased words written with an initial capital mid-sentence more often than in lowercase."""
    capital, lower = collections.Counter(), collections.Counter()
    for text in texts:
        for m in _WORD.finditer(text):
            word = m.group()
            before = text[:m.start()].rstrip(" ¡¿(\"'«")
            if not before or before[-1] in ".!?:;" or is_caps(word) and len(word) > 1:
                continue
            (capital if word[0].isupper() else lower)[word.lower()] += 1
    return {word for word, n in capital.items() if n > lower[word]}


# --- LibreOffice help ----------------------------------------------------------------------------------

HELP_PACKAGES = {"en": "libreoffice-help-en-us", "es": "libreoffice-help-es"}
HELP_ROOT = "usr/share/libreoffice/help"
HELP_LANGS = {"en": "en-US", "es": "es"}
BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6"}
VOID = {"br", "img", "input", "meta", "link", "hr", "wbr", "area", "base", "col", "embed", "param", "source", "track"}
# A side holding one of these is a markup or code fragment, a broken embed or a product-name placeholder.
MARKUP = re.compile(r"[<>{}\\]|\$\[|%PRODUCT|\.xhp\b")


class _Paragraphs(html.parser.HTMLParser):
    """The text of every ``<p>``/``<h1>``..``<h6>`` with an ``id`` of a help page: [(id, text)], in page
    order. Inside a ``switchinline`` span (text per system or application: MAC, WRITER, ...) only the
    ``default`` case is kept (else the first), as the help shows it on Linux."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []
        self.current = None  # the id being read
        self.frames: list[list] = []  # ["text", parts] | ["switch", parts, [(child id, text)]] | ["case", parts, id]
        self.open: list[tuple[str, str | None]] = []  # (tag, frame kind it opened)

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            if self.current is not None and tag == "br":
                self.frames[-1][1].append(" ")
            return
        attrs = dict(attrs)
        if self.current is None:
            if tag in BLOCKS and attrs.get("id"):
                self.current, self.frames, self.open = attrs["id"], [["text", []]], [(tag, None)]
            return
        kind = None
        if tag == "span" and "switchinline" in (attrs.get("class") or "").split():
            self.frames.append(["switch", [], []])
            kind = "switch"
        elif self.frames[-1][0] == "switch":
            self.frames.append(["case", [], attrs.get("id") or ""])
            kind = "case"
        self.open.append((tag, kind))

    def handle_endtag(self, tag):
        if self.current is None or tag in VOID or not any(t == tag for t, _ in self.open):
            return
        while self.open:
            name, kind = self.open.pop()
            if kind == "case":
                frame = self.frames.pop()
                self.frames[-1][2].append((frame[2], "".join(frame[1])))
            elif kind == "switch":
                cases = self.frames.pop()[2]
                pick = next((text for case, text in cases if case.startswith("default")), cases[0][1] if cases else "")
                self.frames[-1][1].append(pick)
            if name == tag:
                break
        if not self.open:
            self.found.append((self.current, "".join(self.frames[0][1])))
            self.current = None

    def handle_data(self, data):
        if self.current is not None:
            self.frames[-1][1].append(data)


def paragraphs(path: pathlib.Path) -> list[tuple[str, str]]:
    parser = _Paragraphs()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return [(pid, normalize(text)) for pid, text in parser.found]


def help_split(page: str) -> str:
    """The split of a help page, by its path (``text/scalc/01/04060109``): sha256 mod 100 -> 0..89
    train, 90..94 dev, 95..99 test."""
    bucket = int.from_bytes(hashlib.sha256(page.encode("utf-8")).digest()[:8], "big") % 100
    return "train" if bucket < 90 else "dev" if bucket < 95 else "test"


def fetch_help(debs: pathlib.Path | None, work: pathlib.Path) -> tuple[pathlib.Path, dict[str, str], str]:
    """Unpacks the two help packages into ``work`` -> (the unpacked root, {package: version}, the
    copyright file's text). The .deb files come from ``debs`` or ``apt-get download``."""
    if debs is None:
        debs = work / "debs"
        debs.mkdir()
        subprocess.run(["apt-get", "download", *HELP_PACKAGES.values()], cwd=debs, check=True,
                       stdout=subprocess.DEVNULL)
    root, versions = work / "root", {}
    for package in HELP_PACKAGES.values():
        found = sorted(debs.glob(f"{package}_*.deb"))
        if len(found) != 1:
            raise SystemExit(f"expected one {package}_*.deb in {debs}, found {len(found)}")
        versions[package] = subprocess.run(["dpkg-deb", "-f", str(found[0]), "Version"], check=True,
                                           capture_output=True, text=True).stdout.strip()
        subprocess.run(["dpkg-deb", "-x", str(found[0]), str(root)], check=True)
    copyright_text = (root / "usr/share/doc" / HELP_PACKAGES["en"] / "copyright").read_text(encoding="utf-8")
    return root, versions, copyright_text


def build_libreoffice(root: pathlib.Path, log) -> list[tuple[str, str, str, str]]:
    """Aligned help paragraphs: [(split, "page#id", English, Spanish)].

    Pages present in both languages; paragraphs (``<p>``/``<h*>`` with an id) whose id occurs once on
    both pages; both sides non-empty, not identical (untranslated or language-neutral) and free of
    markup fragments (``MARKUP``). A pair found on several pages is kept once, in the first split
    that has it in the order train, dev, test (so no pair is in two splits), under its first id there.
    """
    english_root, spanish_root = (root / HELP_ROOT / HELP_LANGS[lang] for lang in ("en", "es"))
    pages = sorted(p.relative_to(english_root) for p in english_root.rglob("*.html"))
    stats, first = collections.Counter(), {}
    matched = 0
    for rel in pages:
        if not (spanish_root / rel).is_file():
            stats["pages only in English"] += 1
            continue
        matched += 1
        english, spanish = paragraphs(english_root / rel), paragraphs(spanish_root / rel)
        english_ids = collections.Counter(pid for pid, _ in english)
        spanish_ids = collections.Counter(pid for pid, _ in spanish)
        spanish_text = dict(spanish)
        page = str(rel.with_suffix(""))
        split = help_split(page)
        for pid, en in english:
            if english_ids[pid] > 1 or spanish_ids[pid] > 1:
                stats["id repeated on the page"] += 1
                continue
            if pid not in spanish_text:
                stats["id missing in Spanish"] += 1
                continue
            es = spanish_text[pid]
            if not en or not es:
                stats["empty"] += 1
            elif en == es:
                stats["identical in both languages"] += 1
            elif MARKUP.search(en) or MARKUP.search(es):
                stats["markup fragment"] += 1
            else:
                stats["kept (before removing repeats)"] += 1
                first.setdefault((en, es), {}).setdefault(split, f"{page}#{pid}")
    order = {"train": 0, "dev": 1, "test": 2}
    rows = []
    for (en, es), where in first.items():
        split = min(where, key=order.get)
        rows.append((split, where[split], en, es))
    position = {key: i for i, key in enumerate(_page_order(rows))}
    rows.sort(key=lambda r: position[r[1]])
    stats["repeats dropped"] = stats["kept (before removing repeats)"] - len(rows)
    log.append(f"libreoffice: {len(pages)} English pages, {matched} with a Spanish page")
    for key in ("empty", "identical in both languages", "markup fragment", "id repeated on the page",
                "id missing in Spanish", "repeats dropped", "pages only in English"):
        log.append(f"libreoffice: {stats[key]} paragraphs dropped: {key}")
    log.append(f"libreoffice: {len(rows)} pairs from {len({r[1].split('#')[0] for r in rows})} pages")
    return rows


def _page_order(rows):
    """Ids sorted by page path, then by their order of first appearance (page order)."""
    seen = [r[1] for r in rows]
    index = {pid: i for i, pid in enumerate(seen)}
    return sorted(seen, key=lambda pid: (pid.split("#")[0], index[pid]))


# --- snapshots -----------------------------------------------------------------------------------------


def summary(name: str, rows, log) -> None:
    counts = collections.Counter(r[0] for r in rows)
    words = {side: [len(r[side].split()) for r in rows] for side in (2, 3)}
    log.append(f"{name}: per split " + ", ".join(f"{s} {counts[s]}" for s in ("train", "dev", "test")))
    log.append(f"{name}: words per pair, English mean {statistics.mean(words[2]):.1f} (p95 "
               f"{sorted(words[2])[int(0.95 * len(rows))]}), Spanish mean {statistics.mean(words[3]):.1f} (p95 "
               f"{sorted(words[3])[int(0.95 * len(rows))]})")


def package_version(package: str) -> str:
    return subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], check=True, capture_output=True,
                          text=True).stdout.strip()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=pathlib.Path, default=HERE, help="where to write (default: corpora/)")
    parser.add_argument("--debs", type=pathlib.Path, help="a folder holding the two libreoffice-help .deb files")
    args = parser.parse_args(argv)
    log = []
    args.out.mkdir(parents=True, exist_ok=True)
    sums = {}

    versions = {package: package_version(package) for package in BIBLE_PACKAGES}
    chapters, module_versions = read_sword()
    log.append("bible: " + ", ".join(f"{p} {v} (module {BIBLE_PACKAGES[p]} {module_versions[BIBLE_PACKAGES[p]]})"
                                     for p, v in versions.items()))
    import pysword

    log.append(f"bible: read with pysword {pysword.__version__}")
    rows = build_bible(chapters, log)
    summary("bible", rows, log)
    sums[SNAPSHOTS["bible"]] = write_tsv(args.out / SNAPSHOTS["bible"], HEADER, rows)

    with tempfile.TemporaryDirectory() as work:
        root, versions, copyright_text = fetch_help(args.debs, pathlib.Path(work))
        log.append("libreoffice: " + ", ".join(f"{p} {v}" for p, v in versions.items()))
        rows = build_libreoffice(root, log)
    summary("libreoffice", rows, log)
    sums[SNAPSHOTS["libreoffice"]] = write_tsv(args.out / SNAPSHOTS["libreoffice"], HEADER, rows)
    licence = re.search(r"/usr/share/common-licenses/MPL-2\.0", copyright_text)
    if licence:
        shutil.copyfile(licence.group(), args.out / "LICENSE-MPL-2.0")

    update_checksums(args.out / "SHA256SUMS", sums)
    (args.out / LOG).write_text("\n".join(log) + "\n", encoding="utf-8")
    print("\n".join(log))
    for name, digest in sorted(sums.items()):
        print(f"{digest}  {name}  ({(args.out / name).stat().st_size} bytes)")


if __name__ == "__main__":
    sys.exit(main())
