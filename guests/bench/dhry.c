/*
 * dhry: a Dhrystone-like integer mix (our own program, not the Dhrystone
 * source). Each iteration copies and compares strings, moves records
 * through a small linked structure, calls a handful of small procedures
 * (some through a function pointer), indexes 1-D and 2-D arrays and does
 * integer arithmetic including division.
 *
 * What it measures: "typical systems code": short basic blocks, calls and
 * returns, byte loads/stores, many taken branches. For a binary translator
 * this stresses block lookup and chaining more than raw ALU speed.
 *
 * Output: "dhry: 0x<8 hex digits>", a hash of the final global state.
 */
#include "guest.h"
#include "bench.h"

#define ITERATIONS 800000
#define NOINLINE __attribute__((noinline))

typedef enum { ALPHA, BRAVO, CHARLIE, DELTA, ECHO } kind_t;

typedef struct record {
  struct record *link;
  kind_t kind;
  int32_t count;
  int32_t weight;
  char text[32];
} record;

static record rec_a BENCH_PAGE_ALIGNED, rec_b, rec_c;
static int32_t table1[64];
static int32_t table2[64][64];
static char str_one[48], str_two[48];
static int32_t g_int;
static char g_char;
static int g_flag;

/* Byte-wise string copy and compare, so the guest and native builds do the
   same work (no vectorised libc routines). Bytes are compared as unsigned. */
static NOINLINE void str_copy(char *dst, const char *src) {
  while ((*dst++ = *src++) != 0) {}
}

static NOINLINE int str_compare(const char *a, const char *b) {
  while (*a && *a == *b) { a++; b++; }
  return (int)(unsigned char)*a - (int)(unsigned char)*b;
}

/* Writes "<prefix> <n>" into dst, n in decimal. */
static NOINLINE void str_number(char *dst, const char *prefix, uint32_t n) {
  while (*prefix) *dst++ = *prefix++;
  *dst++ = ' ';
  char digits[12];
  int k = 0;
  do { digits[k++] = (char)('0' + n % 10); n /= 10; } while (n);
  while (k) *dst++ = digits[--k];
  *dst = 0;
}

static NOINLINE kind_t next_kind(kind_t k, int32_t v) {
  switch (k) {
    case ALPHA: return v > 10 ? BRAVO : CHARLIE;
    case BRAVO: return DELTA;
    case CHARLIE: return (v & 1) ? ECHO : ALPHA;
    case DELTA: return ALPHA;
    default: return BRAVO;
  }
}

static NOINLINE int32_t add_weighted(int32_t a, int32_t b) { return a * 3 + b; }
static NOINLINE int32_t sub_weighted(int32_t a, int32_t b) { return a - 2 * b; }
static int32_t (*const ops[2])(int32_t, int32_t) = {add_weighted, sub_weighted};

/* Copies the fields of one record into another and relinks, the way
   Dhrystone's Proc_1 shuffles its records. */
static NOINLINE void move_record(record *dst, const record *src, int32_t bump) {
  dst->kind = next_kind(src->kind, src->count);
  dst->count = src->count + bump;
  dst->weight = ops[bump & 1](src->weight, bump);
  dst->link = src->link;
  str_copy(dst->text, src->text);
}

static NOINLINE void fill_tables(int32_t i, int32_t v) {
  int32_t r = (i & 15) + 5; /* 5..20: every index below stays in range */
  table1[r] = v;
  table1[r + 1] = table1[r];
  table1[r + 30] = r;
  for (int32_t c = r; c <= r + 1; c++) table2[r][c] = r;
  table2[r][r - 1] += 1;
  table2[r + 20][r] = table1[r];
  g_int = 5;
}

static NOINLINE char pick_char(char a, char b) {
  if (a != b) return a;
  g_char = a;
  return 'x';
}

int main(void) {
  rec_a.link = &rec_b;
  rec_b.link = &rec_c;
  rec_c.link = &rec_a;
  rec_a.kind = ALPHA;
  rec_a.count = 40;
  rec_a.weight = 7;
  str_copy(rec_a.text, "A RECORD WITH A STRING IN IT");
  str_copy(str_one, "DHRY-LIKE PROGRAM, 1'ST STRING");

  uint32_t acc = 0;
  for (uint32_t i = 1; i <= ITERATIONS; i++) {
    str_number(str_two, "DHRY-LIKE PROGRAM, ITERATION", i);
    g_flag = str_compare(str_one, str_two) > 0;

    record *cur = &rec_a;
    for (int step = 0; step < 3; step++) {
      move_record(cur->link, cur, (int32_t)(i + step));
      cur = cur->link;
    }

    int32_t x = (int32_t)(i % 97) + 2;
    int32_t y = x * 3 - 1;
    int32_t z = y / x + y % 7;
    char c = pick_char((char)('A' + i % 3), 'B');
    if (c == 'x') z += 1;
    fill_tables((int32_t)i, z);

    acc = acc * 2654435761u + (uint32_t)(rec_c.count ^ rec_b.weight) + (uint32_t)g_flag +
          (uint32_t)rec_c.kind + (uint32_t)(unsigned char)str_two[29] + (uint32_t)z;
  }

  /* Fold in the final state so every part of the work is observable. */
  for (int i = 0; i < 64; i++) acc = acc * 31u + (uint32_t)table1[i] + (uint32_t)table2[i][(i + 1) & 63];
  acc ^= (uint32_t)g_int + (uint32_t)(unsigned char)g_char;
  for (int i = 0; rec_a.text[i]; i++) acc = acc * 31u + (uint32_t)(unsigned char)rec_a.text[i];

  con_printf("dhry: 0x%08x\n", (unsigned)acc);
  guest_exit(0);
  return 0;
}
