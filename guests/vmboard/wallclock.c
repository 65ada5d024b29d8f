/* wallclock.c as an S-mode kernel for VM mode (see board/wallclock.c). */
#include "../board/wallclock.c"
