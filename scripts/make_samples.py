#!/usr/bin/python3
"""Renders the bundled sample images in samples/ (run once by developers;
the PNGs are committed). Needs Debian's python3-matplotlib and
fonts-noto-cjk. The data are small made-up illustration values."""
import os
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib import font_manager

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "samples")
os.makedirs(out, exist_ok=True)
cjk = [f for f in font_manager.findSystemFonts() if "NotoSansCJK" in f or "NotoSerifCJK" in f]
if cjk:
    font_manager.fontManager.addfont(cjk[0])
    plt.rcParams["font.family"] = ["DejaVu Sans", font_manager.FontProperties(fname=cjk[0]).get_name()]

def save(fig, name):
    fig.savefig(os.path.join(out, name), dpi=100)
    plt.close(fig)

months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
rain = [78, 61, 55, 48, 52, 40, 33, 38, 50, 71, 82, 90]
fig, ax = plt.subplots(figsize=(8, 5))
ax.bar(months, rain, color="#4472c4")
ax.set_title("Monthly rainfall in a coastal town")
ax.set_xlabel("Month"); ax.set_ylabel("Rainfall (mm)")
save(fig, "bar_rainfall.png")

years = list(range(2010, 2024))
visitors = [120, 132, 150, 149, 171, 190, 204, 220, 235, 240, 90, 130, 210, 260]
fig, ax = plt.subplots(figsize=(8, 5))
ax.plot(years, visitors, marker="o", color="#c0504d")
ax.set_title("Museum visitors per year")
ax.set_xlabel("Year"); ax.set_ylabel("Visitors (thousands)")
ax.grid(True, alpha=0.3)
save(fig, "line_visitors.png")

fig, ax = plt.subplots(figsize=(6, 6))
ax.pie([45, 25, 20, 10], labels=["苹果", "香蕉", "橙子", "葡萄"], autopct="%d%%",
       colors=["#e15759", "#f1ce63", "#f28e2b", "#8e6fb6"])
ax.set_title("水果销量占比")
save(fig, "pie_fruit_zh.png")

fig, ax = plt.subplots(figsize=(7, 3.2))
ax.axis("off")
rows = [["Oslo", "Norway", "709,000", "454"], ["Lyon", "France", "522,000", "48"],
        ["Porto", "Portugal", "232,000", "41"], ["Graz", "Austria", "291,000", "127"],
        ["Turku", "Finland", "195,000", "246"]]
t = ax.table(cellText=rows, colLabels=["City", "Country", "Population", "Area (km2)"],
             loc="center", cellLoc="left")
t.scale(1, 1.6); t.set_fontsize(12)
ax.set_title("European cities: population and area")
save(fig, "table_cities.png")

fig = plt.figure(figsize=(8.27, 6))
fig.text(0.08, 0.92, "Getting started with omnidex", fontsize=20, weight="bold")
body = ("omnidex indexes folders of images and writes a caption for every image.\n"
        "Captions are written in English and in Chinese, in a detailed form, a short\n"
        "form and as a list of tags. Text inside documents and screenshots is read\n"
        "with optical character recognition, tables become Markdown tables and\n"
        "charts are described by their type, title and axes.\n\n"
        "To search, type a few words: omnidex search \"bar chart of rainfall\".\n"
        "The results list the best matching images first, with a score between\n"
        "zero and one. Run the index command again at any time: unchanged files\n"
        "are skipped and removed files disappear from the index.")
fig.text(0.08, 0.85, body, fontsize=12, va="top", linespacing=1.6)
save(fig, "document_getting_started.png")

fig = plt.figure(figsize=(6, 8))
fig.patch.set_facecolor("#1f3b73")
fig.text(0.5, 0.62, "SPRING\nBOOK FAIR", fontsize=44, weight="bold", color="#ffd84d",
         ha="center", va="center", linespacing=1.1)
fig.text(0.5, 0.36, "城市图书节", fontsize=34, color="white", ha="center")
fig.text(0.5, 0.2, "April 12 - 14  ·  Central Library", fontsize=16, color="white", ha="center")
save(fig, "poster_book_fair.png")

import random
random.seed(4)
xs = [random.gauss(170, 8) for _ in range(80)]
ys = [x * 0.9 - 85 + random.gauss(0, 6) for x in xs]
fig, ax = plt.subplots(figsize=(7, 5))
ax.scatter(xs, ys, color="#59a14f")
ax.set_title("Height and weight of 80 adults")
ax.set_xlabel("Height (cm)"); ax.set_ylabel("Weight (kg)")
save(fig, "scatter_height_weight.png")
print("samples written to", os.path.abspath(out))
