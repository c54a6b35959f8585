/* cmd_serve: PLACEHOLDER until the server helper replaces this file. */
#include <stdio.h>
#include "cmd.h"
int cmd_serve(int argc, char **argv) { (void)argc; fprintf(stderr, "inspectd: %s: not built yet\n", argv[0]); return 2; }
