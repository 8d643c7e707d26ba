/* object_eval.c - precision and recall of the objects a photo caption names,
 * on a hand-labelled sample (tests/eval/photo_objects.tsv: the corpus's
 * source photographs, each with the COCO classes present and those a
 * caption may name without being wrong). A measurement tool, not a test.
 *
 * usage: object_eval LABELS.tsv [--models DIR] [--verbose]
 * (LABELS.tsv from tests/eval/object_set.py, which gathers the photographs)
 *
 * Every photograph is described by the product's engine (OCR off; the
 * detector at threshold 0.2 so that higher cut-offs can be tried on the
 * same run). A class is "named" at cut-off t when its best box scores >= t.
 * Per split (train / val, the corpus split of the package; check, outside
 * the corpus and never fitted on) and for each
 * cut-off it prints: classes named, how many are wrong (neither present nor
 * acceptable), precision, and recall of the present classes, and per class
 * wrong/named. Then what captioner/compose.c's CO_OBJ_CUT and
 * CO_ANIMAL_SPECIES hold, fitted on the train rows: the species cut-off
 * (below it an animal class is named "an animal", right where the
 * photograph shows one: the lowest cut-off where the animal classes are
 * right 0.85 of the time), then per class, with that rule, the lowest
 * cut-off where a class named 3+ times at 0.5 is right 0.85 of the time
 * (0.8 where none is; the others 0.5); and precision and recall of the
 * rules on every split. --verbose prints each photograph's classes and scores beside its
 * labels. */
#include "captioner.h"
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NCUT = 6, MAXCLS = 80 };
/* COCO's animal supercategory, classes 14 (bird) to 23 (giraffe), as
 * compose.c's coco_supers lists it */
static const char *const ANIMALS[] = {"bird",     "cat",  "dog",  "horse", "sheep",
                                      "cow",      "elephant", "bear", "zebra", "giraffe"};
static bool is_animal_cls(int c) { return c >= 14 && c < 14 + 10; }
static const float cut[NCUT] = {0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f};

typedef struct tally {
    int named[NCUT], wrong[NCUT], found[NCUT];
    int present, photos;
    int wrong_by_cls[MAXCLS][NCUT], named_by_cls[MAXCLS][NCUT];
} tally;

/* is label one of the comma-separated names in list ("-" for none)? */
/* per photo: best score and verdict (0 wrong, 1 acceptable, 2 present) per class */
typedef struct shot {
    int split;
    float best[MAXCLS];
    signed char verdict[MAXCLS];
    int present;
    bool has_animal; /* an animal is in the photograph ("animal" or a COCO animal labelled) */
} shot;
static shot *shots;
static int nshots;

static bool in_list(const char *list, const char *label)
{
    size_t n = strlen(label);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t k = e ? (size_t)(e - p) : strlen(p);
        if (k == n && !strncmp(p, label, n))
            return true;
        if (!e)
            break;
        p = e + 1;
    }
    return false;
}

static int count_list(const char *list)
{
    if (!strcmp(list, "-") || !*list)
        return 0;
    int n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s LABELS.tsv [--models DIR] [--verbose]\n", argv[0]);
        return 2;
    }
    const char *models = getenv("OMNIDEX_MODELS");
    bool verbose = false;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--models") && i + 1 < argc)
            models = argv[++i];
        else if (!strcmp(argv[i], "--verbose"))
            verbose = true;
        else {
            fprintf(stderr, "object_eval: unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    cap_config cfg = cap_config_default();
    cfg.models_dir = models;
    cfg.ocr = false;
    cfg.det_threshold = 0.2f;
    cap_engine *eng = NULL;
    cap_worker *w = NULL;
    odx_err err = {0};
    if (cap_engine_new(&cfg, &eng, &err) != ODX_OK || cap_worker_new(eng, &w, &err) != ODX_OK) {
        fprintf(stderr, "object_eval: %s\n", err.msg);
        return 1;
    }
    if (!cap_engine_has_detector(eng)) {
        fprintf(stderr, "object_eval: no detector model in %s\n", models ? models : "(unset)");
        return 1;
    }
    static tally T[3];
    static const char *label_of[MAXCLS];
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (line[0] == '#' || !strncmp(line, "package\t", 8) || !line[0])
            continue;
        char *col[5] = {0};
        int nc = 0;
        for (char *p = line, *t; nc < 5 && (t = strsep(&p, "\t"));)
            col[nc++] = t;
        if (nc < 5) {
            fprintf(stderr, "object_eval: short row '%s'\n", col[0]);
            continue;
        }
        int split = !strcmp(col[2], "val") ? 1 : !strcmp(col[2], "check") ? 2 : 0;
        tally *t = &T[split];
        uint8_t *data = NULL;
        size_t len = 0;
        cap_desc *d = NULL;
        if (core_read_file(col[1], 256 << 20, &data, &len, &err) != ODX_OK ||
            cap_describe(w, data, len, col[1], &d, &err) != ODX_OK) {
            fprintf(stderr, "object_eval: %s: %s\n", col[1], err.msg);
            free(data);
            continue;
        }
        /* best score per class */
        float best[MAXCLS] = {0};
        for (int i = 0; i < d->n_objects; i++) {
            const cap_object *o = &d->objects[i];
            if (o->cls >= 0 && o->cls < MAXCLS && o->score > best[o->cls]) {
                best[o->cls] = o->score;
                label_of[o->cls] = o->label;
            }
        }
        t->photos++;
        int np = count_list(col[3]);
        shots = realloc(shots, sizeof *shots * (size_t)(nshots + 1));
        shot *sh = &shots[nshots++];
        memset(sh, 0, sizeof *sh);
        sh->split = split;
        sh->present = np;
        sh->has_animal = in_list(col[4], "animal");
        for (int a = 0; a < 10; a++)
            sh->has_animal |= in_list(col[3], ANIMALS[a]) || in_list(col[4], ANIMALS[a]);
        t->present += np;
        if (verbose)
            printf("%-5s %-34.34s %-10s present %s; acceptable %s; named:", col[2],
                   strrchr(col[1], '/') ? strrchr(col[1], '/') + 1 : col[1],
                   cap_domain_name(d->domain), col[3], col[4]);
        for (int c = 0; c < MAXCLS; c++) {
            if (best[c] <= 0)
                continue;
            bool pres = in_list(col[3], label_of[c]);
            bool ok = pres || in_list(col[4], label_of[c]);
            sh->best[c] = best[c];
            sh->verdict[c] = pres ? 2 : ok ? 1 : 0;
            if (verbose)
                printf(" %s %.2f%s", label_of[c], best[c], ok ? "" : " (wrong)");
            for (int k = 0; k < NCUT; k++) {
                if (best[c] < cut[k])
                    continue;
                t->named[k]++;
                t->wrong[k] += !ok;
                t->wrong_by_cls[c][k] += !ok;
                t->named_by_cls[c][k]++;
                t->found[k] += pres;
            }
        }
        if (verbose)
            printf("\n");
        cap_desc_free(d);
        free(data);
    }
    fclose(f);
    static const char *const split_name[3] = {"train", "val", "check"};
    for (int s = 0; s < 3; s++) {
        tally *t = &T[s];
        if (!t->photos)
            continue;
        printf("%s: %d photographs, %d present classes\n", split_name[s], t->photos,
               t->present);
        printf("  cut-off  named  wrong  precision  recall\n");
        for (int k = 0; k < NCUT; k++)
            printf("  %.1f      %5d  %5d  %9.3f  %6.3f\n", cut[k], t->named[k], t->wrong[k],
                   t->named[k] ? 1.0 - (double)t->wrong[k] / t->named[k] : 1.0,
                   t->present ? (double)t->found[k] / t->present : 0);
        printf("  by class, wrong/named at each cut-off:\n");
        for (int c = 0; c < MAXCLS; c++) {
            if (!t->named_by_cls[c][0])
                continue;
            printf("    %-14s", label_of[c]);
            for (int k = 0; k < NCUT; k++)
                printf(" %2d/%-2d", t->wrong_by_cls[c][k], t->named_by_cls[c][k]);
            printf("\n");
        }
    }
    /* The animal rule: an animal class (COCO's supercategory) below the
     * species cut-off is named as "an animal", right where the photograph
     * shows one. The species cut-off: the lowest where the train rows'
     * animal-class mentions are right 0.85 of the time, pooled. */
    int sk = 2;
    for (; sk < NCUT; sk++) {
        int named = 0, wrong = 0;
        for (int i = 0; i < nshots; i++)
            for (int c = 0; c < MAXCLS && !shots[i].split; c++)
                if (is_animal_cls(c) && shots[i].best[c] >= cut[sk]) {
                    named++;
                    wrong += shots[i].verdict[c] == 0;
                }
        if (!named || wrong <= 0.15 * named)
            break;
    }
    float species = sk < NCUT ? cut[sk] : 0.8f;
    /* per-class cut-offs on train, with the animal rule */
    float cls_cut[MAXCLS];
    printf("fitted on train: animal classes named by species from %.1f, as \"an animal\" "
           "below; cut-offs 0.5 for every class but", species);
    for (int c = 0; c < MAXCLS; c++) {
        cls_cut[c] = 0.5f;
        int k = 2;
        for (; k < NCUT; k++) {
            int named = 0, wrong = 0;
            for (int i = 0; i < nshots; i++) {
                if (shots[i].split || shots[i].best[c] < cut[k])
                    continue;
                named++;
                bool animal_word = is_animal_cls(c) && shots[i].best[c] < species;
                wrong += animal_word ? !shots[i].has_animal : shots[i].verdict[c] == 0;
            }
            if (named < 3 && k == 2)
                break; /* too few to fit: the default */
            if (!named || wrong <= 0.15 * named)
                break;
        }
        cls_cut[c] = k < NCUT ? cut[k] : 0.8f;
        if (cls_cut[c] > 0.5f)
            printf(" %s %.1f", label_of[c] ? label_of[c] : "?", cls_cut[c]);
    }
    printf("\n");
    for (int rule = 0; rule < 2; rule++) {
        printf("  %s:\n", rule ? "these cut-offs and the animal rule"
                               : "these cut-offs, species always");
        for (int s = 0; s < 3; s++) {
            if (!T[s].photos)
                continue;
            int named = 0, wrong = 0, found = 0, present = 0;
            for (int i = 0; i < nshots; i++) {
                if (shots[i].split != s)
                    continue;
                present += shots[i].present;
                bool animal_named = false;
                for (int c = 0; c < MAXCLS; c++) {
                    if (shots[i].best[c] < cls_cut[c])
                        continue;
                    if (rule && is_animal_cls(c) && shots[i].best[c] < species) {
                        animal_named = true; /* one "animal" mention a photograph */
                        continue;
                    }
                    named++;
                    wrong += shots[i].verdict[c] == 0;
                    found += shots[i].verdict[c] == 2;
                }
                if (animal_named) {
                    named++;
                    wrong += !shots[i].has_animal;
                }
            }
            printf("    %-5s named %d, wrong %d, precision %.3f, recall %.3f\n", split_name[s],
                   named, wrong, named ? 1.0 - (double)wrong / named : 1.0,
                   present ? (double)found / present : 0);
        }
    }
    free(shots);
    cap_worker_free(w);
    cap_engine_free(eng);
    return 0;
}
