// Inline assets of the status page: the stylesheet and the favicon, compiled
// into the binary (the page loads nothing from anywhere else; see the CSP in
// page.h).
//
// Thread-safety: constants.
#ifndef REDIS_HA_HTTP_PAGE_ASSETS_H_
#define REDIS_HA_HTTP_PAGE_ASSETS_H_

namespace redis_ha::http::assets {

// A red-and-white hexagon, as a data: URI (allowed by img-src data:). Given as
// the icon so browsers do not ask for /favicon.ico.
inline constexpr char kFavicon[] =
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 "
    "16 16'%3E"
    "%3Cpath d='M8 1l6 3.5v7L8 15l-6-3.5v-7z' fill='%23cf222e'/%3E"
    "%3Ccircle cx='8' cy='8' r='2.6' fill='%23fff'/%3E%3C/svg%3E";

// The brand mark drawn in the header (inline SVG).
inline constexpr char kLogo[] =
    "<svg class=\"logo\" viewBox=\"0 0 16 16\" width=\"20\" height=\"20\" "
    "aria-hidden=\"true\">"
    "<path d=\"M8 1l6 3.5v7L8 15l-6-3.5v-7z\" fill=\"#cf222e\"/>"
    "<circle cx=\"8\" cy=\"8\" r=\"2.6\" fill=\"#fff\"/></svg>";

// Level colours: 0 none green, 1 latent yellow, 2 imminent orange, 3 active
// red.
inline constexpr char kStyle[] = R"css(
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#eef1f4;--bg:#f6f8fa;--card:#fff;
--blue:#0969da;--ok:#1f883d;--l1:#eac54f;--l2:#e16f24;--l3:#cf222e;
--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace}
*{box-sizing:border-box}
html{background:var(--bg)}
body{margin:0;color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
a{color:var(--blue);text-decoration:none}
a:hover{text-decoration:underline}
code,.mono{font-family:var(--mono);font-size:12.5px}
.top{display:flex;align-items:center;gap:22px;flex-wrap:wrap;background:#24292f;color:#f0f3f6;padding:10px 24px}
.brand{display:flex;align-items:center;gap:8px;font-weight:600;font-size:16px;color:#fff}
.brand .ver{font-weight:400;font-size:12px;color:#9198a1}
.top nav a{color:#d1d9e0;margin-right:16px;font-size:13px}
.top nav a.here{color:#fff;font-weight:600}
.top .meta{margin-left:auto;color:#9198a1;font-size:12.5px}
main{max-width:1440px;margin:0 auto;padding:18px 24px 40px}
h1{font-size:22px;margin:2px 0 14px;display:flex;align-items:center;gap:10px;flex-wrap:wrap;overflow-wrap:anywhere}
h2{font-size:16px;margin:28px 0 10px;display:flex;align-items:baseline;gap:10px}
h2 .sub{font-weight:400}
.crumb{font-size:13px;margin-bottom:4px}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:9px 14px;min-width:140px}
.card .k{color:var(--muted);font-size:11.5px;text-transform:uppercase;letter-spacing:.05em}
.card .v{font-size:19px;font-weight:600;margin-top:2px;white-space:nowrap}
.card .v.mono{font-size:15px}
.tablewrap{overflow-x:auto}
table{width:100%;border-collapse:separate;border-spacing:0;background:var(--card);border:1px solid var(--line);border-radius:8px}
th,td{padding:8px 10px;text-align:left;vertical-align:baseline;border-top:1px solid var(--line)}
thead th{border-top:0;background:var(--bg);color:var(--muted);font-size:11.5px;font-weight:600;text-transform:uppercase;letter-spacing:.04em;white-space:nowrap}
thead th:first-child{border-top-left-radius:8px}
thead th:last-child{border-top-right-radius:8px}
tbody tr:hover{background:#f9fafb}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.nowrap,td.primary{white-space:nowrap}
tr.w3 td:first-child{box-shadow:inset 4px 0 var(--l3)}
tr.w2 td:first-child{box-shadow:inset 4px 0 var(--l2)}
tr.w1 td:first-child{box-shadow:inset 4px 0 var(--l1)}
tr.w0 td:first-child{box-shadow:inset 4px 0 var(--ok)}
td.group{min-width:120px;max-width:260px}
td.group a{font-weight:600;overflow-wrap:anywhere}
.badge{display:inline-block;padding:0 8px;border-radius:999px;font-size:12px;font-weight:600;line-height:20px;color:#fff;white-space:nowrap;vertical-align:baseline}
.l0{background:var(--ok)}
.l1{background:var(--l1);color:#3b2300}
.l2{background:var(--l2)}
.l3{background:var(--l3)}
.verdict.ready,.state.up{background:var(--ok)}
.verdict.blocked,.state.down{background:var(--l3)}
.state.warn{background:var(--l1);color:#3b2300}
.state.muted{background:#818b98}
.tag{display:inline-block;margin-left:4px;padding:0 6px;border-radius:4px;font-size:11.5px;line-height:18px;background:var(--soft);color:var(--muted);border:1px solid var(--line);white-space:nowrap}
.tag.bad{background:#ffebe9;color:#a40e26;border-color:#ffcecb}
.tag.warn{background:#fff8c5;color:#7d4e00;border-color:#f5e0a1}
.tag.good{background:#dafbe1;color:#116329;border-color:#aceebb}
ul.list{margin:5px 0 0;padding:0;list-style:none;font-size:12.5px}
ul.list li{margin:3px 0;line-height:1.35}
ul.list code{font-weight:600}
.sub{color:var(--muted);font-size:12px}
.ok{color:var(--ok)}
.bad{color:var(--l3)}
.warn{color:#9a6700}
.empty{padding:28px;text-align:center;color:var(--muted);background:var(--card);border:1px dashed var(--line);border-radius:8px}
.panel{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px}
.topo{padding:8px}
svg.topology{display:block;width:100%;height:auto;margin:0 auto}
svg.topology .box{fill:#fff;stroke:#8c959f;stroke-width:1.5}
svg.topology .primary .box{stroke:#0969da;stroke-width:2.5;fill:#f3f8ff}
svg.topology .replica .box{stroke:#6e7781}
svg.topology .sentinel .box{fill:#f6f8fa;stroke:#8c959f}
svg.topology .rogue .box{stroke:var(--l3);stroke-width:2.5;fill:#fff5f5}
svg.topology .warnbox .box{stroke:#bf8700;stroke-width:2;fill:#fffbea}
svg.topology .down .box,svg.topology .ghost .box,svg.topology .differ .box{stroke:var(--l3);stroke-width:2;stroke-dasharray:6 4;fill:#fff5f5}
svg.topology .differ .box{stroke-dasharray:none}
svg.topology .role{font:700 10.5px system-ui,"DejaVu Sans",sans-serif;fill:#59636e;letter-spacing:.06em}
svg.topology .addr{font:600 12.5px var(--mono);fill:#1f2328}
svg.topology .info{font:11px system-ui,"DejaVu Sans",sans-serif;fill:#59636e}
svg.topology .down .info,svg.topology .ghost .info,svg.topology .differ .info,svg.topology .rogue .info{fill:#a40e26}
svg.topology .dot{stroke:#fff;stroke-width:1.5}
svg.topology .dot.up{fill:var(--ok)}
svg.topology .dot.down{fill:var(--l3)}
svg.topology .dot.warn{fill:#d4a72c}
svg.topology .link{fill:none;stroke-width:2.5}
svg.topology .link.up{stroke:var(--ok)}
svg.topology .link.sync{stroke:#d4a72c;stroke-dasharray:7 4}
svg.topology .link.down{stroke:var(--l3);stroke-dasharray:7 4}
svg.topology .names{fill:none;stroke:#8c959f;stroke-width:1.3}
svg.topology .names.differ{stroke:var(--l3);stroke-width:2.5}
svg.topology .lbl rect{fill:#fff;stroke:#d1d9e0;stroke-width:1}
svg.topology .lbl text{font:11px var(--mono);fill:#1f2328}
svg.topology .lbl.down rect{stroke:#ffcecb;fill:#fff5f5}
svg.topology .lbl.down text{fill:#a40e26}
svg.topology .rowlbl{font:600 10px system-ui,"DejaVu Sans",sans-serif;fill:#8c959f;letter-spacing:.08em}
.legend{display:flex;gap:18px;flex-wrap:wrap;font-size:12px;color:var(--muted);padding:6px 8px 2px}
.legend span{display:inline-flex;align-items:center;gap:6px}
.factors{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:14px}
.factors h3{margin:0 0 8px;font-size:14px;display:flex;align-items:center;gap:8px}
.factor{border-top:1px solid var(--line);padding:8px 0 6px}
.factor .head{display:flex;align-items:center;gap:8px;flex-wrap:wrap}
.factor .head code{font-weight:600;font-size:13px}
.factor .links{margin-left:auto;font-size:12px;white-space:nowrap}
.factor .links a{margin-left:10px}
.factor p{margin:3px 0 0;font-size:13px}
.factor .reason{font-family:var(--mono);font-size:12px;background:#fff5f5;border-left:3px solid var(--l3);padding:4px 8px;margin-top:5px;word-break:break-word}
.factor.on.lv1 .reason{background:#fffbea;border-color:#d4a72c}
.factor.on.lv2 .reason{background:#fff4ec;border-color:var(--l2)}
.factor.off .head code{color:var(--muted);font-weight:400}
.factor.off{padding:5px 0}
details summary{cursor:pointer;color:var(--muted);font-size:12.5px;padding:8px 0 2px}
.allclear{color:var(--ok);font-size:13px;padding:4px 0}
.note{font-size:12.5px;color:#7d4e00;background:#fff8c5;border:1px solid #f5e0a1;border-radius:6px;padding:6px 10px;margin-top:8px}
time{white-space:nowrap}
footer{max-width:1440px;margin:0 auto;padding:0 24px 30px;color:var(--muted);font-size:12px}
@media (max-width:700px){main{padding:12px}.top .meta{margin-left:0}.factors{grid-template-columns:1fr}}
)css";

}  // namespace redis_ha::http::assets

#endif  // REDIS_HA_HTTP_PAGE_ASSETS_H_
