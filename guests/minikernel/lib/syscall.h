/*
 * syscall.h - the system call interface of minikernel, shared by the kernel
 * and the U-mode tasks (lib/tasks_user.c).
 *
 * Calling convention: ecall from U-mode with the call number in a7 and the
 * arguments in a0..a2; the result comes back in a0 (negative = error).
 */
#ifndef MINIKERNEL_SYSCALL_H
#define MINIKERNEL_SYSCALL_H

/** write(buf, len): appends len bytes to the task's output; returns len. */
#define SYS_WRITE   1
/** getpid(): the caller's process id (1..). */
#define SYS_GETPID  2
/** yield(): gives up the rest of the time slice; returns 0. */
#define SYS_YIELD   3
/** sleep(ticks): blocks for at least `ticks` timer ticks; returns 0. */
#define SYS_SLEEP   4
/**
 * sbrk(increment): moves the heap break by increment bytes and returns the
 * old break, or -1 if the new break leaves [USER_HEAP_BASE, USER_HEAP_LIMIT].
 * Pages are only allocated on the first access (demand paging); a negative
 * increment releases the whole pages above the new break.
 */
#define SYS_SBRK    5
/** fork(): copies the caller; returns the child's pid in the parent, 0 in the child. */
#define SYS_FORK    6
/** exit(code): ends the caller; never returns. */
#define SYS_EXIT    7
/**
 * wait(pid, int *status): blocks until the caller's child `pid` has ended,
 * stores its exit code (-1 if it was killed) and returns pid; returns -1 if
 * `pid` is not an unreaped child of the caller.
 */
#define SYS_WAIT    8

/* Layout of a task's address space (Sv39, all below the kernel). */
#define USER_HEAP_BASE    0x10000000UL  /* the break starts here */
#define USER_HEAP_LIMIT   0x10100000UL  /* 1 MiB of heap at most */
#define USER_STACK_TOP    0x40000000UL  /* the stack grows down from here */
#define USER_STACK_PAGES  4             /* mapped when the task is created */

#endif /* MINIKERNEL_SYSCALL_H */
