/* cmd_eval: PLACEHOLDER until the training helper replaces this file. */
#include <stdio.h>
#include "cmd.h"
int cmd_eval_anogan(int argc, char **argv) { (void)argc; fprintf(stderr, "inspectd: %s: not built yet\n", argv[0]); return 2; }
