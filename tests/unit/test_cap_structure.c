/* test_cap_structure.c - structure reading on synthetic OCR lines (and a
 * synthetic chart image): table rows/columns, Markdown shape and row
 * sentences; chart title, axes, ticks and bar count; document title and
 * columns; screenshot controls. */
#include "captioner_int.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

static void add_line(cap_desc *d, const char *t, int x, int y, int w, int h)
{
    d->lines = realloc(d->lines, sizeof *d->lines * (size_t)(d->n_lines + 1));
    d->lines[d->n_lines++] = (cap_text_line){strdup(t), 90.0f, x, y, w, h};
}

static cap_desc *new_desc(cap_domain dom, int w, int h)
{
    cap_desc *d = calloc(1, sizeof *d);
    d->domain = dom;
    d->domain_conf = 0.9f;
    d->width = w;
    d->height = h;
    d->ocr_ran = true;
    return d;
}

static int count_char(const char *s, char c)
{
    int n = 0;
    for (; s && *s; s++)
        n += *s == c;
    return n;
}

static void test_table(void)
{
    cap_desc *d = new_desc(CAP_TABLE, 600, 400);
    add_line(d, "World cities sample", 150, 10, 300, 24);
    /* header + 4 rows, 3 columns at x = 20, 220, 420; rows 40 px apart */
    const char *cells[5][3] = {{"City", "Country", "People"},
                               {"Lisbon", "Portugal", "545000"},
                               {"Oslo", "Norway", "709000"},
                               {"Tunis", "Tunisia", "638000"},
                               {"Lima", "Peru", "9750000"}};
    for (int r = 0; r < 5; r++)
        for (int c = 0; c < 3; c++)
            add_line(d, cells[r][c], 20 + 200 * c + (c == 2 ? 10 : 0), 60 + 40 * r,
                     60 + 8 * (int)strlen(cells[r][c]), 16);
    /* a wrapped second line of the Lima country cell: continues the row */
    add_line(d, "(Republic)", 220, 60 + 40 * 4 + 18, 90, 16);
    cap_structure(d, NULL);
    CHECK_MSG(d->n_cols == 3, "cols %d", d->n_cols);
    CHECK_MSG(d->n_rows == 4, "rows %d", d->n_rows);
    CHECK(d->table_md != NULL);
    if (d->table_md) {
        /* header, separator, 4 data rows; 4 pipes per row */
        int nl = count_char(d->table_md, '\n') + 1;
        CHECK_MSG(nl == 6, "md lines %d:\n%s", nl, d->table_md);
        CHECK_MSG(count_char(d->table_md, '|') == 6 * 4, "pipes in\n%s", d->table_md);
        CHECK(strncmp(d->table_md, "| City | Country | People |\n| --- | --- | --- |", 46) == 0);
        CHECK(strstr(d->table_md, "| Oslo | Norway | 709000 |") != NULL);
        CHECK(strstr(d->table_md, "Peru (Republic)") != NULL);
    }
    CHECK(d->row_sentences != NULL);
    if (d->row_sentences && d->n_rows >= 1)
        CHECK_STR(d->row_sentences[0], "City: Lisbon; Country: Portugal; People: 545000");
    CHECK(d->title && strcmp(d->title, "World cities sample") == 0);
    cap_desc_free(d);

    /* one column of text is not a table */
    d = new_desc(CAP_TABLE, 600, 400);
    for (int r = 0; r < 6; r++)
        add_line(d, "just a line of prose here", 20, 20 + 30 * r, 300, 16);
    cap_structure(d, NULL);
    CHECK(d->table_md == NULL);
    CHECK(d->n_cols == 0 && d->n_rows == 0);
    cap_desc_free(d);
}

/* A bar chart's lines on test_chart's image: the value ticks (third_tick:
 * "0" at the axis, or a stray "7" off the line) and three season labels
 * under the first three bars. */
static cap_desc *bar_desc(int W, int H, const char *third_tick, int third_y)
{
    cap_desc *d = new_desc(CAP_CHART, W, H);
    strcpy(d->chart_type, "bar");
    add_line(d, "200", 20, 45, 24, 10);
    add_line(d, "100", 20, 145, 24, 10);
    add_line(d, third_tick, 32, third_y, 12, 10);
    add_line(d, "Spring", 80, 256, 40, 10);
    add_line(d, "Summer", 155, 256, 45, 10);
    add_line(d, "Autumn", 230, 256, 45, 10);
    return d;
}

/* a 400x300 white chart: axes at x=50 / y=250, four coloured bars */
static void test_chart(void)
{
    int W = 400, H = 300;
    cap_image im = {W, H, malloc((size_t)W * H * 3)};
    memset(im.rgb, 255, (size_t)W * H * 3);
    for (int x = 50; x < 390; x++)
        for (int t = 0; t < 2; t++)
            memset(im.rgb + 3 * ((size_t)(250 + t) * W + x), 0, 3);
    for (int y = 20; y < 252; y++)
        for (int t = 0; t < 2; t++)
            memset(im.rgb + 3 * ((size_t)y * W + 50 + t), 0, 3);
    int heights[4] = {120, 200, 80, 160};
    for (int b = 0; b < 4; b++)
        for (int y = 250 - heights[b]; y < 250; y++)
            for (int x = 80 + 75 * b; x < 120 + 75 * b; x++) {
                uint8_t *p = im.rgb + 3 * ((size_t)y * W + x);
                p[0] = 60, p[1] = 110, p[2] = 200;
            }
    cap_desc *d = new_desc(CAP_CHART, W, H);
    strcpy(d->chart_type, "bar");
    add_line(d, "Rainfall by season", 120, 2, 160, 16);
    add_line(d, "200", 20, 45, 24, 10);
    add_line(d, "100", 20, 145, 24, 10);
    add_line(d, "0", 32, 245, 12, 10);
    add_line(d, "Spring", 80, 256, 40, 10);
    add_line(d, "Summer", 155, 256, 45, 10);
    add_line(d, "Autumn", 230, 256, 45, 10);
    add_line(d, "Season", 190, 280, 45, 12);
    add_line(d, "Rain (mm)", 2, 100, 12, 70); /* rotated: tall box */
    cap_structure(d, &im);
    CHECK(d->title && strcmp(d->title, "Rainfall by season") == 0);
    CHECK(d->x_label && strcmp(d->x_label, "Season") == 0);
    CHECK(d->y_label && strcmp(d->y_label, "Rain (mm)") == 0);
    CHECK_MSG(d->n_bars == 4, "bars %d", d->n_bars);
    bool t100 = false, spring = false;
    for (int i = 0; i < d->n_ticks; i++) {
        t100 |= strcmp(d->ticks[i], "100") == 0;
        spring |= strcmp(d->ticks[i], "Spring") == 0;
    }
    CHECK(t100);
    CHECK(spring);
    /* values read off the bars on the axis fitted to 0/100/200: the three
     * labelled bars, 120, 200 and 80 px tall at a pixel a unit */
    CHECK_MSG(d->n_values == 3, "values %d", d->n_values);
    if (d->n_values == 3) {
        CHECK_STR(d->values[0], "Spring: 120");
        CHECK_STR(d->values[1], "Summer: 200");
        CHECK_STR(d->values[2], "Autumn: 80");
    }
    CHECK(d->values_estimated);
    cap_desc_free(d);

    /* a number printed on top of a bar wins over the reading */
    d = bar_desc(W, H, "0", 245);
    add_line(d, "Winter", 305, 256, 45, 10);
    add_line(d, "118.5", 85, 116, 30, 10); /* just above the 120 px bar (top y 130) */
    cap_structure(d, &im);
    CHECK_MSG(d->n_values == 4, "values %d", d->n_values);
    if (d->n_values == 4) {
        CHECK_STR(d->values[0], "Spring: 118.5");
        CHECK_STR(d->values[3], "Winter: 160");
    }
    cap_desc_free(d);

    /* ticks off a straight line (a log axis misread, a stray number): no
     * axis fit, no values */
    d = bar_desc(W, H, "7", 200);
    cap_structure(d, &im);
    CHECK_MSG(d->n_values == 0, "values %d", d->n_values);
    cap_desc_free(d);

    /* two series in a legend: which bar a label names is unclear */
    d = bar_desc(W, H, "0", 245);
    add_line(d, "Rainfall by season", 120, 2, 160, 16);
    add_line(d, "North", 300, 30, 40, 10);
    add_line(d, "South", 300, 45, 40, 10);
    cap_structure(d, &im);
    CHECK_MSG(d->n_values == 0, "values %d", d->n_values);
    cap_desc_free(d);
    free(im.rgb);
}

/* a pie laid out like matplotlib's (labels outside, shares inside each
 * slice; samples/pie_fruit_zh.png's positions): every label gets the share
 * printed in its own slice, not the nearest one */
static void test_pie_values(void)
{
    cap_desc *d = new_desc(CAP_CHART, 600, 600);
    strcpy(d->chart_type, "pie");
    add_line(d, "水果销量占比", 258, 48, 100, 20);
    add_line(d, "苹果", 338, 92, 30, 16);
    add_line(d, "44%", 308, 184, 34, 16);
    add_line(d, "10%", 396, 329, 34, 16);
    add_line(d, "葡萄", 500, 357, 30, 16);
    add_line(d, "25%", 191, 344, 34, 16);
    add_line(d, "香蕉", 97, 386, 30, 16);
    add_line(d, "20%", 324, 400, 34, 16);
    add_line(d, "橙子", 370, 487, 30, 16);
    cap_structure(d, NULL);
    CHECK(d->title && strcmp(d->title, "水果销量占比") == 0);
    CHECK_MSG(d->n_values == 4, "values %d", d->n_values);
    if (d->n_values == 4) {
        CHECK_STR(d->values[0], "苹果: 44%");
        CHECK_STR(d->values[1], "葡萄: 10%");
        CHECK_STR(d->values[2], "香蕉: 25%");
        CHECK_STR(d->values[3], "橙子: 20%");
    }
    CHECK(!d->values_estimated);
    odx_err err = {0};
    CHECK(cap_compose(d, &err) == ODX_OK);
    CHECK(d->caption[CAP_DETAILED][CAP_EN] &&
          strstr(d->caption[CAP_DETAILED][CAP_EN], "Slices: 苹果 44%, 葡萄 10%, 香蕉 25%, 橙子 20%."));
    CHECK(d->caption[CAP_DETAILED][CAP_ZH] &&
          strstr(d->caption[CAP_DETAILED][CAP_ZH], "扇区：苹果 44%、葡萄 10%"));
    cap_desc_free(d);

    /* a label longer than a value keeps (80 bytes) is cut on a whole
     * character: 27 Han characters are 81 bytes */
    d = new_desc(CAP_CHART, 600, 600);
    strcpy(d->chart_type, "pie");
    add_line(d, "苹果香蕉橙子葡萄苹果香蕉橙子葡萄苹果香蕉橙子葡萄苹果香蕉", 200, 130, 300, 16);
    add_line(d, "60%", 330, 220, 34, 16);
    add_line(d, "葡萄", 300, 540, 30, 16);
    add_line(d, "40%", 330, 400, 34, 16);
    cap_structure(d, NULL);
    CHECK_MSG(d->n_values == 2, "values %d", d->n_values);
    for (int i = 0; i < d->n_values; i++)
        CHECK_MSG(core_utf8_valid(d->values[i], strlen(d->values[i])), "'%s'", d->values[i]);
    if (d->n_values == 2)
        CHECK(strlen(d->values[0]) == 78 + strlen(": 60%"));
    cap_desc_free(d);

    /* a legend box beside the pie, not labels on it: nothing is paired
     * (each legend entry is no farther out than some share) */
    d = new_desc(CAP_CHART, 600, 400);
    strcpy(d->chart_type, "pie");
    add_line(d, "44%", 150, 120, 34, 16);
    add_line(d, "25%", 100, 250, 34, 16);
    add_line(d, "20%", 220, 260, 34, 16);
    add_line(d, "Apples", 480, 150, 50, 16);
    add_line(d, "Bananas", 480, 175, 60, 16);
    add_line(d, "Pears", 480, 200, 45, 16);
    cap_structure(d, NULL);
    CHECK_MSG(d->n_values <= 1, "values %d", d->n_values);
    cap_desc_free(d);
}

static void test_document(void)
{
    cap_desc *d = new_desc(CAP_DOCUMENT, 800, 1000);
    add_line(d, "page 3", 700, 10, 50, 12);
    add_line(d, "Installing the system", 60, 60, 400, 30);
    for (int r = 0; r < 10; r++) {
        add_line(d, "left column text goes on here", 60, 120 + 20 * r, 320, 14);
        add_line(d, "right column text goes on too", 430, 120 + 20 * r, 320, 14);
    }
    cap_structure(d, NULL);
    CHECK(d->title && strcmp(d->title, "Installing the system") == 0);
    CHECK_MSG(d->n_text_columns == 2, "columns %d", d->n_text_columns);
    CHECK(d->lead && strncmp(d->lead, "left column", 11) == 0);
    CHECK(d->lead && strlen(d->lead) <= 310);
    cap_desc_free(d);

    d = new_desc(CAP_DOCUMENT, 800, 1000);
    for (int r = 0; r < 10; r++)
        add_line(d, "a single wide column of body text that spans the page", 60,
                 60 + 20 * r, 680, 14);
    cap_structure(d, NULL);
    CHECK(d->n_text_columns == 1);
    cap_desc_free(d);
}

static void test_screenshot(void)
{
    cap_desc *d = new_desc(CAP_SCREENSHOT, 1000, 700);
    add_line(d, "Package Manager", 420, 4, 160, 14);
    add_line(d, "File", 10, 30, 30, 12);
    add_line(d, "Edit", 50, 30, 30, 12);
    add_line(d, "Cancel", 800, 660, 60, 14);
    add_line(d, "this is a long sentence of body text in the window", 100, 300, 500, 14);
    cap_structure(d, NULL);
    CHECK(d->title && strcmp(d->title, "Package Manager") == 0);
    bool file = false, cancel = false, body = false;
    for (int i = 0; i < d->n_ui_words; i++) {
        file |= strcmp(d->ui_words[i], "File") == 0;
        cancel |= strcmp(d->ui_words[i], "Cancel") == 0;
        body |= strcmp(d->ui_words[i], "sentence") == 0;
    }
    CHECK(file && cancel);
    CHECK(!body);
    cap_desc_free(d);
}

/* posters and diagrams: the largest line that reads like a title */
static void test_biggest_title(void)
{
    cap_desc *d = new_desc(CAP_DIAGRAM, 600, 400);
    add_line(d, "CD", 250, 10, 80, 60);          /* tallest, two letters: no title */
    add_line(d, "Intermediary", 40, 200, 120, 20);
    add_line(d, "Server", 400, 200, 70, 24);
    cap_structure(d, NULL);
    CHECK(d->title && strcmp(d->title, "Server") == 0);
    cap_desc_free(d);

    d = new_desc(CAP_POSTER, 600, 400);
    add_line(d, "WELCOME", 100, 40, 400, 80);
    add_line(d, "to the fair", 200, 300, 200, 20);
    d->lines[0].conf = 50; /* unsure: not named as the title */
    cap_structure(d, NULL);
    CHECK(d->title && strcmp(d->title, "to the fair") == 0);
    cap_desc_free(d);

    d = new_desc(CAP_POSTER, 600, 400);
    add_line(d, "春节", 100, 40, 400, 120);
    add_line(d, "2021", 200, 300, 200, 20);
    cap_structure(d, NULL);
    CHECK(d->title && strcmp(d->title, "春节") == 0);
    cap_desc_free(d);
}

static void test_no_text(void)
{
    cap_desc *d = new_desc(CAP_TABLE, 100, 100);
    cap_structure(d, NULL); /* nothing read: nothing set, no crash */
    CHECK(d->table_md == NULL && d->title == NULL);
    cap_desc_free(d);
    cap_structure(NULL, NULL);
}

int main(void)
{
    test_table();
    test_chart();
    test_pie_values();
    test_document();
    test_screenshot();
    test_biggest_title();
    test_no_text();
    return check_result("test_cap_structure");
}
