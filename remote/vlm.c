/* vlm.c - what omnidex asks a vision-language model and how it reads the
 * answer: the prompt table compiled from remote/vlm_prompts.txt (one prompt
 * per native domain, with a version per prompt), the parser of the
 * sectioned answer into captions, and the database directory's config
 * file (endpoint settings for cron runs). */
#include "remote.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const unsigned char PROMPTS_TXT[] = {
#include "vlm_prompts.inc"
    0};

/* One prompt per odx_domain, named as core/vocab.c names it. */
#define N_DOMAINS ODX_N_DOMAINS

static struct {
    char *system;
    char *prompt[N_DOMAINS];  /* domain prompt + [format] */
    char version[N_DOMAINS][40];
    bool ok;
} g_p;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static char *trimmed(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return strndup(s, n);
}

/* Parses the compiled-in file once: sections by name, '#' comments out. */
static void load(void)
{
    const char *txt = (const char *)PROMPTS_TXT;
    char *sec[N_DOMAINS + 2] = {0}; /* domains, system, format */
    core_buf cur;
    core_buf_init(&cur, 1u << 20);
    int at = -1, version = 0;
    const char *p = txt;
    for (;;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        bool end = !e;
        bool header = n > 2 && p[0] == '[' && p[n - 1] == ']';
        if ((header || end) && at >= 0) {
            if (end && n && p[0] != '#' && !header)
                core_buf_append(&cur, p, n);
            free(sec[at]);
            sec[at] = trimmed(cur.data ? cur.data : "", cur.len);
            cur.len = 0;
            if (cur.data)
                cur.data[0] = 0;
            at = -1;
        }
        if (header) {
            char name[32];
            snprintf(name, sizeof name, "%.*s", (int)(n - 2), p + 1);
            at = -1;
            for (int i = 0; i < N_DOMAINS; i++)
                if (!strcmp(name, core_domain_name(i)))
                    at = i;
            if (!strcmp(name, "system"))
                at = N_DOMAINS;
            else if (!strcmp(name, "format"))
                at = N_DOMAINS + 1;
        } else if (n && p[0] == '#') {
            /* comment */
        } else if (at < 0 && n > 8 && !strncmp(p, "version ", 8)) {
            version = atoi(p + 8);
        } else if (at >= 0 && !end) {
            core_buf_append(&cur, p, n);
            core_buf_puts(&cur, "\n");
        }
        if (end)
            break;
        p = e + 1;
    }
    core_buf_free(&cur);
    g_p.system = sec[N_DOMAINS] ? sec[N_DOMAINS] : core_strdup("");
    const char *fmt = sec[N_DOMAINS + 1] ? sec[N_DOMAINS + 1] : "";
    g_p.ok = true;
    for (int i = 0; i < N_DOMAINS; i++) {
        const char *body = sec[i] ? sec[i] : (sec[0] ? sec[0] : "Describe this image.");
        g_p.prompt[i] = core_sprintf("%s\n\n%s", body, fmt);
        if (!g_p.prompt[i])
            g_p.ok = false;
        uint64_t h = g_p.prompt[i] ? core_hash64(g_p.prompt[i], strlen(g_p.prompt[i]), 0x766c6d) : 0;
        uint64_t hs = core_hash64(g_p.system, strlen(g_p.system), 0x737973);
        snprintf(g_p.version[i], sizeof g_p.version[i], "%d-%08x", version,
                 (unsigned)((h ^ hs) & 0xffffffffu));
    }
    for (int i = 0; i < N_DOMAINS; i++)
        free(sec[i]);
    free(sec[N_DOMAINS + 1]);
}

const char *rmt_vlm_prompt(const char *domain, const char **version)
{
    pthread_once(&g_once, load);
    int d = 0;
    for (int i = 0; domain && i < N_DOMAINS; i++)
        if (!strcmp(domain, core_domain_name(i)))
            d = i;
    if (version)
        *version = g_p.version[d];
    return g_p.prompt[d] ? g_p.prompt[d] : "Describe this image.";
}

const char *rmt_vlm_system(void)
{
    pthread_once(&g_once, load);
    return g_p.system ? g_p.system : "";
}

/* ------------------------------------------------------------ parser ---- */

static const struct {
    const char *name, *kind, *lang;
} SECTIONS[] = {
    /* longest first: DETAILED_ZH must not be read as DETAILED */
    {"DETAILED_ZH", "detailed", "zh"}, {"SHORT_ZH", "short", "zh"}, {"TAGS_ZH", "tags", "zh"},
    {"DETAILED", "detailed", "en"},    {"SHORT", "short", "en"},    {"TAGS", "tags", "en"},
};
#define N_SECTIONS 6

/* If line starts a section ("DETAILED:", "**Short_zh**:", "## TAGS:"),
 * its index, with *rest after the colon; else -1. */
static int section_of(const char *line, size_t n, const char **rest)
{
    size_t i = 0;
    while (i < n && (line[i] == '#' || line[i] == '*' || line[i] == ' ' || line[i] == '-' ||
                     line[i] == '_'))
        i++;
    for (int s = 0; s < N_SECTIONS; s++) {
        size_t l = strlen(SECTIONS[s].name);
        if (i + l > n || strncasecmp(line + i, SECTIONS[s].name, l) != 0)
            continue;
        size_t j = i + l;
        /* "DETAILED ZH" and "DETAILED-ZH" are the same header */
        while (j < n && (line[j] == '*' || line[j] == ' '))
            j++;
        if (j < n && line[j] == ':') {
            j++;
            while (j < n && (line[j] == '*' || line[j] == ' '))
                j++;
            *rest = line + j;
            return s;
        }
    }
    /* the same with a space or dash instead of the underscore */
    char tmp[24];
    size_t m = 0;
    for (size_t k = i; k < n && m < sizeof tmp - 1 && line[k] != ':'; k++)
        tmp[m++] = line[k] == ' ' || line[k] == '-' ? '_' : line[k];
    tmp[m] = 0;
    while (m && (tmp[m - 1] == '*' || tmp[m - 1] == '_'))
        tmp[--m] = 0;
    const char *colon = memchr(line + i, ':', n - i);
    if (colon && (size_t)(colon - line - i) < sizeof tmp - 1) {
        for (int s = 0; s < 3; s++)
            if (!strcasecmp(tmp, SECTIONS[s].name)) {
                const char *r = colon + 1;
                while (r < line + n && (*r == ' ' || *r == '*'))
                    r++;
                *rest = r;
                return s;
            }
    }
    return -1;
}

/* Copy of s (n bytes) trimmed and cut to max bytes on a UTF-8 boundary;
 * tags lose list marks. */
static char *clean_text(const char *s, size_t n, size_t max, bool tags)
{
    char *raw = trimmed(s, n);
    if (!raw)
        return NULL;
    /* a server may send any bytes: stored text is UTF-8 */
    char *t = core_utf8_sanitize(raw, strlen(raw));
    free(raw);
    if (!t)
        return NULL;
    size_t len = strlen(t);
    if (len > max) {
        size_t cut = max;
        while (cut > 0 && ((unsigned char)t[cut] & 0xC0) == 0x80)
            cut--;
        t[cut] = 0;
        while (cut > 0 && isspace((unsigned char)t[cut - 1]))
            t[--cut] = 0;
        len = cut;
    }
    if (tags) {
        /* one line: newlines and bullets become commas */
        for (size_t i = 0; i < len; i++)
            if (t[i] == '\n' || t[i] == '\r')
                t[i] = ',';
    }
    return t;
}

void rmt_captions_free(rmt_caption *c, int n)
{
    for (int i = 0; c && i < n; i++) {
        free(c[i].kind);
        free(c[i].lang);
        free(c[i].text);
    }
    free(c);
}

odx_status rmt_vlm_parse(const char *answer, size_t max_chars, rmt_caption **out, int *n_out,
                         odx_err *err)
{
    *out = NULL;
    *n_out = 0;
    if (!answer)
        return ODX_OK;
    if (max_chars == 0)
        max_chars = 16384;
    /* section starts: (index, offset of text start, offset of header line) */
    const char *start[N_SECTIONS] = {0}, *stop[N_SECTIONS] = {0};
    int cur = -1, found = 0;
    const char *p = answer;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        const char *rest = NULL;
        int s = section_of(p, n, &rest);
        if (s >= 0) {
            if (cur >= 0 && !stop[cur])
                stop[cur] = p;
            if (!start[s]) { /* a repeated header: the first one counts */
                start[s] = rest;
                found++;
                cur = s;
            } else {
                cur = -1;
            }
        }
        if (!e)
            break;
        p = e + 1;
    }
    if (cur >= 0 && !stop[cur])
        stop[cur] = answer + strlen(answer);
    rmt_caption *v = calloc(N_SECTIONS, sizeof *v);
    if (!v)
        return core_err(err, ODX_ERR_NOMEM, "no memory for captions");
    int k = 0;
    if (!found) {
        char *t = clean_text(answer, strlen(answer), max_chars, false);
        if (t && *t) {
            v[k].kind = core_strdup("detailed");
            v[k].lang = core_strdup(core_has_cjk(t) && !strpbrk(t, "aeiou") ? "zh" : "en");
            v[k++].text = t;
        } else {
            free(t);
        }
    }
    for (int s = 0; found && s < N_SECTIONS; s++) {
        if (!start[s])
            continue;
        const char *e = stop[s] ? stop[s] : start[s] + strlen(start[s]);
        if (e < start[s])
            e = start[s];
        bool tags = !strcmp(SECTIONS[s].kind, "tags");
        char *t = clean_text(start[s], (size_t)(e - start[s]), max_chars, tags);
        if (!t || !*t) {
            free(t);
            continue;
        }
        if (!strcmp(SECTIONS[s].lang, "zh") && !core_has_cjk(t)) {
            core_log(CORE_LOG_DEBUG, "VLM answer: %s is not Chinese: dropped", SECTIONS[s].name);
            free(t);
            continue;
        }
        v[k].kind = core_strdup(SECTIONS[s].kind);
        v[k].lang = core_strdup(SECTIONS[s].lang);
        v[k++].text = t;
    }
    for (int i = 0; i < k; i++)
        if (!v[i].kind || !v[i].lang) {
            rmt_captions_free(v, k);
            return core_err(err, ODX_ERR_NOMEM, "no memory for captions");
        }
    if (!k) {
        free(v);
        return ODX_OK;
    }
    *out = v;
    *n_out = k;
    return ODX_OK;
}

/* ------------------------------------------------------------ config ---- */

char *rmt_config_file_get(const char *db_dir, const char *key)
{
    if (!db_dir || !key)
        return NULL;
    char *path = core_sprintf("%s/config", db_dir);
    FILE *f = path ? fopen(path, "r") : NULL;
    free(path);
    if (!f)
        return NULL;
    char line[4096];
    char *val = NULL;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f)) {
        char *s = line;
        while (isspace((unsigned char)*s))
            s++;
        if (*s == '#' || strncmp(s, key, kl) != 0)
            continue;
        char *q = s + kl;
        while (*q == ' ' || *q == '\t')
            q++;
        if (*q != '=')
            continue;
        q++;
        free(val); /* the last line for a key wins */
        val = trimmed(q, strlen(q));
        if (val && !*val) {
            free(val);
            val = NULL;
        }
    }
    fclose(f);
    return val;
}
