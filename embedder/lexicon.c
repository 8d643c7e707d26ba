/* lexicon.c - the bilingual concept lexicon (lexicon.tsv, compiled in as a
 * byte array): parsed once into a hash map from normalised word/phrase to
 * concept ids, used by the embedding (shared concept features make "bar
 * chart" and "柱状图" close) and by query expansion for FTS5. */
#include "embedder_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

extern const unsigned char emb_lexicon_data[];
extern const size_t emb_lexicon_size;

typedef struct lex_concept {
    const char *kind;
    const char *id;     /* the lexicon's id column */
    const char *name;   /* first English form */
    const char *parent_id;
    int parent;
    const char **words; /* surface forms, NULL-terminated */
    char **keys;        /* normalised key per form (NULL: no tokens) */
    bool *mixed;        /* form mixes scripts: key is for queries only */
    int n_words;
} lex_concept;

typedef struct lex_slot {
    char *key; /* NULL: empty slot */
    int ids[EMB_MAX_IDS];
    int n_ids;
} lex_slot;

static lex_concept *g_con;
static int g_n_con;
static lex_slot *g_map;
static size_t g_map_cap; /* power of two */
static int g_errors, g_unmatchable;
/* First units of keys: the first character of every CJK key and the first
 * word of every multi-word Latin key. Scanning text, a position whose unit
 * is not here cannot start a longer match, which saves most lookups. */
static uint64_t *g_first;
static size_t g_first_cap; /* power of two; 0 = never built */

static uint64_t unit_hash(const char *u, size_t n)
{
    return core_hash64(u, n, 0x6669727374756e74ULL) | 1;
}

static void first_add(const char *u, size_t n)
{
    if (!g_first)
        return;
    uint64_t h = unit_hash(u, n);
    size_t mask = g_first_cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        if (g_first[i] == h)
            return;
        if (!g_first[i]) {
            g_first[i] = h;
            return;
        }
    }
}

static bool first_has(const char *u, size_t n)
{
    if (!g_first)
        return true; /* no filter: look everything up */
    uint64_t h = unit_hash(u, n);
    size_t mask = g_first_cap - 1;
    for (size_t i = h & mask; g_first[i]; i = (i + 1) & mask)
        if (g_first[i] == h)
            return true;
    return false;
}

/* Registers the first unit of key (CJK: first character; Latin: first
 * word when the key has several). */
static void first_register(const char *key)
{
    int32_t cp;
    size_t n = strlen(key);
    int k = core_utf8_next(key, n, &cp);
    if (core_is_cjk(cp)) {
        first_add(key, (size_t)k);
        return;
    }
    const char *sp = strchr(key, ' ');
    if (sp)
        first_add(key, (size_t)(sp - key));
}
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static uint64_t key_hash(const char *k, size_t n)
{
    return core_hash64(k, n, 0x6c657869636f6e31ULL);
}

static lex_slot *map_find(const char *k, size_t n)
{
    if (!g_map)
        return NULL;
    size_t mask = g_map_cap - 1;
    for (size_t i = key_hash(k, n) & mask;; i = (i + 1) & mask) {
        lex_slot *s = &g_map[i];
        if (!s->key)
            return NULL;
        if (strlen(s->key) == n && memcmp(s->key, k, n) == 0)
            return s;
    }
}

/* Adds id under key. alias_only: only when the key is not there yet (stem
 * aliases must not merge into a word that exists in its own right:
 * "glasses" is eyewear, "glass" a material). */
static void map_add(const char *k, int id, bool alias_only)
{
    size_t n = strlen(k), mask = g_map_cap - 1;
    for (size_t i = key_hash(k, n) & mask;; i = (i + 1) & mask) {
        lex_slot *s = &g_map[i];
        if (!s->key) {
            s->key = core_strdup(k);
            if (!s->key)
                return;
            s->ids[0] = id;
            s->n_ids = 1;
            return;
        }
        if (strcmp(s->key, k) != 0)
            continue;
        if (alias_only)
            return;
        for (int j = 0; j < s->n_ids; j++)
            if (s->ids[j] == id)
                return;
        if (s->n_ids < EMB_MAX_IDS)
            s->ids[s->n_ids++] = id;
        return;
    }
}

/* Key of a surface form: its tokens joined by one space (Latin words) or
 * concatenated (CJK characters). Mixed forms ("T恤") get their tokens
 * joined by spaces and *mixed set: text phrases never span scripts, so
 * they are not matched, but they still serve query expansion (an FTS5
 * phrase of the same tokens). *units receives the word/character count. */
static char *form_key(const char *form, int *units, bool *mixed)
{
    emb_toklist l = {0};
    emb_toklist_build(&l, form, strlen(form), 64);
    core_buf b;
    core_buf_init(&b, 1024);
    int kind = -1, n = 0;
    bool ok = l.n > 0 && !l.overflow;
    for (int i = 0; ok && i < l.n; i++) {
        const emb_tok *t = &l.toks[i];
        if (t->kind == EMB_TOK_BIGRAM)
            continue;
        if (kind >= 0 && t->kind != kind)
            *mixed = true;
        if (n > 0 && (t->kind == EMB_TOK_WORD || *mixed))
            core_buf_append(&b, " ", 1);
        kind = t->kind;
        core_buf_append(&b, l.text + t->off, (size_t)t->len);
        n++;
    }
    emb_toklist_free(&l);
    if (!ok || n == 0 || b.overflow) {
        core_buf_free(&b);
        return NULL;
    }
    *units = n;
    if (*mixed)
        return core_buf_steal(&b);
    if ((kind == EMB_TOK_WORD && n > EMB_MAX_PHRASE_WORDS) ||
        (kind == EMB_TOK_CJK && n > EMB_MAX_PHRASE_CHARS))
        g_unmatchable++;
    return core_buf_steal(&b);
}

/* Latin key with its last word stemmed into out[cap]; returns its length,
 * or 0 when stemming changes nothing or the key is not plain ASCII. */
static size_t stem_key(const char *k, size_t n, char *out, size_t cap)
{
    const char *sp = NULL;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)k[i] >= 0x80)
            return 0;
        if (k[i] == ' ')
            sp = k + i;
    }
    const char *last = sp ? sp + 1 : k;
    int last_len = (int)(k + n - last);
    char st[EMB_MAX_TOKEN + 8];
    int sl = emb_stem(last, last_len, st, sizeof st);
    if (sl <= 0 || (sl == last_len && memcmp(st, last, (size_t)sl) == 0))
        return 0;
    size_t pre = (size_t)(last - k);
    if (pre + (size_t)sl + 1 > cap)
        return 0;
    memcpy(out, k, pre);
    memcpy(out + pre, st, (size_t)sl);
    out[pre + (size_t)sl] = 0;
    return pre + (size_t)sl;
}

/* Splits s at sep in place into at most max fields; returns the count. */
static int split(char *s, char sep, char **f, int max)
{
    int n = 0;
    f[n++] = s;
    for (char *p = s; *p && n < max; p++) {
        if (*p == sep) {
            *p = 0;
            f[n++] = p + 1;
        }
    }
    return n;
}

/* Appends the '|'-separated forms of field (split in place) to words. */
static void add_forms(char *field, core_buf *words)
{
    char *f[64];
    if (!field[0] || strcmp(field, "-") == 0)
        return;
    int n = split(field, '|', f, 64);
    for (int i = 0; i < n; i++)
        if (f[i][0])
            core_buf_append(words, &f[i], sizeof f[i]);
}

/* The kinds of entry an ablation of the hand lexicon removes: everyday
 * words, which WordNet and CLDR could know; domain, chart, document, UI
 * and the synonym lists (geometry, attributes, actions) stay. */
static bool is_everyday(const char *kind)
{
    return !strcmp(kind, "object") || !strcmp(kind, "scene") || !strcmp(kind, "colour");
}

static void lex_init(void)
{
    bool everyday_off = (emb_words_off() & EMB_OFF_LEXICON) != 0;
    char *data = malloc(emb_lexicon_size + 1);
    if (!data)
        return;
    memcpy(data, emb_lexicon_data, emb_lexicon_size);
    data[emb_lexicon_size] = 0;
    /* data is never freed: concepts point into it for the process life */
    int cap = 0;
    for (size_t i = 0; i < emb_lexicon_size; i++)
        cap += data[i] == '\n';
    g_con = calloc((size_t)cap + 1, sizeof *g_con);
    if (!g_con)
        return;
    size_t n_keys = 0;
    char *line = data;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        size_t ll = strlen(line);
        if (ll && line[ll - 1] == '\r')
            line[--ll] = 0;
        char *f[6];
        if (line[0] && line[0] != '#') {
            int nf = split(line, '\t', f, 6);
            if (nf != 5 || !f[0][0] || !f[1][0]) {
                g_errors++;
            } else if (everyday_off && is_everyday(f[1])) {
                /* ablated (ODX_WORDS_OFF=lexicon): what the data knows
                 * of these words is all there is */
            } else if (g_n_con <= cap) {
                lex_concept *c = &g_con[g_n_con];
                core_buf words;
                core_buf_init(&words, 0);
                c->id = f[0], c->kind = f[1], c->parent_id = f[2];
                c->parent = -1;
                add_forms(f[3], &words);
                size_t n_en = words.len / sizeof(char *);
                add_forms(f[4], &words);
                c->n_words = (int)(words.len / sizeof(char *));
                const char *nul = NULL;
                core_buf_append(&words, &nul, sizeof nul);
                if (words.overflow || c->n_words == 0) {
                    core_buf_free(&words);
                    g_errors++;
                } else {
                    c->words = (const char **)(void *)core_buf_steal(&words);
                    c->name = n_en ? c->words[0] : c->id;
                    n_keys += (size_t)c->n_words * 2;
                    g_n_con++;
                }
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    for (int i = 0; i < g_n_con; i++) {
        lex_concept *c = &g_con[i];
        if (strcmp(c->parent_id, "-") == 0)
            continue;
        for (int j = 0; j < g_n_con; j++)
            if (j != i && strcmp(g_con[j].id, c->parent_id) == 0)
                c->parent = j;
        if (c->parent < 0 && !everyday_off) /* else its parent may be ablated */
            g_errors++;
    }
    g_map_cap = 64;
    while (g_map_cap < n_keys * 2)
        g_map_cap *= 2;
    g_map = calloc(g_map_cap, sizeof *g_map);
    if (!g_map)
        return;
    g_first_cap = g_map_cap;
    g_first = calloc(g_first_cap, sizeof *g_first); /* NULL: no filter */
    for (int i = 0; i < g_n_con; i++) {
        lex_concept *c = &g_con[i];
        c->keys = calloc((size_t)c->n_words + 1, sizeof *c->keys);
        c->mixed = calloc((size_t)c->n_words + 1, sizeof *c->mixed);
        if (!c->keys || !c->mixed) {
            free(c->keys);
            free(c->mixed);
            c->keys = NULL, c->mixed = NULL;
            continue;
        }
        for (int j = 0; j < c->n_words; j++) {
            int units = 0;
            c->keys[j] = form_key(c->words[j], &units, &c->mixed[j]);
            if (c->keys[j] && !c->mixed[j]) {
                map_add(c->keys[j], i, false);
                first_register(c->keys[j]);
            }
        }
    }
    /* stem aliases after all exact keys, so exact words always win */
    for (int i = 0; i < g_n_con; i++) {
        lex_concept *c = &g_con[i];
        for (int j = 0; c->keys && c->mixed && j < c->n_words; j++) {
            if (!c->keys[j])
                continue;
            char sk[512];
            if (!c->mixed[j] &&
                stem_key(c->keys[j], strlen(c->keys[j]), sk, sizeof sk))
                map_add(sk, i, true);
        }
    }
}

static void lex_ready(void)
{
    pthread_once(&g_once, lex_init);
}

int emb_concepts(const char *tok, int len, int *ids, int max)
{
    if (!tok || len <= 0 || !ids || max <= 0)
        return 0;
    lex_ready();
    lex_slot *s = map_find(tok, (size_t)len);
    if (!s) {
        char sk[512];
        size_t sl = stem_key(tok, (size_t)len, sk, sizeof sk);
        if (sl)
            s = map_find(sk, sl);
    }
    if (!s)
        return 0;
    int n = s->n_ids < max ? s->n_ids : max;
    memcpy(ids, s->ids, (size_t)n * sizeof *ids);
    return n;
}

const char *const *emb_concept_words(int id)
{
    lex_ready();
    if (id < 0 || id >= g_n_con)
        return NULL;
    return g_con[id].words;
}

const char *emb_concept_name(int id)
{
    lex_ready();
    if (id < 0 || id >= g_n_con)
        return NULL;
    return g_con[id].name;
}

int emb_concept_count(void)
{
    lex_ready();
    return g_n_con;
}

int emb_concept_parent(int id)
{
    lex_ready();
    return id >= 0 && id < g_n_con ? g_con[id].parent : -1;
}

const char *emb_concept_kind(int id)
{
    lex_ready();
    return id >= 0 && id < g_n_con ? g_con[id].kind : NULL;
}

const char *emb_concept_key(int id, int i)
{
    lex_ready();
    if (id < 0 || id >= g_n_con || i < 0 || i >= g_con[id].n_words ||
        !g_con[id].keys)
        return NULL;
    return g_con[id].keys[i];
}

int emb_lexicon_errors(void)
{
    lex_ready();
    return g_errors;
}

int emb_lexicon_unmatchable(void)
{
    lex_ready();
    return g_unmatchable;
}

/* ---------------------------------------------------------- matching ---- */

int emb_find_matches(const emb_toklist *l, emb_match *out, int max)
{
    if (!l || !out || max <= 0)
        return 0;
    lex_ready();
    int n_out = 0, max_end = -1;
    for (int i = 0; i < l->n && n_out < max; i++) {
        const emb_tok *t = &l->toks[i];
        if (t->kind == EMB_TOK_BIGRAM)
            continue;
        bool first = first_has(l->text + t->off, (size_t)t->len);
        if (t->kind == EMB_TOK_CJK && !first)
            continue; /* no CJK key starts with this character */
        int limit = t->kind == EMB_TOK_CJK ? EMB_MAX_PHRASE_CHARS
                    : first              ? EMB_MAX_PHRASE_WORDS
                                         : 1;
        int unit_tok[EMB_MAX_PHRASE_CHARS];
        size_t key_len[EMB_MAX_PHRASE_CHARS];
        char key[sizeof out->key];
        size_t kl = 0;
        int nu = 0;
        for (int j = i; j < l->n && nu < limit; j++) {
            const emb_tok *u = &l->toks[j];
            if (u->kind == EMB_TOK_BIGRAM)
                continue;
            if (j > i && (u->kind != t->kind || !u->joined))
                break;
            size_t add = (size_t)u->len + (nu > 0 && t->kind == EMB_TOK_WORD);
            if (kl + add >= sizeof key)
                break;
            if (nu > 0 && t->kind == EMB_TOK_WORD)
                key[kl++] = ' ';
            memcpy(key + kl, l->text + u->off, (size_t)u->len);
            kl += (size_t)u->len;
            unit_tok[nu] = j;
            key_len[nu] = kl;
            nu++;
        }
        for (int k = nu; k >= 1; k--) {
            int ids[EMB_MAX_IDS];
            int n_ids = emb_concepts(key, (int)key_len[k - 1], ids, EMB_MAX_IDS);
            if (n_ids == 0)
                continue;
            const emb_tok *last = &l->toks[unit_tok[k - 1]];
            if (last->end > max_end) {
                emb_match *m = &out[n_out++];
                m->first = i;
                m->n = unit_tok[k - 1] - i + 1;
                m->n_units = k;
                m->start = t->start;
                m->end = last->end;
                memcpy(m->key, key, key_len[k - 1]);
                m->key[key_len[k - 1]] = 0;
                memcpy(m->ids, ids, (size_t)n_ids * sizeof *ids);
                m->n_ids = n_ids;
                max_end = last->end;
            }
            break;
        }
    }
    return n_out;
}

const char *emb_concept_id(int id)
{
    lex_ready();
    return id >= 0 && id < g_n_con ? g_con[id].id : NULL;
}

/* The tokens of a query-sized text (at most 512) and its lexicon
 * matches (at most 64) into m; returns how many matches. */
static int text_matches(const char *text, size_t len, emb_toklist *l, emb_match m[64])
{
    emb_toklist_build(l, text, len, 512);
    return emb_find_matches(l, m, 64);
}

int emb_text_concepts(const char *text, size_t len, int *ids, int max)
{
    if (!text || !ids || max <= 0)
        return 0;
    emb_toklist l = {0};
    emb_match m[64];
    int n_m = text_matches(text, len, &l, m), n = 0;
    for (int i = 0; i < n_m; i++) {
        for (int j = 0; j < m[i].n_ids && n < max; j++) {
            bool seen = false;
            for (int k = 0; k < n; k++)
                seen |= ids[k] == m[i].ids[j];
            if (!seen)
                ids[n++] = m[i].ids[j];
        }
    }
    emb_toklist_free(&l);
    return n;
}

/* Words that end the head noun phrase of an English query: "cup of
 * espresso on a table" is about a cup, "table with population by state"
 * about a table, "SSH port forwarding diagram" about a diagram. */
static bool is_phrase_break(const char *w, int n)
{
    static const char *const brk[] = {
        "of", "with", "on", "in", "at", "by", "for", "from", "showing", "listing",
        "containing", "about", "over", "under", "near", "during", "without", "into",
        "onto", "against", "having", "where", "that", "which", "shows", "lists",
        "and", "or", "to", "between", "inside", "behind", "above", "below", "like", "out",
        "through", "across", "along", "around", NULL};
    for (int i = 0; brk[i]; i++)
        if ((int)strlen(brk[i]) == n && memcmp(brk[i], w, (size_t)n) == 0)
            return true;
    return false;
}

/* "motorcycle parked in a garage", "kite flying in the sky": a participle
 * after the head starts a modifier, unless the word names a thing, a scene
 * or a kind of image itself ("painting", "building"). */
static bool is_participle(const char *w, int n)
{
    bool ed = n > 4 && memcmp(w + n - 2, "ed", 2) == 0;
    bool ing = n > 5 && memcmp(w + n - 3, "ing", 3) == 0;
    if (!ed && !ing)
        return false;
    int ids[EMB_MAX_IDS];
    int k = emb_concepts(w, n, ids, EMB_MAX_IDS);
    for (int i = 0; i < k; i++) {
        const char *kind = emb_concept_kind(ids[i]);
        if (kind && (strcmp(kind, "object") == 0 || strcmp(kind, "scene") == 0 ||
                     strcmp(kind, "domain") == 0 || strcmp(kind, "chart") == 0))
            return false;
    }
    return true;
}

/* The head token of a query's noun phrase in l: for CJK text the last
 * character (Chinese noun phrases end with their head); for other text
 * the last word before the first phrase break. -1: none. */
static int head_token(const emb_toklist *l)
{
    int head = -1;
    bool cjk = false;
    for (int i = 0; i < l->n; i++)
        cjk |= l->toks[i].kind == EMB_TOK_CJK;
    if (cjk) {
        for (int i = l->n - 1; i >= 0 && head < 0; i--)
            if (l->toks[i].kind == EMB_TOK_CJK)
                head = i;
        return head;
    }
    for (int i = 0; i < l->n; i++) {
        const emb_tok *t = &l->toks[i];
        if (t->kind != EMB_TOK_WORD)
            continue;
        if (head >= 0 && is_phrase_break(l->text + t->off, t->len))
            break;
        /* a participle ends the head phrase when a preposition or an
         * article follows ("parked in a garage"), not inside a compound
         * ("port forwarding diagram") */
        if (head >= 0 && is_participle(l->text + t->off, t->len)) {
            int nx = i + 1;
            while (nx < l->n && l->toks[nx].kind != EMB_TOK_WORD)
                nx++;
            if (nx >= l->n || is_phrase_break(l->text + l->toks[nx].off, l->toks[nx].len) ||
                emb_is_stopword(l->text + l->toks[nx].off, l->toks[nx].len))
                break;
        }
        if (!is_phrase_break(l->text + t->off, t->len) &&
            !emb_is_stopword(l->text + t->off, t->len))
            head = i;
    }
    return head;
}

int emb_head_concepts(const char *text, size_t len, int *ids, int max)
{
    if (!text || !ids || max <= 0)
        return 0;
    emb_toklist l = {0};
    emb_match m[64];
    int n_m = text_matches(text, len, &l, m), n = 0;
    int head = head_token(&l);
    for (int i = 0; head >= 0 && i < n_m; i++) {
        if (head < m[i].first || head >= m[i].first + m[i].n)
            continue;
        for (int j = 0; j < m[i].n_ids && n < max; j++)
            ids[n++] = m[i].ids[j];
    }
    emb_toklist_free(&l);
    return n;
}

bool emb_head_is_thing(const char *text, size_t len)
{
    if (!text || !len || !emb_words_enabled())
        return false;
    emb_toklist l = {0};
    emb_toklist_build(&l, text, len, 512);
    int head = head_token(&l);
    emb_wconcept c[EMB_MAX_CHAIN];
    int n = 0;
    if (head >= 0 && l.toks[head].kind == EMB_TOK_WORD) {
        n = emb_words_en(l.text + l.toks[head].off, l.toks[head].len, c, EMB_MAX_CHAIN);
    } else if (head >= 0) {
        /* the CLDR word that ends at the head character (宇航员, 蜻蜓) */
        char key[EMB_MAX_PHRASE_CHARS * 8 + 8];
        for (int i = 0; i <= head && n == 0; i++) {
            int last = i;
            if (l.toks[i].kind == EMB_TOK_CJK && emb_words_zh_match(&l, i, &last, key, sizeof key) > 0 &&
                last == head)
                n = emb_words_zh(key, (int)strlen(key), c, EMB_MAX_CHAIN);
        }
    }
    emb_toklist_free(&l);
    return n > 0 && emb_words_syn_concrete(c[0].syn);
}
