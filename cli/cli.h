/* cmd: the inspectd subcommands. Each lives in its own server/cmd_<name>.c, takes the arguments
 * after its name (argv[0] is the subcommand name) and returns the process exit status:
 * 0 success, 1 runtime failure (bad file, bad data), 2 usage error. main.c only dispatches. */
#ifndef INSPECTD_CMD_H
#define INSPECTD_CMD_H

int cmd_serve(int argc, char **argv);        /* cmd_serve.c */
int cmd_score(int argc, char **argv);        /* cmd_score.c */
int cmd_bench(int argc, char **argv);        /* cmd_bench.c */
int cmd_train_anogan(int argc, char **argv); /* cmd_train.c */
int cmd_train_encoder(int argc, char **argv);/* cmd_train.c */
int cmd_train_gcn(int argc, char **argv);    /* cmd_gcn.c */
int cmd_eval_anogan(int argc, char **argv);  /* cmd_eval.c */
int cmd_eval_gcn(int argc, char **argv);     /* cmd_gcn.c */
int cmd_bench_gcn(int argc, char **argv);    /* cmd_gcn.c */

#endif
