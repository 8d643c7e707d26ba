/* set.c - an open-addressing set of 64-bit keys: the walker's visited
 * directories and the runner's seen paths / contents done this run. At 8
 * bytes a key it keeps a million-file run small. */
#include "indexer.h"

#include <stdlib.h>

/* 0 marks an empty slot, so key 0 is stored as 1 (a 2^-64 collision). */
static uint64_t fix(uint64_t k) { return k ? k : 1; }

static bool set_insert(uint64_t *slots, size_t cap, uint64_t k)
{
    size_t i = (size_t)(k * 0x9e3779b97f4a7c15ULL) & (cap - 1);
    while (slots[i]) {
        if (slots[i] == k)
            return false;
        i = (i + 1) & (cap - 1);
    }
    slots[i] = k;
    return true;
}

bool idx_set_add(idx_set *s, uint64_t k)
{
    k = fix(k);
    if ((s->n + 1) * 2 > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 1024;
        uint64_t *ns = calloc(nc, sizeof *ns);
        if (!ns)
            return !idx_set_has(s, k);
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i])
                set_insert(ns, nc, s->slots[i]);
        free(s->slots);
        s->slots = ns;
        s->cap = nc;
    }
    bool added = set_insert(s->slots, s->cap, k);
    if (added)
        s->n++;
    return added;
}

bool idx_set_has(const idx_set *s, uint64_t k)
{
    if (!s->cap)
        return false;
    k = fix(k);
    size_t i = (size_t)(k * 0x9e3779b97f4a7c15ULL) & (s->cap - 1);
    while (s->slots[i]) {
        if (s->slots[i] == k)
            return true;
        i = (i + 1) & (s->cap - 1);
    }
    return false;
}

void idx_set_free(idx_set *s)
{
    if (!s)
        return;
    free(s->slots);
    s->slots = NULL;
    s->cap = s->n = 0;
}
