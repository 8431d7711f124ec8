/* zigwheel's native compiler shim: the same rewrite rules as compiler.sh, without a shell.
 *
 * Compiled once per cache by the pinned zig for the host (Linux, macOS, Windows); one binary
 * serves every target and tool. Copied into a shim folder as cc, c++, linker, ar and ranlib
 * (cc.exe ... on Windows), it reads its own data from the file next to it with ".shim" in
 * place of ".exe" (cc.shim), which zigwheel renders from toolchains/rewrites.toml with the
 * same Python code as the sh shim. Then it runs zig: execvp on POSIX; on Windows, which has
 * no exec, CreateProcessW, wait, and exit with zig's exit code.
 *
 * The data file, one item a line, "<key> <value>" (the value is the rest of the line):
 *   zigwheel-shim 1          format version, first line
 *   exec WORD                zig's command and subcommand, in order (zig cc)
 *   bake WORD                flags put before the user's arguments (-target ...)
 *   probe-triple TRIPLE      the triple a probe is answered with
 *   probe WORD               an argument that alone on the command line is a probe
 *   rule ACTION ID           a rule; the lines below it belong to it
 *   match PATTERN            ...one of its patterns (only * is special)
 *   with WORD / prefix TEXT / to TEXT
 *   end                      the last line: a file without it is incomplete
 * Rules are tried top to bottom, the first match wins, an unmatched argument is kept. */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#include <shellapi.h>
#else
#include <sys/stat.h>
#include <unistd.h>
#endif
#ifdef __APPLE__
#include <mach-o/dyld.h>
#endif

enum action { DROP, DROP_WITH_NEXT, REPLACE, REPLACE_PREFIX, UNWRAP_IF_FILE, KEEP, RESPONSE_FILE };

struct words {
    char **item;
    size_t len, cap;
};

struct rule {
    enum action action;
    struct words match, with;
    const char *prefix, *to;
};

struct config {
    struct words exec, bake, probe;
    const char *probe_triple;
    struct rule *rule;
    size_t rules, rule_cap;
};

static void fail(const char *what, const char *detail) {
    fprintf(stderr, "zigwheel shim: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(127);
}

static void *grow(void *block, size_t *cap, size_t need, size_t size) {
    if (need <= *cap) return block;
    *cap = need < 16 ? 16 : need * 2;
    block = realloc(block, *cap * size);
    if (!block) fail("out of memory", NULL);
    return block;
}

static void push(struct words *words, char *word) {
    words->item = grow(words->item, &words->cap, words->len + 2, sizeof *words->item);
    words->item[words->len++] = word;
    words->item[words->len] = NULL;  /* always NULL-terminated: an argv for exec */
}

static char *joined(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    char *out = malloc(la + lb + 1);
    if (!out) fail("out of memory", NULL);
    memcpy(out, a, la);
    memcpy(out + la, b, lb + 1);
    return out;
}

/* sh's `case` with only the * wildcard (rewrite.py refuses ?, [ and \ in patterns). */
static int glob(const char *pattern, const char *text) {
    const char *star = NULL, *resume = NULL;
    while (*text) {
        if (*pattern == '*') {
            star = pattern++;
            resume = text;
        } else if (*pattern == *text) {
            pattern++;
            text++;
        } else if (star) {
            pattern = star + 1;
            text = ++resume;
        } else {
            return 0;
        }
    }
    while (*pattern == '*') pattern++;
    return *pattern == '\0';
}

static const struct rule *find_rule(const struct config *config, const char *arg) {
    for (size_t r = 0; r < config->rules; r++)
        for (size_t m = 0; m < config->rule[r].match.len; m++)
            if (glob(config->rule[r].match.item[m], arg)) return &config->rule[r];
    return NULL;
}

/* ------------------------------------------------------------------ files, per OS */

#ifdef _WIN32
static wchar_t *wide(const char *text) {
    int n = MultiByteToWideChar(CP_UTF8, 0, text, -1, NULL, 0);
    wchar_t *out = malloc((size_t)(n > 0 ? n : 1) * sizeof *out);
    if (!out) fail("out of memory", NULL);
    if (n <= 0) out[0] = 0;
    else MultiByteToWideChar(CP_UTF8, 0, text, -1, out, n);
    return out;
}

static char *narrow(const wchar_t *text) {
    int n = WideCharToMultiByte(CP_UTF8, 0, text, -1, NULL, 0, NULL, NULL);
    char *out = malloc(n > 0 ? (size_t)n : 1);
    if (!out) fail("out of memory", NULL);
    if (n <= 0) out[0] = 0;
    else WideCharToMultiByte(CP_UTF8, 0, text, -1, out, n, NULL, NULL);
    return out;
}

static FILE *open_file(const char *path, const char *mode) {
    wchar_t wmode[4] = {0};
    for (int i = 0; i < 3 && mode[i]; i++) wmode[i] = (wchar_t)mode[i];
    return _wfopen(wide(path), wmode);
}

static int is_file(const char *path) {
    if (!*path) return 0;
    DWORD attributes = GetFileAttributesW(wide(path));
    return attributes != INVALID_FILE_ATTRIBUTES && !(attributes & FILE_ATTRIBUTE_DIRECTORY);
}

static int replace_file(const char *from, const char *to) {
    return MoveFileExW(wide(from), wide(to), MOVEFILE_REPLACE_EXISTING) ? 0 : -1;
}

static char *self_path(const char *argv0) {
    (void)argv0;
    DWORD cap = MAX_PATH;
    for (;;) {
        wchar_t *buffer = malloc(cap * sizeof *buffer);
        if (!buffer) fail("out of memory", NULL);
        DWORD n = GetModuleFileNameW(NULL, buffer, cap);
        if (n == 0) fail("cannot find the shim's own path", NULL);
        if (n < cap) return narrow(buffer);
        free(buffer);
        cap *= 2;
    }
}

static unsigned long process_id(void) { return GetCurrentProcessId(); }
#else
static FILE *open_file(const char *path, const char *mode) { return fopen(path, mode); }

static int is_file(const char *path) {
    struct stat st;
    return *path && stat(path, &st) == 0 && S_ISREG(st.st_mode);  /* sh's [ -f ] */
}

static int replace_file(const char *from, const char *to) { return rename(from, to); }

static char *self_path(const char *argv0) {
#if defined(__linux__)
    /* The path it was started by: a copy of the binary per tool, so never a symlink's target. */
    size_t cap = 256;
    for (;;) {
        char *buffer = malloc(cap);
        if (!buffer) fail("out of memory", NULL);
        ssize_t n = readlink("/proc/self/exe", buffer, cap);
        if (n < 0) { free(buffer); break; }
        if ((size_t)n < cap) { buffer[n] = '\0'; return buffer; }
        free(buffer);
        cap *= 2;
    }
#elif defined(__APPLE__)
    uint32_t cap = 0;
    _NSGetExecutablePath(NULL, &cap);
    char *buffer = malloc(cap + 1);
    if (buffer && _NSGetExecutablePath(buffer, &cap) == 0) return buffer;
#endif
    return joined(argv0, "");
}

static unsigned long process_id(void) { return (unsigned long)getpid(); }
#endif

/* The whole file, NUL-terminated (*size without it); NULL when it cannot be read. */
static char *read_all(const char *path, size_t *size) {
    FILE *file = open_file(path, "rb");
    if (!file) return NULL;
    size_t len = 0, cap = 4096;
    char *data = malloc(cap);
    if (!data) fail("out of memory", NULL);
    for (;;) {
        size_t got = fread(data + len, 1, cap - len - 1, file);
        len += got;
        if (got == 0) break;
        if (cap - len - 1 == 0) data = grow(data, &cap, cap + 1, 1);
    }
    int bad = ferror(file);
    fclose(file);
    if (bad) { free(data); return NULL; }
    data[len] = '\0';
    *size = len;
    return data;
}

/* ------------------------------------------------------------------ the data file */

static enum action action_named(const char *name, const char *path) {
    static const char *names[] = {"drop", "drop-with-next", "replace", "replace-prefix",
                                  "unwrap-if-file", "keep", "response-file"};
    for (int i = 0; i < 7; i++)
        if (strcmp(name, names[i]) == 0) return (enum action)i;
    fail("unknown rule action in", path);
    return KEEP;
}

static void load(struct config *config, const char *path) {
    size_t size;
    char *data = read_all(path, &size);
    if (!data) fail("cannot read its rules file", path);
    int complete = 0, first = 1;
    struct rule *rule = NULL;
    for (char *line = data; line < data + size && !complete;) {
        char *end = strchr(line, '\n');
        if (end) *end = '\0';
        char *value = strchr(line, ' ');
        if (value) *value++ = '\0';
        else value = line + strlen(line);
        if (first) {
            if (strcmp(line, "zigwheel-shim") != 0 || strcmp(value, "1") != 0)
                fail("not a zigwheel shim rules file (version 1)", path);
            first = 0;
        } else if (strcmp(line, "exec") == 0) push(&config->exec, value);
        else if (strcmp(line, "bake") == 0) push(&config->bake, value);
        else if (strcmp(line, "probe") == 0) push(&config->probe, value);
        else if (strcmp(line, "probe-triple") == 0) config->probe_triple = value;
        else if (strcmp(line, "rule") == 0) {
            char *id = strchr(value, ' ');
            if (id) *id = '\0';
            config->rule = grow(config->rule, &config->rule_cap, config->rules + 1,
                                sizeof *config->rule);
            rule = &config->rule[config->rules++];
            memset(rule, 0, sizeof *rule);
            rule->action = action_named(value, path);
            rule->prefix = rule->to = "";
        } else if (rule && strcmp(line, "match") == 0) push(&rule->match, value);
        else if (rule && strcmp(line, "with") == 0) push(&rule->with, value);
        else if (rule && strcmp(line, "prefix") == 0) rule->prefix = value;
        else if (rule && strcmp(line, "to") == 0) rule->to = value;
        else if (strcmp(line, "end") == 0) complete = 1;
        else fail("unknown line in", path);
        line = end ? end + 1 : data + size;
    }
    if (!complete || config->exec.len == 0) fail("incomplete rules file", path);
}

/* ------------------------------------------------------------------ rewriting */

/* rustc escapes backslashes and spaces in response files with a backslash (as compiler.sh's
 * zw_unescape undoes): the plain text, only to test whether a file exists. */
static char *unescape(const char *text) {
    char *out = joined(text, ""), *to = out;
    for (const char *from = text; *from; from++) {
        if (*from == '\\' && from[1]) from++;
        *to++ = *from;
    }
    *to = '\0';
    return out;
}

/* The rules on one argument (or response-file line) into out; returns 1 to drop the next. */
static int rewrite(const struct config *config, char *arg, struct words *out, int in_file);

static void filter_response_file(const struct config *config, const char *path) {
    size_t size;
    char *data = read_all(path, &size);
    if (!data) return;  /* not a file: zig reports it as the sh shim's caller would see */
    struct words lines = {0};
    int skip = 0;
    for (char *line = data; line < data + size;) {
        char *end = memchr(line, '\n', (size_t)(data + size - line));
        if (end) *end = '\0';
        if (skip) skip = 0;
        else skip = rewrite(config, line, &lines, 1);
        line = end ? end + 1 : data + size;
    }
    char name[64];
    snprintf(name, sizeof name, ".zigwheel.%lu", process_id());
    char *temporary = joined(path, name);
    FILE *file = open_file(temporary, "wb");
    if (!file) fail("cannot write next to the response file", path);
    for (size_t i = 0; i < lines.len; i++) {
        fputs(lines.item[i], file);
        fputc('\n', file);
    }
    if (fclose(file) != 0 || replace_file(temporary, path) != 0) {
        remove(temporary);
        fail("cannot rewrite the response file", path);
    }
}

static int rewrite(const struct config *config, char *arg, struct words *out, int in_file) {
    const struct rule *rule = find_rule(config, arg);
    if (!rule) {
        push(out, arg);
        return 0;
    }
    char *rest = arg + strlen(rule->prefix);  /* patterns start with the prefix (validated) */
    switch (rule->action) {
    case DROP:
        return 0;
    case DROP_WITH_NEXT:
        return 1;
    case REPLACE:
        for (size_t i = 0; i < rule->with.len; i++) push(out, rule->with.item[i]);
        return 0;
    case REPLACE_PREFIX:
        push(out, joined(rule->to, rest));
        return 0;
    case UNWRAP_IF_FILE:
        push(out, is_file(in_file ? unescape(rest) : rest) ? rest : arg);
        return 0;
    case RESPONSE_FILE:
        if (!in_file) filter_response_file(config, arg + 1);
        push(out, arg);
        return 0;
    case KEEP:
    default:
        push(out, arg);
        return 0;
    }
}

/* ------------------------------------------------------------------ running zig */

#ifdef _WIN32
/* One argument quoted the way CommandLineToArgvW and the C runtimes (and zig) split it. */
static void quote(wchar_t **line, size_t *len, size_t *cap, const wchar_t *arg) {
    size_t n = wcslen(arg);
    *line = grow(*line, cap, *len + 2 * n + 4, sizeof **line);
    wchar_t *to = *line + *len;
    if (*len) *to++ = L' ';
    if (n && !wcspbrk(arg, L" \t\n\v\"")) {
        memcpy(to, arg, n * sizeof *arg);
        to += n;
    } else {
        *to++ = L'"';
        for (const wchar_t *from = arg;; from++) {
            size_t backslashes = 0;
            while (*from == L'\\') { from++; backslashes++; }
            if (!*from) {
                for (size_t i = 0; i < 2 * backslashes; i++) *to++ = L'\\';
                break;
            }
            if (*from == L'"') backslashes = 2 * backslashes + 1;
            for (size_t i = 0; i < backslashes; i++) *to++ = L'\\';
            *to++ = *from;
        }
        *to++ = L'"';
    }
    *to = 0;
    *len = (size_t)(to - *line);
}

/* Ctrl-C reaches zig too (same console) and zig exits: wait for its exit code rather than
 * die first. A handler, not SetConsoleCtrlHandler(NULL, TRUE), which zig would inherit. */
static BOOL WINAPI wait_for_zig(DWORD event) {
    return event == CTRL_C_EVENT || event == CTRL_BREAK_EVENT;
}

static void run(char **argv) {
    SetConsoleCtrlHandler(wait_for_zig, TRUE);
    wchar_t *line = NULL;
    size_t len = 0, cap = 0;
    for (char **arg = argv; *arg; arg++) quote(&line, &len, &cap, wide(*arg));
    STARTUPINFOW startup;
    PROCESS_INFORMATION process;
    memset(&startup, 0, sizeof startup);
    startup.cb = sizeof startup;
    if (!CreateProcessW(NULL, line, NULL, NULL, TRUE, 0, NULL, NULL, &startup, &process)) {
        char code[32];
        snprintf(code, sizeof code, "error %lu", (unsigned long)GetLastError());
        fprintf(stderr, "zigwheel shim: cannot run %s\n", argv[0]);
        fail("CreateProcessW failed", code);
    }
    WaitForSingleObject(process.hProcess, INFINITE);
    DWORD status = 1;
    GetExitCodeProcess(process.hProcess, &status);
    ExitProcess(status);
}

static char **arguments(int *argc, char **argv) {
    (void)argv;
    wchar_t **list = CommandLineToArgvW(GetCommandLineW(), argc);
    if (!list) fail("cannot read its command line", NULL);
    char **out = malloc(((size_t)*argc + 1) * sizeof *out);
    if (!out) fail("out of memory", NULL);
    for (int i = 0; i < *argc; i++) out[i] = narrow(list[i]);
    out[*argc] = NULL;
    return out;
}
#else
static void run(char **argv) {
    execvp(argv[0], argv);
    fprintf(stderr, "zigwheel shim: cannot run %s: %s\n", argv[0], strerror(errno));
    exit(127);
}

static char **arguments(int *argc, char **argv) {
    (void)argc;
    return argv;
}
#endif

static char *rules_path(const char *self) {
    char *path = joined(self, ".shim");
    size_t n = strlen(self);
    if (n > 4 && (strcmp(self + n - 4, ".exe") == 0 || strcmp(self + n - 4, ".EXE") == 0))
        strcpy(path + n - 4, ".shim");
    return path;
}

int main(int argc, char **argv) {
    argv = arguments(&argc, argv);
    struct config config;
    memset(&config, 0, sizeof config);
    load(&config, rules_path(self_path(argv[0])));
    struct words command = {0};
    for (size_t i = 0; i < config.exec.len; i++) push(&command, config.exec.item[i]);
    /* A probe (`cc --version`) asks about the compiler itself: answer it with the triple
     * without the glibc version, which clang's driver would print and then reject. */
    if (argc == 2 && config.probe_triple) {
        for (size_t i = 0; i < config.probe.len; i++) {
            if (strcmp(argv[1], config.probe.item[i]) == 0) {
                push(&command, "-target");
                push(&command, (char *)config.probe_triple);
                push(&command, argv[1]);
                run(command.item);
            }
        }
    }
    for (size_t i = 0; i < config.bake.len; i++) push(&command, config.bake.item[i]);
    int skip = 0;
    for (int i = 1; i < argc; i++) {
        if (skip) skip = 0;
        else skip = rewrite(&config, argv[i], &command, 0);
    }
    run(command.item);
    return 127;
}
