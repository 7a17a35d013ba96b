#!/usr/bin/env bash
# Prints an apt source for bookworm-backports on the same Debian mirror the machine already uses
# (read from /etc/apt/sources.list and sources.list.d, one-line or deb822 format), so CI needs no
# mirror address of its own. Exits 1 if no Debian bookworm source is configured.
set -euo pipefail
suite=bookworm
files=$(ls /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$files" ] || { echo "no apt sources configured" >&2; exit 1; }
# shellcheck disable=SC2086
awk -v suite="$suite" '
  function emit(uri, signed) {
    if (done) return
    done = 1
    if (signed != "") printf "Types: deb\nURIs: %s\nSuites: %s-backports\nComponents: main\nSigned-By: %s\n", uri, suite, signed
    else printf "Types: deb\nURIs: %s\nSuites: %s-backports\nComponents: main\n", uri, suite
  }
  function flush() {
    if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ")) emit(uris, signed)
    types = ""; uris = ""; suites = ""; signed = ""
  }
  FILENAME ~ /\.sources$/ {
    if (FILENAME != current) { flush(); current = FILENAME }
    if ($0 ~ /^[ \t]*$/) { flush(); next }
    if ($0 ~ /^#/) next
    key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^[ \t]+/, "")
    if (key == "types") types = $0
    else if (key == "uris") { split($0, u, " "); uris = u[1] }
    else if (key == "suites") suites = $0
    else if (key == "signed-by") signed = $0
    next
  }
  /^[ \t]*deb[ \t]/ {
    flush()
    n = split($0, f, /[ \t]+/); i = 2
    signed = ""
    if (f[i] ~ /^\[/) { opts = ""; while (i <= n) { opts = opts " " f[i]; if (f[i] ~ /\]$/) { i++; break } i++ } if (match(opts, /signed-by=[^ \]]+/)) signed = substr(opts, RSTART + 10, RLENGTH - 10) }
    if (f[i + 1] == suite) emit(f[i], signed)
  }
  END { flush(); if (!done) exit 1 }
' $files
