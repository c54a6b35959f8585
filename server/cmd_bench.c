/* cmd_bench: PLACEHOLDER until the core engine replaces this file. */
#include <stdio.h>
#include "cmd.h"
int cmd_bench(int argc, char **argv) { (void)argc; fprintf(stderr, "inspectd: %s: not built yet\n", argv[0]); return 2; }
