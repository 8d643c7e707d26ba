/* vocab.c - the one table of each vocabulary omnidex speaks: domains (en
 * and zh names), caption kinds, search modes. Every folder that names one
 * reads it here (odx_domain_name & co. in the public API). */
#include "core.h"

#include <string.h>
#include <strings.h>

/* Indexed by odx_domain. To add a domain: a row here and a value in
 * odx_domain (include/omnidex.h), then its classifier and captions (see
 * docs/ARCHITECTURE.md "Where to change what"). */
static const struct {
    const char *en, *zh;
} DOMAINS[ODX_N_DOMAINS] = {
    [ODX_DOMAIN_PHOTO] = {"photo", "照片"},
    [ODX_DOMAIN_DOCUMENT] = {"document", "文档"},
    [ODX_DOMAIN_TABLE] = {"table", "表格"},
    [ODX_DOMAIN_CHART] = {"chart", "图表"},
    [ODX_DOMAIN_SCREENSHOT] = {"screenshot", "截图"},
    [ODX_DOMAIN_POSTER] = {"poster", "海报"},
    [ODX_DOMAIN_DIAGRAM] = {"diagram", "示意图"},
};

static const char *const KINDS[ODX_N_CAPTION_KINDS] = {
    [ODX_CAPTION_DETAILED] = "detailed", [ODX_CAPTION_SHORT] = "short",
    [ODX_CAPTION_TAGS] = "tags",         [ODX_CAPTION_OCR] = "ocr",
    [ODX_CAPTION_STRUCTURE] = "structure"};

static const char *const MODES[ODX_N_SEARCH_MODES] = {
    [ODX_MODE_HYBRID] = "hybrid", [ODX_MODE_DENSE] = "dense", [ODX_MODE_LEXICAL] = "lexical"};

const char *core_domain_name(int d)
{
    return d >= 0 && d < ODX_N_DOMAINS ? DOMAINS[d].en : NULL;
}

const char *core_domain_name_zh(int d)
{
    return d >= 0 && d < ODX_N_DOMAINS ? DOMAINS[d].zh : NULL;
}

int core_domain_parse(const char *s)
{
    for (int i = 0; s && i < ODX_N_DOMAINS; i++)
        if (strcasecmp(s, DOMAINS[i].en) == 0)
            return i;
    return -1;
}

const char *core_caption_kind_name(int k)
{
    return k >= 0 && k < ODX_N_CAPTION_KINDS ? KINDS[k] : NULL;
}

int core_caption_kind_parse(const char *s)
{
    for (int i = 0; s && i < ODX_N_CAPTION_KINDS; i++)
        if (strcmp(s, KINDS[i]) == 0)
            return i;
    return -1;
}

const char *core_search_mode_name(int m)
{
    return m >= 0 && m < ODX_N_SEARCH_MODES ? MODES[m] : NULL;
}

int core_search_mode_parse(const char *s)
{
    for (int i = 0; s && i < ODX_N_SEARCH_MODES; i++)
        if (strcasecmp(s, MODES[i]) == 0)
            return i;
    return -1;
}
