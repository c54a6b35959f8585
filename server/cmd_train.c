/* cmd_train: PLACEHOLDER until the training helper replaces this file. */
#include <stdio.h>
#include "cmd.h"
int cmd_train_anogan(int argc, char **argv) { (void)argc; fprintf(stderr, "inspectd: %s: not built yet\n", argv[0]); return 2; }
int cmd_train_encoder(int argc, char **argv) { (void)argc; fprintf(stderr, "inspectd: %s: not built yet\n", argv[0]); return 2; }
