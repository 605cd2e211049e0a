#!/usr/bin/env bash
# Builds the offline test image: an OCI image layout (tag "latest") of one gzip
# layer holding Debian's static busybox. Tests and examples run it without a
# registry or Docker Hub.
#
# usage: oci-busybox.sh <busybox binary> <busybox version> <out dir>
#
# The layer is deterministic (sorted names, owner 0:0, mtime 0, gzip -n), so
# the same busybox gives the same digests on every machine.
set -euo pipefail

busybox=$1 version=$2 out=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# -- the root filesystem -----------------------------------------------------
t=$work/tree
mkdir -p "$t/bin" "$t/etc" "$t/home" "$t/root" "$t/tmp"
install -m 0755 "$busybox" "$t/bin/busybox"
for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$t/bin/$applet"
done
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' > "$t/etc/passwd"
printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' > "$t/etc/group"
chmod 0644 "$t/etc/passwd" "$t/etc/group"
chmod 0755 "$t/bin" "$t/etc" "$t/home"
chmod 0700 "$t/root"
chmod 1777 "$t/tmp"

# -- blobs ----------------------------------------------------------------------
blobs=$work/layout/blobs/sha256
mkdir -p "$blobs"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=gnu \
    -C "$t" -cf "$work/layer.tar" bin etc home root tmp
diff_id=$(sha256sum < "$work/layer.tar" | cut -d' ' -f1)
gzip -n -9 < "$work/layer.tar" > "$work/layer.tar.gz"

# Stores a file as a blob; prints "<digest hex> <size>".
put_blob() {
    local hex size
    hex=$(sha256sum < "$1" | cut -d' ' -f1)
    size=$(stat -c %s "$1")
    mv "$1" "$blobs/$hex"
    echo "$hex $size"
}

read -r layer_hex layer_size < <(put_blob "$work/layer.tar.gz")

cat > "$work/config.json" <<EOF
{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:$diff_id"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"micropod rootfs-builder: busybox-static $version"}]}
EOF
read -r config_hex config_size < <(put_blob "$work/config.json")

cat > "$work/manifest.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$config_hex","size":$config_size},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:$layer_hex","size":$layer_size}]}
EOF
read -r manifest_hex manifest_size < <(put_blob "$work/manifest.json")

echo '{"imageLayoutVersion":"1.0.0"}' > "$work/layout/oci-layout"
cat > "$work/layout/index.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$manifest_hex","size":$manifest_size,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}
EOF

# -- validate with independent tools where this machine has them -------------
if command -v skopeo > /dev/null; then
    skopeo inspect "oci:$work/layout:latest" > /dev/null || { echo "skopeo rejects the busybox OCI image" >&2; exit 1; }
else
    echo "note: skopeo not installed, OCI image not cross-checked with it" >&2
fi
if command -v umoci > /dev/null; then
    rootless=()
    [ "$(id -u)" = 0 ] || rootless=(--rootless)
    umoci unpack "${rootless[@]}" --image "$work/layout:latest" "$work/bundle" > /dev/null \
        || { echo "umoci cannot unpack the busybox OCI image" >&2; exit 1; }
    [ -x "$work/bundle/rootfs/bin/sh" ] || { echo "unpacked busybox image has no /bin/sh" >&2; exit 1; }
else
    echo "note: umoci not installed, OCI image not test-unpacked" >&2
fi

# -- install: build beside, then swap in ----------------------------------------
mkdir -p "$(dirname "$out")"
rm -rf "$out.new" "$out.old"
cp -a "$work/layout" "$out.new"
[ ! -e "$out" ] || mv "$out" "$out.old"
mv "$out.new" "$out"
rm -rf "$out.old"
echo "busybox OCI image: $out (manifest sha256:$manifest_hex)"
