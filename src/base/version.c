/*
 * base/version: strings set by the build (CMake passes -DOPSHUB_VERSION and
 * -DOPSHUB_COMMIT from `git describe`).
 */
#include "base/version.h"

#ifndef OPSHUB_VERSION
#define OPSHUB_VERSION "0.0.0"
#endif
#ifndef OPSHUB_COMMIT
#define OPSHUB_COMMIT "unknown"
#endif

const char *base_version(void)
{
    return OPSHUB_VERSION;
}

const char *base_version_commit(void)
{
    return OPSHUB_COMMIT;
}
