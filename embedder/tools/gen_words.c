/* gen_words.c - build-time host tool: reads WordNet 3.0 nouns (Debian
 * wordnet-base), CLDR's English and Chinese emoji annotations (Debian
 * unicode-cldr-core) and Unihan's kDefinition (Debian unicode-data), and
 * writes the compact C tables of embedder/words.c, the concept layer.
 * Usage: gen_words WORDNET_DIR CLDR_ANNOTATIONS_DIR CLDR_DERIVED_DIR BZCAT
 *                  Unihan_Readings.txt.bz2 OUT.c */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_SENSES 8      /* senses kept per lemma (index.noun order) */
#define MAX_SYN_WORDS 6   /* words kept per synset */
#define MAX_LINE (1 << 16)

/* ------------------------------------------------------------ helpers ---- */

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "gen_words: out of memory\n");
        exit(1);
    }
    return q;
}

/* string pool: every string once, NUL-terminated, found by a hash table */
static char *pool;
static size_t pool_len, pool_cap;
static uint32_t *ph; /* offsets + 1, 0 empty */
static size_t ph_cap = 1 << 20;

static uint64_t fnv(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static uint32_t intern(const char *s)
{
    size_t n = strlen(s);
    if (!ph)
        ph = calloc(ph_cap, sizeof *ph);
    size_t mask = ph_cap - 1;
    for (size_t i = fnv(s, n) & mask;; i = (i + 1) & mask) {
        if (!ph[i]) {
            if (pool_len + n + 1 > pool_cap) {
                pool_cap = (pool_len + n + 1) * 2;
                pool = xrealloc(pool, pool_cap);
            }
            memcpy(pool + pool_len, s, n + 1);
            ph[i] = (uint32_t)pool_len + 1;
            pool_len += n + 1;
            return ph[i] - 1;
        }
        if (strcmp(pool + ph[i] - 1, s) == 0)
            return ph[i] - 1;
    }
}

static const char *str_at(uint32_t off) { return pool + off; }

/* WordNet writes multi-word lemmas with '_'; the embedder's keys use one
 * space. Adjective markers "(a)", "(p)", "(ip)" are dropped. */
static void wn_word(const char *in, char *out, size_t cap, bool lower)
{
    size_t k = 0;
    for (size_t i = 0; in[i] && k + 1 < cap; i++) {
        char c = in[i];
        if (c == '(')
            break;
        if (c == '_')
            c = ' ';
        out[k++] = lower ? (char)tolower((unsigned char)c) : c;
    }
    out[k] = 0;
}

/* ------------------------------------------------------------ WordNet ---- */

typedef struct synset {
    uint32_t offset; /* byte offset in data.noun: WordNet's synset id */
    uint8_t lexfile;
    bool proper;     /* every word capitalised: a name (Hart Crane) */
    int32_t hyper;   /* index of the first hypernym (or instance-of), -1 */
    uint32_t hyper_off;
    uint32_t words[MAX_SYN_WORDS];
    uint8_t n_words;
    uint32_t lexid[MAX_SYN_WORDS]; /* for sense keys */
} synset;

static synset *syn;
static size_t n_syn, cap_syn;

static int syn_find(uint32_t offset)
{
    size_t lo = 0, hi = n_syn;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (syn[mid].offset < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n_syn && syn[lo].offset == offset ? (int)lo : -1;
}

static int read_data(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "gen_words: cannot open '%s': %s\n", path, strerror(errno));
        return -1;
    }
    char *line = malloc(MAX_LINE);
    while (fgets(line, MAX_LINE, f)) {
        if (line[0] == ' ')
            continue; /* licence header */
        char *save = NULL;
        char *tok = strtok_r(line, " ", &save);
        if (!tok)
            continue;
        synset s = {.offset = (uint32_t)strtoul(tok, NULL, 10), .hyper = -1};
        tok = strtok_r(NULL, " ", &save);
        s.lexfile = (uint8_t)strtoul(tok ? tok : "0", NULL, 10);
        strtok_r(NULL, " ", &save); /* ss_type */
        tok = strtok_r(NULL, " ", &save);
        int nw = (int)strtol(tok ? tok : "0", NULL, 16);
        int n_cap = 0;
        for (int i = 0; i < nw; i++) {
            char *w = strtok_r(NULL, " ", &save);
            char *lid = strtok_r(NULL, " ", &save);
            if (!w || !lid)
                break;
            char buf[256];
            wn_word(w, buf, sizeof buf, false);
            if (isupper((unsigned char)buf[0]))
                n_cap++;
            if (s.n_words < MAX_SYN_WORDS) {
                s.lexid[s.n_words] = (uint32_t)strtoul(lid, NULL, 16);
                s.words[s.n_words++] = intern(buf);
            }
        }
        s.proper = nw > 0 && n_cap == nw;
        tok = strtok_r(NULL, " ", &save);
        int np = (int)strtol(tok ? tok : "0", NULL, 10);
        for (int i = 0; i < np; i++) {
            char *sym = strtok_r(NULL, " ", &save);
            char *off = strtok_r(NULL, " ", &save);
            char *pos = strtok_r(NULL, " ", &save);
            strtok_r(NULL, " ", &save); /* source/target */
            if (!sym || !off || !pos)
                break;
            if ((strcmp(sym, "@") == 0 || strcmp(sym, "@i") == 0) && pos[0] == 'n' &&
                !s.hyper_off)
                s.hyper_off = (uint32_t)strtoul(off, NULL, 10);
        }
        if (n_syn == cap_syn) {
            cap_syn = cap_syn ? cap_syn * 2 : 1 << 16;
            syn = xrealloc(syn, cap_syn * sizeof *syn);
        }
        syn[n_syn++] = s;
    }
    free(line);
    fclose(f);
    for (size_t i = 0; i < n_syn; i++)
        syn[i].hyper = syn[i].hyper_off ? syn_find(syn[i].hyper_off) : -1;
    return n_syn > 1000 ? 0 : -1;
}

/* sense counts from cntlist.rev: "lemma%1:LEX:ID:: sense count" */
typedef struct cnt_ent {
    uint32_t key; /* interned "lemma%lex:id" */
    uint32_t count;
} cnt_ent;
static cnt_ent *cnt;
static size_t n_cnt, cap_cnt;

static int cnt_cmp(const void *a, const void *b)
{
    uint32_t x = ((const cnt_ent *)a)->key, y = ((const cnt_ent *)b)->key;
    return x < y ? -1 : x > y;
}

static void read_counts(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return; /* counts only refine the order index.noun already gives */
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char key[512];
        unsigned sense = 0, count = 0;
        if (sscanf(line, "%511s %u %u", key, &sense, &count) != 3)
            continue;
        char *pc = strchr(key, '%');
        if (!pc || pc[1] != '1')
            continue; /* nouns only */
        unsigned lex = 0, id = 0;
        if (sscanf(pc + 2, ":%u:%u", &lex, &id) != 2)
            continue;
        *pc = 0;
        char k[600];
        snprintf(k, sizeof k, "%s%%%u:%u", key, lex, id);
        if (n_cnt == cap_cnt) {
            cap_cnt = cap_cnt ? cap_cnt * 2 : 1 << 15;
            cnt = xrealloc(cnt, cap_cnt * sizeof *cnt);
        }
        cnt[n_cnt++] = (cnt_ent){intern(k), count};
    }
    fclose(f);
    qsort(cnt, n_cnt, sizeof *cnt, cnt_cmp);
}

static uint32_t count_of(const char *lemma, const synset *s)
{
    /* the lemma's lex_id inside this synset */
    for (int i = 0; i < s->n_words; i++) {
        char w[256];
        wn_word(str_at(s->words[i]), w, sizeof w, true);
        for (char *p = w; *p; p++)
            if (*p == ' ')
                *p = '_';
        char l[256];
        snprintf(l, sizeof l, "%s", lemma);
        for (char *p = l; *p; p++)
            if (*p == ' ')
                *p = '_';
        if (strcmp(w, l) != 0)
            continue;
        char k[600];
        snprintf(k, sizeof k, "%s%%%u:%u", l, s->lexfile, s->lexid[i]);
        /* look the interned key up without adding it */
        size_t n = strlen(k), mask = ph_cap - 1;
        for (size_t j = fnv(k, n) & mask; ph[j]; j = (j + 1) & mask) {
            if (strcmp(pool + ph[j] - 1, k) == 0) {
                cnt_ent key = {ph[j] - 1, 0};
                cnt_ent *e = bsearch(&key, cnt, n_cnt, sizeof *cnt, cnt_cmp);
                return e ? e->count : 0;
            }
        }
        return 0;
    }
    return 0;
}

typedef struct lemma {
    uint32_t str;
    int32_t senses[MAX_SENSES];
    uint16_t counts[MAX_SENSES];
    uint8_t n;
} lemma;
static lemma *lem;
static size_t n_lem, cap_lem;

static int read_index(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "gen_words: cannot open '%s': %s\n", path, strerror(errno));
        return -1;
    }
    char *line = malloc(MAX_LINE);
    while (fgets(line, MAX_LINE, f)) {
        if (line[0] == ' ')
            continue;
        char *save = NULL;
        char *w = strtok_r(line, " ", &save);
        strtok_r(NULL, " ", &save); /* pos */
        char *sc = strtok_r(NULL, " ", &save);
        char *pc = strtok_r(NULL, " ", &save);
        if (!w || !sc || !pc)
            continue;
        int n_sense = atoi(sc), n_ptr = atoi(pc);
        for (int i = 0; i < n_ptr; i++)
            strtok_r(NULL, " ", &save);
        strtok_r(NULL, " ", &save); /* sense_cnt again */
        strtok_r(NULL, " ", &save); /* tagsense_cnt */
        char buf[256];
        wn_word(w, buf, sizeof buf, true);
        lemma l = {.str = intern(buf)};
        for (int i = 0; i < n_sense; i++) {
            char *off = strtok_r(NULL, " \n", &save);
            if (!off)
                break;
            int s = syn_find((uint32_t)strtoul(off, NULL, 10));
            if (s < 0 || l.n >= MAX_SENSES)
                continue;
            uint32_t c = count_of(buf, &syn[s]);
            l.counts[l.n] = (uint16_t)(c > 65535 ? 65535 : c);
            l.senses[l.n++] = s;
        }
        if (!l.n)
            continue;
        if (n_lem == cap_lem) {
            cap_lem = cap_lem ? cap_lem * 2 : 1 << 16;
            lem = xrealloc(lem, cap_lem * sizeof *lem);
        }
        lem[n_lem++] = l;
    }
    free(line);
    fclose(f);
    return n_lem > 1000 ? 0 : -1;
}

static int lem_cmp(const void *a, const void *b)
{
    return strcmp(str_at(((const lemma *)a)->str), str_at(((const lemma *)b)->str));
}

static bool is_lemma(const char *w)
{
    size_t lo = 0, hi = n_lem;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(str_at(lem[mid].str), w);
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* pairs of strings: exceptions (inflected -> base), zh -> en, cp -> gloss */
typedef struct pair {
    uint32_t a, b;
} pair;

static int pair_cmp(const void *x, const void *y)
{
    return strcmp(str_at(((const pair *)x)->a), str_at(((const pair *)y)->a));
}

static pair *exc;
static size_t n_exc, cap_exc;

static void push(pair **v, size_t *n, size_t *cap, pair p)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 4096;
        *v = xrealloc(*v, *cap * sizeof **v);
    }
    (*v)[(*n)++] = p;
}

static int read_exc(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "gen_words: cannot open '%s': %s\n", path, strerror(errno));
        return -1;
    }
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char a[256], b[256];
        if (sscanf(line, "%255s %255s", a, b) != 2)
            continue;
        char x[256], y[256];
        wn_word(a, x, sizeof x, true);
        wn_word(b, y, sizeof y, true);
        if (is_lemma(y))
            push(&exc, &n_exc, &cap_exc, (pair){intern(x), intern(y)});
    }
    fclose(f);
    return 0;
}

/* --------------------------------------------------------------- CLDR ---- */

#define MAX_CLDR 16384
typedef struct cldr_ent {
    uint32_t cp;     /* interned code point sequence */
    uint32_t tts;    /* interned name, 0 none */
    uint32_t kw[16]; /* keywords */
    int n_kw;
    bool has_tts;
} cldr_ent;

typedef struct cldr {
    cldr_ent *e;
    size_t n;
} cldr;

static cldr_ent *cldr_get(cldr *c, uint32_t cp)
{
    for (size_t i = c->n; i-- > 0;) /* files are short; recent first */
        if (c->e[i].cp == cp)
            return &c->e[i];
    if (c->n >= MAX_CLDR)
        return NULL;
    cldr_ent *e = &c->e[c->n++];
    memset(e, 0, sizeof *e);
    e->cp = cp;
    return e;
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = 0;
    size_t k = 0;
    while (s[k] == ' ' || s[k] == '\t')
        k++;
    memmove(s, s + k, n - k + 1);
}

static int read_cldr(const char *path, cldr *c)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "gen_words: cannot open '%s': %s\n", path, strerror(errno));
        return -1;
    }
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        char *a = strstr(line, "<annotation cp=\"");
        if (!a)
            continue;
        a += 16;
        char *q = strchr(a, '"');
        if (!q)
            continue;
        *q = 0;
        bool tts = strstr(q + 1, "type=\"tts\"") != NULL;
        char *gt = strchr(q + 1, '>');
        char *end = gt ? strstr(gt, "</annotation>") : NULL;
        if (!gt || !end)
            continue;
        *end = 0;
        char *text = gt + 1;
        if (strchr(text, '&'))
            continue; /* entities: rare, skip rather than decode */
        cldr_ent *e = cldr_get(c, intern(a));
        if (!e)
            continue;
        char *save = NULL;
        for (char *t = strtok_r(text, "|", &save); t; t = strtok_r(NULL, "|", &save)) {
            trim(t);
            if (!t[0])
                continue;
            if (tts) {
                if (!e->has_tts) {
                    e->tts = intern(t);
                    e->has_tts = true;
                }
            } else if (e->n_kw < 16) {
                e->kw[e->n_kw++] = intern(t);
            }
        }
        n++;
    }
    fclose(f);
    return n > 100 ? 0 : -1;
}

static int utf8_cp(const unsigned char *s, int32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    int n = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 1;
    int32_t v = s[0] & (0x7F >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = -1;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3F);
    }
    *cp = v;
    return n;
}

static bool is_han(int32_t cp)
{
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x3134F) || (cp >= 0xF900 && cp <= 0xFAFF);
}

static bool all_han(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    if (!*p)
        return false;
    while (*p) {
        int32_t cp;
        p += utf8_cp(p, &cp);
        if (!is_han(cp))
            return false;
    }
    return true;
}

/* English name of an emoji usable as a concept: lower case, and the name
 * or its last word a WordNet noun ("hot beverage" -> beverage at run
 * time). Names of symbols ("keycap: 1", "flag: China") are skipped. */
static bool en_usable(const char *s, char *out, size_t cap)
{
    if (strchr(s, ':') || strlen(s) + 1 > cap)
        return false;
    size_t k = 0;
    for (; s[k]; k++)
        out[k] = (char)tolower((unsigned char)s[k]);
    out[k] = 0;
    if (is_lemma(out))
        return true;
    const char *sp = strrchr(out, ' ');
    return sp && is_lemma(sp + 1);
}

static pair *zh;
static size_t n_zh, cap_zh;

static void bridge(cldr *en, cldr *zc)
{
    /* two passes: names (tts) first, then keywords, so a name wins */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < zc->n; i++) {
            cldr_ent *z = &zc->e[i];
            cldr_ent *e = NULL;
            for (size_t j = 0; j < en->n && !e; j++)
                if (en->e[j].cp == z->cp)
                    e = &en->e[j];
            char name[256];
            if (!e || !e->has_tts || !en_usable(str_at(e->tts), name, sizeof name))
                continue;
            uint32_t en_off = intern(name);
            if (pass == 0) {
                if (z->has_tts && all_han(str_at(z->tts)))
                    push(&zh, &n_zh, &cap_zh, (pair){z->tts, en_off});
            } else {
                for (int k = 0; k < z->n_kw; k++)
                    if (all_han(str_at(z->kw[k])) && strlen(str_at(z->kw[k])) >= 6)
                        push(&zh, &n_zh, &cap_zh, (pair){z->kw[k], en_off});
            }
        }
    }
    /* one entry per zh word, the first pushed (a name before a keyword) */
    pair *tmp = xrealloc(NULL, n_zh * sizeof *tmp);
    size_t m = 0;
    for (size_t i = 0; i < n_zh; i++) {
        bool seen = false;
        for (size_t j = 0; j < m && !seen; j++)
            seen = tmp[j].a == zh[i].a;
        if (!seen)
            tmp[m++] = zh[i];
    }
    free(zh);
    zh = tmp;
    n_zh = m;
    qsort(zh, n_zh, sizeof *zh, pair_cmp);
}

/* ------------------------------------------------------------- Unihan ---- */

static FILE *open_bz(const char *bzcat, const char *path, pid_t *pid)
{
    int fd[2];
    if (pipe(fd) != 0)
        return NULL;
    pid_t p = fork();
    if (p < 0) {
        close(fd[0]), close(fd[1]);
        return NULL;
    }
    if (p == 0) {
        dup2(fd[1], 1);
        close(fd[0]), close(fd[1]);
        execl(bzcat, bzcat, "-dc", path, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    *pid = p;
    return fdopen(fd[0], "r");
}

typedef struct gloss {
    uint32_t cp, en;
} gloss;
static gloss *gl;
static size_t n_gl, cap_gl;

/* First gloss of a kDefinition that is a WordNet noun: segments split at
 * ';' and ','; articles dropped; verbs ("to lick") and parentheses skipped. */
static bool first_noun(char *def, char *out, size_t cap)
{
    char *save = NULL;
    for (char *t = strtok_r(def, ";,", &save); t; t = strtok_r(NULL, ";,", &save)) {
        trim(t);
        if (t[0] == '(' || strncmp(t, "to ", 3) == 0)
            continue;
        if (strncmp(t, "a ", 2) == 0)
            t += 2;
        else if (strncmp(t, "an ", 3) == 0)
            t += 3;
        else if (strncmp(t, "the ", 4) == 0)
            t += 4;
        size_t k = 0;
        bool ok = true;
        for (; t[k] && k + 1 < cap; k++) {
            if (!isalpha((unsigned char)t[k]) && t[k] != ' ' && t[k] != '-')
                ok = false;
            out[k] = (char)tolower((unsigned char)t[k]);
        }
        out[k] = 0;
        if (ok && k >= 3 && is_lemma(out))
            return true;
    }
    return false;
}

static int read_unihan(const char *bzcat, const char *path)
{
    pid_t pid;
    FILE *f = open_bz(bzcat, path, &pid);
    if (!f)
        return -1;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "U+", 2) != 0)
            continue;
        char *tab = strchr(line, '\t');
        if (!tab || strncmp(tab + 1, "kDefinition\t", 12) != 0)
            continue;
        uint32_t cp = (uint32_t)strtoul(line + 2, NULL, 16);
        char *def = tab + 13;
        def[strcspn(def, "\r\n")] = 0;
        char word[256];
        if (first_noun(def, word, sizeof word)) {
            if (n_gl == cap_gl) {
                cap_gl = cap_gl ? cap_gl * 2 : 1 << 14;
                gl = xrealloc(gl, cap_gl * sizeof *gl);
            }
            gl[n_gl++] = (gloss){cp, intern(word)};
        }
    }
    fclose(f);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 && n_gl > 1000 ? 0 : -1;
}

/* ------------------------------------------------------------- output ---- */

static uint64_t g_hash = 1469598103934665603ULL;

static void emit_u32(FILE *o, const char *type, const char *name, const uint32_t *v, size_t n)
{
    fprintf(o, "const %s %s[] = {", type, name);
    for (size_t i = 0; i < n; i++) {
        fprintf(o, "%s%u,", i % 16 ? "" : "\n", v[i]);
        g_hash = (g_hash ^ v[i]) * 1099511628211ULL;
    }
    fprintf(o, "0};\n");
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s WORDNET_DIR CLDR_ANNOTATIONS_DIR CLDR_DERIVED_DIR BZCAT "
                        "Unihan_Readings.txt.bz2 OUT.c\n", argv[0]);
        return 2;
    }
    char p[4096];
    intern(""); /* offset 0: the empty string */
    snprintf(p, sizeof p, "%s/data.noun", argv[1]);
    if (read_data(p) != 0) {
        fprintf(stderr, "gen_words: could not read synsets from '%s'\n", p);
        return 1;
    }
    snprintf(p, sizeof p, "%s/cntlist.rev", argv[1]);
    read_counts(p);
    snprintf(p, sizeof p, "%s/index.noun", argv[1]);
    if (read_index(p) != 0) {
        fprintf(stderr, "gen_words: could not read lemmas from '%s'\n", p);
        return 1;
    }
    qsort(lem, n_lem, sizeof *lem, lem_cmp);
    snprintf(p, sizeof p, "%s/noun.exc", argv[1]);
    if (read_exc(p) != 0)
        return 1;
    qsort(exc, n_exc, sizeof *exc, pair_cmp);
    cldr en = {calloc(MAX_CLDR, sizeof(cldr_ent)), 0};
    cldr zc = {calloc(MAX_CLDR, sizeof(cldr_ent)), 0};
    const char *dirs[2] = {argv[2], argv[3]};
    for (int d = 0; d < 2; d++) {
        snprintf(p, sizeof p, "%s/en.xml", dirs[d]);
        if (read_cldr(p, &en) != 0)
            return 1;
        snprintf(p, sizeof p, "%s/zh.xml", dirs[d]);
        if (read_cldr(p, &zc) != 0)
            return 1;
    }
    bridge(&en, &zc);
    if (read_unihan(argv[4], argv[5]) != 0) {
        fprintf(stderr, "gen_words: could not read kDefinition from '%s'\n", argv[5]);
        return 1;
    }

    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[6]);
    FILE *o = fopen(tmp, "w");
    if (!o) {
        fprintf(stderr, "gen_words: cannot write '%s': %s\n", tmp, strerror(errno));
        return 1;
    }
    fprintf(o, "/* generated by embedder/tools/gen_words.c from WordNet 3.0, CLDR "
               "annotations and Unihan kDefinition: do not edit */\n#include <stdint.h>\n\n");
    /* synsets */
    uint32_t *v = xrealloc(NULL, (n_syn * MAX_SYN_WORDS + n_lem * MAX_SENSES + 16) * sizeof *v);
    for (size_t i = 0; i < n_syn; i++)
        v[i] = (uint32_t)syn[i].lexfile | (syn[i].proper ? 0x80u : 0) |
               ((uint32_t)syn[i].n_words << 8);
    emit_u32(o, "uint16_t", "emb_wn_syn_info", v, n_syn);
    for (size_t i = 0; i < n_syn; i++)
        v[i] = syn[i].hyper < 0 ? 0xFFFFFFFFu : (uint32_t)syn[i].hyper;
    emit_u32(o, "uint32_t", "emb_wn_syn_hyper", v, n_syn);
    size_t k = 0;
    for (size_t i = 0; i < n_syn; i++) {
        v[i] = (uint32_t)k;
        k += syn[i].n_words;
    }
    emit_u32(o, "uint32_t", "emb_wn_syn_first", v, n_syn);
    k = 0;
    for (size_t i = 0; i < n_syn; i++)
        for (int j = 0; j < syn[i].n_words; j++)
            v[k++] = syn[i].words[j];
    emit_u32(o, "uint32_t", "emb_wn_word_str", v, k);
    fprintf(o, "const int emb_wn_n_syn = %zu;\n\n", n_syn);
    /* lemmas */
    for (size_t i = 0; i < n_lem; i++)
        v[i] = lem[i].str;
    emit_u32(o, "uint32_t", "emb_wn_lemma_str", v, n_lem);
    k = 0;
    for (size_t i = 0; i < n_lem; i++) {
        v[i] = (uint32_t)k | ((uint32_t)lem[i].n << 28);
        k += lem[i].n;
    }
    emit_u32(o, "uint32_t", "emb_wn_lemma_senses", v, n_lem);
    k = 0;
    for (size_t i = 0; i < n_lem; i++)
        for (int j = 0; j < lem[i].n; j++)
            v[k++] = (uint32_t)lem[i].senses[j];
    emit_u32(o, "uint32_t", "emb_wn_sense_syn", v, k);
    size_t n_sense = k;
    k = 0;
    for (size_t i = 0; i < n_lem; i++)
        for (int j = 0; j < lem[i].n; j++)
            v[k++] = lem[i].counts[j];
    emit_u32(o, "uint16_t", "emb_wn_sense_count", v, k);
    fprintf(o, "const int emb_wn_n_lemma = %zu;\n\n", n_lem);
    /* exceptions, zh bridge, glosses */
    for (size_t i = 0; i < n_exc; i++)
        v[i] = exc[i].a;
    emit_u32(o, "uint32_t", "emb_wn_exc_from", v, n_exc);
    for (size_t i = 0; i < n_exc; i++)
        v[i] = exc[i].b;
    emit_u32(o, "uint32_t", "emb_wn_exc_to", v, n_exc);
    fprintf(o, "const int emb_wn_n_exc = %zu;\n\n", n_exc);
    for (size_t i = 0; i < n_zh; i++)
        v[i] = zh[i].a;
    emit_u32(o, "uint32_t", "emb_zh_word", v, n_zh);
    for (size_t i = 0; i < n_zh; i++)
        v[i] = zh[i].b;
    emit_u32(o, "uint32_t", "emb_zh_en", v, n_zh);
    fprintf(o, "const int emb_zh_n = %zu;\n\n", n_zh);
    for (size_t i = 0; i < n_gl; i++)
        v[i] = gl[i].cp;
    emit_u32(o, "uint32_t", "emb_gloss_cp", v, n_gl);
    for (size_t i = 0; i < n_gl; i++)
        v[i] = gl[i].en;
    emit_u32(o, "uint32_t", "emb_gloss_en", v, n_gl);
    fprintf(o, "const int emb_gloss_n = %zu;\n\n", n_gl);
    /* the string pool, as one literal in pieces */
    fprintf(o, "const char emb_words_str[] =");
    for (size_t i = 0; i < pool_len; i++) {
        if (i % 64 == 0)
            fprintf(o, "\n\"");
        unsigned char c = (unsigned char)pool[i];
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\' && c != '?')
            fputc(c, o);
        else
            fprintf(o, "\\%03o", c);
        if (i % 64 == 63 || i + 1 == pool_len)
            fprintf(o, "\"");
        g_hash = (g_hash ^ c) * 1099511628211ULL;
    }
    fprintf(o, ";\nconst uint32_t emb_words_str_len = %zu;\n", pool_len);
    fprintf(o, "const uint32_t emb_words_hash = 0x%08Xu;\n",
            (unsigned)(g_hash ^ (g_hash >> 32)));
    if (fclose(o) != 0 || rename(tmp, argv[6]) != 0) {
        fprintf(stderr, "gen_words: cannot write '%s': %s\n", argv[6], strerror(errno));
        return 1;
    }
    fprintf(stderr, "gen_words: %zu synsets, %zu lemmas (%zu senses), %zu exceptions, "
                    "%zu zh words, %zu Han glosses, %zu string bytes\n",
            n_syn, n_lem, n_sense, n_exc, n_zh, n_gl, pool_len);
    free(v);
    return 0;
}
