/* gen_unihan.c - build-time host tool: reads Unicode's Unihan variants and
 * readings (Debian unicode-data, bzip2'ed) and writes the compact C tables
 * embedder/hanzi.c uses to fold traditional Han to simplified and to spell
 * query words in pinyin. Usage: gen_unihan BZCAT VARIANTS.bz2 READINGS.bz2 OUT.c */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CP 0x110000
#define MAX_SYL 1024
#define MAX_SYL_LEN 8

static int32_t *fold_to;    /* MAX_CP entries, 0: none */
static int16_t *py_of;      /* MAX_CP entries, -1: none */
static char syl[MAX_SYL][MAX_SYL_LEN];
static int n_syl;
static int n_bad_readings;

/* Runs bzcat on path and returns a stream of its output; *pid to reap. */
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

static int close_bz(FILE *f, pid_t pid)
{
    int status = 0;
    fclose(f);
    if (waitpid(pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* "U+4E2D" -> 0x4E2D; -1 when malformed or out of range. */
static int32_t parse_cp(const char *s, char **end)
{
    if (s[0] != 'U' || s[1] != '+')
        return -1;
    long v = strtol(s + 2, end, 16);
    if (*end == s + 2 || v <= 0 || v >= MAX_CP)
        return -1;
    return (int32_t)v;
}

static int decode_utf8(const unsigned char *s, int32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0 && (s[1] & 0xC0) == 0x80) {
        *cp = ((s[0] & 0x1F) << 6) | (s[1] & 0x3F);
        return 2;
    }
    if ((s[0] & 0xF0) == 0xE0 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
        *cp = ((s[0] & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        return 3;
    }
    *cp = -1;
    return 1;
}

/* Toned pinyin (UTF-8) to lowercase ASCII without tones, u-umlaut as 'v'
 * (the spelling of pinyin keyboards; the query side adds the 'u' form).
 * Returns 0, or -1 for anything that is not a pinyin letter. */
static int toneless(const char *in, char *out, size_t cap)
{
    static const struct {
        int32_t cp;
        char c;
    } map[] = {
        {0x101, 'a'}, {0xE1, 'a'}, {0x1CE, 'a'}, {0xE0, 'a'},
        {0x113, 'e'}, {0xE9, 'e'}, {0x11B, 'e'}, {0xE8, 'e'}, {0xEA, 'e'},
        {0x12B, 'i'}, {0xED, 'i'}, {0x1D0, 'i'}, {0xEC, 'i'},
        {0x14D, 'o'}, {0xF3, 'o'}, {0x1D2, 'o'}, {0xF2, 'o'},
        {0x16B, 'u'}, {0xFA, 'u'}, {0x1D4, 'u'}, {0xF9, 'u'},
        {0xFC, 'v'}, {0x1D6, 'v'}, {0x1D8, 'v'}, {0x1DA, 'v'}, {0x1DC, 'v'},
        {0x144, 'n'}, {0x148, 'n'}, {0x1F9, 'n'}, {0x1E3F, 'm'},
    };
    size_t n = 0;
    const unsigned char *s = (const unsigned char *)in;
    while (*s) {
        int32_t cp;
        int k = decode_utf8(s, &cp);
        s += k;
        char c = 0;
        if (cp >= 'a' && cp <= 'z')
            c = (char)cp;
        else if (cp >= 0x300 && cp <= 0x36F)
            continue; /* combining tone marks (ê̄) */
        else
            for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
                if (map[i].cp == cp)
                    c = map[i].c;
        if (!c || n + 1 >= cap)
            return -1;
        out[n++] = c;
    }
    out[n] = 0;
    return n > 0 ? 0 : -1;
}

static int syllable_id(const char *s)
{
    for (int i = 0; i < n_syl; i++)
        if (strcmp(syl[i], s) == 0)
            return i;
    if (n_syl >= MAX_SYL)
        return -1;
    snprintf(syl[n_syl], MAX_SYL_LEN, "%s", s);
    return n_syl++;
}

static int read_variants(FILE *f)
{
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] != 'U')
            continue;
        char *end;
        int32_t from = parse_cp(line, &end);
        if (from < 0 || strncmp(end, "\tkSimplifiedVariant\t", 20) != 0)
            continue;
        /* several targets: the character may stay itself in some words;
         * the first one that differs is its usual simplified form */
        char *p = end + 20;
        while (*p == 'U') {
            int32_t to = parse_cp(p, &end);
            if (to < 0)
                break;
            if (to != from) {
                fold_to[from] = to;
                n++;
                break;
            }
            p = end;
            while (*p == ' ')
                p++;
        }
    }
    return n;
}

static int read_readings(FILE *f)
{
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] != 'U')
            continue;
        char *end;
        int32_t cp = parse_cp(line, &end);
        if (cp < 0 || strncmp(end, "\tkMandarin\t", 11) != 0)
            continue;
        char *r = end + 11;
        r[strcspn(r, " \t\r\n")] = 0; /* first reading: the common one */
        char t[64];
        int id;
        if (toneless(r, t, sizeof t) != 0 || strlen(t) >= MAX_SYL_LEN ||
            (id = syllable_id(t)) < 0) {
            n_bad_readings++;
            continue;
        }
        py_of[cp] = (int16_t)id;
        n++;
    }
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s BZCAT Unihan_Variants.txt.bz2 Unihan_Readings.txt.bz2 OUT.c\n",
                argv[0]);
        return 2;
    }
    fold_to = calloc(MAX_CP, sizeof *fold_to);
    py_of = malloc(MAX_CP * sizeof *py_of);
    if (!fold_to || !py_of) {
        fprintf(stderr, "gen_unihan: out of memory\n");
        return 1;
    }
    for (int i = 0; i < MAX_CP; i++)
        py_of[i] = -1;
    pid_t pid;
    FILE *f = open_bz(argv[1], argv[2], &pid);
    int n_fold = f ? read_variants(f) : 0;
    if (!f || close_bz(f, pid) != 0 || n_fold < 1000) {
        fprintf(stderr, "gen_unihan: could not read kSimplifiedVariant from '%s' (%d found)\n",
                argv[2], n_fold);
        return 1;
    }
    f = open_bz(argv[1], argv[3], &pid);
    int n_py = f ? read_readings(f) : 0;
    if (!f || close_bz(f, pid) != 0 || n_py < 10000) {
        fprintf(stderr, "gen_unihan: could not read kMandarin from '%s' (%d found)\n",
                argv[3], n_py);
        return 1;
    }
    /* chains (a variant that itself has a simplified variant) resolve to
     * their end, so folding once is enough; the depth bound stops cycles */
    for (int cp = 0; cp < MAX_CP; cp++) {
        int32_t t = fold_to[cp];
        for (int d = 0; t && fold_to[t] && fold_to[t] != cp && d < 4; d++)
            t = fold_to[t];
        if (t == cp)
            t = 0;
        fold_to[cp] = t;
    }

    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[4]);
    FILE *o = fopen(tmp, "w");
    if (!o) {
        fprintf(stderr, "gen_unihan: cannot write '%s': %s\n", tmp, strerror(errno));
        return 1;
    }
    /* FNV-1a over every table entry: the tokenizer id changes with the data */
    uint32_t h = 2166136261u;
#define MIX(v)                                                     \
    do {                                                           \
        uint32_t x_ = (uint32_t)(v);                               \
        for (int b_ = 0; b_ < 4; b_++, x_ >>= 8)                   \
            h = (h ^ (x_ & 0xFF)) * 16777619u;                     \
    } while (0)
    fprintf(o, "/* generated by embedder/tools/gen_unihan.c from Unihan: do not edit */\n"
               "#include <stdint.h>\n\n");
    int nf = 0;
    fprintf(o, "const uint32_t emb_fold_from[] = {");
    for (int cp = 0; cp < MAX_CP; cp++)
        if (fold_to[cp]) {
            fprintf(o, "%s0x%X,", nf % 12 ? "" : "\n", cp);
            MIX(cp);
            nf++;
        }
    fprintf(o, "\n};\nconst uint32_t emb_fold_to[] = {");
    for (int cp = 0, k = 0; cp < MAX_CP; cp++)
        if (fold_to[cp]) {
            fprintf(o, "%s0x%X,", k++ % 12 ? "" : "\n", fold_to[cp]);
            MIX(fold_to[cp]);
        }
    fprintf(o, "\n};\nconst int emb_fold_n = %d;\n\n", nf);
    int np = 0;
    fprintf(o, "const uint32_t emb_py_cp[] = {");
    for (int cp = 0; cp < MAX_CP; cp++)
        if (py_of[cp] >= 0)
            fprintf(o, "%s0x%X,", np++ % 12 ? "" : "\n", cp);
    fprintf(o, "\n};\nconst uint16_t emb_py_syl[] = {");
    for (int cp = 0, k = 0; cp < MAX_CP; cp++)
        if (py_of[cp] >= 0) {
            fprintf(o, "%s%d,", k++ % 20 ? "" : "\n", py_of[cp]);
            MIX(cp);
            MIX(py_of[cp]);
        }
    fprintf(o, "\n};\nconst int emb_py_n = %d;\n\nconst char emb_py_names[][%d] = {", np,
            MAX_SYL_LEN);
    for (int i = 0; i < n_syl; i++) {
        fprintf(o, "%s\"%s\",", i % 10 ? "" : "\n", syl[i]);
        for (const char *c = syl[i]; *c; c++)
            MIX(*c);
        MIX(0);
    }
    fprintf(o, "\n};\nconst int emb_py_n_names = %d;\n\n", n_syl);
    fprintf(o, "const uint32_t emb_unihan_hash = 0x%08Xu;\n", h);
    if (fclose(o) != 0 || rename(tmp, argv[4]) != 0) {
        fprintf(stderr, "gen_unihan: cannot write '%s': %s\n", argv[4], strerror(errno));
        return 1;
    }
    fprintf(stderr, "gen_unihan: %d simplified folds, %d readings (%d syllables, %d skipped)\n",
            nf, np, n_syl, n_bad_readings);
    return 0;
}
