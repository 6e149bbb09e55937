/*
 * probe/command_spawn: posix_spawn of a check's program on a pool thread
 * (see command_spawn.h for why not uv_spawn).
 */
#include "probe/command_spawn.h"

#include "base/alloc.h"
#include "base/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

static const char path_var[] = "PATH=" PROBE_COMMAND_PATH;

/* ---- prepare (loop) ---- */

int probe_command_spawn_prepare(struct probe_command_spawn *sp, const struct probe_command_conf *c)
{
    static const char *const fixed[] = {path_var, "LC_ALL=C", "LANG=C"};
    size_t nf = sizeof(fixed) / sizeof(fixed[0]);
    size_t pre = c->shell ? 2 : 0, nargs = pre + c->command.n;
    size_t bytes = 0;
    for (size_t i = 0; i < c->command.n; i++)
        bytes += strlen(c->command.items[i]) + 1;
    for (size_t i = 0; i < c->n_env; i++)
        bytes += strlen(c->env[i].key) + strlen(c->env[i].value) + 2;
    const char *cwd = c->workdir ? c->workdir : "/";
    bytes += strlen(cwd) + 1;
    memset(sp, 0, sizeof(*sp));
    sp->pid = -1;
    sp->pidfd = sp->out_fd = sp->err_fd = sp->in_fd = -1;
    size_t ptrs = (nargs + 1) + (nf + c->n_env + 1);
    char **p = base_malloc(ptrs * sizeof(char *) + bytes);
    if (!p)
        return UV_ENOMEM;
    sp->block = p;
    sp->argv = p;
    sp->envp = p + nargs + 1;
    char *s = (char *)(p + ptrs), *end = s + bytes;
    /* with shell: /bin/sh -c script [$0 [$1 ...]], as sh(1) takes them */
    if (c->shell) {
        sp->argv[0] = "/bin/sh";
        sp->argv[1] = "-c";
    }
    for (size_t i = 0; i < c->command.n; i++) {
        sp->argv[pre + i] = s;
        s += snprintf(s, (size_t)(end - s), "%s", c->command.items[i]) + 1;
    }
    sp->argv[nargs] = NULL;
    size_t n = 0;
    for (size_t i = 0; i < nf; i++) {
        size_t kl = (size_t)(strchr(fixed[i], '=') - fixed[i]);
        bool replaced = false;
        for (size_t j = 0; j < c->n_env; j++)
            if (strlen(c->env[j].key) == kl && !memcmp(c->env[j].key, fixed[i], kl))
                replaced = true;
        if (!replaced)
            sp->envp[n++] = (char *)fixed[i];
    }
    for (size_t j = 0; j < c->n_env; j++) {
        sp->envp[n++] = s;
        s += snprintf(s, (size_t)(end - s), "%s=%s", c->env[j].key, c->env[j].value) + 1;
    }
    sp->envp[n] = NULL;
    sp->cwd = s;
    snprintf(s, (size_t)(end - s), "%s", cwd);
    return 0;
}

/* ---- run (pool thread) ---- */

/* argv[0] as execvp would find it, in envp's PATH: 0 with the path in
 * out, or a negative errno (EACCES when only non-executable files were
 * found, as execvp reports). */
static int find_program(const struct probe_command_spawn *sp, char *out, size_t n)
{
    const char *name = sp->argv[0];
    if (strchr(name, '/')) {
        snprintf(out, n, "%s", name);
        return 0;
    }
    const char *path = "";
    for (char **e = sp->envp; *e; e++)
        if (!strncmp(*e, "PATH=", 5))
            path = *e + 5;
    int rc = -ENOENT;
    for (const char *dir = path; *path;) {
        const char *colon = strchr(dir, ':');
        size_t dl = colon ? (size_t)(colon - dir) : strlen(dir);
        /* an empty entry is the working directory, as for execvp */
        int w = snprintf(out, n, "%.*s%s%s", (int)dl, dir, dl ? "/" : "", name);
        struct stat st;
        if (w > 0 && (size_t)w < n && stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
            if (access(out, X_OK) == 0)
                return 0;
            rc = -EACCES;
        }
        if (!colon)
            break;
        dir = colon + 1;
    }
    return rc;
}

static int start(struct probe_command_spawn *sp, const char *prog, int in[2], int out[2], int err[2])
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);   /* SIGPIPE is ignored here: the program gets the default */
    if (posix_spawn_file_actions_init(&fa) != 0)
        return -ENOMEM;
    if (posix_spawnattr_init(&attr) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -ENOMEM;
    }
    int rc = in[0] >= 0 ? posix_spawn_file_actions_adddup2(&fa, in[0], 0)
                        : posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (!rc)
        rc = posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    if (!rc)
        rc = posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    if (!rc)
        rc = posix_spawn_file_actions_addchdir_np(&fa, sp->cwd);
    /* and in the child, close everything else: what another thread opened
     * without O_CLOEXEC after the sweep in probe_command_spawn_run */
    if (!rc)
        rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    if (!rc)
        rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (!rc)
        rc = posix_spawnattr_setsigmask(&attr, &none);
    if (!rc)
        rc = posix_spawnattr_setsigdefault(&attr, &all);
    if (!rc)
        rc = posix_spawn(&sp->pid, prog, &fa, &attr, sp->argv, sp->envp);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return -rc;
}

void probe_command_spawn_run(struct probe_command_spawn *sp)
{
    char prog[PATH_MAX];
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    struct stat st;
    sp->pid = -1;
    if (stat(sp->cwd, &st) != 0 || !S_ISDIR(st.st_mode)) {
        sp->err = stat(sp->cwd, &st) != 0 ? -errno : -ENOTDIR;
        sp->what = "workdir";
        return;
    }
    if ((sp->err = find_program(sp, prog, sizeof(prog))) != 0)
        return;
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 || (sp->want_stdin && pipe2(in, O_CLOEXEC) != 0)) {
        sp->err = -errno;
        goto fail;
    }
    /* a descriptor opened without the flag (by a library, or inherited)
     * must not reach the program: it could hold a client connection open
     * or read the database */
    (void)base_proc_cloexec_from(3);
    sp->err = start(sp, prog, in, out, err);
    close(out[1]);
    close(err[1]);
    out[1] = err[1] = -1;
    if (in[0] >= 0)
        close(in[0]);
    in[0] = -1;
    if (sp->err) {
        sp->pid = -1;
        goto fail;
    }
    sp->pidfd = pidfd_open(sp->pid, 0);
    if (sp->pidfd < 0) {
        /* started but cannot be watched: end it here (it is SIGKILLed, so
         * the wait is short) rather than leave it unreaped */
        sp->err = -errno;
        sp->what = "pidfd_open";
        (void)kill(-sp->pid, SIGKILL);
        (void)waitpid(sp->pid, NULL, 0);
        sp->pid = -1;
        goto fail;
    }
    sp->out_fd = out[0];
    sp->err_fd = err[0];
    sp->in_fd = in[1];
    return;
fail:
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0)
            close(in[i]);
        if (out[i] >= 0)
            close(out[i]);
        if (err[i] >= 0)
            close(err[i]);
    }
}

void probe_command_spawn_free(struct probe_command_spawn *sp)
{
    int *fds[] = {&sp->pidfd, &sp->out_fd, &sp->err_fd, &sp->in_fd};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
        if (*fds[i] >= 0)
            close(*fds[i]);
        *fds[i] = -1;
    }
    base_free(sp->block);
    sp->block = NULL;
    sp->argv = sp->envp = NULL;
}
