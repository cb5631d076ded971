#!/usr/bin/env bash
# `make package` from the build directory: a Debian package holding the binaries, headers, libraries, CMake
# package and halo.pc under /usr, with dependencies on Debian's libraries, whose halo.pc resolves its prefix
# wherever the package's tree is unpacked.
set -euo pipefail
build_dir=$(cd "$1" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if ! (cd "$build_dir" && cpack --config CPackConfig.cmake -B "$out") >"$out/cpack.log" 2>&1; then
  echo "cpack failed:"; cat "$out/cpack.log"; exit 1
fi
shopt -s nullglob
debs=("$out"/halo_*.deb)
[[ ${#debs[@]} -eq 1 ]] || { echo "expected one halo_*.deb in $out, found ${#debs[@]}"; ls -l "$out"; exit 1; }
deb=${debs[0]}
contents=$(dpkg-deb -c "$deb" | awk '{print $NF}')
for path in ./usr/bin/halo ./usr/bin/halo-gcs ./usr/bin/halo-node ./usr/include/halo/halo.h \
            ./usr/lib/libhalo_api.a ./usr/lib/cmake/halo/haloConfig.cmake ./usr/lib/pkgconfig/halo.pc; do
  grep -qx "$path" <<<"$contents" || { echo "the package lacks $path"; exit 1; }
done
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libgrpc++ libprotobuf librocksdb libhiredis libssl; do
  [[ "$depends" == *"$lib"* ]] || { echo "Depends does not name $lib: $depends"; exit 1; }
done
dpkg-deb -x "$deb" "$out/root"
"$out/root/usr/bin/halo" --help >/dev/null || { echo "the packaged halo does not run"; exit 1; }
include_dir=$(PKG_CONFIG_PATH="$out/root/usr/lib/pkgconfig" pkg-config --variable=includedir halo)
[[ -f "$include_dir/halo/halo.h" ]] || { echo "halo.pc's includedir $include_dir does not hold halo/halo.h"; exit 1; }
echo "ok: $(basename "$deb"), $(du -h "$deb" | cut -f1), Depends: $depends"
