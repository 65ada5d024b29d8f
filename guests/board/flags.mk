# Build flags of the board suite (included by guests/Makefile): M-mode programs (common/crt0.S,
# --bare) that check the board's clock and RAM life cycle against the host
# (test/hostile/clock.test.ts, test/hostile/memory-rss.test.ts). vmboard/ builds the same
# programs as S-mode kernels for VM mode. Their output depends on timing or on console input,
# so `make expected` writes no files for them.
board_NO_EXPECTED := 1
