#!/usr/bin/env bash
# Builds the MicroPod guest image into $MICROPOD_HOME/guest/<version>/ and the
# offline busybox test image into $MICROPOD_HOME/oci/busybox/.
# See README.md (next to this script) and docs/internals/guest-contract.md.
#
# usage: build-guest.sh [--version V] [--agent-jar JAR] [--default-home DIR]
#                       [--jdk DIR] [--timestamp T] [--force] [--keep-work]
#                       [--update-classlist]
#
# Maven runs this in the `package` phase of rootfs-builder. Rebuilding with
# unchanged inputs is a no-op that takes well under a second. Two builds from the
# same commit give the same bytes (README.md, "Reproducible builds";
# check-reproducible.sh builds twice and compares). --update-classlist records the
# agent's class list (agent.classlist, committed) from training runs, then builds.
set -euo pipefail
# Modes of what the build creates (mkdir, jlink, gcc) must not depend on the caller's umask.
umask 022

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
S=$HERE/scripts
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in the source tree

# ---- arguments ------------------------------------------------------------------
version='' agent_jar=$HERE/../micropod-sdk-agent/target/micropod-agent.jar
default_home=$HOME/.cache/micropod jdk=${MICROPOD_GUEST_JDK:-} force=0 keep_work=0
update_classlist=0 classlist_runs=${MICROPOD_CLASSLIST_RUNS:-5} classlist=$HERE/agent.classlist
timestamp=${SOURCE_DATE_EPOCH:+@$SOURCE_DATE_EPOCH}
while [ $# -gt 0 ]; do
    case "$1" in
        --version) version=$2; shift 2 ;;
        --agent-jar) agent_jar=$2; shift 2 ;;
        --default-home) default_home=$2; shift 2 ;;
        --jdk) jdk=$2; shift 2 ;;
        --timestamp) timestamp=$2; shift 2 ;;
        --force) force=1; shift ;;
        --keep-work) keep_work=1; shift ;;
        --update-classlist) update_classlist=1 force=1; shift ;;
        *) sed -n '2,14p' "$0" >&2; exit 2 ;;
    esac
done
# The environment wins over Maven's micropod.home property (contract: MICROPOD_HOME).
home=${MICROPOD_HOME:-$default_home}
if [ -z "$version" ]; then
    # Run by hand: take the version from the <parent> of this module's pom.
    version=$(sed -n '/<parent>/,/<\/parent>/s:.*<version>\(.*\)</version>.*:\1:p' "$HERE/pom.xml")
fi
# Every file of the image gets this modification time (reproducible builds): --timestamp
# (Maven: ${project.build.outputTimestamp}, the time its jars use), else SOURCE_DATE_EPOCH,
# else the root pom's project.build.outputTimestamp. ISO 8601 or @<seconds>.
if [ -z "$timestamp" ]; then
    timestamp=$(sed -n 's:.*<project.build.outputTimestamp>\(.*\)</project.build.outputTimestamp>.*:\1:p' "$HERE/../pom.xml")
fi

say()  { echo "[rootfs-builder] $*"; }
warn() { echo "[rootfs-builder] WARNING: $*" >&2; }
die()  { echo "[rootfs-builder] ERROR: $*" >&2; exit 1; }
step() { say "$* (+$((SECONDS - t0))s)"; }
t0=$SECONDS
epoch=$(date -u -d "$timestamp" +%s 2>/dev/null) \
    || die "--timestamp '$timestamp' is neither ISO 8601 nor @<seconds since 1970>"

# ---- inputs -----------------------------------------------------------------------
[ -f "$agent_jar" ] || die "agent jar not found: $agent_jar
  Build the agent first: mvn -B install -pl micropod-sdk-agent -am (from the repository root)."
agent_jar=$(cd "$(dirname "$agent_jar")" && pwd)/$(basename "$agent_jar")

# Guest JRE: Temurin 25 when present (AOT cache, JEP 483/514), else the default JDK.
if [ -z "$jdk" ]; then
    if [ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/jlink ]; then
        jdk=/usr/lib/jvm/temurin-25-jdk-amd64
    elif [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/jlink" ]; then
        jdk=$JAVA_HOME
    else
        jdk=$(dirname "$(dirname "$(readlink -f "$(command -v jlink || command -v javac || echo /nonexistent/bin/x)")")")
    fi
fi
[ -x "$jdk/bin/jlink" ] && [ -f "$jdk/release" ] || die "no JDK with jlink found (tried $jdk); set MICROPOD_GUEST_JDK"
jdk_feature=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$jdk/release")
jdk_desc="$(sed -n 's/^IMPLEMENTOR="\(.*\)"/\1/p' "$jdk/release") $(sed -n 's/^JAVA_RUNTIME_VERSION="\(.*\)"/\1/p' "$jdk/release") ($jdk)"

cd "$HERE"
if [ "$jdk_feature" -ge 25 ] && [ ! -f "$classlist" ]; then
    [ $update_classlist = 1 ] || die "$classlist not found: record it with $0 --update-classlist"
    : > "$classlist"  # an input of the hash below; written before the image is
fi
builder_files=(packages.lock agent.classlist build-guest.sh guest/init guest/micropod-tty.c guest/micropod-exec.c $(ls scripts/*.py scripts/*.sh) $(ls host/*.c 2>/dev/null))
compute_inputs_hash() {
    inputs_hash=$(python3 "$S/inputs_hash.py" --text "version=$version" --text "jdk=$jdk_desc" \
        --text "jreExclude=${MICROPOD_JRE_EXCLUDE_MODULES-(default)}" --text "epoch=$epoch" \
        --text "$(cat "$jdk/release")" "${builder_files[@]}" "$agent_jar")
}
compute_inputs_hash
oci_hash=$(python3 "$S/inputs_hash.py" --text "$(grep '^busybox-static=' packages.lock)" scripts/oci-busybox.sh)

guest_dir=$home/guest/$version
oci_dir=$home/oci/busybox
oci_stamp=$home/oci/.busybox.inputs-hash

up_to_date() {
    need_guest=1 need_oci=1
    if [ -f "$guest_dir/manifest.json" ] && [ -f "$guest_dir/initramfs.cpio" ] && [ -f "$guest_dir/system.img" ] \
        && grep -q "\"inputsHash\": \"$inputs_hash\"" "$guest_dir/manifest.json"; then
        need_guest=0
    fi
    if [ -f "$oci_dir/index.json" ] && [ "$(cat "$oci_stamp" 2>/dev/null)" = "$oci_hash" ]; then
        need_oci=0
    fi
    [ $force = 0 ] && [ $need_guest = 0 ] && [ $need_oci = 0 ]
}

if up_to_date; then
    say "guest image $version is up to date ($guest_dir, inputsHash ${inputs_hash:0:12}): nothing to do"
    exit 0
fi

# One build at a time per MICROPOD_HOME; whoever waited re-checks.
mkdir -p "$home/guest" "$home/oci" "$home/cache/debs"
exec 9> "$home/guest/.build.lock"
flock 9
if up_to_date; then
    say "guest image $version was built meanwhile by another build: nothing to do"
    exit 0
fi
[ $force = 1 ] && need_guest=1 need_oci=1

for tool in apt-get apt-cache dpkg-deb lz4 tar gzip unshare chroot timeout; do
    command -v "$tool" > /dev/null || die "$tool is required to build the guest image"
done

# The work dir sits next to the output so that the final rename is atomic.
work=$home/guest/.build-$version-$$
rm -rf "$work"
mkdir -p "$work/pkgs" "$work/root" "$work/out"
cleanup() { [ $keep_work = 1 ] && say "work dir kept: $work" || rm -rf "$work"; }
trap cleanup EXIT

# ---- Debian packages ---------------------------------------------------------------
cache=$home/cache/debs
apt_opts=()
[ "$(id -u)" != 0 ] || apt_opts=(-o APT::Sandbox::User=root)  # root: no _apt sandbox warning
: > "$work/packages"

check_apt_lists() {
    local lists=/var/lib/apt/lists
    eval "$(apt-config shell lists Dir::State::lists/d)"
    compgen -G "${lists%/}/*_Packages*" > /dev/null \
        || die "apt has no package lists in $lists: run 'apt-get update' (as root) and build again"
}

# Downloads name=version into the cache (once); prints the .deb's path.
apt_download() {
    local spec=$1 dl=$cache/.dl-$$
    rm -rf "$dl" && mkdir -p "$dl" && chmod 777 "$dl"
    if (cd "$dl" && apt-get "${apt_opts[@]}" -q download "$spec" > "$dl.log" 2>&1); then
        local f
        f=$(ls "$dl"/*.deb)
        mv "$f" "$cache/"
        rm -rf "$dl" "$dl.log"
        echo "$cache/$(basename "$f")"
    else
        cat "$dl.log" >&2
        rm -rf "$dl" "$dl.log"
        return 1
    fi
}

# fetch NAME VERSION: puts the package into $work/pkgs/NAME and records the
# version really used. Falls back loudly when the pinned version is gone.
fetch() {
    local name=$1 want=$2 deb='' got cand
    for f in "$cache/${name}_${want//:/%3a}_"*.deb; do [ -f "$f" ] && deb=$f; done
    if [ -z "$deb" ]; then
        check_apt_lists
        say "downloading $name=$want"
        if ! deb=$(apt_download "$name=$want"); then
            cand=$(apt-cache policy "$name" 2>/dev/null | sed -n 's/^ *Candidate: //p')
            if [ -n "$cand" ] && [ "$cand" != "(none)" ]; then
                warn "==================================================================="
                warn "$name=$want is no longer served; using the current $name=$cand."
                warn "Update rootfs-builder/packages.lock."
                warn "==================================================================="
                deb=$(apt_download "$name=$cand") || die "cannot download $name=$cand"
            elif [[ $name == linux-image-*-cloud-amd64 ]]; then
                # Kernel ABI bumps rename the package: follow the metapackage.
                local meta
                meta=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)/\1/p' | head -1)
                [ -n "$meta" ] || die "neither $name nor linux-image-cloud-amd64 is available (run 'apt-get update'?)"
                warn "==================================================================="
                warn "$name is no longer served; using $meta (from linux-image-cloud-amd64)."
                warn "Update rootfs-builder/packages.lock."
                warn "==================================================================="
                name=$meta
                deb=$(apt_download "$name") || die "cannot download $name"
            else
                die "cannot download $name=$want and apt has no candidate for $name (run 'apt-get update'?)"
            fi
        fi
    fi
    got=$(dpkg-deb -f "$deb" Version)
    echo "$name=$got" >> "$work/packages"
    rm -rf "$work/pkgs/$name"
    dpkg -x "$deb" "$work/pkgs/$name"
    # Stable handle for the kernel, whatever its ABI name.
    [[ $name != linux-image-* ]] || ln -sfn "$name" "$work/pkgs/kernel"
}

step "fetching Debian packages (cache: $cache)"
while IFS='=' read -r name want; do
    case "$name" in ''|'#'*) continue ;; esac
    if [ $need_guest = 1 ] || [ "$name" = busybox-static ]; then
        fetch "$name" "$want"
    fi
done < packages.lock
busybox_version=$(sed -n 's/^busybox-static=//p' "$work/packages")

# ---- the offline busybox OCI image ---------------------------------------------------
if [ $need_oci = 1 ]; then
    step "building the busybox OCI image"
    bash "$S/oci-busybox.sh" "$work/pkgs/busybox-static/bin/busybox" "$busybox_version" "$oci_dir"
    echo "$oci_hash" > "$oci_stamp"
fi
if [ $need_guest = 0 ]; then
    say "guest image $version is up to date"
    exit 0
fi

# ---- stage the guest root --------------------------------------------------------------
R=$work/root
P=$work/pkgs
step "staging the guest root"
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,lib/x86_64-linux-gnu,lib64,etc/micropod,dev,proc,sys,run,tmp,root,newroot,opt/micropod/agent}
chmod 1777 "$R/tmp"
chmod 0700 "$R/root"
install -m 0755 guest/init "$R/init"
# The filesystems /init mounts first, in two tables (/dev/pts and /dev/shm are made on the
# devtmpfs in between): one busybox mount process for each instead of one per filesystem, as
# every fork+exec costs ~9 ms under TCG.
printf '%s\n' 'proc /proc proc defaults 0 0' 'sysfs /sys sysfs defaults 0 0' 'devtmpfs /dev devtmpfs defaults 0 0' \
    > "$R/etc/micropod/boot.fstab"
printf '%s\n' 'devpts /dev/pts devpts newinstance,ptmxmode=0666,mode=0620 0 0' \
    'shm /dev/shm tmpfs nosuid,nodev,mode=1777 0 0' 'cgroup2 /sys/fs/cgroup cgroup2 nsdelegate 0 0' \
    'tmpfs /run tmpfs nosuid,nodev,mode=0755 0 0' 'tmpfs /tmp tmpfs nosuid,nodev,mode=1777 0 0' \
    > "$R/etc/micropod/boot-dev.fstab"

# busybox: every applet as a symlink in /bin (PATH has /bin).
install -m 0755 "$P/busybox-static/bin/busybox" "$R/bin/busybox"
for applet in $("$R/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$R/bin/$applet"
done

# runc at the path of MICROPOD_RUNTIME.
install -m 0755 "$P/runc/usr/sbin/runc" "$R/usr/bin/runc"
ln -s ../bin/runc "$R/usr/sbin/runc"
# crun next to it: /init runs the agent with MICROPOD_RUNTIME=/usr/bin/<micropod.runtime>.
install -m 0755 "$P/crun/usr/bin/crun" "$R/usr/bin/crun"

# micropod-tty: the agent's helper for exec with a terminal (receives runc's pty master over
# the console socket, relays it, resizes it). C because the JDK can neither receive a file
# descriptor (SCM_RIGHTS) nor ioctl(TIOCSWINSZ): see the header of guest/micropod-tty.c.
# Static (~0.8 MB): the host's glibc may be newer than the guest's (bookworm), and a
# dynamic binary would then ask for symbol versions the guest lacks. -std=gnu11 keeps
# glibc 2.38+ headers from redirecting to C23 symbols.
# Reproducible objects: sources are named relative to this directory, and any path gcc still
# records (__FILE__, debug info before -s strips it) is mapped to a fixed prefix, so the bytes do
# not depend on where the checkout lies. The GNU build-id note is a hash of the rest: it is
# the same when the rest is.
cflags=(-std=gnu11 -O2 -Wall -Wextra -Werror "-ffile-prefix-map=$HERE=rootfs-builder")
command -v gcc > /dev/null || die "gcc not found: the guest's TTY helper (guest/micropod-tty.c) is compiled at build time; install gcc and libc6-dev (bin/setup-host does)"
gcc "${cflags[@]}" -s -static -o "$R/usr/bin/micropod-tty" guest/micropod-tty.c \
    || die "cannot compile guest/micropod-tty.c (gcc and libc6-dev installed?)"
# micropod-exec: the agent's exec helper (a broker in the agent's namespaces and, from a sealed
# copy, a helper inside each container that forks the execs): see guest/micropod-exec.c.
gcc "${cflags[@]}" -s -static -o "$R/usr/bin/micropod-exec" guest/micropod-exec.c \
    || die "cannot compile guest/micropod-exec.c (gcc and libc6-dev installed?)"

# socat: the guest end of the vsock agent channel (guest/init starts it with
# micropod.channel=vsock).
install -m 0755 "$P/socat/usr/bin/socat" "$R/usr/bin/socat"

# The dynamic loader at the path every binary asks for (PT_INTERP).
cp "$(readlink -f "$P/libc6/lib64/ld-linux-x86-64.so.2")" "$R/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$R/lib64/ld-linux-x86-64.so.2"

printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' > "$R/etc/passwd"
printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' > "$R/etc/group"
printf '%s\n' '127.0.0.1 localhost' '::1 localhost' > "$R/etc/hosts"

# ---- kernel and modules ---------------------------------------------------------------
step "kernel: vmlinuz, vmlinux, modules"
vmlinuz=$(ls "$P"/kernel/boot/vmlinuz-*)
kernel_release=${vmlinuz##*/vmlinuz-}
moddir=$P/kernel/lib/modules/$kernel_release
cp "$vmlinuz" "$work/out/vmlinuz"
python3 "$S/vmlinux.py" "$vmlinuz" "$work/out/vmlinux"
# virtio transports (mmio for -machine microvm, pci for q35), the devices of the
# contract's QEMU command line, overlay for container roots, vsock for hosts
# with vhost-vsock, virtio_balloon for free page reporting (the guest hands pages
# it freed back to the host). A trailing '?' marks a module this kernel may lack.
python3 "$S/modules.py" "$moddir" virtio_mmio virtio_pci virtio_console virtio_blk \
    fuse virtiofs overlay vsock vmw_vsock_virtio_transport virtio_net 'virtio_rng?' 'virtio_balloon?' > "$work/modules"
: > "$R/etc/micropod/modules.order"
while read -r ko; do
    install -D -m 0644 "$moddir/$ko" "$R/lib/modules/$kernel_release/$ko"
    echo "/lib/modules/$kernel_release/$ko" >> "$R/etc/micropod/modules.order"
done < "$work/modules"

# ---- JRE, agent, archive flags ------------------------------------------------------------
step "jlink: guest JRE from $jdk_desc"
# Modules: what jdeps finds in the agent jar, plus jdk.unsupported (Netty and
# protobuf use sun.misc.Unsafe reflectively, which jdeps cannot see), minus
# MICROPOD_JRE_EXCLUDE_MODULES, by default java.desktop, java.sql and java.xml:
# jdeps finds them only through Jackson, whose module declares them
# `requires static` (optional: java.beans, java.sql and DOM types, which the
# agent never serializes). With them the guest JRE is ~35 MB larger, and every
# boot pays for it. Set MICROPOD_JRE_EXCLUDE_MODULES="" to keep them.
exclude=",${MICROPOD_JRE_EXCLUDE_MODULES-java.desktop,java.sql,java.xml},"
# --list-deps, not --print-module-deps: the latter prints a reduced set, and
# java.logging, say, would vanish with the java.sql that `requires transitive` it.
jre_modules=$( ("$jdk/bin/jdeps" --ignore-missing-deps --list-deps --multi-release "$jdk_feature" "$agent_jar"; echo jdk.unsupported) \
    | grep -v / | tr -d ' ' | sort -u | while read -r m; do [[ $exclude == *",$m,"* ]] || echo "$m"; done | paste -sd,)
say "JRE modules: $jre_modules"
# Should java.desktop be kept: the guest has no display and no sound, so leave
# out its natives that link X11 or ALSA libraries.
"$jdk/bin/jlink" --add-modules "$jre_modules" --strip-debug --no-header-files --no-man-pages \
    --exclude-files='**/libawt_xawt.so,**/libjawt.so,**/libsplashscreen.so,**/libjsound.so' \
    --output "$R/opt/micropod/jre"
cp "$agent_jar" "$R/opt/micropod/agent/micropod-agent.jar"
# Netty's epoll library, outside the jar: Netty first tries System.loadLibrary
# (java.library.path, set below) and only otherwise copies the library out of
# the jar into a temp file, whose name comes from a SecureRandom. Under TCG
# that copy, and the JCA providers the SecureRandom sets up, cost ~1 s of the
# agent's start (measured: docs/performance.md).
netty_epoll=libio_grpc_netty_shaded_netty_transport_native_epoll_x86_64.so
mkdir -p "$R/opt/micropod/agent/lib"
python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' \
    "$agent_jar" "META-INF/native/$netty_epoll" > "$R/opt/micropod/agent/lib/$netty_epoll" \
    && [ -s "$R/opt/micropod/agent/lib/$netty_epoll" ] \
    || die "the agent jar has no META-INF/native/$netty_epoll (grpc-netty-shaded changed?)"
agent_sha=$(sha256sum < "$agent_jar" | cut -d' ' -f1)

# One line of JVM flags, shared by /init and the training run below: an archive
# only works with the flags (and paths) it was made with.
common_flags="-XX:+UseSerialGC -XX:-UsePerfData -Xmx128m -Xss512k"
# Netty derives a "machine id" for channel ids from a MAC address; the guest has
# only lo, so Netty scans the interfaces and then warns on the console. Channel
# ids need no uniqueness across VMs: give it one.
common_flags="$common_flags -Dio.grpc.netty.shaded.io.netty.machineId=02:00:00:00:00:01"
common_flags="$common_flags -Djava.library.path=/opt/micropod/agent/lib"
# Netty 4.2 on JDK 25 leaves sun.misc.Unsafe alone by default and links malloc
# and free through the FFM API instead: ~0.7 s of method handle spinning in the
# interpreted guest JVM. Let it use Unsafe (silently). Its JFR events for the
# buffer allocator are off: registering them costs ~0.5 s on the first
# connection, and nothing records JFR in the guest.
common_flags="$common_flags -Dio.grpc.netty.shaded.io.netty.noUnsafe=false -Dio.grpc.netty.shaded.io.netty.jfr.enabled=false"
# Netty's leak detector samples buffer allocations (with a random number: which ones differs from
# run to run, and so did the classes that a training run loaded) to report buffers not released;
# no one reads that report in the guest.
common_flags="$common_flags -Dio.grpc.netty.shaded.io.netty.leakDetection.level=disabled"
if [ "$jdk_feature" -ge 25 ]; then
    archive=/opt/micropod/agent/agent.aot
    # Netty loads its epoll library with System.loadLibrary: JDK 24+ warns about
    # that on stderr (the console) unless native access is granted.
    common_flags="$common_flags --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow"
    archive_flag=-XX:AOTCache=$archive
else
    archive=/opt/micropod/agent/agent.jsa
    archive_flag=-XX:SharedArchiveFile=$archive
fi
echo "$common_flags $archive_flag" > "$R/etc/micropod/jvm.flags"
# What guest/init puts in front of jvm.flags (keep both in step).
tcg_flags="-XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -XX:CompileThresholdScaling=10"
kvm_flags="-XX:TieredStopAtLevel=1"

# ---- shared libraries ------------------------------------------------------------------
step "shared libraries"
socat_pkgs=(libssl3 libwrap0 libnsl2 libtirpc3 libgssapi-krb5-2 libkrb5-3 libk5crypto3 libcom-err2 libkrb5support0 libkeyutils1)
crun_pkgs=(libyajl2 libcap2 libsystemd0 libgcrypt20 libgpg-error0 liblzma5 libzstd1 liblz4-1)
libs=$(python3 "$S/elfdeps.py" "$R" "$P/libc6" "$P/libseccomp2" "$P/libgcc-s1" "$P/libstdc++6" "$P/zlib1g" \
    "${socat_pkgs[@]/#/$P/}" "${crun_pkgs[@]/#/$P/}" \
    --jar "$R/opt/micropod/agent/micropod-agent.jar" --also libgcc_s.so.1)
libs=$(echo $libs)
say "libraries: $libs"
# Licences of what is shipped (docs, man pages and locales are not).
shipped=(busybox-static runc libc6 libseccomp2 libgcc-s1 "$(readlink "$P/kernel")" socat "${socat_pkgs[@]}" crun "${crun_pkgs[@]}")
[[ " $libs " != *" libstdc++.so.6 "* ]] || shipped+=(libstdc++6)
[[ " $libs " != *" libz.so.1 "* ]] || shipped+=(zlib1g)
for pkg in "${shipped[@]}"; do
    # libgcc-s1 and libstdc++6 link theirs to gcc-12-base, which is not fetched.
    if [ -f "$P/$pkg/usr/share/doc/$pkg/copyright" ]; then
        install -D -m 0644 "$P/$pkg/usr/share/doc/$pkg/copyright" "$R/usr/share/doc/$pkg/copyright"
    fi
done

# ---- run things inside the staged root ---------------------------------------------------
# A private mount namespace (and a user namespace when not root) keeps the
# /proc and /dev bind mounts invisible to the host: nothing to unmount, nothing
# leaks if the build dies.
in_guest_root() {  # [NO_ASLR=1] in_guest_root <seconds> <command...>
    local limit=$1; shift
    local userns=() no_aslr=()
    [ "$(id -u)" = 0 ] || userns=(-r)
    # setarch -R: no address space randomization for the command (util-linux, like unshare).
    [ "${NO_ASLR:-0}" = 1 ] && no_aslr=(setarch "$(uname -m)" -R)
    "${no_aslr[@]}" unshare "${userns[@]}" -m --propagation private -- sh -c '
        root=$1 limit=$2; shift 2
        mount --rbind /proc "$root/proc" && mount --rbind /dev "$root/dev" || exit 1
        exec timeout "$limit" chroot "$root" /bin/env -i PATH=/usr/bin:/bin HOME=/root "$@"
    ' sh "$R" "$limit" "$@"
}

step "checking the guest root's binaries in a chroot"
in_guest_root 60 /bin/busybox true || die "busybox does not run in the guest root"
in_guest_root 60 /usr/bin/runc --version > "$work/runc.version" || die "runc does not run in the guest root"
# The agent reads the version line from here instead of starting runc (guest contract).
mkdir -p "$R/etc/micropod/version.d"
head -1 "$work/runc.version" > "$R/etc/micropod/version.d/runc"
in_guest_root 60 /usr/bin/crun --version > "$work/crun.version" || die "crun does not run in the guest root"
head -1 "$work/crun.version" > "$R/etc/micropod/version.d/crun"
rm -rf "$R/run/crun"  # the state dir crun --version made in the chroot
in_guest_root 60 /usr/bin/socat -V > /dev/null || die "socat does not run in the guest root"
# without arguments it prints its usage and exits 2
rc=0; in_guest_root 60 /usr/bin/micropod-tty 2> /dev/null || rc=$?
[ $rc = 2 ] || die "micropod-tty does not run in the guest root (exit $rc)"
rc=0; in_guest_root 60 /usr/bin/micropod-exec 2> /dev/null || rc=$?
[ $rc = 2 ] || die "micropod-exec does not run in the guest root (exit $rc)"
in_guest_root 60 /opt/micropod/jre/bin/java -version 2> "$work/java.version" || die "java does not run in the guest root"

# One modification time for everything staged (reproducible builds). Before the training run:
# the JVM checks the agent jar's and the runtime image's mtime against those the archive
# recorded, and /init's kernel restores the cpio's mtimes. Again before writing the cpio, for
# what the runs below touch.
normalize_mtimes() { find "$1" -exec touch -h -d "@$epoch" {} +; }
normalize_mtimes "$R"

# ---- AOT cache / CDS archive of the agent, made in the guest root ------------------------
java=/opt/micropod/jre/bin/java
jar=/opt/micropod/agent/micropod-agent.jar
# Trained interpreted, whatever the run-time flags: with a JIT the training run's
# timing could change what the archive holds (reproducible builds).
train_flags="-Xint -XX:TieredStopAtLevel=0 $common_flags"
archive_training="agent --train"
record_classlist() {  # record_classlist <file in the root> <app args...>: one training run's class list
    local out=$1; shift
    # shellcheck disable=SC2086
    in_guest_root 600 $java $train_flags -Xshare:off -XX:DumpLoadedClassList="$out" "$@"
}
if [ "$jdk_feature" -ge 25 ] && [ $update_classlist = 1 ]; then
    # The maintainer's step (README.md, "Reproducible builds"): several training runs, and what
    # they all loaded and resolved, sorted, becomes the committed agent.classlist.
    step "recording agent.classlist: $classlist_runs training runs of the agent"
    recordings=()
    for i in $(seq 1 "$classlist_runs"); do
        record_classlist /tmp/agent.classlist.$i -jar $jar --train > "$work/record-$i.log" 2>&1 \
            || { grep -v '^[[:space:]]*at ' "$work/record-$i.log" | tail -20 >&2; die "training run $i of the agent failed"; }
        recordings+=("$R/tmp/agent.classlist.$i")
    done
    python3 "$S/classlist.py" "$classlist" "${recordings[@]}"
    rm -f "${recordings[@]}"
    # The list is an input: the image below is built from the new one.
    compute_inputs_hash
fi
train() {  # train <app args...>: writes $archive
    if [ "$jdk_feature" -ge 25 ]; then
        # JEP 483's AOT cache dumped from the committed class list, not from a training run of
        # this build (the classes and constant pool entries a run resolves vary from run to
        # run: its gRPC server and client race). The dump is deterministic when it runs without
        # address randomization and with ArchiveRelocationMode=0 (it maps at the requested
        # addresses, so the archived heap's layout is the same every time; the guest's JVM
        # relocates it at run time as before), but for the soft reference clock (the build
        # host's uptime) in the archived heap, which aot_normalize.py zeroes, found through the
        # dump's map. One class list thus gives one cache, byte for byte (README.md,
        # "Reproducible builds"). -XX:+AOTClassLinking: classes loaded and linked ahead of
        # time, as -XX:AOTMode=create does (JEP 483); the guest maps it with -XX:AOTCache.
        local map=/tmp/agent.aotmap
        cp "$classlist" "$R/tmp/agent.classlist"
        # shellcheck disable=SC2086
        NO_ASLR=1 in_guest_root 600 $java $train_flags -XX:+UnlockDiagnosticVMOptions \
            -XX:ArchiveRelocationMode=0 -Xshare:dump -XX:+AOTClassLinking \
            -XX:SharedClassListFile=/tmp/agent.classlist -XX:SharedArchiveFile=$archive \
            -Xlog:aot+map=info,aot+map+oops=trace:file=$map:none:filesize=0 -cp $jar \
            || return
        # It checks the layout it expects (another JDK may differ) before it writes anything.
        python3 "$S/aot_normalize.py" "$R$archive" "$R$map" \
            || warn "$archive left as the JVM wrote it (aot_normalize.py above): it differs from build to build"
    else
        # JDK 17: a class list from the run, then a static AppCDS dump (not reproducible: the
        # run's list varies; the JDK 25 path above is).
        record_classlist /tmp/agent.classlist "$@" \
        && in_guest_root 600 $java $train_flags -Xshare:dump -XX:SharedClassListFile=/tmp/agent.classlist \
            -XX:SharedArchiveFile=$archive -cp $jar
    fi
}
if [ "$jdk_feature" -ge 25 ]; then
    step "dumping the agent's AOT cache ($archive) from agent.classlist in the guest root"
else
    step "training the agent's class archive ($archive) in the guest root"
fi
if ! train -jar $jar --train > "$work/train.log" 2>&1; then
    grep -v '^[[:space:]]*at ' "$work/train.log" | tail -20 >&2
    [ "$jdk_feature" -lt 25 ] || die "cannot dump $archive from $classlist (log above)"
    warn "==================================================================="
    warn "the agent's training run (java -jar micropod-agent.jar --train) failed;"
    warn "the archive is trained on JVM start-up only (-version): slower agent start."
    warn "==================================================================="
    archive_training="-version only (agent --train failed)"
    rm -f "$R$archive"
    train -cp $jar -version > "$work/train-version.log" 2>&1 \
        || { tail -20 "$work/train-version.log" >&2; die "cannot create $archive"; }
fi
[ -s "$R$archive" ] || die "training made no $archive"

# Prove the guest's JVM accepts the archive: a second run that must map it, with the agent's
# training run (JDK 25: which also says how much of what the agent loads the archive misses).
if [ "$jdk_feature" -ge 25 ]; then
    check=(-XX:AOTMode=on -Xlog:aot) accepted_re='Using AOT-linked classes: true'
    archive_training="agent.classlist ($(grep -vc '^[#@]' "$classlist") classes)"
else
    check=(-Xshare:on -Xlog:cds) accepted_re='Opened (shared )?archive'
fi
if [ "$archive_training" != "-version only (agent --train failed)" ]; then app=(-jar $jar --train); else app=(-cp $jar -version); fi
# shellcheck disable=SC2086
in_guest_root 600 $java $tcg_flags $common_flags $archive_flag "${check[@]}" -Xlog:class+load=info "${app[@]}" > "$work/verify.log" 2>&1 \
    && grep -Eq "$accepted_re" "$work/verify.log" \
    || { tail -30 "$work/verify.log" >&2; die "the guest JVM does not accept $archive"; }
if [ "$jdk_feature" -ge 25 ]; then
    # Classes of the jar or the runtime image loaded from outside the archive (hidden classes and
    # proxies aside): a few are expected (what only some training runs load); many mean that the
    # agent changed since agent.classlist was recorded, and its start is slower than it could be.
    missed=$(grep -c '\[class,load\] .* source: \(jrt:\|file:\)' "$work/verify.log" || true)
    loaded=$(grep -c '\[class,load\] ' "$work/verify.log" || true)
    say "the agent's training run loaded $((loaded - missed)) classes from $archive, $missed from outside it"
    if [ "$missed" -gt "${MICROPOD_CLASSLIST_MAX_MISSED:-40}" ]; then
        grep '\[class,load\] .* source: \(jrt:\|file:\)' "$work/verify.log" | head -20 | sed 's/^.*\[class,load\] /    /' >&2
        warn "agent.classlist is stale ($missed classes of the agent's start are not in it): the agent starts"
        warn "slower than it could. Refresh it: rootfs-builder/build-guest.sh --update-classlist, and commit it."
    fi
fi
# ... and with the KVM flags (JIT on): start-up only, which is when the archive is mapped.
# shellcheck disable=SC2086
in_guest_root 600 $java $kvm_flags $common_flags $archive_flag "${check[@]}" -cp $jar -version > "$work/verify-kvm.log" 2>&1 \
    && grep -Eq "$accepted_re" "$work/verify-kvm.log" \
    || { tail -30 "$work/verify-kvm.log" >&2; die "the guest JVM does not accept $archive with the KVM flags"; }
archive_status="accepted under TCG and KVM flags ($(grep -Eo "$accepted_re" "$work/verify.log" | head -1); trained with: $archive_training)"
say "class archive $archive: $archive_status"
rm -rf "${R:?}"/tmp/* "$R$archive.config"

# ---- host helpers ------------------------------------------------------------------------
# Small native programs that run on the HOST beside the VM (not in the guest), shipped with the
# guest image because they are built from the same commit: host/lib*.c become shared objects
# (LD_PRELOAD'ed into a host process), every other host/*.c a static executable. They go to
# <guest dir>/host/, where HostProbe looks for them.
step "host helpers"
mkdir -p "$work/out/host"
for src in host/*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c)
    case "$name" in
        lib*) gcc "${cflags[@]}" -s -shared -fPIC -o "$work/out/host/$name.so" "$src" -ldl \
                  || die "cannot compile $src (gcc and libc6-dev installed?)" ;;
        *)    gcc "${cflags[@]}" -s -static -o "$work/out/host/$name" "$src" \
                  || die "cannot compile $src (gcc and libc6-dev installed?)" ;;
    esac
done
# The seccomp wrapper of every virtiofsd: it must install its filter and exec on this host, and
# refuse what it exists to refuse (a FIFO), or pods with read-write mounts would fail at start.
if [ -e host/micropod-fsguard.c ]; then
    "$work/out/host/micropod-fsguard" true || die "host/micropod-fsguard does not run on this host"
    fsguard_probe=$(mktemp -d)
    if "$work/out/host/micropod-fsguard" mkfifo "$fsguard_probe/fifo" 2>/dev/null; then
        rm -rf "$fsguard_probe"; die "host/micropod-fsguard let mkfifo through"
    fi
    rm -rf "$fsguard_probe"
fi

# ---- system image, initramfs, manifest, install -------------------------------------------
# The large read-only parts (the JRE, the agent and its AOT cache, the OCI runtimes, socat, the
# shared libraries: ~130 MB) go into system.img, a read-only ext4 image that every pod attaches
# as a read-only virtio-blk device, so that the host's page cache holds one copy for all pods and
# each guest reads only the pages it uses. The initramfs keeps /init, busybox, the modules and
# /etc (~4 MB): the kernel unpacks it into every pod's RAM. /init mounts the image on /sysimage
# and binds its directories over the initramfs's empty ones (etc/micropod/sys.fstab), so every
# path is what it was in the staged root, where the AOT cache was dumped.
step "writing system.img and initramfs.cpio"
normalize_mtimes "$R"
sysroot=$work/sysroot
sys_dirs=(opt usr lib/x86_64-linux-gnu)
: > "$R/etc/micropod/sys.fstab"
for d in "${sys_dirs[@]}"; do
    mkdir -p "$(dirname "$sysroot/$d")"
    mv "$R/$d" "$sysroot/$d"
    mkdir -m 0755 "$R/$d"
    echo "/sysimage/$d /$d none bind 0 0" >> "$R/etc/micropod/sys.fstab"
done
mkdir -m 0755 "$R/sysimage"
normalize_mtimes "$R"
normalize_mtimes "$sysroot"
bash "$S/sysimage.sh" "$sysroot" "$work/out/system.img" "$epoch" > /dev/null
python3 "$S/mkcpio.py" "$R" "$work/out/initramfs.cpio"
python3 "$S/manifest.py" "$work/out" "$work/packages" \
    "version=$version" "kernelRelease=$kernel_release" "jdk=$jdk_desc" \
    "agentJarSha256=$agent_sha" "jreModules=$jre_modules" \
    "jvmFlags=$common_flags $archive_flag" "jvmArchive=$archive $archive_status" \
    "runtimeVersion=$(head -1 "$work/crun.version") (default); $(head -1 "$work/runc.version")" \
    "inputsHash=$inputs_hash"

# Swap the new image in with renames on one file system: readers never see a
# half-written directory (for an instant between the two renames, none at all).
new=$home/guest/.new-$version-$$
mv "$work/out" "$new"
if [ -e "$guest_dir" ]; then
    mv "$guest_dir" "$home/guest/.old-$version-$$"
fi
mv "$new" "$guest_dir"
rm -rf "$home/guest/.old-$version-$$"
step "guest image $version installed in $guest_dir: initramfs $(du -h "$guest_dir/initramfs.cpio" | cut -f1), system.img $(du -h --apparent-size "$guest_dir/system.img" | cut -f1), kernel $kernel_release"
