/*
 * cli/cmd_secrets: `opshub secrets status` (how many stored secrets each
 * key id seals) and `opshub secrets rotate-key` (re-seal every stored
 * secret with the current ENCRYPTION_KEY_BASE64, opening the old ones with
 * ENCRYPTION_KEY_OLD_BASE64), in one transaction, audited. A running
 * daemon started with both variables keeps reading secrets throughout, so
 * the rotation needs no downtime. Never prints a key or a secret.
 */
#include "cli/cli.h"

#include "app/env.h"
#include "base/err.h"
#include "objects/db.h"
#include "store/sql.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: opshub secrets status [--config FILE] [--data DIR] [--json]\n"
            "       opshub secrets rotate-key [--config FILE] [--data DIR] [--json]\n\n"
            "Stored secrets (the url, headers, body and send fields of checks made through\n"
            "the API) are sealed with AES-256-GCM under ENCRYPTION_KEY_BASE64.\n"
            "To rotate: set ENCRYPTION_KEY_BASE64 to the new key and ENCRYPTION_KEY_OLD_BASE64\n"
            "to the old one (comma-separated for several), restart or start opshub with both,\n"
            "then run `opshub secrets rotate-key`; afterwards the old key can be dropped.\n\n"
            "  -c, --config FILE   configuration file (finds the database like serve)\n"
            "  -d, --data DIR      data directory (default ./data)\n"
            "  -j, --json          print JSON\n"
            "  -h, --help          this help\n");
}

static bool production(void)
{
    const char *a = getenv("OPSHUB_ENV"), *b = getenv("NODE_ENV");
    return (a && strcmp(a, "production") == 0) || (b && strcmp(b, "production") == 0);
}

int cli_cmd_secrets(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'}, {"data", required_argument, NULL, 'd'},
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {0},
    };
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    bool rotate = strcmp(sub, "rotate-key") == 0;
    if (!rotate && strcmp(sub, "status") != 0) {
        char shown[64];
        fprintf(stderr, "opshub secrets: unknown subcommand '%s' (status, rotate-key)\n",
                cli_printable(sub, shown, sizeof(shown)));
        return 2;
    }
    const char *config = NULL, *data = NULL;
    bool json = false;
    int ch;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "c:d:jh", options, NULL)) != -1) {
        switch (ch) {
        case 'c': config = optarg; break;
        case 'd': data = optarg; break;
        case 'j': json = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "opshub secrets %s: unexpected argument\n", sub);
        return 2;
    }
    const char *who = rotate ? "opshub secrets rotate-key" : "opshub secrets status";
    struct auth_secret_keyring kr;
    char err[512];
    /* status only reads: it must not generate a key (or a database) in a
     * mistyped data directory; rotate-key writes, like serve. */
    if (app_env_keyring(&kr, production(), data, rotate, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: %s\n", who, err);
        return 2;
    }
    struct store_conn *c = NULL;
    int code = rotate ? cli_store_open(who, config, data, &c) : cli_store_open_existing(who, config, data, &c);
    if (code) {
        auth_secret_keyring_free(&kr);
        return code;
    }
    char ids[AUTH_SECRET_MAX_KEYS * 4][AUTH_SECRET_KEYID_LEN + 1];
    int64_t counts[AUTH_SECRET_MAX_KEYS * 4];
    size_t n = 0, done = 0;
    char failed[160] = "";
    int rc = 0;
    if (rotate) {
        rc = objects_db_rekey(c, &kr, &done, failed, sizeof(failed), err, sizeof(err));
        char detail[96];
        snprintf(detail, sizeof(detail), "%zu secrets re-sealed with key %s", done,
                 auth_secret_keyring_current_id(&kr));
        char aerr[256];
        if (cli_audit(c, "secrets.rotate_key", auth_secret_keyring_current_id(&kr), rc ? "error" : "ok",
                      rc ? 1 : 0, rc ? failed : detail, aerr, sizeof(aerr)) != 0)
            fprintf(stderr, "%s: warning: audit entry not written: %s\n", who, aerr);
    }
    if (rc == 0)
        rc = objects_db_key_usage(c, ids, counts, sizeof(counts) / sizeof(counts[0]), &n, err, sizeof(err));
    store_conn_close(c);
    if (rc) {
        fprintf(stderr, "%s: %s\n", who, err);
        auth_secret_keyring_free(&kr);
        return 1;
    }
    const char *cur = auth_secret_keyring_current_id(&kr);
    if (json) {
        printf("{\"current_key\":\"%s\",\"keys\":[", cur);
        for (size_t i = 0; i < n; i++)
            printf("%s{\"key_id\":\"%s\",\"secrets\":%lld,\"current\":%s}", i ? "," : "", ids[i],
                   (long long)counts[i], strcmp(ids[i], cur) == 0 ? "true" : "false");
        printf("]");
        if (rotate)
            printf(",\"resealed\":%zu", done);
        printf("}\n");
    } else {
        if (rotate)
            printf("re-sealed %zu secret%s with key %s\n", done, done == 1 ? "" : "s", cur);
        printf("current key: %s\n", cur);
        for (size_t i = 0; i < n; i++)
            printf("  key %s seals %lld secret%s%s\n", ids[i], (long long)counts[i], counts[i] == 1 ? "" : "s",
                   strcmp(ids[i], cur) == 0 ? " (current)" : " (old: run rotate-key)");
        if (!n)
            printf("  no stored secrets\n");
    }
    auth_secret_keyring_free(&kr);
    return 0;
}
