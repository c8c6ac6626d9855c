#!/usr/bin/env bash
# System packages the test suite uses (Debian/Ubuntu). Installs what is missing when it can (root or
# passwordless sudo); otherwise prints the one command to run. The runtime itself needs none of them.
#   espeak-ng, sox      speech synthesis and shaping (synthetic corpus, test audio)
#   mono-devel          mcs + Mono runtime + facades for the Unity bridge's C# core (pythonnet)
#   chromium            headless browser tests of the overlay and the preview page
#   libportaudio2       sounddevice (microphone source); tests use a fake ALSA microphone
#   ffmpeg              independent check of rendered mp4 files (ffprobe)
set -euo pipefail
PKGS=(espeak-ng sox mono-devel chromium libportaudio2 ffmpeg)
missing=()
for p in "${PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "system-packages: please install: ${missing[*]}" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "system-packages: run: sudo apt-get install -y ${missing[*]}" >&2
    exit 0
  fi
fi
echo "system-packages: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
