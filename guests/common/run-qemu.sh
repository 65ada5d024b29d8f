#!/bin/sh
# run-qemu.sh <image.elf> <output.txt> - runs one guest image under
# qemu-system-riscv64 -M virt -bios none (the image starts in M-mode at its
# ELF entry, a0 = hartid, a1 = DTB) and saves the exact console bytes.
#
# Environment: QEMU (binary), TIMEOUT (seconds, default 20), QEMU_ARGS.
# Console input: <suite>/<name>.in next to the source, else none.
# Expected exit code: <suite>/<name>.exit next to the source, else 0.
# Prints "PASS <suite>/<name>" or "FAIL <suite>/<name> (...)".
set -u
elf=$1
out=$2
qemu=${QEMU:-qemu-system-riscv64}
timeout=${TIMEOUT:-20}
rel=${elf#bin/}
name=${rel%.elf}
input=/dev/null
[ -f "$name.in" ] && input=$name.in
want=0
[ -f "$name.exit" ] && want=$(cat "$name.exit")

mkdir -p "$(dirname "$out")"
# -serial stdio with -nographic would clash; -nographic alone puts UART0 on
# stdio (muxed with the monitor, which only reacts to Ctrl-A sequences).
timeout "$timeout" "$qemu" -M virt -bios none -m 128M -nographic \
    ${QEMU_ARGS:-} -kernel "$elf" <"$input" >"$out" 2>"$out.stderr"
rc=$?
if [ -s "$out.stderr" ]; then
    :
else
    rm -f "$out.stderr"
fi
if [ "$rc" -eq 124 ]; then
    echo "FAIL $name (timeout after ${timeout}s)"
    exit 1
elif [ "$rc" -ne "$want" ]; then
    echo "FAIL $name (exit $rc, want $want)"
    exit 1
fi
echo "PASS $name"
