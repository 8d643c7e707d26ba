/* lib_int.h - names shared by the files of lib/ (the library behind
 * omnidex.h). */
#ifndef ODX_LIB_INT_H
#define ODX_LIB_INT_H

#include "omnidex.h"
#include "core.h"
#include "storage.h"

/* The database directory of a handle (borrowed, lives as long as db). */
const char *lib_db_dir(const odx_db *db);
/* The store of a handle (borrowed). */
store *lib_db_store(odx_db *db);

#endif
