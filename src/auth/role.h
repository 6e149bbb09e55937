/*
 * auth/role: the three roles of opshub and the access level a route
 * declares. Roles are ordered: admin can do everything operator can, which
 * can do everything viewer can. Pure data and two conversions; no state.
 */
#ifndef AUTH_ROLE_H
#define AUTH_ROLE_H

#include <stdbool.h>

enum auth_role {
    AUTH_ROLE_PUBLIC = 0,   /* a route needing no authentication; never a principal's role */
    AUTH_ROLE_VIEWER = 1,   /* read */
    AUTH_ROLE_OPERATOR = 2, /* ack, silence, run checks and runbooks */
    AUTH_ROLE_ADMIN = 3,    /* everything: users, tokens, secrets */
};

/* "viewer", "operator", "admin" ("public" for AUTH_ROLE_PUBLIC). */
const char *auth_role_name(enum auth_role r);
/* Parses a principal role (not "public"); false when unknown. */
bool auth_role_parse(const char *s, enum auth_role *out);

#endif
