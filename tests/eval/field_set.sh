#!/bin/sh
# field_set.sh - builds the "field set": images found on a developer machine
# (documentation figures, charts, screenshots, logos, photos of other
# packages) that the domain classifier was never tuned on, labelled by eye
# with the dev manifest's definitions. Output feeds tests/eval/domain_accuracy.
#
# usage: tests/eval/field_set.sh [DEST]   (default /work/field)
# Writes DEST/images/fNNN.<ext> (copies) and DEST/manifest.tsv in the dev
# manifest's columns. A listed file that is missing here is skipped with a
# note on stderr; a '*' in a path takes the first match (rust toolchains).
# Three pages are rendered with ImageMagick (convert) from text files when
# it is present: a licence page (document) and a protocol list (table).
# The images themselves are other packages' files: never commit them.
# No source of the private holdout set may enter the field set: every path
# is checked against ../shared/eval/holdout-sources.tsv (ODX_HOLDOUT
# overrides) and a listed one is refused. --list prints the sources (one
# a line) without copying anything, for tests/integration/eval_sources.sh.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# ../shared beside the checkout, or beside the main checkout of a worktree
COMMON=$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null)
HOLDOUT=${ODX_HOLDOUT:-$ROOT/../shared/eval/holdout-sources.tsv}
if [ -z "${ODX_HOLDOUT:-}" ] && [ ! -f "$HOLDOUT" ] && [ -n "$COMMON" ]; then
    HOLDOUT=$(dirname "$COMMON")/../shared/eval/holdout-sources.tsv
fi
LIST=0
if [ "${1:-}" = --list ]; then LIST=1; shift; fi
DEST=${1:-/work/field}
if [ ! -f "$HOLDOUT" ]; then
    echo "field_set: holdout list $HOLDOUT not found: cannot check sources" >&2
    exit 1
fi
# is_holdout PATH: true when the holdout list names PATH (column 2)
is_holdout() {
    awk -F'\t' -v p="$1" '$1 !~ /^#/ && $2 == p { f = 1 } END { exit !f }' "$HOLDOUT"
}
if [ $LIST = 1 ]; then DEST=$(mktemp -d); trap 'rm -rf "$DEST"' EXIT; fi
mkdir -p "$DEST/images" || exit 1
rm -f "$DEST"/images/f[0-9][0-9][0-9].*
MAN="$DEST/manifest.tsv"
printf 'file\tdomain\tchart_type\tlanguage\tdescription\tkey_text\tprovenance\n' > "$MAN"
n_ok=0
n_miss=0
n_held=0

R='/root/.rustup/toolchains/*/share/doc/rust/html'
G='/usr/lib/google-cloud-sdk/platform/gsutil/third_party'
M='/usr/lib/python3/dist-packages/mpl_toolkits/tests/baseline_images'
NX='/root/.pyenv/versions/*/lib/python3*/site-packages/networkx/drawing/tests/baseline'

# id|domain|chart_type|language|path|description|key_text
while IFS='|' read -r id dom ct lang path desc key; do
    case "$id" in ''|'#'*) continue ;; esac
    # expand variables and globs in the path; keep the first existing match
    src=''
    for p in $(eval echo "$path"); do
        if [ -f "$p" ]; then src=$p; break; fi
    done
    if [ -z "$src" ]; then
        echo "field_set: $id missing: $path (skipped)" >&2
        n_miss=$((n_miss + 1))
        continue
    fi
    if is_holdout "$src"; then
        echo "field_set: $id refused: $src is a holdout source" >&2
        n_held=$((n_held + 1))
        continue
    fi
    if [ $LIST = 1 ]; then echo "$src"; continue; fi
    ext=${src##*.}
    [ "$ext" = jpeg ] && ext=jpg
    cp "$src" "$DEST/images/$id.$ext" || continue
    printf '%s.%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$ext" "$dom" "$ct" "$lang" "$desc" "$key" "$src" >> "$MAN"
    n_ok=$((n_ok + 1))
done <<'EOF'
f001|screenshot|-|en|/root/.pyenv/terminal_output.png|Dark macOS terminal window with pyenv version and python --version commands and their output|pyenv versions; python --version
f002|diagram|-|en|$NX/test_display_complex.png|Network graph of three nodes joined by many curved coloured edges labelled with numbers like 3.33 and 6.67|-
f003|diagram|-|none|$NX/test_display_house_with_colors.png|House-shaped graph: four blue nodes in a square and an orange node on top joined by grey edges|-
f004|diagram|-|none|$NX/test_display_labels_and_colors.png|Two overlapping diamond-shaped graphs in red and blue with Greek and Latin letter node labels|-
f005|diagram|-|none|$NX/test_display_shortest_path.png|Weighted graph of small blue nodes with numbered edges and the shortest path in red|-
f006|poster|-|none|/root/.pyenv/versions/3.13.0/lib/python3.13/idlelib/Icons/idle_256.png|IDLE icon: the Python two-snake logo over a sheet of Python code|-
f007|document|-|en|$R/book/2018-edition/img/trpl14-01.png|Rustdoc page for function my_crate::add_one with search bar, sidebar and example code|Function my_crate::add_one; Examples
f008|document|-|en|$R/book/2018-edition/img/trpl14-03.png|Rustdoc page for crate art with sidebar, modules kinds and utils|Crate art; A library for modeling artistic concepts
f009|document|-|en|$R/book/img/trpl14-01.png|Newer rustdoc page for function add_one with Settings, Help and Summary buttons|Function add_one; Examples
f010|document|-|en|$R/book/img/trpl14-04.png|Rustdoc page for crate art showing Re-exports of PrimaryColor, SecondaryColor and mix|Crate art; Re-exports
f011|screenshot|-|en|$R/book/img/trpl21-01.png|Browser tab at 127.0.0.1:8080 showing a page with heading Hello! and Hi from Rust|Hello!; Hi from Rust
f012|poster|-|none|$R/cargo/images/Cargo-Logo-Small.png|Cargo logo: stacked cardboard boxes with an R stamp on a wooden pallet|-
f013|screenshot|-|en|$R/cargo/images/auth-level-acl.png|GitHub Authorize application page for crates.io with review permissions and Grant access button|Authorize application; Organization access
f014|chart|line|en|$R/cargo/images/cargo-concurrency-over-time.png|Line chart of waiting, inactive and active units over time with shaded CPU usage|Waiting; Inactive; Active; CPU Usage
f015|screenshot|-|en|$R/cargo/images/org-level-acl.png|GitHub organisation settings page: third-party application access policy for crates-test-org|Third-party application access policy
f016|diagram|-|en|$R/embedded-book/assets/crates.png|Block diagram of embedded Rust crates from Board Crate to Microcontroller with an abstraction-level arrow|Board Crate; HAL Crate; Micro-architecture Crate; Peripheral Access Crate
f017|photo|-|none|$R/embedded-book/assets/f3.jpg|Green STM32F3 Discovery development board with chips, headers and a round compass pattern|-
f018|diagram|-|en|$R/embedded-book/assets/nrf52-memory-map.png|Memory map diagram: nRF52832 and Cortex-M4 address ranges as stacked boxes linked by lines|nRF52832 Address Map; Cortex M4 System Address Map
f019|table|-|en|$R/embedded-book/assets/nrf52-spi-frequency-register.png|Register table 31.6.8 FREQUENCY: bit numbers in a blue header and SPI data rate values from 125 kbps to 8 Mbps|31.6.8 FREQUENCY; SPI frequency
f020|photo|-|none|$R/embedded-book/assets/verify.jpeg|Photo of the same green Discovery board with a lit LED, slightly dark|-
f021|screenshot|-|en|$R/rustc/images/image1.png|Disassembler window listing assembly of a function with a red highlighted block|-
f022|screenshot|-|en|$R/rustc/images/image3.png|Xrefs dialog window listing one call with Help, Search, Cancel and OK buttons|Help; Search; Cancel; OK
f023|screenshot|-|en|$R/rustc/images/llvm-cov-show-01.png|llvm-cov coverage report of Rust source lines with counts and red uncovered regions|-
f024|document|-|en|$R/rustdoc/images/collapsed-long-item.png|Dark rustdoc page: trait std::iter::Iterator with collapsed Show 75 methods|Trait std::iter::Iterator
f025|document|-|en|$R/rustdoc/images/collapsed-trait-impls.png|Dark rustdoc Trait Implementations list: impl Add<&str> for String and others|Trait Implementations
f026|poster|-|en|/usr/lib/google-cloud-sdk/platform/google_appengine/google/appengine/tools/java/jetty12/jetty-home/modules/demo.d/root/images/webtide_logo.jpg|Webtide logo: red italic word webtide with a blue swoosh|webtide
f027|screenshot|-|en|$G/argcomplete/docs/fish_help_string.png|Strip of a fish shell terminal completing 'prog b' with basic and break help strings|~/argcomplete > prog basic
f028|diagram|-|en|$G/pyparsing/docs/_static/pyparsingClassDiagram_1.5.2.jpg|UML class diagram of pyparsing 1.5.2: yellow class boxes with attribute lists connected by lines|-
f029|diagram|-|en|$G/pyparsing/docs/_static/pyparsingClassDiagram_3.0.9.jpg|UML class diagram of pyparsing 3.0.9: white class boxes in a tree of inheritance lines|-
f030|poster|-|en|$G/requests/docs/_static/requests-sidebar.png|Requests logo: caduceus over sacred-geometry circles with the word Requests, http for humans|Requests; http for humans
f031|poster|-|en|$G/requests/ext/kr.png|Handwritten signature lettering Kenneth Reitz|Kenneth Reitz
f032|poster|-|en|$G/requests/ext/psf.png|Python Software Foundation logo with the python snakes and the word python|python SOFTWARE FOUNDATION
f033|screenshot|-|en|$G/requests/ext/ss-compressed.png|Browser window showing the Requests documentation home page with logo, code sample and feature list|Requests: HTTP for Humans
f034|chart|line|none|$M/test_axes_grid1/inverted_zoomed_axes.png|Matplotlib line chart of a diagonal blue line on inverted axes with an empty inset axes|-
f035|chart|line|en|$M/test_axisartist_axislines/Subplot.png|Matplotlib line chart of one period of a sine wave, y label Test, x label Tk0|Test; Tk0
f036|chart|line|en|$M/test_axisartist_axislines/SubplotZero.png|Sine wave line chart with the x axis drawn through zero, label Axis Zero|Axis Zero
f037|chart|line|none|$M/test_axisartist_clip_path/clip_path.png|Line chart of a zigzag blue line and an orange line clipped by a dashed rectangle with red points|-
f038|chart|bar|none|$M/test_mplot3d/bar3d.png|3D bar chart of rows of red, green, blue and yellow bars on grey 3D axes|-
f039|chart|-|none|$M/test_mplot3d/contour3d.png|3D contour plot: coloured contour lines projected on the walls and floor of grey 3D axes|-
f040|chart|line|none|$M/test_mplot3d/lines3d.png|3D line chart of a blue spiral curve in grey 3D axes|-
f041|chart|line|none|$M/test_mplot3d/mixedsubplot.png|Figure with a 2D damped oscillation line chart with dots above a 3D surface plot|-
f042|chart|scatter|none|$M/test_mplot3d/scatter3d.png|3D scatter plot of red and blue markers along a diagonal in grey 3D axes|-
f043|chart|scatter|none|$M/test_mplot3d/scatter_spiral.png|3D scatter plot of coloured dots on a helix, colours from purple to yellow|-
f044|chart|-|none|$M/test_mplot3d/surface3d.png|3D surface plot in blue to red colours with a colour bar|-
f045|diagram|-|en|/usr/share/doc/libexif-dev/libexif-api.html/graph_legend.png|Doxygen graph legend: class boxes PublicBase, ProtectedBase, Truncated and Inherited joined by coloured arrows|Inherited; PublicBase; Truncated
f046|diagram|-|en|/usr/share/doc/libexif-dev/libexif-api.html/struct__ExifContent__coll__graph.png|Doxygen collaboration graph of _ExifContent with dashed purple arrows labelled mem, log, priv|_ExifContent; _ExifMem; _ExifLog
f047|diagram|-|en|/usr/share/doc/libexif-dev/libexif-api.html/struct__ExifData__coll__graph.png|Doxygen collaboration graph of _ExifData: small boxes and dashed purple arrows|_ExifData; _ExifMem
f048|diagram|-|en|/usr/share/doc/libexif-dev/libexif-api.html/struct__ExifMnoteData__coll__graph.png|Doxygen collaboration graph of _ExifMnoteData with four boxes and labelled dashed arrows|_ExifMnoteData; _ExifMem; _ExifLog
f049|photo|-|none|/usr/share/doc/libleptonica-dev/aneurisms8.jpg|Grayscale medical angiogram: bright branching blood vessels on a dark mottled background|-
f050|poster|-|en|/usr/share/doc/libpng-dev/examples/pngtest.png|The letters PNG in wood-grain 3D lettering on white|PNG
f051|chart|-|en|/usr/share/doc/nodejs/contributing/doc_img/compare-boxplot.png|ggplot box plots of benchmark rates, new vs old binary in red and teal, long rotated labels|rate of operations (higher is better); benchmark; binary
f052|chart|line|en|/usr/share/doc/nodejs/contributing/doc_img/scatter-plot.png|ggplot line chart with error bars of string_decoder rates by chunkLen for several encodings on a grey panel|string_decoder/string-decoder.js; chunkLen; encoding
f053|screenshot|-|en|/usr/share/doc/nodejs/contributing/doc_img/youtube-stream-analytics.png|YouTube live stream ANALYTICS panel: 0 watching now, 0 messages/min, a flat line over time|ANALYTICS; STREAM HEALTH; Watching now
f054|screenshot|-|en|/usr/share/doc/nodejs/contributing/doc_img/youtube-stream-share.png|YouTube SHARE panel with a link field and a row of social network buttons|SHARE; View on watch page
f055|screenshot|-|en|/usr/share/doc/nodejs/contributing/doc_img/youtube-stream-title-description.png|YouTube BASIC INFO form with the meeting title and a GitHub issue link|BASIC INFO; STREAM OPTIONS; CARDS
f056|poster|-|en|/usr/share/doc/nodejs/full-white-stripe.jpg|Node.js logo (node with a green hexagon js) under a green stripe on white|node
f057|diagram|-|en|/usr/share/doc/python3-pip/html/topics/deps.png|Hand-drawn dependency tree: node A with red arrows to B and C and faded children B1, B2, C1, C2|A; B; C
f058|screenshot|-|en|/usr/share/doc/valgrind/html/images/dh-tree.png|DHAT heap profile text report: nested allocation-point tree in blue, yellow and green highlighted monospace text|AP 1/1; Total; Allocated at
f059|screenshot|-|en|/usr/share/doc/valgrind/html/images/kcachegrind_xtree.png|KCachegrind window with flat profile list, source view and a call graph of coloured boxes|-
f060|diagram|-|en|/usr/share/info/gnupg-card-architecture.png|GnuPG smartcard architecture: yellow boxes gpg, gpg-agent, scdaemon, pinentry joined by blue arrows|gpg-agent; scdaemon; pinentry
f061|diagram|-|en|/usr/share/info/gnupg-module-overview.png|GnuPG module overview: GPGME aware applications, gpg, gpgsm, dirmngr boxes and orange key stores linked by lines|GPGME aware Applications; dirmngr
f062|chart|scatter|en|/usr/share/info/libmicrohttpd_performance_data.png|Gnuplot log-log scatter of request latency counts, no epoll (red) vs with epoll (green)|latency (microseconds); No epoll; With epoll
f064|poster|-|none|/usr/share/pixmaps/sympylogo.png|SymPy logo: a green snake wrapped around a beige cube with sigma and integral signs|-
EOF

# Pages rendered here from text files, when ImageMagick is present: the
# document and table domains are rare among the images found above.
FONT_SERIF=/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf
FONT_MONO=/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf
render() { # id domain desc key src canvas font text
    if is_holdout "$5"; then
        echo "field_set: $1 refused: $5 is a holdout source" >&2
        n_held=$((n_held + 1))
        return
    fi
    if [ $LIST = 1 ]; then echo "$5"; return; fi
    if command -v convert >/dev/null 2>&1 && [ -f "$5" ] && [ -f "$7" ] &&
        convert -size "$6" xc:white -fill black -font "$7" -pointsize 15 \
            -annotate +50+60 "$8" "$DEST/images/$1.png" 2>/dev/null; then
        printf '%s.png\t%s\t-\ten\t%s\t%s\t%s (rendered by field_set.sh with ImageMagick)\n' \
            "$1" "$2" "$3" "$4" "$5" >> "$MAN"
        n_ok=$((n_ok + 1))
    else
        echo "field_set: $1 not rendered (needs convert, $5 and $7; skipped)" >&2
        n_miss=$((n_miss + 1))
    fi
}
# (the Apache-2.0 and MPL-2.0 pages once rendered here are holdout sources)
L=/usr/share/common-licenses/GPL-3
[ -f $L ] && T=$(sed -n 1,46p $L | expand) || T=''
render f065 document "GNU General Public License version 3 first page: title, version date, Preamble in serif text" \
    "GNU GENERAL PUBLIC LICENSE; Version 3, 29 June 2007; Preamble" $L 760x1000 $FONT_SERIF "$T"
L=/usr/share/common-licenses/Artistic
[ -f $L ] && T=$(sed -n 1,50p $L | expand) || T=''
render f066 document "The Artistic License first page: title, Preamble and numbered definitions in serif text" \
    "The Artistic License; Preamble; Definitions" $L 800x1050 $FONT_SERIF "$T"
P=/etc/protocols
[ -f $P ] && T=$(grep -v '^#' $P | grep . | head -30 |
    awk '{c=""; for (i=4;i<=NF;i++) c=c" "$i; sub(/^ *# */,"",c); printf "%-12s %-5s %-12s %s\n",$1,$2,$3,c}') || T=''
render f067 table "Monospace table of IP protocol names, numbers, aliases and descriptions (ip 0, icmp 1, tcp 6, udp 17)" \
    "icmp; tcp; udp; transmission control protocol" $P 900x800 $FONT_MONO "$T"

[ $LIST = 1 ] && exit 0
echo "field_set: $n_ok images in $DEST ($n_miss skipped, $n_held holdout sources refused)" >&2
