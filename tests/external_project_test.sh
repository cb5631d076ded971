#!/usr/bin/env bash
# The way a user starts a project of their own: install Halo into a fresh prefix, build examples/external
# against it with only find_package(halo), start a cluster with the installed binaries, run the program on it.
# Also checks halo.pc builds the same program with pkg-config alone. Usage: external_project_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BUILD=$(cd "$1" && pwd)
SOURCE=$(cd "$2" && pwd)
WORK=$(mktemp -d /tmp/halo-test-external-XXXXXX)
PREFIX="$WORK/prefix"
cleanup() {
  for s in "$WORK/node" "$WORK/head"; do
    [[ -x "$PREFIX/bin/halo" ]] && "$PREFIX/bin/halo" stop --session-dir "$s" >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== install into $PREFIX"
cmake --install "$BUILD" --prefix "$PREFIX" >"$WORK/install.log"
for f in bin/halo bin/halo-gcs bin/halo-node include/halo/halo.h lib/cmake/halo/haloConfig.cmake \
         lib/cmake/halo/haloTargets.cmake lib/pkgconfig/halo.pc lib/libhalo_api.a; do
  [[ -e "$PREFIX/$f" ]] || { echo "missing after install: $f" >&2; exit 1; }
done
if [[ -e "$PREFIX/lib/libhalo_node.a" || -e "$PREFIX/lib/libhalo_gcs.a" ]]; then
  echo "the node agent or GCS libraries were installed for user programs" >&2
  exit 1
fi

echo "== build examples/external against the installed tree (a copy outside the source tree)"
cp -r "$SOURCE/examples/external" "$WORK/project"
LAUNCHER=()
command -v ccache >/dev/null && LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$WORK/project" -B "$WORK/project/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_PREFIX_PATH="$PREFIX" "${LAUNCHER[@]}" >"$WORK/configure.log" || { cat "$WORK/configure.log"; exit 1; }
cmake --build "$WORK/project/build" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }
if grep -q -- "-I$SOURCE/src" "$WORK/project/build/build.ninja"; then
  echo "the source tree's src/ leaked onto the user's include path" >&2
  exit 1
fi

echo "== pkg-config: the same program compiles and links with halo.pc's flags alone"
c++ -O0 "$WORK/project/word_stats.cc" -o "$WORK/word_stats_pc" \
  $(PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" pkg-config --cflags --libs halo)
[[ -x "$WORK/word_stats_pc" ]]

echo "== a cluster from the installed binaries, and the program on it"
# Two node agents on one host: their HTTP ingresses take free ports (the default, 8000, fits one per host).
export HALO_SERVE_HTTP_PORT=0
"$PREFIX/bin/halo" start --head --session-dir "$WORK/head" --port 0 >/dev/null
ADDRESS=$(cat "$WORK/head/gcs.address")
# As on another machine: the joining node agent and the program are given the cluster token.
export HALO_AUTH_TOKEN=$(cat "$WORK/head/auth_token")
"$PREFIX/bin/halo" start --address "$ADDRESS" --session-dir "$WORK/node" --num-cpus 2 >/dev/null
timeout 120 "$WORK/project/build/word_stats" --address "$ADDRESS" >"$WORK/run.out" 2>"$WORK/run.err" || {
  echo "word_stats failed:" >&2
  cat "$WORK/run.out" "$WORK/run.err" >&2
  exit 1
}
cat "$WORK/run.out"
grep -q "'the' appears 4 times, 'head' 2 times" "$WORK/run.out"
echo "external project: ok"
