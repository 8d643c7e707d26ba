/* bench_words.c - cost of query analysis with the concept layer: times
 * emb_query_parse + emb_query_fts + emb_embed per query over a fixed list
 * (words the lexicon has, words only WordNet/CLDR/Unihan know, phrases).
 * Not a test: prints JSON. Run it twice, with and without ODX_WORDS_OFF=1,
 * for the layer's share. Usage: bench_words [--rounds R] */
#include "embedder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const QUERIES[] = {
    "bar chart of rainfall", "a dog on the beach", "hedgehog", "ostrich in the desert",
    "pelecaniform seabird", "wall clock", "violin and trumpet", "kettle on a stove",
    "red motorcycle parked in a garage", "snow covered trees in winter", "刺猬", "鸵鸟",
    "宇航员", "火箭发射", "一只猫在沙发上", "柱状图", "table of population by state",
    "mushrooms and pumpkins in autumn", "哺乳动物", "stethoscope"};
#define N_Q (int)(sizeof QUERIES / sizeof QUERIES[0])

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int rounds = 200;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_words [--rounds R]\n");
            return 2;
        }
    }
    if (rounds < 1)
        rounds = 1;
    static float v[EMB_DIM];
    /* first call loads the tables: timed apart */
    double t0 = now_us();
    emb_query q;
    if (emb_query_parse("warm up", &q, NULL) == ODX_OK)
        emb_query_free(&q);
    emb_embed("warm up", 7, v);
    double first_us = now_us() - t0;
    double *lat = malloc(sizeof *lat * (size_t)rounds * N_Q);
    if (!lat)
        return 1;
    long terms = 0;
    int n = 0;
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < N_Q; i++) {
            double a = now_us();
            if (emb_query_parse(QUERIES[i], &q, NULL) != ODX_OK)
                continue;
            char *fts = emb_query_fts(&q);
            emb_embed(QUERIES[i], strlen(QUERIES[i]), v);
            lat[n++] = now_us() - a;
            if (r == 0)
                for (int g = 0; g < q.n_groups; g++)
                    terms += q.groups[g].n_terms;
            free(fts);
            emb_query_free(&q);
        }
    qsort(lat, (size_t)n, sizeof *lat, cmp);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += lat[i];
    const char *off = getenv("ODX_WORDS_OFF");
    printf("{\"bench\": \"words\", \"embedder\": \"%s\", \"words_off\": %s, \"queries\": %d, "
           "\"rounds\": %d, \"first_call_us\": %.0f, \"terms_per_query\": %.1f, "
           "\"p50_us\": %.1f, \"p99_us\": %.1f, \"mean_us\": %.1f}\n",
           emb_model_id(), off && strcmp(off, "0") != 0 ? "true" : "false", N_Q, rounds,
           first_us, (double)terms / N_Q, lat[n / 2], lat[(n * 99) / 100], sum / n);
    free(lat);
    return 0;
}
