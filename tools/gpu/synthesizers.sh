#!/usr/bin/env bash
# Packs the espeak-ng and flite installed here (apt-get install espeak-ng flite) into OUT (default
# .synth.tar.xz, ignored by git, about 18 MB) for a GPU machine that has neither and cannot install them:
# the two programs, every library they load (the C library and its loader too, so they run whatever the
# other machine's system is), English espeak-ng data only, and bin/espeak-ng, bin/flite wrappers that run
# them through the packed loader. tools/gpu/train.sh unpacks it and puts bin/ first on PATH, so
# `python -m zoo.training.arrays train RUN --synthesize` synthesizes a speech run's clips there.
# Run from the repository root:  tools/gpu/synthesizers.sh [OUT]
set -euo pipefail
out=${1:-.synth.tar.xz}
data=$(dirname "$(readlink -f "$(command -v espeak-ng)")")/../lib/x86_64-linux-gnu/espeak-ng-data
[ -d "$data" ] || data=/usr/lib/x86_64-linux-gnu/espeak-ng-data
for program in espeak-ng flite; do
  if ! command -v "$program" > /dev/null; then
    echo "synthesizers.sh: $program is not installed (apt-get install espeak-ng flite)" >&2
    exit 2
  fi
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/synth/bin" "$work/synth/libexec" "$work/synth/lib" "$work/synth/espeak-ng-data"
for program in espeak-ng flite; do
  cp "$(command -v "$program")" "$work/synth/libexec/"
  ldd "$(command -v "$program")" | awk '/=> \//{print $3} /ld-linux/ && !/=>/{print $1}' | while read -r library; do
    cp -L "$library" "$work/synth/lib/"
  done
  cat > "$work/synth/bin/$program" <<WRAPPER
#!/bin/sh
here=\$(dirname "\$(dirname "\$(readlink -f "\$0")")")
ESPEAK_DATA_PATH=\$here exec "\$here/lib/ld-linux-x86-64.so.2" --library-path "\$here/lib" "\$here/libexec/$program" "\$@"
WRAPPER
  chmod +x "$work/synth/bin/$program"
done
# English only: the phoneme tables, the English dictionary, every language's rules file (small) and the voices
for part in phondata phonindex phontab intonations en_dict lang voices; do
  cp -r "$data/$part" "$work/synth/espeak-ng-data/"
done
tar cJf "$out" -C "$work" synth
ls -l "$out"
