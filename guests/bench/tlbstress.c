/*
 * tlbstress: a pointer chase with one hop per 4 KiB page, over 8192 pages
 * (32 MiB) visited in a shuffled order, so nearly every load needs a fresh
 * address translation.
 *
 * Guest build (-DGUEST, from flags.mk): main() runs in M-mode, builds the
 * chain, then builds its own Sv39 page tables (identity map; the 2 MiB
 * regions holding the arena use 4 KiB leaf pages, the rest of RAM 2 MiB
 * megapages), opens PMP, turns on satp and drops to S-mode with mret. The
 * S-mode part chases the chain and leaves with ecall; the M-mode trap
 * handler prints the result and ends the run. With 8192 pages the walk
 * touches twice as many pages as wasmvisor's TLB has entries (4096) and
 * several times a hardware L2 TLB, so TLB refills and page walks dominate.
 *
 * Native build (bench/native/guest.h): the same chase on the same layout,
 * translated by the host's MMU (which may back the arena with huge pages).
 *
 * Output: "tlbstress: 0x<8 hex digits>", a hash of the values met on the
 * way (page indices, not addresses, so guest and native agree).
 */
#include "guest.h"
#include "bench.h"

#if !defined(GUEST) && !defined(GUEST_NATIVE) && !defined(GUEST_SMODE)
#error "build with -DGUEST (guests/bench/flags.mk), -DGUEST_SMODE (guests/vmbench) or with the native shim bench/native/guest.h"
#endif

#define PAGE 4096u
#define PAGES 8192u             /* 32 MiB arena */
#define LAPS 360u               /* times around the whole chain */
#define NODE_SLOTS (PAGE / 64u) /* a node sits on one of 64 cache-line slots */

/* One hop: the next node (in another page) and a value to fold in. */
typedef struct node {
  struct node *next;
  uint64_t value;
} node;

static uint8_t arena[PAGES * PAGE] BENCH_PAGE_ALIGNED;
static uint32_t order[PAGES];

static volatile uint32_t chase_result;

/* Where the node of page p lives: a slot that varies from page to page so
   the nodes do not all fall into the same cache set. */
static node *node_of(uint32_t p) {
  return (node *)(arena + (uint64_t)p * PAGE + ((p * 37u) % NODE_SLOTS) * 64u);
}

/* Links every page into one cycle in a shuffled order (Fisher-Yates). */
static void build_chain(void) {
  uint64_t x = 0x6A09E667F3BCC909ull;
  for (uint32_t i = 0; i < PAGES; i++) order[i] = i;
  for (uint32_t i = PAGES - 1; i > 0; i--) {
    uint32_t j = (uint32_t)((bench_lcg(&x) >> 33) % (i + 1));
    uint32_t t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  for (uint32_t i = 0; i < PAGES; i++) {
    node *n = node_of(order[i]);
    n->next = node_of(order[(i + 1) % PAGES]);
    n->value = order[i] * 2654435761u;
  }
}

/* The measured loop: LAPS x PAGES dependent loads, each in a different page
   from the one before. */
static uint32_t chase(void) {
  node *n = node_of(order[0]);
  uint32_t acc = 0;
  for (uint32_t hop = 0; hop < LAPS * PAGES; hop++) {
    n = n->next;
    acc = (acc ^ (uint32_t)n->value) * 16777619u;
  }
  return acc;
}

#if defined(GUEST) || defined(GUEST_SMODE)

/*
 * Sv39 (privileged spec, section "Sv39: Page-Based 39-bit Virtual-Memory
 * System"): VA = VPN[2] (38:30) | VPN[1] (29:21) | VPN[0] (20:12) | offset.
 *
 *   PTE: 63..54 reserved | 53..10 PPN | 9..8 RSW | D A G U X W R V (7..0)
 *
 * A PTE with R, W or X set is a leaf; a leaf at level 1 maps 2 MiB, at level
 * 0 4 KiB. A and D are set up front so no implementation needs to update
 * them (or fault, where A/D updates are left to software).
 */
#define PTE_V (1u << 0)
#define PTE_R (1u << 1)
#define PTE_W (1u << 2)
#define PTE_X (1u << 3)
#define PTE_A (1u << 6)
#define PTE_D (1u << 7)
#define PTE_LEAF (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
#define MEGA (2u * 1024 * 1024)
#define SATP_SV39 (8ull << 60)
#define RAM_BASE 0x80000000ull

/* The arena spans PAGES/512 2 MiB regions, one more if it is not 2 MiB
   aligned. */
#define L0_TABLES (PAGES / 512u + 1u)

static uint64_t pt_root[512] BENCH_PAGE_ALIGNED;
static uint64_t pt_l1[512] BENCH_PAGE_ALIGNED;
static uint64_t pt_l0[L0_TABLES][512] BENCH_PAGE_ALIGNED;
/* Stack for the M-mode trap handler; the S-mode code keeps crt0's stack. */
static uint8_t m_stack[4096] BENCH_PAGE_ALIGNED __attribute__((used));

static uint64_t pte(uint64_t pa, uint64_t flags) { return (pa >> 12) << 10 | flags; }

/* Identity-maps the 1 GiB at RAM_BASE (root index 2). */
static void build_page_tables(void) {
  uint64_t lo = (uint64_t)(uintptr_t)arena, hi = lo + (uint64_t)PAGES * PAGE;
  uint32_t next_l0 = 0;
  pt_root[(RAM_BASE >> 30) & 511] = pte((uintptr_t)pt_l1, PTE_V);
  for (uint32_t j = 0; j < 512; j++) {
    uint64_t base = RAM_BASE + (uint64_t)j * MEGA;
    if (base + MEGA > lo && base < hi) {
      uint64_t *l0 = pt_l0[next_l0++];
      for (uint32_t k = 0; k < 512; k++) l0[k] = pte(base + (uint64_t)k * PAGE, PTE_LEAF);
      pt_l1[j] = pte((uintptr_t)l0, PTE_V);
    } else {
      pt_l1[j] = pte(base, PTE_LEAF);
    }
  }
}

#ifdef GUEST_SMODE

/*
 * S-mode build (guests/vmbench): entered in S-mode at 0x80200000 (by the VMM, or by OpenSBI),
 * it builds the same tables, turns on satp itself and chases; in a virtual machine every
 * TLB miss is then a two-dimensional walk. It prints through the UART and exits through
 * the test finisher, both of which a VMM emulates.
 */
int main(void) {
  build_chain();
  build_page_tables();
  __asm__ volatile("csrw satp, %0; sfence.vma" ::"r"(SATP_SV39 | ((uintptr_t)pt_root >> 12)) : "memory");
  chase_result = chase();
  __asm__ volatile("csrw satp, zero; sfence.vma" ::: "memory");
  con_printf("tlbstress: 0x%08x\n", (unsigned)chase_result);
  guest_exit(0);
  return 0;
}

#else /* GUEST: M-mode */

/* Called by tlb_trap_entry with the trap CSRs. Only the ecall from S-mode
   (mcause 9) that ends s_main is expected. */
void tlb_trap_report(uint64_t mcause, uint64_t mepc, uint64_t mtval);
void tlb_trap_report(uint64_t mcause, uint64_t mepc, uint64_t mtval) {
  __asm__ volatile("csrw satp, zero; sfence.vma" ::: "memory");
  if (mcause != 9) {
    con_printf("tlbstress: unexpected trap mcause=0x%lx mepc=0x%lx mtval=0x%lx\n",
               (unsigned long)mcause, (unsigned long)mepc, (unsigned long)mtval);
    guest_exit(3);
  }
  con_printf("tlbstress: 0x%08x\n", (unsigned)chase_result);
  guest_exit(0);
}

/* M-mode trap entry: a fresh stack, then C. Never returns to S-mode. */
void tlb_trap_entry(void);
__asm__(
    "  .text\n"
    "  .balign 4\n"
    "  .globl tlb_trap_entry\n"
    "tlb_trap_entry:\n"
    "  la sp, m_stack + 4096\n"
    "  csrr a0, mcause\n"
    "  csrr a1, mepc\n"
    "  csrr a2, mtval\n"
    "  call tlb_trap_report\n"
    "1: j 1b\n");

/* Runs in S-mode with Sv39 on. */
static void __attribute__((noreturn, used)) s_main(void) {
  chase_result = chase();
  __asm__ volatile("ecall");
  for (;;) {}
}

int main(void) {
  build_chain();
  build_page_tables();

  /* PMP entry 0: NAPOT over the whole address space, RWX, so S-mode may
     access memory at all (with no PMP entry, only M-mode may). */
  __asm__ volatile("csrw pmpaddr0, %0" ::"r"(~0ull >> 10));
  __asm__ volatile("csrw pmpcfg0, %0" ::"r"(0x1full));

  __asm__ volatile("csrw mtvec, %0" ::"r"((uintptr_t)tlb_trap_entry));
  __asm__ volatile("csrw medeleg, zero; csrw mideleg, zero; csrw mie, zero");
  __asm__ volatile("csrw satp, %0; sfence.vma" ::"r"(SATP_SV39 | ((uintptr_t)pt_root >> 12)) : "memory");

  /* mret to S-mode: mstatus.MPP = 01 (bits 12:11), mepc = s_main. */
  uint64_t mstatus;
  __asm__ volatile("csrr %0, mstatus" : "=r"(mstatus));
  mstatus = (mstatus & ~(3ull << 11)) | (1ull << 11);
  __asm__ volatile("csrw mstatus, %0" ::"r"(mstatus));
  __asm__ volatile("csrw mepc, %0" ::"r"((uintptr_t)s_main));
  __asm__ volatile("mret");
  return 99; /* not reached */
}

#endif /* GUEST_SMODE */

#else /* native */

int main(void) {
  build_chain();
  chase_result = chase();
  con_printf("tlbstress: 0x%08x\n", (unsigned)chase_result);
  guest_exit(0);
  return 0;
}

#endif
