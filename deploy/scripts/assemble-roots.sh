#!/usr/bin/env bash
# Assembles the image layers of the offline build from binaries already
# built here: no registry, no package manager, nothing downloaded.
#
#   deploy/scripts/assemble-roots.sh OUT TRANSFORMER_BIN PREDICTOR_BIN ORT_LIB MODEL_DIR...
#
# TRANSFORMER_BIN is `infergate` built without the `predictor` feature,
# PREDICTOR_BIN `infergate-predictor`, ORT_LIB the libonnxruntime.so.* of the
# onnxruntime wheel, each MODEL_DIR one model's folder of a repository.
# Writes one folder per layer, each holding only that layer's files:
#   OUT/layers/base         glibc (the binaries' ldd closure), passwd/group
#                           (uid/gid 65532), CA certificates, /tmp, /mnt/models
#   OUT/layers/transformer  /usr/local/bin/infergate
#   OUT/layers/ort          /opt/onnxruntime/lib (+ its ldd closure: libstdc++)
#   OUT/layers/predictor    /usr/local/bin/infergate-predictor
#   OUT/layers/model        /mnt/models/<model>/... (one folder per MODEL_DIR)
# and the merged roots a container would see, for chroot:
#   OUT/roots/transformer = base + transformer
#   OUT/roots/predictor   = base + ort + predictor + model
# The Containerfiles in deploy/images/offline stack the same layers.
set -euo pipefail
[ $# -ge 5 ] || { sed -n 2,22p "$0" >&2; exit 2; }
out=$1 transformer_bin=$2 predictor_bin=$3 ort_lib=$4
shift 4
for f in "$transformer_bin" "$predictor_bin" "$ort_lib"; do
  [ -f "$f" ] || { echo "assemble-roots: no such file: $f" >&2; exit 1; }
done
for model in "$@"; do
  [ -d "$model" ] || { echo "assemble-roots: no such folder: $model" >&2; exit 1; }
done
# The transformer image must not carry the predictor: a binary built with the
# `predictor` feature has the object-storage client's symbols in it.
if grep -q object_store "$transformer_bin"; then
  echo "assemble-roots: $transformer_bin was built with the predictor feature" \
    "(build it with: cargo build -p infergate-gateway --no-default-features --features mimalloc)" >&2
  exit 1
fi

rm -rf "$out/layers" "$out/roots"
layers=$out/layers
mkdir -p "$layers"/{base,transformer,ort,predictor,model}

# The shared libraries a file loads, dynamic loader included, as absolute paths.
closure() {
  ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*ld-linux/ { print $1 }'
}
# Copies a library to the same path under a layer, following symlinks, unless
# a lower layer already holds it.
add_lib() {
  local layer=$1 lib=$2 lower
  shift 2
  for lower in "$@"; do [ -e "$lower$lib" ] && return 0; done
  mkdir -p "$layer$(dirname "$lib")"
  cp -L "$lib" "$layer$lib"
}
# Binaries lose their debug sections (line tables): they are for the build
# machine's backtraces, not the image.
add_bin() {
  local layer=$1 bin=$2 name=$3
  mkdir -p "$layer/usr/local/bin"
  objcopy --strip-debug "$bin" "$layer/usr/local/bin/$name"
  chmod 0755 "$layer/usr/local/bin/$name"
}

# Base runtime: what both binaries load, users, certificates, writable dirs.
base=$layers/base
for lib in $( (closure "$transformer_bin"; closure "$predictor_bin") | sort -u); do
  add_lib "$base" "$lib"
done
mkdir -p "$base/etc/ssl/certs" "$base/tmp" "$base/mnt/models" "$base/home/infergate"
chmod 1777 "$base/tmp"
printf 'root:x:0:0:root:/root:/sbin/nologin\ninfergate:x:65532:65532:infergate:/home/infergate:/sbin/nologin\n' \
  > "$base/etc/passwd"
printf 'root:x:0:\ninfergate:x:65532:\n' > "$base/etc/group"
# glibc reads hosts before DNS only when told; Kubernetes mounts /etc/hosts
# and /etc/resolv.conf over these.
printf 'hosts: files dns\n' > "$base/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$base/etc/hosts"
# rustls-native-certs reads the system bundle (--predictor_use_ssl true).
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  cp /etc/ssl/certs/ca-certificates.crt "$base/etc/ssl/certs/"
else
  echo "assemble-roots: warning: no /etc/ssl/certs/ca-certificates.crt (TLS to public CAs will fail)" >&2
fi

add_bin "$layers/transformer" "$transformer_bin" infergate
add_bin "$layers/predictor" "$predictor_bin" infergate-predictor

# ONNX Runtime: the wheel's library under a fixed name (ORT_DYLIB_PATH of
# the ort layer), plus what it loads that the base lacks (libstdc++).
ort=$layers/ort
mkdir -p "$ort/opt/onnxruntime/lib"
cp -L "$ort_lib" "$ort/opt/onnxruntime/lib/libonnxruntime.so"
for lib in $(closure "$ort_lib"); do
  add_lib "$ort" "$lib" "$base"
done

# Model layer: the repository, read-only, as KServe's /mnt/models layout.
mkdir -p "$layers/model/mnt/models"
for model in "$@"; do cp -r "$model" "$layers/model/mnt/models/"; done
chmod -R a+rX,go-w "$layers/model"

# The merged roots (hard links: no copy of the bytes).
merge() {
  local root=$out/roots/$1
  shift
  mkdir -p "$root"
  for layer in "$@"; do cp -al "$layers/$layer/." "$root/"; done
}
merge transformer base transformer
merge predictor base ort predictor model
du -sh "$layers"/* "$out"/roots/*
