/*
 * main: the opshub binary. Everything lives under src/; this routes
 * jansson's allocations through base/alloc (so limits and failure
 * injection cover JSON too) and hands the arguments to the command table.
 */
#include "cli/cli.h"
#include "http/body.h"

int main(int argc, char **argv)
{
    http_body_json_alloc_init();
    return cli_main(argc, argv);
}
