/*
 * base/version: the version and the git commit compiled into the binary.
 */
#ifndef BASE_VERSION_H
#define BASE_VERSION_H

const char *base_version(void);
const char *base_version_commit(void);

#endif
