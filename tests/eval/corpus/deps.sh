#!/usr/bin/env bash
# deps.sh - Debian 12 packages the domain corpus (tests/eval/corpus/build.py)
# is built with and from. Build-only: the product does not need them
# (scripts/install_deps.sh stays as it is).
#   tools:   python3-matplotlib python3-pil python3-numpy (charts, tables,
#            pages), poppler-utils (pdfinfo/pdftotext/pdftoppm), librsvg2-bin
#            (rsvg-convert), graphviz (dependency graphs), chromium (HTML
#            documentation pages), fig2dev (xfig symbols), fonts-wqy-* /
#            fonts-liberation2 / fonts-freefont-ttf (en + zh lettering)
#   sources: wallpaper, photo and image packages, documentation PDFs, HTML
#            manuals and API references, GUI manuals with dialog figures,
#            font packages, desktop themes, xfig's symbol libraries, data
#            files (see build.py)
set -euo pipefail
PKGS=(python3-matplotlib python3-pil python3-numpy poppler-utils librsvg2-bin graphviz
  fonts-wqy-microhei fonts-wqy-zenhei fonts-liberation2 fonts-freefont-ttf
  lomiri-wallpapers-20.04 lomiri-wallpapers-16.04 python3-skimage tuxpaint-stamps-default
  gimp-help-en kicad-doc-en kicad-doc-zh marble-data
  maint-guide maint-guide-zh-cn debian-reference-en debian-reference-zh-cn
  developers-reference asymptote-doc r-doc-pdf gnuplot-doc debian-edu-doc-en
  debian-edu-doc-zh-cn octave-doc python3-sklearn
  tuxpaint-data stellarium-data opencv-doc gcompris-qt-data
  chromium fig2dev xfig-libs desktop-base libglib2.0-doc libgtk-3-doc bash-doc libpam-doc
  fonts-dejavu-extra fonts-crosextra-carlito fonts-crosextra-caladea fonts-lato
  fonts-open-sans fonts-arphic-ukai fonts-arphic-uming)
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "corpus deps: all packages present"
  exit 0
fi
echo "corpus deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
