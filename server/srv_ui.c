/* srv_ui.c - the small web UI served at GET / by `omnidex serve`: one static
 * page whose script calls the JSON API (/search, /images/{id}/thumb) with
 * the bearer token the user types, so the page itself holds no data. */
#include "server.h"

const char srv_ui_html[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>omnidex</title>\n<style>\n"
    "body{font:15px/1.4 system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em}\n"
    "form{display:flex;gap:.5em;flex-wrap:wrap}input[name=q]{flex:1;min-width:15em}\n"
    "input,select,button{font:inherit;padding:.3em}\n"
    ".r{display:flex;gap:1em;border-bottom:1px solid #ddd;padding:.8em 0}\n"
    ".r img{width:128px;height:128px;object-fit:contain;background:#f4f4f4;flex:none}\n"
    ".p{color:#666;font-size:.85em;word-break:break-all}.e{color:#b00}\n"
    "</style></head><body>\n<h1>omnidex</h1>\n"
    "<form id=\"f\"><input name=\"q\" placeholder=\"bar chart of rainfall / 饼图\" autofocus>\n"
    "<select name=\"domain\"><option value=\"\">any domain</option><option>photo</option>"
    "<option>document</option><option>table</option><option>chart</option>"
    "<option>screenshot</option><option>poster</option><option>diagram</option></select>\n"
    "<input name=\"k\" type=\"number\" min=\"1\" max=\"100\" value=\"10\" style=\"width:4em\">\n"
    "<input name=\"token\" type=\"password\" placeholder=\"token (if set)\" style=\"width:9em\">\n"
    "<button>Search</button></form>\n<div id=\"out\"></div>\n<script>\n"
    "const f=document.getElementById('f'),out=document.getElementById('out');\n"
    "f.token.value=sessionStorage.getItem('odx_token')||'';\n"
    "function hdr(){const t=f.token.value;return t?{Authorization:'Bearer '+t}:{}}\n"
    "function el(tag,cls,text){const e=document.createElement(tag);if(cls)e.className=cls;"
    "if(text!=null)e.textContent=text;return e}\n"
    "async function thumb(img,id,n=0){try{const r=await fetch('images/'+id+'/thumb',{headers:hdr()});"
    /* 503: the thumbnail queue is full; come back when it says */
    "if(r.status==503&&n<8){setTimeout(()=>thumb(img,id,n+1),"
    "1000*(+r.headers.get('Retry-After')||1));return}\n"
    "if(r.ok)img.src=URL.createObjectURL(await r.blob())}catch(e){}}\n"
    "f.onsubmit=async ev=>{ev.preventDefault();sessionStorage.setItem('odx_token',f.token.value);\n"
    "const u=new URLSearchParams({q:f.q.value,k:f.k.value});if(f.domain.value)"
    "u.set('domain',f.domain.value);\nout.replaceChildren(el('p',null,'searching...'));\n"
    "try{const r=await fetch('search?'+u,{headers:hdr()}),j=await r.json();out.replaceChildren();\n"
    "if(!r.ok){out.append(el('p','e',j.error+': '+j.message));return}\n"
    "if(!j.results.length)out.append(el('p',null,'no results'));\n"
    "for(const x of j.results){const d=el('div','r'),img=el('img'),t=el('div');img.alt='';"
    "thumb(img,x.id);\n"
    "t.append(el('b',null,x.rank+'. '+(x.caption||'')),el('div','p',x.path+' \\u00b7 '+"
    "(x.domain||'')+' \\u00b7 score '+x.score),el('div',null,x.detailed||''));\n"
    "if(x.matched)t.append(el('div','p','matched: '+x.matched));d.append(img,t);out.append(d)}"
    "}catch(e){out.replaceChildren(el('p','e',String(e)))}};\n"
    "</script></body></html>\n";

const size_t srv_ui_html_len = sizeof srv_ui_html - 1;
