/*
 * conf/sso: server.auth.github and server.auth.oidc, the single sign-on
 * providers (docs/sso.md). Every error is at the node (FILE:LINE:COL);
 * client secrets are never quoted back, whatever is wrong with them.
 */
#include "conf/conf_int.h"

#include <string.h>
#include <strings.h>

static const char *const role_names[] = {"viewer", "operator", "admin"};

static bool is_map(struct conf_ctx *ctx, const struct conf_node *n)
{
    return n && !conf_value_is_null(n) && conf_value_expect(ctx, n, CONF_NODE_MAP) == 0;
}

/* A non-empty string without control characters or spaces. */
static void plain(struct conf_ctx *ctx, const struct conf_node *n, const char *what, bool secret,
                  const char **out)
{
    const char *t;
    size_t len;
    if (!n || conf_value_text(ctx, n, what, &t, &len))
        return;
    bool ok = len > 0 && len <= 1024;
    for (size_t i = 0; ok && i < len; i++)
        ok = (unsigned char)t[i] > 0x20 && t[i] != 0x7f;
    if (!ok) {
        conf_value_error(ctx, n, "%s must be 1 to 1024 characters without spaces or control characters%s", what,
                         secret ? " (the value is not shown)" : "");
        return;
    }
    *out = conf_value_keep(ctx, t, len);
}

static void role_of(struct conf_ctx *ctx, const struct conf_node *n, int *out)
{
    size_t i;
    if (n && conf_value_choice(ctx, n, "role", role_names, 3, &i) == 0)
        *out = (int)i + 1;
}

/* roles: a list of {org, team?, role} (github) or {value, role} (oidc). */
static void parse_roles(struct conf_ctx *ctx, const struct conf_node *n, bool github,
                        const struct conf_sso_role **out, size_t *n_out)
{
    static const char *const gh[] = {"org", "team", "role"};
    static const char *const oi[] = {"value", "role"};
    if (!n || conf_value_is_null(n) || conf_value_expect(ctx, n, CONF_NODE_SEQ) != 0)
        return;
    if (n->n > CONF_SSO_ROLES_MAX) {
        conf_value_error(ctx, n, "roles has %zu entries; at most %d", n->n, CONF_SSO_ROLES_MAX);
        return;
    }
    struct conf_sso_role *r = n->n ? conf_value_alloc(ctx, n->n * sizeof(*r)) : NULL;
    if (n->n && !r)
        return;
    size_t k = 0;
    for (const struct conf_node *it = n->child; it; it = it->next) {
        const struct conf_node *f[3] = {NULL, NULL, NULL};
        if (conf_value_expect(ctx, it, CONF_NODE_MAP) != 0)
            continue;
        conf_value_fields(ctx, it, github ? gh : oi, github ? 3 : 2, f);
        const struct conf_node *role = f[github ? 2 : 1];
        struct conf_sso_role *x = &r[k];
        if (!f[0])
            conf_value_error_member(ctx, it, github ? "org" : "value", "a roles entry needs %s",
                                    github ? "org" : "value");
        if (!role)
            conf_value_error_member(ctx, it, "role", "a roles entry needs role (viewer, operator or admin)");
        plain(ctx, f[0], github ? "org" : "value", false, github ? &x->org : &x->value);
        if (github)
            plain(ctx, f[1], "team", false, &x->team);
        role_of(ctx, role, &x->role);
        k++;
    }
    *out = r;
    *n_out = k;
}

static void parse_url(struct conf_ctx *ctx, const struct conf_node *n, const char **out)
{
    if (n && conf_value_url(ctx, n, out) == 0 && (*out)[strlen(*out) - 1] == '/')
        conf_value_error(ctx, n, "the URL must not end with '/'");
}

void conf_sso_parse_github(struct conf_ctx *ctx, const struct conf_node *n, struct conf_github *out)
{
    static const char *const names[] = {"client_id", "client_secret", "api_url", "oauth_url", "roles"};
    const struct conf_node *f[5];
    if (!is_map(ctx, n))
        return;
    out->set = true;
    conf_value_fields(ctx, n, names, 5, f);
    plain(ctx, f[0], "client_id", false, &out->client_id);
    plain(ctx, f[1], "client_secret", true, &out->client_secret);
    parse_url(ctx, f[2], &out->api_url);
    parse_url(ctx, f[3], &out->oauth_url);
    parse_roles(ctx, f[4], true, &out->roles, &out->n_roles);
    if (!f[4])
        conf_value_error_member(ctx, n, "roles", "github needs roles: which organisations and teams may sign "
                                "in, with which role (e.g. [{org: acme, role: viewer}])");
}

static void parse_scopes(struct conf_ctx *ctx, const struct conf_node *n, struct conf_oidc *out)
{
    if (conf_value_expect(ctx, n, CONF_NODE_SEQ) != 0)
        return;
    if (n->n > CONF_SSO_SCOPES_MAX) {
        conf_value_error(ctx, n, "scopes has %zu entries; at most %d", n->n, CONF_SSO_SCOPES_MAX);
        return;
    }
    const char **s = conf_value_alloc(ctx, (n->n + 1) * sizeof(*s));
    bool openid = false;
    if (!s)
        return;
    size_t k = 0;
    for (const struct conf_node *it = n->child; it; it = it->next) {
        plain(ctx, it, "a scope", false, &s[k]);
        if (s[k]) {
            openid |= strcmp(s[k], "openid") == 0;
            k++;
        }
    }
    if (!openid)
        conf_value_error(ctx, n, "scopes must include openid");
    out->scopes = s;
    out->n_scopes = k;
}

void conf_sso_parse_oidc(struct conf_ctx *ctx, const struct conf_node *n, struct conf_oidc *out)
{
    static const char *const names[] = {"name", "issuer", "client_id", "client_secret", "scopes",
                                        "role_claim", "roles", "default_role"};
    static const char *const defaults[] = {"none", "viewer"};
    const struct conf_node *f[8];
    if (!is_map(ctx, n))
        return;
    out->set = true;
    conf_value_fields(ctx, n, names, 8, f);
    if (f[0] && conf_value_string(ctx, f[0], &out->name) == 0 && (!out->name[0] || strlen(out->name) > 64))
        conf_value_error(ctx, f[0], "name must be 1 to 64 characters");
    if (!f[1])
        conf_value_error_member(ctx, n, "issuer", "oidc needs issuer (the provider's URL, as its discovery "
                                "document names it)");
    if (f[1] && conf_value_url(ctx, f[1], &out->issuer) == 0 && strncmp(out->issuer, "https://", 8) != 0 &&
        strncmp(out->issuer, "http://127.", 11) != 0 && strncmp(out->issuer, "http://localhost", 16) != 0)
        conf_value_error(ctx, f[1], "issuer must be an https URL (http only on loopback, for tests)");
    if (!f[2])
        conf_value_error_member(ctx, n, "client_id", "oidc needs client_id");
    plain(ctx, f[2], "client_id", false, &out->client_id);
    plain(ctx, f[3], "client_secret", true, &out->client_secret);
    if (f[4])
        parse_scopes(ctx, f[4], out);
    plain(ctx, f[5], "role_claim", false, &out->role_claim);
    parse_roles(ctx, f[6], false, &out->roles, &out->n_roles);
    size_t d = 0;
    if (f[7] && conf_value_choice(ctx, f[7], "default_role", defaults, 2, &d) == 0)
        out->default_role = (int)d;
    if (!f[6] && out->default_role == 0)
        conf_value_error_member(ctx, n, "roles", "oidc needs roles or default_role: viewer (else nobody may "
                                "sign in)");
}
