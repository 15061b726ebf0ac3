"""Builds the Debian descriptions snapshot of ``corpora/`` (summarization) from the apt index, once.

Run as root on Debian 12 (bookworm)::

    apt-get update -o Acquire::Languages=en      # fetches Translation-en; a plain apt-get update deletes it
    .venv/bin/python corpora/build_summarization.py      # about a minute

It reads bookworm main's index from ``/var/lib/apt/lists`` (or ``--lists DIR``), through
``apt-helper cat-file`` (which undoes whatever compression apt stored it with):

- ``InRelease``: the Debian release (``Version``, ``Date``), and the SHA-256 of the two files below,
  which must match (so both come from that release).
- ``main/i18n/Translation-en``: each binary package's ``Description-en``, its synopsis line then its
  long description.
- ``main/binary-amd64/Packages``: each binary package's source package (its ``Source`` field, else its
  own name; a package built only for other architectures counts as its own source), and the
  ``Description-md5`` that picks a package's description when ``Translation-en`` holds several.

Only bookworm main: ``bookworm-updates`` and ``bookworm-security`` change no description of it and add
only new per-ABI kernel packages and the like, and would date the snapshot by a security update
rather than a point release.

It writes, in ``corpora/``:

- ``debian-descriptions.tsv.xz``: one (long description, synopsis) pair per kept binary package.
- ``build_summarization.log``: the release read, what was found and dropped, the clusters, the leak
  check and the extractive baselines (no timings: it is rebuilt identically).
- ``SHA256SUMS``: the snapshot's line, which ``zoo.data.summarization`` verifies on load.

The snapshot is UTF-8 TSV written by ``zoo.data.corpora.write_tsv`` (xz, CRC64): a header
line ``split  id  description  synopsis``, then one pair per line sorted by id, the binary package
name. No field holds a tab or a newline: a long description is made one line of plain text
(``plain``). The same index and the same liblzma give the same bytes.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import pathlib
import re
import statistics
import subprocess
import unicodedata

from zoo.data import summarization
from zoo.data.corpora import update_checksums, write_tsv

HERE = pathlib.Path(__file__).resolve().parent
LOG = "build_summarization.log"
LISTS = pathlib.Path("/var/lib/apt/lists")
SUITE = "bookworm"
INDEX = {"descriptions": "main/i18n/Translation-en", "packages": "main/binary-amd64/Packages"}
APT_HELPER = "/usr/lib/apt/apt-helper"
SPLIT_BUCKETS = {"train": 90, "dev": 95, "test": 100}  # sha256 mod 100 below these


def list_file(lists: pathlib.Path, index: str) -> pathlib.Path:
    """The one file of ``lists`` holding bookworm's ``index`` (``main/i18n/Translation-en``, ``InRelease``),
    under whatever mirror name and compression suffix apt gave it."""
    stem = f"_dists_{SUITE}_{index.replace('/', '_')}"
    found = sorted(p for p in lists.glob(f"*{stem}*") if re.fullmatch(rf".*{re.escape(stem)}(\.\w+)?", p.name))
    if len(found) != 1:
        hint = " (run apt-get update -o Acquire::Languages=en)" if "Translation" in index else ""
        raise FileNotFoundError(f"expected one {SUITE} {index} in {lists}, found {[p.name for p in found]}{hint}")
    return found[0]


def read_list(path: pathlib.Path) -> bytes:
    """An apt list file's bytes, decompressed by ``apt-helper cat-file``."""
    return subprocess.run([APT_HELPER, "cat-file", str(path)], check=True, capture_output=True).stdout


def release(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """An ``InRelease`` -> ({field: value} of its header, {index path: SHA-256})."""
    body = text.split("\n\n", 1)[1].split("\n-----BEGIN PGP SIGNATURE-----")[0]  # after the clearsign header
    fields, sums, section = {}, {}, None
    for line in body.split("\n"):
        if line.startswith(" ") and section == "SHA256":
            digest, _, path = line.split()
            sums[path] = digest
        elif not line.startswith(" "):
            section, _, value = line.partition(":")
            fields[section] = value.strip()
    return fields, sums


def stanzas(text: str):
    """Debian control-format paragraphs -> {field: value}; a continued field keeps its lines, newline-joined."""
    for block in text.split("\n\n"):
        fields, key = {}, None
        for line in block.split("\n"):
            if line.startswith((" ", "\t")):
                fields[key] += "\n" + line
            elif line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if fields:
            yield fields


def normalize(text: str) -> str:
    """NFC, zero-width characters removed, every run of white space one space, trimmed."""
    text = unicodedata.normalize("NFC", text)
    text = re.sub("[\u200b\u200c\u200d\u2060\ufeff\u00ad]", "", text)
    return re.sub(r"\s+", " ", text).strip()


def plain(description: str) -> tuple[str, str]:
    """A ``Description-en`` -> (long description, synopsis), each one line of plain text (``normalize``).

    Debian's layout goes: the lines `` .`` (paragraph breaks) are dropped, the other lines joined with a
    space, so verbatim lines (indented by two spaces or more: lists, tables, examples) lose their
    indentation; list bullets (``*``, ``-``, ``o``) stay as text."""
    synopsis, *lines = description.split("\n")
    return normalize(" ".join(line for line in lines if line.strip() != ".")), normalize(synopsis)


def read_index(descriptions: str, packages: str, log) -> list[tuple[str, str, str, str]]:
    """[(binary package, source package, long description, synopsis)] of every package with a
    ``Description-en``, sorted by package."""
    sources, md5s = {}, {}
    for fields in stanzas(packages):
        sources[fields["Package"]] = fields.get("Source", fields["Package"]).split()[0]
        md5s[fields["Package"]] = fields.get("Description-md5")
    entries = collections.defaultdict(list)
    for fields in stanzas(descriptions):
        entries[fields["Package"]].append(fields)
    pairs = []
    for package, found in sorted(entries.items()):
        chosen = next((f for f in found if f["Description-md5"] == md5s.get(package)), found[0])
        pairs.append((package, sources.get(package, package), *plain(chosen["Description-en"])))
    log.append(f"index: {sum(map(len, entries.values()))} descriptions of {len(entries)} binary packages; "
               f"{sum(len(found) > 1 for found in entries.values())} packages with several (kept: the one the "
               f"amd64 index names, else the first), {sum(package not in sources for package in entries)} not built "
               f"for amd64 (their own source)")
    return pairs


def clean(pairs, log) -> list[tuple[str, str, str, str]]:
    """Drops pairs without a synopsis, descriptions under ``MIN_WORDS`` words, and repeats of a description:
    of the packages sharing one (``-dev``/``-doc`` siblings), the shortest name is kept, then the first."""
    stats = collections.Counter()
    kept = []
    for pair in pairs:
        if not pair[3]:
            stats["no synopsis"] += 1
        elif len(pair[2].split()) < summarization.MIN_WORDS:
            stats[f"description under {summarization.MIN_WORDS} words"] += 1
        else:
            kept.append(pair)
    first = {}
    for pair in sorted(kept, key=lambda p: (len(p[0]), p[0])):
        first.setdefault(pair[2], pair)
    stats["repeated description"] = len(kept) - len(first)
    for reason, count in stats.items():
        log.append(f"dropped: {count} pairs, {reason}")
    return sorted(first.values())


def bucket(name: str) -> str:
    """The split of a cluster named ``name``: sha256 mod 100 against ``SPLIT_BUCKETS``."""
    value = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % 100
    return next(split for split, limit in SPLIT_BUCKETS.items() if value < limit)


def clusters(pairs) -> dict[str, str]:
    """source package -> its cluster's name, the smallest source name in it: source packages are joined
    (union-find) when descriptions of theirs share their ``summarization.opening``."""
    parent = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first = {}
    for _, source, description, _ in pairs:
        other = first.setdefault(summarization.opening(description), source)
        a, b = find(source), find(other)
        parent[max(a, b)] = min(a, b)  # the root is the smallest name
    return {source: find(source) for source in parent}


def leak(rows) -> float:
    """% of test descriptions whose ``summarization.opening`` is that of a training description."""
    train = {summarization.opening(description) for split, _, description, _ in rows if split == "train"}
    test = [summarization.opening(description) for split, _, description, _ in rows if split == "test"]
    return 100.0 * sum(key in train for key in test) / len(test)


def split_rows(pairs, log) -> list[tuple[str, str, str, str]]:
    """[(split, package, description, synopsis)]: each pair in its source cluster's split (``bucket``)."""
    cluster = clusters(pairs)
    sizes = collections.Counter(cluster.values())
    rows = [(bucket(cluster[source]), package, description, synopsis)
            for package, source, description, synopsis in pairs]
    biggest = ", ".join(f"{name} {size} ({bucket(name)})" for name, size in sizes.most_common(5))
    log.append(f"clusters: {len(sizes)} of {len(cluster)} source packages; largest (source packages): {biggest}")
    per_split = collections.Counter(bucket(name) for name in sizes)
    log.append("clusters per split: " + ", ".join(f"{s} {per_split[s]}" for s in SPLIT_BUCKETS))
    by_package = [(bucket(package), package, description, synopsis) for package, _, description, synopsis in pairs]
    by_source = [(bucket(source), package, description, synopsis) for package, source, description, synopsis in pairs]
    log.append(f"leak: {leak(rows):.2f} % of test descriptions open ({summarization.OPENING_WORDS} words) like a "
               f"training one with this split; {leak(by_source):.1f} % split by source package, "
               f"{leak(by_package):.1f} % by binary package (same hash)")
    return rows


def summary(rows, log) -> None:
    counts = collections.Counter(r[0] for r in rows)
    log.append(f"pairs: {len(rows)}; per split " + ", ".join(f"{s} {counts[s]}" for s in SPLIT_BUCKETS))
    for side, name in ((2, "description"), (3, "synopsis")):
        words = sorted(len(r[side].split()) for r in rows)
        log.append(f"words per {name}: median {statistics.median(words):g}, p95 {words[int(0.95 * len(words))]}, "
                   f"max {words[-1]}")
    for split in ("dev", "test"):
        figures = summarization.baselines(pairs=[(r[2], r[3]) for r in rows if r[0] == split])
        log.append(f"baselines on {split} (R1/R2/RL): " + "; ".join(
            f"{name} {'/'.join(f'{value:.1f}' for value in scores.values())}" for name, scores in figures.items()))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=pathlib.Path, default=HERE, help="where to write (default: corpora/)")
    parser.add_argument("--lists", type=pathlib.Path, default=LISTS, help=f"apt's lists folder (default: {LISTS})")
    args = parser.parse_args(argv)
    log = []
    fields, sums = release(read_list(list_file(args.lists, "InRelease")).decode("utf-8"))
    log.append(f"release: {fields['Origin']} {fields['Version']} ({fields['Codename']}), {fields['Description']}; "
               f"Release file dated {fields['Date']}")
    texts = {}
    for key, index in INDEX.items():
        raw = read_list(list_file(args.lists, index))
        digest = hashlib.sha256(raw).hexdigest()
        if digest != sums.get(index):
            raise ValueError(f"{index}: SHA-256 {digest} is not the {sums.get(index)} its InRelease lists")
        texts[key] = raw.decode("utf-8")
        log.append(f"read: {index}, SHA-256 {digest} (as listed in the InRelease)")
    pairs = clean(read_index(texts["descriptions"], texts["packages"], log), log)
    rows = split_rows(pairs, log)
    summary(rows, log)

    args.out.mkdir(parents=True, exist_ok=True)
    digest = write_tsv(args.out / summarization.SNAPSHOT, summarization.HEADER, rows)
    update_checksums(args.out / "SHA256SUMS", {summarization.SNAPSHOT: digest})
    (args.out / LOG).write_text("\n".join(log) + "\n", encoding="utf-8")
    print("\n".join(log))
    print(f"{digest}  {summarization.SNAPSHOT}  ({(args.out / summarization.SNAPSHOT).stat().st_size} bytes)")


if __name__ == "__main__":
    main()
