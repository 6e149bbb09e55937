/*
 * http/webassets: the dashboard and status page assets compiled into the
 * binary. The table is generated at build time (web/scripts/embed.mjs from
 * the npm build of web/, see CMakeLists.txt); without the npm packages it
 * is empty and the dashboard's route says how to build it. http/static
 * makes its snapshot from the table (http_static_from_blobs).
 */
#ifndef HTTP_WEBASSETS_H
#define HTTP_WEBASSETS_H

#include "http/static.h"

#include <stddef.h>

/* Every file of the build: "index.html", "assets/app.3f9a1c2b7d.js", ... */
extern const struct http_static_blob http_web_assets[];
extern const size_t http_web_assets_n;

/* The URL of a built asset by its logical name ("status.css" ->
 * "/assets/status.92c8ad86dc.css"), NULL when the build is not compiled in. */
const char *http_web_asset_url(const char *logical);

#endif
