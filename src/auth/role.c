/*
 * auth/role: names of the roles. The order of the enum is the privilege
 * order; the middleware compares roles numerically.
 */
#include "auth/role.h"

#include <string.h>

const char *auth_role_name(enum auth_role r)
{
    switch (r) {
    case AUTH_ROLE_VIEWER: return "viewer";
    case AUTH_ROLE_OPERATOR: return "operator";
    case AUTH_ROLE_ADMIN: return "admin";
    case AUTH_ROLE_PUBLIC: break;
    }
    return "public";
}

bool auth_role_parse(const char *s, enum auth_role *out)
{
    static const enum auth_role all[] = {AUTH_ROLE_VIEWER, AUTH_ROLE_OPERATOR, AUTH_ROLE_ADMIN};
    for (size_t i = 0; s && i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcmp(s, auth_role_name(all[i])) == 0) {
            *out = all[i];
            return true;
        }
    }
    return false;
}
