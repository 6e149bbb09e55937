/*
 * main: the opshub binary. Everything lives under src/; this sets a
 * private umask, routes jansson's allocations through base/alloc (so
 * limits and failure injection cover JSON too) and hands the arguments to
 * the command table.
 */
#include "cli/cli.h"
#include "http/body.h"

#include <sys/stat.h>

int main(int argc, char **argv)
{
    umask(077); /* the database, its WAL and the generated secrets are the owner's only */
    http_body_json_alloc_init();
    return cli_main(argc, argv);
}
