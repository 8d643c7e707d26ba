/* lib_int.h - names shared by the files of lib/ (the library behind
 * omnidex.h). */
#ifndef ODX_LIB_INT_H
#define ODX_LIB_INT_H

#include "omnidex.h"
#include "core.h"
#include "storage.h"

#include <cjson/cJSON.h>

/* The database directory of a handle (borrowed, lives as long as db). */
const char *lib_db_dir(const odx_db *db);
/* The store of a handle (NULL for NULL). Borrowed. */
store *lib_db_store(odx_db *db);

/* Captions one file (odx_caption_file): *desc is the description as JSON
 * with "path"; *structure (if not NULL) the structure record or NULL. */
odx_status lib_caption_desc(const char *path, const odx_caption_params *p, cJSON **desc,
                            char **structure, odx_err *err);

#endif
