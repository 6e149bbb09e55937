/*
 * cli/cli: the command table (git's git.c maps names to builtin/cmd_*.c).
 * Each command parses its own options and returns the process exit code:
 * 0 ok, 1 runtime failure (database unreachable, not found, conflict),
 * 2 usage or invalid input. Also the few helpers the commands that use the
 * database share (opening it as `serve` would, the OS actor, audit rows).
 * Runs in a short-lived CLI process: blocking calls are fine here.
 */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>

struct store_conn;

struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);   /* argv[0] is the command name */
    const char *summary;
};

int cli_cmd_serve(int argc, char **argv);
int cli_cmd_check(int argc, char **argv);
int cli_cmd_config(int argc, char **argv);
int cli_cmd_user(int argc, char **argv);
int cli_cmd_token(int argc, char **argv);
int cli_cmd_secrets(int argc, char **argv);
int cli_cmd_rules(int argc, char **argv);
int cli_cmd_silence(int argc, char **argv);
int cli_cmd_incident(int argc, char **argv);
int cli_cmd_version(int argc, char **argv);

/* Dispatches `opshub ARGS...`; returns the exit code. */
int cli_main(int argc, char **argv);

/*
 * Opens the database `opshub serve --config CONFIG --data DATA` would use
 * (config_path NULL: ./opshub.yaml if it exists; data_dir NULL: ./data;
 * storage.url, else DATABASE_URL, else sqlite://DATA/opshub.db, creating
 * DATA like serve does) with migrations applied. Errors go to stderr
 * prefixed by `who` ("opshub user add"), with the URL redacted and never a
 * password. Returns 0 (*out is the connection: store_conn_close it),
 * 1 (database unreachable) or 2 (configuration invalid).
 */
int cli_store_open(const char *who, const char *config_path, const char *data_dir,
                   struct store_conn **out);
/* cli_store_open for read-only commands: a SQLite database that does not
 * exist is an error (1, naming the file), and nothing is created — not
 * the data directory, not the file. */
/* The same, also handing out the configuration (NULL when there is no
 * file; the caller destroys it). */
struct conf;
int cli_store_open_conf(const char *who, const char *config_path, const char *data_dir, bool existing,
                        struct store_conn **out, struct conf **conf);
int cli_store_open_existing(const char *who, const char *config_path, const char *data_dir,
                            struct store_conn **out);

/* Copies s into out (at most n - 1 bytes) with every byte outside printable
 * ASCII replaced by '?', for echoing a bad argument safely. Returns out. */
char *cli_printable(const char *s, char *out, size_t n);

#define CLI_ACTOR_MAX 96
/* "cli:<name of the effective OS user>" ("cli:uid<N>" when it has none). */
void cli_actor(char *out, size_t n);

/* Appends an audit row for a CLI action (actor cli_actor, actor_kind "cli",
 * now). target/detail may be NULL. 0 or a negative BASE_ERR_* with err set. */
int cli_audit(struct store_conn *c, const char *action, const char *target, const char *result,
              int status, const char *detail, char *err, size_t errlen);

#endif
