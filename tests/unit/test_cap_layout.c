/* test_cap_layout.c - reading order across columns (layout.c): a
 * two-column page reads down each column, a form, a table and a
 * one-column page keep their rows, and cap_layout_text rejoins the text
 * only where it should. */
#include "captioner_int.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cap_text_line L(int x, int y, int w, int h)
{
    return (cap_text_line){.x = x, .y = y, .w = w, .h = h, .conf = 90};
}

/* a title across the page, then two columns of 10 lines each whose rows
 * line up (the hard case for row order); the last line of a paragraph is
 * short */
static int two_columns(cap_text_line *v)
{
    int n = 0;
    v[n++] = L(60, 20, 880, 30);
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < 10; i++)
            v[n++] = L(c ? 530 : 60, 90 + 30 * i, i == 4 ? 200 : 410, 20);
    return n;
}

static void test_columns(void)
{
    cap_text_line v[32];
    int n = two_columns(v), order[32], block[32];
    int blocks = cap_layout_order(v, n, order, block);
    CHECK_MSG(blocks >= 2, "%d blocks", blocks);
    bool ok = true;
    for (int i = 0; i < n; i++)
        ok &= order[i] == i; /* title, left column, right column */
    CHECK(ok);
    CHECK(block[1] && block[11]);
    /* the same page as boxes in row order gives the same reading order */
    cap_text_line r[32];
    int m = 0;
    r[m++] = v[0];
    for (int i = 0; i < 10; i++)
        r[m++] = v[1 + i], r[m++] = v[11 + i];
    cap_layout_order(r, m, order, block);
    CHECK(order[1] == 1 && order[2] == 3 && order[10] == 19 && order[11] == 2);
    /* the detector joined a line to its neighbour across the gutter: the
     * columns stay (the joined box reads with the left one) */
    n = two_columns(v);
    v[6].w = 880; /* left line 5 now reaches over the right column's */
    for (int j = 16; j + 1 < n; j++) /* its right neighbour is gone */
        v[j] = v[j + 1];
    n--;
    blocks = cap_layout_order(v, n, order, block);
    CHECK_MSG(blocks >= 2, "%d blocks", blocks);
    ok = true;
    for (int i = 0; i < n; i++)
        ok &= order[i] == i;
    CHECK(ok);
}

static void test_rows_kept(void)
{
    int order[64], block[64];
    cap_text_line v_all[32];
    /* a form: short labels left, values right */
    cap_text_line f[16];
    int n = 0;
    for (int i = 0; i < 8; i++) {
        f[n++] = L(40, 40 + 30 * i, 90 + 7 * i, 20);
        f[n++] = L(300, 40 + 30 * i, 150 + 40 * (i % 3), 20);
    }
    CHECK(cap_layout_order(f, n, order, block) == 1);
    /* a table of numbers: narrow columns */
    cap_text_line t[40];
    n = 0;
    for (int i = 0; i < 8; i++)
        for (int c = 0; c < 4; c++)
            t[n++] = L(40 + 200 * c, 40 + 30 * i, 60, 20);
    CHECK(cap_layout_order(t, n, order, block) == 1);
    for (int i = 0; i < n; i++) /* rows, left to right */
        CHECK(order[i] == i);
    /* one column of prose with a short last line */
    cap_text_line p[10];
    for (int i = 0; i < 10; i++)
        p[i] = L(50, 50 + 28 * i, i == 9 ? 120 : 700, 20);
    CHECK(cap_layout_order(p, 10, order, block) == 1);
    CHECK(cap_layout_order(NULL, 3, order, block) == 0);
    cap_text_line z[8];
    two_columns(v_all);
    for (int i = 0; i < 8; i++)
        z[i] = v_all[i < 4 ? 1 + i : 7 + i];
    z[5].w = -40; /* a box without a size: read as given */
    CHECK(cap_layout_order(z, 8, order, block) == 1);
    CHECK(order[0] == 0 && order[7] == 7);
    CHECK(cap_layout_order(p, 0, order, block) == 0);
}

static void test_text(void)
{
    cap_desc d = {0};
    cap_text_line v[32];
    d.n_lines = two_columns(v);
    d.lines = calloc((size_t)d.n_lines, sizeof *d.lines);
    for (int i = 0; i < d.n_lines; i++) {
        char b[16];
        snprintf(b, sizeof b, i == 0 ? "T" : "%c%d", i <= 10 ? 'L' : 'R', (i - 1) % 10);
        d.lines[i] = v[i];
        d.lines[i].text = strdup(b);
    }
    d.text = strdup("row order");
    d.domain = CAP_DOCUMENT;
    cap_layout_text(&d); /* not from boxes: Tesseract's own order stays */
    CHECK_STR(d.text, "row order");
    d.text_boxes = true;
    d.domain = CAP_TABLE;
    cap_layout_text(&d); /* a table keeps its rows */
    CHECK_STR(d.text, "row order");
    d.domain = CAP_DOCUMENT;
    cap_layout_text(&d);
    CHECK(strncmp(d.text, "T\nL0\nL1\n", 8) == 0);
    CHECK(strstr(d.text, "L9\nR0\nR1") != NULL);
    for (int i = 0; i < d.n_lines; i++)
        free(d.lines[i].text);
    free(d.lines);
    free(d.text);
    /* a row of two boxes in one column is joined by two spaces */
    cap_desc e = {.domain = CAP_POSTER, .text_boxes = true};
    e.n_lines = two_columns(v);
    e.lines = calloc((size_t)e.n_lines + 1, sizeof *e.lines);
    for (int i = 0; i < e.n_lines; i++) {
        char b[16];
        snprintf(b, sizeof b, i == 0 ? "T" : "%c%d", i <= 10 ? 'L' : 'R', (i - 1) % 10);
        e.lines[i] = v[i];
        e.lines[i].text = strdup(b);
    }
    e.lines[2].w = 180;
    e.lines[e.n_lines] = L(260, e.lines[2].y, 210, 20);
    e.lines[e.n_lines++].text = strdup("L1b");
    e.text = strdup("x");
    cap_layout_text(&e);
    CHECK_MSG(strstr(e.text, "L0\nL1  L1b\nL2") != NULL, "%s", e.text);
    for (int i = 0; i < e.n_lines; i++)
        free(e.lines[i].text);
    free(e.lines);
    free(e.text);
}

/* any boxes at all: the order is a permutation (each line once) */
static void test_permutation(void)
{
    enum { N = 4000 };
    static cap_text_line v[N];
    static int order[N], block[N], seen[N];
    unsigned r = 12345;
    for (int round = 0; round < 4; round++) {
        int n = round == 3 ? N : 50 + 300 * round;
        for (int i = 0; i < n; i++) {
            r = r * 1103515245u + 12345u;
            int x = (int)(r >> 8) % 3000;
            r = r * 1103515245u + 12345u;
            int y = (int)(r >> 8) % 4000;
            r = r * 1103515245u + 12345u;
            v[i] = L(x, y, 1 + (int)(r >> 8) % 900, 8 + (int)(r >> 20) % 30);
        }
        int b = cap_layout_order(v, n, order, block);
        memset(seen, 0, sizeof seen);
        bool perm = b >= 1;
        for (int i = 0; i < n; i++)
            perm &= order[i] >= 0 && order[i] < n && !seen[order[i]]++;
        CHECK_MSG(perm, "round %d: not a permutation", round);
    }
}

int main(void)
{
    test_permutation();
    test_columns();
    test_rows_kept();
    test_text();
    return check_result("test_cap_layout");
}
