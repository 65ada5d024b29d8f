#!/bin/sh
# guests/linux/build.sh - builds the Linux guest from Debian's sources:
#
#   guests/bin/linux/Image               Linux 6.1 from linux-source-6.1: `make tinyconfig` plus
#                                        kernel.config (merge_config.sh), ARCH=riscv
#   guests/bin/linux/initramfs.cpio.gz   busybox from `apt-get source busybox` (busybox.config,
#                                        static against libc6-dev-riscv64-cross) in the tree
#                                        described by initramfs.list
#   guests/bin/linux/VERSIONS            the Debian package versions it was built from
#
# Run by `make -C guests linux` (not by the default target: other guests need no Linux toolchain).
# `build.sh initramfs` (`make -C guests linux-initramfs`) rebuilds only initramfs.cpio.gz, after a
# change under rootfs/ or to initramfs.list: busybox and its applet links are taken from the
# committed initramfs, so it needs only gen_init_cpio.c out of linux-source-6.1, cc, cpio, gzip.
# Needs: linux-source-6.1 gcc-riscv64-linux-gnu libc6-dev-riscv64-cross dpkg-dev bc flex bison
# libssl-dev, and a deb-src line for `apt-get source busybox` (or BUSYBOX_SRC=<unpacked source>).
# Work files go to LINUX_BUILD_DIR (default guests/build/linux); JOBS (default 2) is make's -j.
# The build is reproducible: build user, host and time come from the packages' changelogs.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
GUESTS=$(dirname "$HERE")
OUT=$GUESTS/bin/linux
WORK=${LINUX_BUILD_DIR:-$GUESTS/build/linux}
JOBS=${JOBS:-2}
KTAR=/usr/src/linux-source-6.1.tar.xz
CROSS=riscv64-linux-gnu-

die() { echo "guests/linux/build.sh: $*" >&2; exit 2; }

# mkcpio BUSYBOX LINKS EPOCH GEN_INIT_CPIO: initramfs.cpio.gz from initramfs.list, the busybox
# binary and its applet paths (one a line, e.g. /bin/ls), directories and links dated EPOCH.
mkcpio() {
  LIST=$WORK/initramfs.list
  {
    cat "$HERE/initramfs.list"
    echo "# busybox applets (busybox.links)"
    sort "$2" | while read -r link; do
      [ "$link" = /linuxrc ] && continue
      echo "slink $link /bin/busybox 0777 0 0"
    done
  } > "$LIST"
  (cd "$HERE" && BUSYBOX="$1" "$4" -t "$3" "$LIST") | gzip -9n > "$WORK/initramfs.cpio.gz"
  mv "$WORK/initramfs.cpio.gz" "$OUT/initramfs.cpio.gz"
}

# gen_init_cpio FILE: build the kernel's usr/gen_init_cpio (from the unpacked tree, or the tarball).
gen_init_cpio() {
  src=$WORK/linux-source-6.1/usr/gen_init_cpio.c
  if [ ! -f "$src" ]; then
    tar -C "$WORK" -xf "$KTAR" linux-source-6.1/usr/gen_init_cpio.c
  fi
  cc -O2 -o "$1" "$src"
}

if [ "${1:-}" = initramfs ]; then
  [ -f "$KTAR" ] || die "$KTAR is missing (apt-get install linux-source-6.1)"
  [ -f "$OUT/initramfs.cpio.gz" ] || die "$OUT/initramfs.cpio.gz is missing: run build.sh without arguments"
  for t in cc cpio gzip; do command -v $t >/dev/null || die "$t is missing"; done
  mkdir -p "$WORK"
  WORK=$(cd "$WORK" && pwd)
  OLD=$WORK/initramfs.old
  rm -rf "$OLD" && mkdir -p "$OLD"
  # The busybox binary (mtime kept), its applet links, and the date of the old entries (the
  # newc header's c_mtime of the first entry, bytes 46..54).
  (cd "$OLD" && gzip -dc "$OUT/initramfs.cpio.gz" | cpio -idm --quiet bin/busybox)
  gzip -dc "$OUT/initramfs.cpio.gz" | cpio -tv --quiet |
    awk '$1 ~ /^l/ && $NF == "/bin/busybox" && $9 != "init" { print "/" $9 }' > "$OLD/busybox.links"
  EPOCH=$((0x$(gzip -dc "$OUT/initramfs.cpio.gz" | head -c 54 | tail -c 8)))
  gen_init_cpio "$WORK/gen_init_cpio"
  mkcpio "$OLD/bin/busybox" "$OLD/busybox.links" "$EPOCH" "$WORK/gen_init_cpio"
  echo "rebuilt $OUT/initramfs.cpio.gz ($(wc -l < "$OLD/busybox.links") applets of the committed busybox)"
  exit 0
fi


[ -f "$KTAR" ] || die "$KTAR is missing (apt-get install linux-source-6.1)"
command -v ${CROSS}gcc >/dev/null || die "${CROSS}gcc is missing (apt-get install gcc-riscv64-linux-gnu)"
for t in bc flex bison dpkg-parsechangelog gzip cc; do
  command -v $t >/dev/null || die "$t is missing (see the Needs: line at the top of this script)"
done
pkgver() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || die "package $1 is not installed"; }
LINUX_VER=$(pkgver linux-source-6.1)
GCC_VER=$(pkgver gcc-riscv64-linux-gnu)
LIBC_VER=$(pkgver libc6-dev-riscv64-cross)
GCC_FULL=$(${CROSS}gcc -dumpfullversion)

mkdir -p "$WORK" "$OUT"
WORK=$(cd "$WORK" && pwd)

# check_config CONFIG FRAGMENT: every CONFIG_X=V of FRAGMENT is in CONFIG ("=n": not set),
# so a symbol Kconfig dropped (missing dependency, renamed) fails the build.
check_config() {
  bad=0
  for line in $(grep -E '^CONFIG_[A-Z0-9_]+=' "$2" | tr -d ' '); do
    sym=${line%%=*}; val=${line#*=}
    if [ "$val" = n ]; then
      grep -q "^$sym=" "$1" && { echo "  $sym is set, wanted n" >&2; bad=1; }
    else
      grep -qx -- "$sym=$val" "$1" || { echo "  $sym: wanted $val, got '$(grep "^$sym=" "$1")'" >&2; bad=1; }
    fi
  done
  [ $bad -eq 0 ] || die "$(basename "$2") did not apply (see above)"
}

# ---- Linux ----------------------------------------------------------------------------------
KSRC=$WORK/linux-source-6.1
KOBJ=$WORK/kobj
if [ "$(cat "$WORK/linux-source.version" 2>/dev/null)" != "$LINUX_VER" ]; then
  echo "unpacking $KTAR ($LINUX_VER)"
  rm -rf "$KSRC" "$KOBJ"
  tar -C "$WORK" -xf "$KTAR"
  echo "$LINUX_VER" > "$WORK/linux-source.version"
fi
KEPOCH=$(dpkg-parsechangelog -l /usr/share/doc/linux-source-6.1/changelog.Debian.gz -STimestamp 2>/dev/null) ||
  KEPOCH=$(stat -c %Y "$KTAR")
KSTAMP=$(LC_ALL=C date -u -d "@$KEPOCH")
kmake() {
  make -C "$KSRC" O="$KOBJ" ARCH=riscv CROSS_COMPILE=$CROSS \
    KBUILD_BUILD_USER=wasmvisor KBUILD_BUILD_HOST=wasmvisor KBUILD_BUILD_VERSION=1 \
    KBUILD_BUILD_TIMESTAMP="$KSTAMP" "$@"
}
mkdir -p "$KOBJ"
kmake -s tinyconfig
(cd "$KSRC" && ARCH=riscv ./scripts/kconfig/merge_config.sh -m -O "$KOBJ" "$KOBJ/.config" "$HERE/kernel.config" >/dev/null)
kmake -s olddefconfig
check_config "$KOBJ/.config" "$HERE/kernel.config"
echo "building Linux $LINUX_VER (make -j$JOBS Image)"
kmake -j"$JOBS" Image

# ---- busybox --------------------------------------------------------------------------------
if [ -z "${BUSYBOX_SRC:-}" ]; then
  BUSYBOX_SRC=$(ls -d "$WORK"/busybox-[0-9]*/ 2>/dev/null | head -n 1)
  if [ -z "$BUSYBOX_SRC" ]; then
    echo "fetching busybox's source package (apt-get source busybox)"
    (cd "$WORK" && apt-get source busybox >/dev/null) ||
      die "apt-get source busybox failed: add a deb-src entry for bookworm (see the README)"
    BUSYBOX_SRC=$(ls -d "$WORK"/busybox-[0-9]*/ | head -n 1)
  fi
fi
BUSYBOX_SRC=$(cd "$BUSYBOX_SRC" && pwd)
BB_VER=$(dpkg-parsechangelog -l "$BUSYBOX_SRC/debian/changelog" -SVersion)
BB_EPOCH=$(dpkg-parsechangelog -l "$BUSYBOX_SRC/debian/changelog" -STimestamp)
BBOBJ=$WORK/bbobj
rm -rf "$BBOBJ" && mkdir -p "$BBOBJ"
bbmake() { SOURCE_DATE_EPOCH=$BB_EPOCH make -C "$BUSYBOX_SRC" O="$BBOBJ" "$@"; }
bbmake -s allnoconfig >/dev/null
# busybox's kconfig has no merge script: set the fragment's symbols, then let oldconfig
# give every symbol they make visible its default.
grep -E '^CONFIG_[A-Z0-9_]+=' "$HERE/busybox.config" | while IFS= read -r line; do
  sym=${line%%=*}
  sed -i -e "/^$sym=/d" -e "/^# $sym is not set/d" "$BBOBJ/.config"
  case $line in *=n) echo "# $sym is not set" ;; *) echo "$line" ;; esac >> "$BBOBJ/.config"
done
yes "" | bbmake -s oldconfig >/dev/null
check_config "$BBOBJ/.config" "$HERE/busybox.config"
echo "building busybox $BB_VER"
bbmake -j"$JOBS" busybox busybox.links >/dev/null
file "$BBOBJ/busybox" 2>/dev/null | grep -q "statically linked" ||
  { command -v file >/dev/null && die "$BBOBJ/busybox is not statically linked"; }

# ---- initramfs ------------------------------------------------------------------------------
cc -O2 -o "$WORK/gen_init_cpio" "$KSRC/usr/gen_init_cpio.c"
mkcpio "$BBOBJ/busybox" "$BBOBJ/busybox.links" "$BB_EPOCH" "$WORK/gen_init_cpio"
cp "$KOBJ/arch/riscv/boot/Image" "$OUT/Image"

cat > "$OUT/VERSIONS" <<EOF
# Debian packages guests/bin/linux was built from (guests/linux/build.sh)
linux-source-6.1 $LINUX_VER
busybox (source) $BB_VER
gcc-riscv64-linux-gnu $GCC_VER (gcc $GCC_FULL)
libc6-dev-riscv64-cross $LIBC_VER
Linux $(cat "$KOBJ/include/config/kernel.release")
uname -v #1 $KSTAMP
EOF
ls -l "$OUT"
