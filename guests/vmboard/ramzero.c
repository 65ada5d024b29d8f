/* ramzero.c as an S-mode kernel for VM mode (see board/ramzero.c). */
#include "../board/ramzero.c"
