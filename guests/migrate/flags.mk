# Build flags of the migration suite (included by guests/Makefile): M-mode programs (--bare, and
# QEMU -bios none) for the migration benchmark (bench/migration.ts). They never exit and their
# output depends on time, so `make expected` writes no files for them.
migrate_NO_EXPECTED := 1
