/* search.c - the smallest useful omnidex program: open an index, run one
 * query, print the best results.
 *
 * Build against an installed omnidex:
 *   cc examples/search.c $(pkg-config --cflags --libs omnidex) -o search
 * Run (the index is made beforehand with `omnidex --db DIR index FOLDER`):
 *   ./search DIR "bar chart of rainfall"
 */
#include <omnidex.h>

#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s DB_DIR QUERY\n", argv[0]);
        return 2;
    }
    odx_err err = {0}; /* keeps the first error message of a failed call */

    /* Open for reading only: no writer lock, nothing is created. */
    odx_db_params dp = odx_db_params_default();
    dp.read_only = true;
    odx_db *db = NULL;
    if (odx_db_open(argv[1], &dp, &db, &err) != ODX_OK) {
        fprintf(stderr, "open %s: %s\n", argv[1], err.msg);
        return 1;
    }

    /* Parameters always start from the defaults; then change what you need. */
    odx_search_params sp = odx_search_params_default();
    sp.k = 5;
    odx_results *res = NULL;
    if (odx_search(db, argv[2], &sp, &res, &err) != ODX_OK) {
        fprintf(stderr, "search: %s\n", err.msg);
        odx_db_close(db);
        return 1;
    }

    /* Results are borrowed from res until odx_results_free(). */
    printf("omnidex %s: %d result(s)\n", odx_version(), odx_results_count(res));
    for (int i = 0; i < odx_results_count(res); i++) {
        const odx_result *r = odx_results_get(res, i);
        printf("%.3f\t%s\t%s\n", r->score, r->path,
               r->short_caption ? r->short_caption : "");
    }

    odx_results_free(res);
    odx_db_close(db);
    return 0;
}
