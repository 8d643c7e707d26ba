/* dom_fit.c - fits the domain classifier (domain_model.h) on a feature dump
 * of the corpus and writes the generated table captioner/domain_model.c.
 *
 * usage: dom_fit DUMP.tsv MANIFEST.tsv OUT.c [--report] [--no-stack]
 *   DUMP.tsv: tests/eval/domain_accuracy DIR --dump (a row per image: file,
 *     domain, ocr flag, then the DOM_NV visual and DOM_NT text features).
 *   MANIFEST.tsv: the corpus manifest (columns file, split, package).
 *   --no-stack: leave out the hand-set model's scores (the h_* features),
 *     to measure what stacking adds.
 *
 * Model: multinomial logistic regression on standardised features (mean and
 * standard deviation of the train split), L2 penalty on the weights (not the
 * biases), each domain weighed equally (samples weighed by 1 / count of
 * their domain, the count taken as at least half a domain's fair share:
 * the post-OCR model sees two photos, which would otherwise weigh as much
 * as 280 documents). Fitted by Newton's method with a backtracking line search
 * on the convex objective, so the optimum does not depend on a start or an
 * order: the same dump gives the same table. The penalty is chosen from a
 * grid by 5-fold cross-validation on the train split grouped by package
 * (folds from a fixed seed), by the weighted log-loss of the held-out folds;
 * the softmax temperature is then fitted on those out-of-fold scores.
 * Two models: pre-OCR on the visual features of every train image; post-OCR
 * on the text features of the train images OCR ran on, with the pre-OCR
 * scores as a fixed offset (it learns what the text adds). Validation is
 * never used to fit; --report prints accuracy, confusion matrices and a
 * reliability table on it.
 *
 * Why this model: ~2000 images and ~90 features, many of them soft ramps of
 * the same statistics: a linear model with L2 stays stable under that
 * collinearity, gives probabilities to hedge captions with, and is a table
 * of numbers the runtime evaluates in microseconds. */
#include "domain_model.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define K CAP_N_DOMAINS
#define MAXN 20000
#define NFOLD 5


typedef struct sample {
    char file[128], pkg[96];
    int y, split; /* split: 0 train, 1 validation */
    int ocr;
    float v[DOM_NV], t[DOM_NT];
    int fold;
} sample;

static sample *S;
static int N;

static int dom_index(const char *s)
{
    cap_domain d;
    return cap_domain_parse(s, &d) ? (int)d : -1;
}

static const char *dname(int k) { return cap_domain_name((cap_domain)k); }

/* ------------------------------------------------------------ input ---- */

typedef struct mrow {
    char file[128], pkg[96];
    int split;
} mrow;

static int read_manifest(const char *path, mrow **out)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    static char line[65536];
    int cf = -1, cs = -1, cp = -1, n = 0, cap = 4096;
    mrow *m = calloc((size_t)cap, sizeof *m);
    bool header = true;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *fields[32];
        int nf = 0;
        for (char *p = line, *tab; nf < 32; p = tab + 1) {
            fields[nf++] = p;
            if (!(tab = strchr(p, '\t')))
                break;
            *tab = 0;
        }
        if (header) {
            for (int i = 0; i < nf; i++) {
                if (!strcmp(fields[i], "file")) cf = i;
                if (!strcmp(fields[i], "split")) cs = i;
                if (!strcmp(fields[i], "package")) cp = i;
            }
            header = false;
            if (cf < 0 || cs < 0 || cp < 0) {
                fprintf(stderr, "%s: needs columns file, split, package\n", path);
                fclose(f);
                free(m);
                return -1;
            }
            continue;
        }
        if (nf <= cf || nf <= cs || nf <= cp)
            continue;
        if (n == cap) {
            cap *= 2;
            m = realloc(m, (size_t)cap * sizeof *m);
        }
        snprintf(m[n].file, sizeof m[n].file, "%s", fields[cf]);
        snprintf(m[n].pkg, sizeof m[n].pkg, "%s", fields[cp]);
        m[n].split = !strcmp(fields[cs], "val");
        n++;
    }
    fclose(f);
    *out = m;
    return n;
}

static int read_dump(const char *path, const mrow *m, int nm)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    static char line[65536];
    bool header = true;
    while (fgets(line, sizeof line, f)) {
        if (header) {
            header = false;
            continue;
        }
        if (N >= MAXN)
            break;
        sample *s = &S[N];
        char *save = NULL, *tok = strtok_r(line, "\t\n", &save);
        if (!tok)
            continue;
        snprintf(s->file, sizeof s->file, "%s", tok);
        tok = strtok_r(NULL, "\t\n", &save);
        if (!tok || (s->y = dom_index(tok)) < 0)
            continue;
        tok = strtok_r(NULL, "\t\n", &save);
        s->ocr = tok ? atoi(tok) : 0;
        tok = strtok_r(NULL, "\t\n", &save); /* pre-OCR domain of the run: unused */
        bool ok = true;
        for (int j = 0; j < DOM_NV + DOM_NT; j++) {
            tok = strtok_r(NULL, "\t\n", &save);
            if (!tok) {
                ok = false;
                break;
            }
            float x = strtof(tok, NULL);
            if (!isfinite(x))
                x = 0;
            if (j < DOM_NV)
                s->v[j] = x;
            else
                s->t[j - DOM_NV] = x;
        }
        if (!ok)
            continue;
        int mi = -1;
        for (int i = 0; i < nm; i++)
            if (!strcmp(m[i].file, s->file)) {
                mi = i;
                break;
            }
        if (mi < 0)
            continue;
        snprintf(s->pkg, sizeof s->pkg, "%s", m[mi].pkg);
        s->split = m[mi].split;
        N++;
    }
    fclose(f);
    return N;
}

/* ------------------------------------------------------------ model ---- */

typedef struct fitset {
    int n, d;           /* samples, features */
    const float **x;    /* standardised rows, d each */
    const float **off;  /* K offsets per sample, or NULL */
    const int *y;
    const double *w;    /* sample weights */
} fitset;

/* theta: K x (d + 1), last column the bias */
static double objective(const fitset *fs, const double *th, double lambda, double *g,
                        double *H)
{
    int d = fs->d, P = K * (d + 1);
    double loss = 0, W = 0;
    if (g)
        memset(g, 0, sizeof(double) * (size_t)P);
    if (H)
        memset(H, 0, sizeof(double) * (size_t)P * (size_t)P);
    double p[K];
    for (int i = 0; i < fs->n; i++) {
        const float *x = fs->x[i];
        double mx = -1e300;
        for (int c = 0; c < K; c++) {
            const double *t = th + c * (d + 1);
            double a = t[d] + (fs->off ? fs->off[i][c] : 0);
            for (int j = 0; j < d; j++)
                a += t[j] * x[j];
            p[c] = a;
            if (a > mx)
                mx = a;
        }
        double z = 0;
        for (int c = 0; c < K; c++)
            z += exp(p[c] - mx);
        double lz = mx + log(z);
        double wi = fs->w[i];
        W += wi;
        loss += wi * (lz - p[fs->y[i]]);
        for (int c = 0; c < K; c++)
            p[c] = exp(p[c] - lz);
        if (g)
            for (int c = 0; c < K; c++) {
                double r = wi * (p[c] - (c == fs->y[i]));
                double *gc = g + c * (d + 1);
                for (int j = 0; j < d; j++)
                    gc[j] += r * x[j];
                gc[d] += r;
            }
        if (H)
            for (int c = 0; c < K; c++)
                for (int e = c; e < K; e++) {
                    double q = wi * (p[c] * ((c == e) - p[e]));
                    if (q == 0)
                        continue;
                    for (int a = 0; a <= d; a++) {
                        double xa = a < d ? x[a] : 1;
                        double *row = H + (size_t)(c * (d + 1) + a) * (size_t)P + e * (d + 1);
                        double qa = q * xa;
                        for (int b = 0; b < d; b++)
                            row[b] += qa * x[b];
                        row[d] += qa;
                    }
                }
    }
    /* normalise by total weight; penalty on weights (tiny one on biases so
     * that the Hessian stays definite: softmax is invariant to a shift) */
    double reg = 0;
    for (int c = 0; c < K; c++)
        for (int j = 0; j <= d; j++) {
            double l = j < d ? lambda : 1e-6;
            reg += 0.5 * l * th[c * (d + 1) + j] * th[c * (d + 1) + j];
        }
    double f = loss / W + reg;
    if (g)
        for (int c = 0; c < K; c++)
            for (int j = 0; j <= d; j++) {
                int q = c * (d + 1) + j;
                g[q] = g[q] / W + (j < d ? lambda : 1e-6) * th[q];
            }
    if (H) {
        /* only the blocks of c <= e were accumulated (the diagonal blocks
         * whole): mirror them into the blocks below */
        for (int a = 0; a < P; a++)
            for (int b = a; b < P; b++) {
                double v = H[(size_t)a * P + b] / W;
                H[(size_t)a * P + b] = v;
                H[(size_t)b * P + a] = v;
            }
        for (int c = 0; c < K; c++)
            for (int j = 0; j <= d; j++) {
                int q = c * (d + 1) + j;
                H[(size_t)q * P + q] += j < d ? lambda : 1e-6;
            }
    }
    return f;
}

/* Solves H x = g in place (Cholesky); false if not positive definite. */
static bool chol_solve(double *H, double *g, int P)
{
    for (int j = 0; j < P; j++) {
        double s = H[(size_t)j * P + j];
        for (int k = 0; k < j; k++)
            s -= H[(size_t)j * P + k] * H[(size_t)j * P + k];
        if (s <= 0)
            return false;
        double l = sqrt(s);
        H[(size_t)j * P + j] = l;
        for (int i = j + 1; i < P; i++) {
            double t = H[(size_t)i * P + j];
            for (int k = 0; k < j; k++)
                t -= H[(size_t)i * P + k] * H[(size_t)j * P + k];
            H[(size_t)i * P + j] = t / l;
        }
    }
    for (int i = 0; i < P; i++) {
        double t = g[i];
        for (int k = 0; k < i; k++)
            t -= H[(size_t)i * P + k] * g[k];
        g[i] = t / H[(size_t)i * P + i];
    }
    for (int i = P - 1; i >= 0; i--) {
        double t = g[i];
        for (int k = i + 1; k < P; k++)
            t -= H[(size_t)k * P + i] * g[k];
        g[i] = t / H[(size_t)i * P + i];
    }
    return true;
}

static void fit(const fitset *fs, double lambda, double *th)
{
    int d = fs->d, P = K * (d + 1);
    memset(th, 0, sizeof(double) * (size_t)P);
    double *g = malloc(sizeof(double) * (size_t)P), *H = malloc(sizeof(double) * (size_t)P * P);
    double *t2 = malloc(sizeof(double) * (size_t)P);
    double f = objective(fs, th, lambda, NULL, NULL);
    for (int it = 0; it < 50; it++) {
        objective(fs, th, lambda, g, H);
        double gn = 0;
        for (int q = 0; q < P; q++)
            gn += g[q] * g[q];
        if (sqrt(gn) < 1e-7)
            break;
        if (!chol_solve(H, g, P))
            break;
        double step = 1, f2 = f;
        for (int ls = 0; ls < 30; ls++, step *= 0.5) {
            for (int q = 0; q < P; q++)
                t2[q] = th[q] - step * g[q];
            f2 = objective(fs, t2, lambda, NULL, NULL);
            if (f2 <= f)
                break;
        }
        if (f2 > f)
            break;
        memcpy(th, t2, sizeof(double) * (size_t)P);
        double df = f - f2;
        f = f2;
        if (df < 1e-10)
            break;
    }
    free(g);
    free(H);
    free(t2);
}

static void scores(const double *th, int d, const float *x, const float *off, double s[K])
{
    for (int c = 0; c < K; c++) {
        const double *t = th + c * (d + 1);
        double a = t[d] + (off ? off[c] : 0);
        for (int j = 0; j < d; j++)
            a += t[j] * x[j];
        s[c] = a;
    }
}

/* weighted log-loss of scores at temperature T */
static double logloss(const double (*sc)[K], const int *y, const double *w, int n, double T)
{
    double L = 0, W = 0;
    for (int i = 0; i < n; i++) {
        double mx = -1e300;
        for (int c = 0; c < K; c++)
            if (sc[i][c] / T > mx)
                mx = sc[i][c] / T;
        double z = 0;
        for (int c = 0; c < K; c++)
            z += exp(sc[i][c] / T - mx);
        L += w[i] * (mx + log(z) - sc[i][y[i]] / T);
        W += w[i];
    }
    return W > 0 ? L / W : 0;
}

/* ---------------------------------------------------------- one model ---- */

typedef struct model {
    int d;
    float mean[DOM_NV], scale[DOM_NV];
    float lo[DOM_NV], hi[DOM_NV];
    double th[K * (DOM_NV + 1)];
    double lambda, temp;
} model;

static float *feat_of(sample *s, bool text) { return text ? s->t : s->v; }

/* Share of the train values left below lo (and above hi) of each feature:
 * the fitted and the runtime model clip to [lo, hi]. DOM_FIT_CLIP overrides
 * it (0: no clipping). */
static double clip_q = 0.005;

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* qsort of indices by sort_key[index], largest first */
static const double *sort_key;
static int cmp_by_key_desc(const void *a, const void *b)
{
    double x = sort_key[*(const int *)a], y = sort_key[*(const int *)b];
    return x < y ? 1 : x > y ? -1 : *(const int *)a - *(const int *)b;
}

static float clampf(float v, float lo, float hi)
{
    if (!(hi > lo))
        return v;
    return v < lo ? lo : v > hi ? hi : v;
}

/* idx: the samples to fit on; offs: their offsets (NULL for none) */
static void fit_model(model *m, bool text, const int *idx, int n, float (*offs)[K])
{
    int d = text ? DOM_NT : DOM_NV;
    m->d = d;
    float *col = malloc(sizeof(float) * (size_t)n);
    for (int j = 0; j < d; j++) {
        for (int i = 0; i < n; i++)
            col[i] = feat_of(&S[idx[i]], text)[j];
        qsort(col, (size_t)n, sizeof(float), cmp_float);
        int a = (int)(clip_q * (n - 1)), b = n - 1 - a;
        m->lo[j] = clip_q > 0 ? col[a] : 0;
        m->hi[j] = clip_q > 0 ? col[b] : 0;
        double s = 0, s2 = 0;
        for (int i = 0; i < n; i++) {
            double x = clampf(feat_of(&S[idx[i]], text)[j], m->lo[j], m->hi[j]);
            s += x;
            s2 += x * x;
        }
        double mu = s / n, var = s2 / n - mu * mu;
        m->mean[j] = (float)mu;
        m->scale[j] = var > 1e-10 ? (float)sqrt(var) : 1.0f;
    }
    float *X = malloc(sizeof(float) * (size_t)n * d);
    const float **xr = malloc(sizeof(float *) * (size_t)n);
    const float **orow = offs ? malloc(sizeof(float *) * (size_t)n) : NULL;
    int *y = malloc(sizeof(int) * (size_t)n);
    double *w = malloc(sizeof(double) * (size_t)n);
    int cnt[K] = {0};
    for (int i = 0; i < n; i++)
        cnt[S[idx[i]].y]++;
    for (int i = 0; i < n; i++) {
        const float *f = feat_of(&S[idx[i]], text);
        for (int j = 0; j < d; j++)
            X[(size_t)i * d + j] = (clampf(f[j], m->lo[j], m->hi[j]) - m->mean[j]) / m->scale[j];
        xr[i] = X + (size_t)i * d;
        if (orow)
            orow[i] = offs[i];
        y[i] = S[idx[i]].y;
        /* a domain with few samples (photos OCR ran on: the gate reads
         * almost none) is not blown up to the others' weight */
        w[i] = 1.0 / (cnt[y[i]] > n / (2 * K) ? cnt[y[i]] : n / (2 * K));
    }
    /* lambda by grouped cross-validation */
    static const double grid[] = {0.0003, 0.001, 0.003, 0.01, 0.03, 0.1};
    enum { NG = sizeof grid / sizeof grid[0] };
    double (*oof)[K] = calloc((size_t)n, sizeof *oof);
    double (*best_oof)[K] = calloc((size_t)n, sizeof *best_oof);
    double best = 1e300;
    int P = K * (d + 1);
    double *th = malloc(sizeof(double) * (size_t)P);
    const float **fx = malloc(sizeof(float *) * (size_t)n);
    const float **fo = offs ? malloc(sizeof(float *) * (size_t)n) : NULL;
    int *fy = malloc(sizeof(int) * (size_t)n);
    double *fw = malloc(sizeof(double) * (size_t)n);
    for (int gi = 0; gi < NG; gi++) {
        for (int k = 0; k < NFOLD; k++) {
            int nf = 0;
            for (int i = 0; i < n; i++)
                if (S[idx[i]].fold != k) {
                    fx[nf] = xr[i];
                    if (fo)
                        fo[nf] = orow[i];
                    fy[nf] = y[i];
                    fw[nf] = w[i];
                    nf++;
                }
            fitset fs = {nf, d, fx, fo, fy, fw};
            fit(&fs, grid[gi], th);
            for (int i = 0; i < n; i++)
                if (S[idx[i]].fold == k)
                    scores(th, d, xr[i], orow ? orow[i] : NULL, oof[i]);
        }
        double ll = logloss((const double (*)[K])oof, y, w, n, 1.0);
        int ok = 0;
        for (int i = 0; i < n; i++) {
            int b = 0;
            for (int c = 1; c < K; c++)
                if (oof[i][c] > oof[i][b])
                    b = c;
            ok += b == y[i];
        }
        fprintf(stderr, "dom_fit: %s lambda %-7g cv log-loss %.4f accuracy %.3f\n",
                text ? "post" : "pre ", grid[gi], ll, (double)ok / n);
        if (ll < best) {
            best = ll;
            m->lambda = grid[gi];
            memcpy(best_oof, oof, sizeof(*oof) * (size_t)n);
        }
    }
    /* temperature on the out-of-fold scores (golden-section on log T) */
    double a = log(0.3), b = log(3.0);
    for (int it = 0; it < 60; it++) {
        double m1 = b - (b - a) * 0.618, m2 = a + (b - a) * 0.618;
        if (logloss((const double (*)[K])best_oof, y, w, n, exp(m1)) <
            logloss((const double (*)[K])best_oof, y, w, n, exp(m2)))
            b = m2;
        else
            a = m1;
    }
    m->temp = exp((a + b) / 2);
    /* DOM_FIT_WORST=N: the N held-out images the chosen penalty scored worst */
    const char *wenv = getenv("DOM_FIT_WORST");
    int nw = wenv ? atoi(wenv) : 0;
    if (nw > 0) {
        double *loss = malloc(sizeof(double) * (size_t)n);
        int *ord = malloc(sizeof(int) * (size_t)n);
        for (int i = 0; i < n; i++) {
            loss[i] = logloss((const double (*)[K])best_oof + i, y + i, w + i, 1, 1.0);
            ord[i] = i;
        }
        sort_key = loss;
        qsort(ord, (size_t)n, sizeof(int), cmp_by_key_desc);
        for (int r = 0; r < nw && r < n; r++) {
            int wi = ord[r], b = 0;
            for (int c = 1; c < K; c++)
                if (best_oof[wi][c] > best_oof[wi][b])
                    b = c;
            fprintf(stderr, "dom_fit: %s worst %2d: %-40s %-10s -> %-10s loss %.1f (%s)\n",
                    text ? "post" : "pre ", r + 1, S[idx[wi]].file, dname(y[wi]), dname(b),
                    loss[wi], S[idx[wi]].pkg);
        }
        free(loss);
        free(ord);
    }
    fitset fs = {n, d, xr, orow, y, w};
    fit(&fs, m->lambda, m->th);
    fprintf(stderr, "dom_fit: %s model: %d samples, lambda %g, temperature %.3f\n",
            text ? "post" : "pre ", n, m->lambda, m->temp);
    free(col);
    free(th);
    free(fx);
    free(fo);
    free(fy);
    free(fw);
    free(oof);
    free(best_oof);
    free(X);
    free(xr);
    free(orow);
    free(y);
    free(w);
}

static void model_scores(const model *m, const float *raw, const float *off, double s[K])
{
    float z[DOM_NV];
    for (int j = 0; j < m->d; j++)
        z[j] = (clampf(raw[j], m->lo[j], m->hi[j]) - m->mean[j]) / m->scale[j];
    scores(m->th, m->d, z, off, s);
}

/* ------------------------------------------------------------ output ---- */

/* A float literal in buf: %.*g with a decimal point added where it
 * printed none (0 and other whole numbers: "0f" is not C). */
static const char *flit(char buf[48], double x, int digits)
{
    snprintf(buf, 40, "%.*g", digits, x);
    if (!strpbrk(buf, ".eEn"))
        strcat(buf, ".0");
    strcat(buf, "f");
    return buf;
}

static void write_model(FILE *f, const char *name, const model *m, const char *what)
{
    char b[48];
    int d = m->d;
    fprintf(f, "/* %s: lambda %g, temperature %.4f, clipped to the train split's\n"
               " * %g and %g quantiles */\n",
            what, m->lambda, m->temp, clip_q, 1 - clip_q);
    fprintf(f, "const dom_lr %s = {\n    .n = %d,\n    .mean = {", name, d);
    for (int j = 0; j < d; j++)
        fprintf(f, "%s%s,", j % 6 ? " " : "\n        ", flit(b, m->mean[j], 7));
    fprintf(f, "\n    },\n    .scale = {");
    for (int j = 0; j < d; j++)
        fprintf(f, "%s%s,", j % 6 ? " " : "\n        ", flit(b, m->scale[j], 7));
    fprintf(f, "\n    },\n    .lo = {");
    for (int j = 0; j < d; j++)
        fprintf(f, "%s%s,", j % 6 ? " " : "\n        ", flit(b, m->lo[j], 7));
    fprintf(f, "\n    },\n    .hi = {");
    for (int j = 0; j < d; j++)
        fprintf(f, "%s%s,", j % 6 ? " " : "\n        ", flit(b, m->hi[j], 7));
    fprintf(f, "\n    },\n    .w = {\n");
    for (int c = 0; c < K; c++) {
        fprintf(f, "        /* %s */ {", dname(c));
        for (int j = 0; j < d; j++)
            fprintf(f, "%s%s,", j % 6 ? " " : "\n            ", flit(b, m->th[c * (d + 1) + j], 6));
        fprintf(f, "\n        },\n");
    }
    fprintf(f, "    },\n    .b = {");
    for (int c = 0; c < K; c++)
        fprintf(f, "%s%s", c ? ", " : "", flit(b, m->th[c * (d + 1) + d], 6));
    fprintf(f, "},\n    .temp = %s,\n};\n\n", flit(b, m->temp, 6));
}

/* ------------------------------------------------------------ report ---- */

typedef struct tally {
    int conf[K][K];
    int n, ok;
    /* reliability: 10 bins of confidence */
    int bn[10], bok[10];
    double bconf[10];
} tally;

static void tally_add(tally *t, int y, const double s[K], double T)
{
    int b = 0;
    for (int c = 1; c < K; c++)
        if (s[c] > s[b])
            b = c;
    double z = 0;
    for (int c = 0; c < K; c++)
        z += exp((s[c] - s[b]) / T);
    double p = 1 / z;
    t->conf[y][b]++;
    t->n++;
    t->ok += b == y;
    int bin = (int)(p * 10);
    if (bin > 9)
        bin = 9;
    t->bn[bin]++;
    t->bok[bin] += b == y;
    t->bconf[bin] += p;
}

static void tally_print(const tally *t, const char *what)
{
    printf("\n%s: %d/%d = %.3f\n%-11s %6s", what, t->ok, t->n, t->n ? (double)t->ok / t->n : 0,
           "truth\\got", "acc");
    for (int c = 0; c < K; c++)
        printf(" %5.5s", dname(c));
    printf("\n");
    for (int a = 0; a < K; a++) {
        int tot = 0;
        for (int c = 0; c < K; c++)
            tot += t->conf[a][c];
        printf("%-11s %6.3f", dname(a), tot ? (double)t->conf[a][a] / tot : 0);
        for (int c = 0; c < K; c++)
            printf(" %5d", t->conf[a][c]);
        printf("\n");
    }
    printf("reliability (confidence bin: images, mean confidence, accuracy):\n");
    for (int b = 0; b < 10; b++)
        if (t->bn[b])
            printf("  %.1f-%.1f: %4d  conf %.3f  acc %.3f\n", b / 10.0, (b + 1) / 10.0, t->bn[b],
                   t->bconf[b] / t->bn[b], (double)t->bok[b] / t->bn[b]);
}

/* ------------------------------------------------------------- main ---- */

static uint32_t hash32(const char *s, uint32_t seed)
{
    uint32_t h = 2166136261u ^ seed;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* Holds the input named prefix+names[j] (name: the k bytes at p) at zero
 * in every sample; false when there is none of that name. */
static bool drop_input(const char *p, size_t k, const char *prefix,
                       const char *const *names, int nn, bool text)
{
    size_t np = strlen(prefix);
    if (k <= np || strncmp(p, prefix, np))
        return false;
    for (int j = 0; j < nn; j++)
        if (strlen(names[j]) == k - np && !strncmp(p + np, names[j], k - np)) {
            for (int i = 0; i < N; i++)
                feat_of(&S[i], text)[j] = 0;
            return true;
        }
    return false;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s DUMP.tsv MANIFEST.tsv OUT.c [--report] [--no-stack]\n",
                argv[0]);
        return 2;
    }
    bool report = false, stack = true;
    for (int i = 4; i < argc; i++) {
        if (!strcmp(argv[i], "--report")) {
            report = true;
        } else if (!strcmp(argv[i], "--no-stack")) {
            stack = false;
        } else {
            fprintf(stderr, "dom_fit: unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }
    const char *cq = getenv("DOM_FIT_CLIP");
    if (cq)
        clip_q = atof(cq);
    mrow *m = NULL;
    int nm = read_manifest(argv[2], &m);
    if (nm < 0)
        return 1;
    S = calloc(MAXN, sizeof *S);
    if (read_dump(argv[1], m, nm) <= 0) {
        fprintf(stderr, "dom_fit: no samples joined from %s and %s\n", argv[1], argv[2]);
        return 1;
    }
    free(m);
    /* --no-stack: the hand-set model's scores (the last CAP_N_DOMAINS
     * visual features) held at zero, so that their weights fit to zero */
    if (!stack)
        for (int i = 0; i < N; i++)
            for (int j = DOM_NV - K; j < DOM_NV; j++)
                S[i].v[j] = 0;
    /* DOM_FIT_DROP=v_a,t_b: inputs held at zero (their weights fit to zero),
     * to measure what an input adds or costs */
    const char *drop = getenv("DOM_FIT_DROP");
    for (const char *p = drop; p && *p;) {
        const char *e = strchr(p, ',');
        size_t k = e ? (size_t)(e - p) : strlen(p);
        if (!drop_input(p, k, "v_", dom_vis_names, DOM_NV, false) &&
            !drop_input(p, k, "t_", dom_txt_names, DOM_NT, true)) {
            fprintf(stderr, "dom_fit: DOM_FIT_DROP: no input '%.*s'\n", (int)k, p);
            return 2;
        }
        fprintf(stderr, "dom_fit: input %.*s held at zero\n", (int)k, p);
        p = e ? e + 1 : p + k;
    }
    /* folds by package, from a fixed seed */
    for (int i = 0; i < N; i++)
        S[i].fold = (int)(hash32(S[i].pkg, 13u) % NFOLD);
    int *tr = malloc(sizeof(int) * (size_t)N), ntr = 0;
    int *tro = malloc(sizeof(int) * (size_t)N), ntro = 0;
    int ntrd[K] = {0}, nvad[K] = {0};
    for (int i = 0; i < N; i++) {
        if (S[i].split == 0) {
            tr[ntr++] = i;
            ntrd[S[i].y]++;
            if (S[i].ocr)
                tro[ntro++] = i;
        } else {
            nvad[S[i].y]++;
        }
    }
    fprintf(stderr, "dom_fit: %d images, %d train (%d with OCR), %d validation\n", N, ntr, ntro,
            N - ntr);
    for (int c = 0; c < K; c++)
        fprintf(stderr, "dom_fit:   %-10s train %4d  validation %4d\n", dname(c), ntrd[c],
                nvad[c]);
    static model pre, post;
    fit_model(&pre, false, tr, ntr, NULL);
    bool have_post = ntro >= 50;
    if (have_post) {
        float (*offs)[K] = calloc((size_t)ntro, sizeof *offs);
        for (int i = 0; i < ntro; i++) {
            double s[K];
            model_scores(&pre, S[tro[i]].v, NULL, s);
            for (int c = 0; c < K; c++)
                offs[i][c] = (float)s[c];
        }
        fit_model(&post, true, tro, ntro, offs);
        free(offs);
    }

    FILE *f = fopen(argv[3], "w");
    if (!f) {
        perror(argv[3]);
        return 1;
    }
    fprintf(f, "/* domain_model.c - GENERATED by captioner/tools/dom_fit.c: do not edit.\n"
               " * Regenerate: tests/eval/corpus/fit.sh (builds the corpus with\n"
               " * tests/eval/corpus/build.py, dumps its features with\n"
               " * tests/eval/domain_accuracy --dump, fits with dom_fit); see\n"
               " * tests/eval/corpus/README.md. Fitted on %d train images (%d with OCR)\n"
               " * of the corpus; validation (%d images of other packages) not used.\n"
               " * The hand-set model's visual scores are %s. */\n"
               "#include \"domain_model.h\"\n\n",
            ntr, ntro, N - ntr,
            stack ? "inputs (stacking)" : "not used (--no-stack: zero weights)");
    write_model(f, "dom_model_pre", &pre, "pre-OCR, visual features");
    if (have_post) {
        write_model(f, "dom_model_post", &post,
                    "post-OCR, text features added to the pre-OCR scores");
    } else {
        fprintf(f, "/* no post-OCR model: too few images with OCR */\n"
                   "const dom_lr dom_model_post = {.n = 0, .temp = 1};\n");
    }
    fclose(f);

    if (report) {
        tally tp = {0}, tq = {0}, ttr = {0};
        for (int i = 0; i < N; i++) {
            double s[K], s2[K];
            model_scores(&pre, S[i].v, NULL, s);
            if (S[i].split == 0) {
                tally_add(&ttr, S[i].y, s, pre.temp);
                continue;
            }
            tally_add(&tp, S[i].y, s, pre.temp);
            if (have_post && S[i].ocr) {
                float off[K];
                for (int c = 0; c < K; c++)
                    off[c] = (float)s[c];
                model_scores(&post, S[i].t, off, s2);
                tally_add(&tq, S[i].y, s2, post.temp);
            } else {
                tally_add(&tq, S[i].y, s, pre.temp);
            }
        }
        tally_print(&ttr, "train, pre-OCR model (fitted on these)");
        tally_print(&tp, "validation, pre-OCR model");
        tally_print(&tq, "validation, final decision (post-OCR model where OCR ran)");
    }
    free(tr);
    free(tro);
    free(S);
    return 0;
}
