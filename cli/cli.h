/* cli: the inspectd commands. Each lives in its own cli/<name>.c, takes the arguments after its
 * name (argv[0] is the command's name), reads them through its option table (options.h) and
 * returns the process exit status: 0 success, 1 runtime failure (bad file, bad data), 2 usage
 * error. main.c only dispatches. */
#ifndef INSPECTD_CLI_H
#define INSPECTD_CLI_H

struct cli_command;

int cmd_serve(int argc, char **argv);         /* serve.c */
int cmd_score(int argc, char **argv);         /* score.c */
int cmd_bench(int argc, char **argv);         /* bench.c */
int cmd_train_anogan(int argc, char **argv);  /* train.c */
int cmd_train_encoder(int argc, char **argv); /* train.c */
int cmd_train_parts(int argc, char **argv);   /* train.c */
int cmd_eval_anogan(int argc, char **argv);   /* eval.c */
int cmd_eval_oneclass(int argc, char **argv); /* eval_oneclass.c */
int cmd_train_gcn(int argc, char **argv);     /* gcn.c */
int cmd_eval_gcn(int argc, char **argv);      /* gcn.c */
int cmd_bench_gcn(int argc, char **argv);     /* gcn.c */

/* serve's option table over a struct serve_config, for tests of flags and environment. */
extern const struct cli_command serve_command;

#endif
