// The page registry. A page is one object; adding a page to the dashboard
// is one call (see docs/web.md):
//
//   registerPage({
//     id: 'alerts',                       // unique
//     route: /^\/alerts$/,                // matched against the hash path (#/alerts)
//     title: 'Alerts',                    // document title and nav label
//     nav: 20,                            // position in the navigation; omit to stay out of it
//     role: 'viewer',                     // the least role that sees it: viewer, operator, admin
//     early: true,                        // optional: renders before the session is known (only
//                                         // for pages that show the same to every role)
//     render(root, params, ctx) { ... },  // builds the page into root; may return a cleanup function
//   });
//
// ctx gives { me, api, navigate, can(role) }.

const pages = [];

export function registerPage(p) {
  if (pages.some((x) => x.id === p.id)) throw new Error(`page ${p.id} registered twice`);
  pages.push({ role: 'viewer', ...p });
}

export function allPages() {
  return pages;
}

export function match(path) {
  for (const p of pages) {
    const m = p.route.exec(path);
    if (m) return { page: p, params: m.slice(1).map((x) => (x === undefined ? x : decodeURIComponent(x))) };
  }
  return null;
}

export const ROLES = { viewer: 1, operator: 2, admin: 3 };
