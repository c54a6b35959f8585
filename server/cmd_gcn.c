/* cmd_gcn: PLACEHOLDER until the GCN helper replaces this file. */
#include <stdio.h>
#include "cmd.h"
int cmd_train_gcn(int argc, char **argv) { (void)argc; fprintf(stderr, "inspectd: %s: not built yet\n", argv[0]); return 2; }
int cmd_eval_gcn(int argc, char **argv) { (void)argc; fprintf(stderr, "inspectd: %s: not built yet\n", argv[0]); return 2; }
int cmd_bench_gcn(int argc, char **argv) { (void)argc; fprintf(stderr, "inspectd: %s: not built yet\n", argv[0]); return 2; }
