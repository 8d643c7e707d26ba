/* query.c - query analysis for lexical search: the retriever's text query
 * becomes groups of alternative terms (a word, its stem and plural, the
 * en/zh forms of its lexicon concepts, the pinyin of Chinese words), then
 * a safe FTS5 MATCH string for storage's FTS5 table (which tokenises with
 * emb_tokenize too). */
#include "embedder_int.h"

#include <stdlib.h>
#include <string.h>

#define MAX_QUERY_BYTES 8192
#define MAX_QUERY_TOKENS 512
#define MAX_QUERY_MATCHES 256
#define MAX_GROUP_TERMS 24
#define MAX_GROUPS 128
#define MAX_FTS_TERMS 64
#define MAX_FTS_BYTES 8192
/* Han runs longer than this get pinyin for their pairs only: a long run
 * is a phrase, not a name anyone romanises as one word */
#define MAX_PINYIN_RUN 6
#define MAX_RUN 64

void emb_query_free(emb_query *q)
{
    if (!q)
        return;
    for (int i = 0; i < q->n_groups; i++) {
        for (int j = 0; j < q->groups[i].n_terms; j++)
            free(q->groups[i].terms[j]);
        free(q->groups[i].terms);
    }
    free(q->groups);
    q->groups = NULL;
    q->n_groups = 0;
}

static emb_query_group *new_group(emb_query *q, bool stopword)
{
    if (q->n_groups >= MAX_GROUPS)
        return NULL;
    emb_query_group *g = realloc(q->groups, (size_t)(q->n_groups + 1) * sizeof *g);
    if (!g)
        return NULL;
    q->groups = g;
    g = &q->groups[q->n_groups];
    memset(g, 0, sizeof *g);
    g->terms = calloc(MAX_GROUP_TERMS, sizeof *g->terms);
    if (!g->terms)
        return NULL;
    g->stopword = stopword;
    q->n_groups++;
    return g;
}

/* Adds a term unless present or the group is full; false on NOMEM. */
static bool add_term(emb_query_group *g, const char *t, size_t n)
{
    if (n == 0)
        return true;
    for (int i = 0; i < g->n_terms; i++)
        if (strlen(g->terms[i]) == n && memcmp(g->terms[i], t, n) == 0)
            return true;
    if (g->n_terms >= MAX_GROUP_TERMS)
        return true;
    char *s = malloc(n + 1);
    if (!s)
        return false;
    memcpy(s, t, n);
    s[n] = 0;
    g->terms[g->n_terms++] = s;
    return true;
}

/* word, its stem and a simple plural: FTS5 does not stem, captions say
 * "charts" or "chart" */
static bool add_word_forms(emb_query_group *g, const char *w, size_t n)
{
    if (!add_term(g, w, n))
        return false;
    const char *last = w;
    for (size_t i = 0; i < n; i++)
        if (w[i] == ' ')
            last = w + i + 1;
    size_t pre = (size_t)(last - w), ll = n - pre;
    bool ascii = true;
    for (size_t i = pre; i < n; i++)
        if (last[i - pre] < 'a' || last[i - pre] > 'z')
            ascii = false;
    if (!ascii || ll < 3 || ll > EMB_MAX_TOKEN)
        return true;
    char buf[2 * EMB_MAX_TOKEN * EMB_MAX_PHRASE_WORDS + 16];
    if (n + 2 > sizeof buf)
        return true;
    memcpy(buf, w, pre);
    char st[EMB_MAX_TOKEN + 8];
    int sl = emb_stem(last, (int)ll, st, sizeof st);
    if (sl > 0 && ((size_t)sl != ll || memcmp(st, last, ll) != 0)) {
        memcpy(buf + pre, st, (size_t)sl);
        if (!add_term(g, buf, pre + (size_t)sl))
            return false;
    }
    if (last[ll - 1] != 's') {
        memcpy(buf + pre, last, ll);
        buf[pre + ll] = 's';
        if (!add_term(g, buf, pre + ll + 1))
            return false;
    }
    return true;
}

static bool add_concept_forms(emb_query_group *g, const emb_match *m)
{
    for (int k = 0; k < m->n_ids; k++) {
        for (int i = 0;; i++) {
            const char *key = emb_concept_key(m->ids[k], i);
            if (!key) {
                if (!emb_concept_words(m->ids[k]) ||
                    !emb_concept_words(m->ids[k])[i])
                    break;
                continue; /* a form without tokens */
            }
            if (!add_term(g, key, strlen(key)))
                return false;
        }
    }
    return true;
}

/* ----------------------------------------------------- concept layer ---- */

/* Lower-cases an ASCII WordNet word into buf (names like "Grus" become
 * tokens like any caption word); 0 when it does not fit. */
static size_t lower_word(const char *w, char *buf, size_t cap)
{
    size_t n = strlen(w);
    if (n + 1 > cap)
        return 0;
    for (size_t i = 0; i <= n; i++)
        buf[i] = (w[i] >= 'A' && w[i] <= 'Z') ? (char)(w[i] - 'A' + 'a') : w[i];
    return n;
}

/* Expansion terms of a WordNet chain (words.c): the synonyms of the sense,
 * then the hypernyms' names upwards until one the lexicon knows, whose
 * en/zh forms are added and end the climb ("hedgehog" -> ... placental,
 * mammal -> animal, 动物): the index's captions speak the lexicon's
 * vocabulary, the words above it add nothing they could match. */
static bool add_chain_terms(emb_query_group *g, const emb_wconcept *c, int n)
{
    char buf[256];
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < (i == 0 ? 4 : 2); j++) {
            const char *w = emb_words_syn_word(c[i].syn, j);
            if (!w)
                break;
            size_t len = lower_word(w, buf, sizeof buf);
            if (!len || !add_term(g, buf, len))
                return len == 0;
        }
        for (int j = 0; j < 2; j++) {
            const char *w = emb_words_syn_word(c[i].syn, j);
            size_t len = w ? lower_word(w, buf, sizeof buf) : 0;
            int ids[EMB_MAX_IDS];
            int k = len ? emb_concepts(buf, (int)len, ids, EMB_MAX_IDS) : 0;
            if (k > 0) {
                emb_match m = {.n_ids = k};
                memcpy(m.ids, ids, (size_t)k * sizeof *ids);
                return add_concept_forms(g, &m);
            }
        }
    }
    return true;
}

/* Unihan glosses of the characters of a CJK group no other table knows
 * (鸵 -> ostrich -> ... bird): a character that names a thing makes the
 * group a real one even where alone it would be a stop-word. */
static bool add_gloss_terms(emb_query_group *g, const emb_toklist *l, int a, int b)
{
    for (int t = a; t <= b; t++) {
        const emb_tok *tk = &l->toks[t];
        if (tk->kind != EMB_TOK_CJK)
            continue;
        int32_t cp;
        core_utf8_next(l->text + tk->off, (size_t)tk->len, &cp);
        emb_wconcept c[EMB_MAX_CHAIN];
        int n = emb_words_gloss_concepts(cp, c, EMB_MAX_CHAIN);
        if (n <= 0)
            continue;
        const char *en = emb_words_gloss(cp);
        if (!add_term(g, en, strlen(en)) || !add_chain_terms(g, c, n))
            return false;
        g->stopword = false;
    }
    return true;
}

static bool cjk_group(emb_query *q, const emb_toklist *l, int a, int b,
                      bool weak)
{
    /* a, b: token indices of two unigrams (b may equal a) */
    char buf[2 * EMB_MAX_TOKEN + 8];
    const emb_tok *ta = &l->toks[a], *tb = &l->toks[b];
    size_t n = (size_t)ta->len;
    memcpy(buf, l->text + ta->off, n);
    if (b != a) {
        memcpy(buf + n, l->text + tb->off, (size_t)tb->len);
        n += (size_t)tb->len;
    }
    bool stop = weak || emb_is_stopword(buf, (int)n) ||
                emb_is_stopword(l->text + ta->off, ta->len) ||
                (b != a && emb_is_stopword(l->text + tb->off, tb->len));
    emb_query_group *g = new_group(q, stop);
    if (!g || !add_term(g, buf, n))
        return false;
    g->n_own = g->n_terms;
    return true;
}

/* ------------------------------------------------------------ pinyin ---- */

/* Token span [a, b] (token indices) of the Han characters a group stands
 * for; a < 0 for groups of other scripts. */
typedef struct span {
    int a, b;
} span;

/* Concatenates syllables syl[0..n) into buf[cap], u-umlaut as 'v' or as
 * 'u'; returns the length or 0 when it does not fit. */
static size_t join_syllables(const char *const *syl, int n, bool u_for_v, char *buf,
                             size_t cap)
{
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        size_t k = strlen(syl[i]);
        if (len + k + 1 > cap)
            return 0;
        for (size_t j = 0; j < k; j++)
            buf[len++] = u_for_v && syl[i][j] == 'v' ? 'u' : syl[i][j];
    }
    buf[len] = 0;
    return len;
}

/* Adds the pinyin of one Han run (unigram tokens run[0..n)) to the groups
 * of its words: each adjacent pair to the group holding both characters,
 * the whole run (when short) to every group inside it. Single syllables
 * never: "man", "can", "long" are English words. */
static bool run_pinyin(emb_query *q, const span *sp, const int *run, const char *const *syl,
                       int n)
{
    if (n < 2)
        return true;
    bool has_v = false;
    for (int i = 0; i < n; i++)
        has_v = has_v || strchr(syl[i], 'v') != NULL;
    char buf[MAX_PINYIN_RUN * 8 + 8];
    for (int pass = 0; pass < (has_v ? 2 : 1); pass++) {
        bool u_for_v = pass == 1; /* "lv" as pinyin keyboards spell it, then "lu" */
        for (int k = 0; k + 1 < n; k++) {
            size_t len = join_syllables(syl + k, 2, u_for_v, buf, sizeof buf);
            for (int g = 0; len && g < q->n_groups; g++)
                if (sp[g].a >= 0 && sp[g].a <= run[k] && run[k + 1] <= sp[g].b &&
                    !add_term(&q->groups[g], buf, len))
                    return false;
        }
        if (n < 3 || n > MAX_PINYIN_RUN)
            continue;
        size_t len = join_syllables(syl, n, u_for_v, buf, sizeof buf);
        for (int g = 0; len && g < q->n_groups; g++)
            if (sp[g].a >= 0 && sp[g].a <= run[n - 1] && sp[g].b >= run[0] &&
                !add_term(&q->groups[g], buf, len))
                return false;
    }
    return true;
}

/* Chinese names are often printed romanised only (a font specimen's
 * "WenKai", a map's "Beijing"): every run of Han characters in the query
 * also offers its pinyin as alternatives of the groups it spells. */
static bool add_pinyin(emb_query *q, const span *sp, const emb_toklist *l, const char *text)
{
    int run[MAX_RUN];
    const char *syl[MAX_RUN];
    int n = 0;
    for (int i = 0; i < l->n; i++) {
        const emb_tok *t = &l->toks[i];
        if (t->kind == EMB_TOK_BIGRAM)
            continue;
        const char *py = t->kind == EMB_TOK_CJK ? emb_tok_syllable(l, text, t) : NULL;
        if (!py || !t->joined || n == MAX_RUN) {
            if (!run_pinyin(q, sp, run, syl, n))
                return false;
            n = 0;
        }
        if (py) {
            run[n] = i;
            syl[n++] = py;
        }
    }
    return run_pinyin(q, sp, run, syl, n);
}

odx_status emb_query_parse(const char *text, emb_query *out, odx_err *err)
{
    odx_status rc = ODX_OK;
    emb_toklist l = {0};
    emb_match *m = NULL;
    char *covered = NULL;
    span *sp = NULL;
    if (!out)
        return core_err(err, ODX_ERR_INVALID, "emb_query_parse: no output");
    memset(out, 0, sizeof *out);
    if (!text)
        return core_err(err, ODX_ERR_INVALID, "emb_query_parse: no query text");
    size_t len = strlen(text);
    if (len > MAX_QUERY_BYTES) {
        rc = core_err(err, ODX_ERR_LIMIT, "query of %zu bytes (limit %d)", len,
                      MAX_QUERY_BYTES);
        goto done;
    }
    emb_toklist_build(&l, text, len, MAX_QUERY_TOKENS);
    if (l.overflow && l.n == 0) {
        rc = core_err(err, ODX_ERR_NOMEM, "emb_query_parse: tokenising '%.40s'", text);
        goto done;
    }
    m = malloc(sizeof *m * MAX_QUERY_MATCHES);
    covered = calloc((size_t)l.n + 1, 1);
    sp = malloc(sizeof *sp * MAX_GROUPS);
    if (!m || !covered || !sp) {
        rc = core_err(err, ODX_ERR_NOMEM, "emb_query_parse: out of memory");
        goto done;
    }
    int nm = emb_find_matches(&l, m, MAX_QUERY_MATCHES);
    int mi = 0;
    for (int j = 0; j < nm; j++)
        for (int t = m[j].first; t < m[j].first + m[j].n && t < l.n; t++)
            covered[t] = 1;
    for (int i = 0; i < l.n; i++) {
        const emb_tok *t = &l.toks[i];
        const char *s = l.text + t->off;
        if (t->kind == EMB_TOK_BIGRAM)
            continue;
        if (out->n_groups >= MAX_GROUPS - 1)
            break; /* a query this long is cut, not refused */
        if (mi < nm && m[mi].first == i) {
            /* a lexicon word or phrase is one group: its own form plus
             * every en/zh form of its concepts. The words of a phrase get
             * no groups of their own: "bar chart" is one need, and a
             * caption saying "柱状图" covers all of it. */
            const emb_match *x = &m[mi++];
            bool stop = x->n_units == 1 && emb_is_stopword(s, t->len);
            emb_query_group *g = new_group(out, stop);
            if (!g)
                goto nomem;
            sp[out->n_groups - 1] = t->kind == EMB_TOK_WORD
                                        ? (span){-1, -1}
                                        : (span){x->first, x->first + x->n - 1};
            bool ok = t->kind == EMB_TOK_WORD
                          ? add_word_forms(g, x->key, strlen(x->key))
                          : add_term(g, x->key, strlen(x->key));
            g->n_own = g->n_terms;
            if (!ok || !add_concept_forms(g, x))
                goto nomem;
            continue;
        }
        if (covered[i])
            continue;
        if (t->kind == EMB_TOK_WORD) {
            emb_query_group *g = new_group(out, emb_is_stopword(s, t->len));
            if (!g || !add_word_forms(g, s, (size_t)t->len))
                goto nomem;
            g->n_own = g->n_terms;
            sp[out->n_groups - 1] = (span){-1, -1};
            emb_wconcept c[EMB_MAX_CHAIN];
            int nc = g->stopword ? 0 : emb_words_en(s, t->len, c, EMB_MAX_CHAIN);
            if (!add_chain_terms(g, c, nc))
                goto nomem;
            continue;
        }
        /* a Chinese word CLDR names (刺猬 -> hedgehog) that no lexicon
         * word covers: one group, its own text plus the English name and
         * that word's WordNet terms */
        {
            int last = i;
            char key[EMB_MAX_PHRASE_CHARS * 8 + 8];
            int k = emb_words_zh_match(&l, i, &last, key, sizeof key);
            for (int j = i; k > 0 && j <= last; j++)
                if (covered[j])
                    k = 0;
            if (k > 0) {
                emb_query_group *g = new_group(out, k == 1 && emb_is_stopword(key, (int)strlen(key)));
                if (!g || !add_term(g, key, strlen(key)))
                    goto nomem;
                g->n_own = g->n_terms;
                sp[out->n_groups - 1] = (span){i, last};
                const char *en = emb_words_zh_en(key, (int)strlen(key));
                emb_wconcept c[EMB_MAX_CHAIN];
                int nc = emb_words_en(en, (int)strlen(en), c, EMB_MAX_CHAIN);
                char buf[256];
                size_t el = lower_word(en, buf, sizeof buf);
                if ((el && !add_term(g, buf, el)) || !add_chain_terms(g, c, nc))
                    goto nomem;
                for (int j = i; j <= last; j++)
                    covered[j] = 1;
                continue;
            }
        }
        /* CJK characters no lexicon word covers: bigrams inside such a
         * stretch; a lone leftover character between lexicon words is a
         * unigram marked as a stop-word (alone it means little and would
         * match half the index), unless it is the whole run */
        int next = -1, prev = -1;
        for (int j = i + 1; j < l.n; j++) {
            if (l.toks[j].kind == EMB_TOK_BIGRAM)
                continue;
            if (l.toks[j].kind == EMB_TOK_CJK && l.toks[j].joined)
                next = j;
            break;
        }
        if (t->joined)
            for (int j = i - 1; j >= 0; j--)
                if (l.toks[j].kind != EMB_TOK_BIGRAM) {
                    prev = j;
                    break;
                }
        if (next >= 0 && !covered[next]) {
            if (!cjk_group(out, &l, i, next, false) ||
                !add_gloss_terms(&out->groups[out->n_groups - 1], &l, i, next))
                goto nomem;
            sp[out->n_groups - 1] = (span){i, next};
        } else if (prev < 0 || covered[prev]) {
            if (!cjk_group(out, &l, i, i, next >= 0 || prev >= 0) ||
                !add_gloss_terms(&out->groups[out->n_groups - 1], &l, i, i))
                goto nomem;
            sp[out->n_groups - 1] = (span){i, i};
        }
    }
    if (!add_pinyin(out, sp, &l, text))
        goto nomem;
    goto done;
nomem:
    rc = core_err(err, ODX_ERR_NOMEM, "emb_query_parse: out of memory");
done:
    if (rc != ODX_OK)
        emb_query_free(out);
    free(m);
    free(covered);
    free(sp);
    emb_toklist_free(&l);
    return rc;
}

static void quote(core_buf *b, const char *t)
{
    core_buf_append(b, "\"", 1);
    for (const char *p = t; *p; p++) {
        core_buf_append(b, p, 1);
        if (*p == '"') /* FTS5 string syntax: a quote inside is doubled */
            core_buf_append(b, "\"", 1);
    }
    core_buf_append(b, "\"", 1);
}

/* The MATCH string and the terms it quotes (borrowed from q, in order):
 * emb_query_fts and emb_query_terms are one computation. */
static char *fts_build(const emb_query *q, const char **kept, int *n_kept)
{
    *n_kept = 0;
    if (!q || q->n_groups <= 0)
        return NULL;
    bool any = false;
    for (int i = 0; i < q->n_groups; i++)
        if (!q->groups[i].stopword && q->groups[i].n_terms > 0)
            any = true;
    const char *terms[MAX_FTS_TERMS];
    int nt = 0;
    /* the query's own words first, then their alternatives: when the cap
     * cuts, it cuts expansions, never what the user typed */
    for (int round = 0; round < MAX_GROUP_TERMS && nt < MAX_FTS_TERMS; round++) {
        bool more = false;
        for (int i = 0; i < q->n_groups && nt < MAX_FTS_TERMS; i++) {
            const emb_query_group *g = &q->groups[i];
            if ((any && g->stopword) || round >= g->n_terms)
                continue;
            more = true;
            const char *t = g->terms[round];
            bool dup = !t[0];
            for (int k = 0; k < nt && !dup; k++)
                dup = strcmp(terms[k], t) == 0;
            if (!dup)
                terms[nt++] = t;
        }
        if (!more)
            break;
    }
    if (nt == 0)
        return NULL;
    core_buf b;
    core_buf_init(&b, MAX_FTS_BYTES);
    for (int k = 0; k < nt; k++) {
        size_t before = b.len;
        if (k > 0)
            core_buf_puts(&b, " OR ");
        quote(&b, terms[k]);
        if (b.overflow) {
            /* keep what fits, whole terms only */
            b.len = before;
            b.data[before] = 0;
            b.overflow = false;
            break;
        }
        kept[(*n_kept)++] = terms[k];
    }
    if (b.len == 0) {
        core_buf_free(&b);
        *n_kept = 0;
        return NULL;
    }
    return core_buf_steal(&b);
}

char *emb_query_fts(const emb_query *q)
{
    const char *kept[MAX_FTS_TERMS];
    int n;
    return fts_build(q, kept, &n);
}

int emb_query_terms(const emb_query *q, const char **terms, int max)
{
    const char *kept[MAX_FTS_TERMS];
    int n;
    char *m = fts_build(q, kept, &n);
    if (!m)
        return 0;
    free(m);
    if (n > max)
        n = max;
    for (int i = 0; i < n; i++)
        terms[i] = kept[i];
    return n;
}
_Static_assert(MAX_FTS_TERMS <= EMB_QUERY_MAX_TERMS, "emb_query_terms callers' arrays");
