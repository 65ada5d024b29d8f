# Build flags of the benchmark suite (included by guests/Makefile).
# GUEST selects the privileged (M-mode/S-mode, Sv39) parts of tlbstress.c;
# the harness's native builds (bench/run.ts) leave it undefined.
bench_CFLAGS := -DGUEST
