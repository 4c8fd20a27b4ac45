#!/usr/bin/env python3
"""Renders the redis_ha_exporter Grafana dashboards from one source (standard library only).

  dashboards/generate.py            rewrite dashboards/*.json
  dashboards/generate.py --check    exit 1 if a committed dashboard differs (drift test)
  dashboards/generate.py --queries  print every query as JSON lines {dashboard, panel, expr}
                                    (the lint and the end-to-end test read them)

Every query filters on the dashboard variables: job and instance (multi-value, "All" is the
regex .+), and group; counters only go through rate()/increase() over $__rate_interval.
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA_VERSION = 39
DS = {"type": "prometheus", "uid": "${datasource}"}

# Selectors built from the variables.
EXP = 'job=~"$job", instance=~"$instance"'            # per exporter
GRP = 'job=~"$job", instance=~"$instance", group=~"$group"'  # per exporter and group
GRP_OR_NONE = 'job=~"$job", instance=~"$instance", group=~"$group|"'  # + events without a group

RISK_MAPPINGS = [{"type": "value", "options": {
    "0": {"text": "none", "color": "green", "index": 0},
    "1": {"text": "latent", "color": "yellow", "index": 1},
    "2": {"text": "imminent", "color": "orange", "index": 2},
    "3": {"text": "active", "color": "red", "index": 3},
}}]
READY_MAPPINGS = [{"type": "value", "options": {
    "0": {"text": "blocked", "color": "red", "index": 0},
    "1": {"text": "ready", "color": "green", "index": 1},
}}]
BOOL_OK_MAPPINGS = [{"type": "value", "options": {
    "0": {"text": "no", "color": "red", "index": 0},
    "1": {"text": "yes", "color": "green", "index": 1},
}}]
BOOL_BAD_MAPPINGS = [{"type": "value", "options": {
    "0": {"text": "no", "color": "green", "index": 0},
    "1": {"text": "yes", "color": "red", "index": 1},
}}]
ROLE_MAPPINGS = [{"type": "value", "options": {
    "0": {"text": "replica", "color": "blue", "index": 0},
    "1": {"text": "primary", "color": "purple", "index": 1},
}}]


def thresholds(*steps):
    """steps: (value or None, color) pairs."""
    return {"mode": "absolute", "steps": [{"value": v, "color": c} for v, c in steps]}


GREEN = thresholds((None, "green"))
RISK_THRESHOLDS = thresholds((None, "green"), (1, "yellow"), (2, "orange"), (3, "red"))


def target(expr, legend="", instant=False, fmt=None, ref=None):
    t = {"datasource": DS, "expr": expr, "legendFormat": legend or "__auto"}
    if instant:
        t["instant"] = True
        t["range"] = False
    if fmt:
        t["format"] = fmt
    if ref:
        t["refId"] = ref
    return t


class Dashboard:
    def __init__(self, uid, title, description, group_multi=True):
        self.uid = uid
        self.title = title
        self.description = description
        self.group_multi = group_multi
        self.panels = []
        self.x = 0
        self.y = 0
        self.row_h = 0

    def _place(self, w, h):
        if self.x + w > 24:
            self.x = 0
            self.y += self.row_h
            self.row_h = 0
        pos = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.x += w
        self.row_h = max(self.row_h, h)
        return pos

    def row(self, title):
        if self.x:
            self.y += self.row_h
        self.x, self.row_h = 0, 0
        self.panels.append({"id": len(self.panels) + 1, "type": "row", "title": title, "collapsed": False, "panels": [],
                            "gridPos": {"x": 0, "y": self.y, "w": 24, "h": 1}})
        self.y += 1

    def panel(self, kind, title, description, unit, targets, w=12, h=8, mappings=None,
              thresholds_=None, options=None, custom=None, transformations=None, overrides=None,
              decimals=None):
        for i, t in enumerate(targets):
            t.setdefault("refId", chr(ord("A") + i))
        defaults = {"unit": unit, "mappings": mappings or [],
                    "thresholds": thresholds_ or GREEN, "color": {"mode": "thresholds"}}
        if kind in ("timeseries",):
            defaults["color"] = {"mode": "palette-classic"}
        if custom:
            defaults["custom"] = custom
        if decimals is not None:
            defaults["decimals"] = decimals
        p = {
            "id": len(self.panels) + 1,
            "type": kind,
            "title": title,
            "description": description,
            "datasource": DS,
            "gridPos": self._place(w, h),
            "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
            "options": options or {},
            "targets": targets,
        }
        if transformations:
            p["transformations"] = transformations
        self.panels.append(p)

    # Shorthands --------------------------------------------------------------------------------
    def stat(self, title, description, unit, expr, legend="", w=4, h=4, **kw):
        opts = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "colorMode": "background", "graphMode": "none", "textMode": "auto",
                "justifyMode": "auto", "orientation": "auto"}
        self.panel("stat", title, description, unit, [target(expr, legend, instant=True)], w=w, h=h,
                   options=opts, **kw)

    def timeseries(self, title, description, unit, exprs, w=12, h=8, bars=False, **kw):
        custom = {"drawStyle": "bars" if bars else "line", "fillOpacity": 60 if bars else 10,
                  "lineWidth": 1, "showPoints": "never", "spanNulls": False}
        opts = {"legend": {"displayMode": "table", "placement": "right", "showLegend": True,
                           "calcs": ["lastNotNull", "max"]},
                "tooltip": {"mode": "multi", "sort": "desc"}}
        self.panel("timeseries", title, description, unit, [target(e, l) for e, l in exprs],
                   w=w, h=h, custom=custom, options=opts, **kw)

    def timeline(self, title, description, unit, expr, legend, mappings, w=12, h=8, **kw):
        opts = {"showValue": "auto", "mergeValues": True, "rowHeight": 0.9, "alignValue": "left",
                "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}}
        self.panel("state-timeline", title, description, unit, [target(expr, legend)], w=w, h=h,
                   mappings=mappings, options=opts, custom={"fillOpacity": 80, "lineWidth": 0},
                   **kw)

    def table(self, title, description, unit, exprs, join_by, w=24, h=8, rename=None, **kw):
        """Instant queries merged into one row per `join_by` labels; `exprs` is a list of
        (expr, column title)."""
        targets = [target(e, "", instant=True, fmt="table") for e, _ in exprs]
        for i, t in enumerate(targets):
            t["refId"] = chr(ord("A") + i)
        renames = {"Value #%s" % chr(ord("A") + i): col for i, (_, col) in enumerate(exprs)}
        renames.update(rename or {})
        keep = {k: True for k in join_by}
        keep.update({"Value #%s" % chr(ord("A") + i): True for i in range(len(exprs))})
        transformations = [
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {
                "excludeByName": {"Time": True},
                "indexByName": {k: i for i, k in enumerate(list(keep))},
                "renameByName": renames}},
            {"id": "filterFieldsByName", "options": {"include": {"names": list(join_by) + list(renames.values())}}},
        ]
        opts = {"showHeader": True, "cellHeight": "sm", "footer": {"show": False}}
        self.panel("table", title, description, unit, targets, w=w, h=h, options=opts,
                   transformations=transformations,
                   custom={"align": "auto", "cellOptions": {"type": "color-text"}}, **kw)

    def json(self, links_tag):
        def var_query(name, label, query, multi, include_all, all_value=None):
            v = {
                "name": name, "label": label, "type": "query", "datasource": DS,
                "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
                "definition": query, "refresh": 2, "sort": 1, "multi": multi,
                "includeAll": include_all, "current": {}, "options": [], "hide": 0,
            }
            if all_value is not None:
                v["allValue"] = all_value
            return v

        variables = [
            {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
             "current": {}, "hide": 0, "includeAll": False, "multi": False, "options": [],
             "refresh": 1, "regex": ""},
            var_query("job", "Job", "label_values(redis_ha_exporter_build_info, job)", True, True, ".+"),
            var_query("instance", "Exporter", 'label_values(redis_ha_exporter_build_info{job=~"$job"}, instance)',
                      True, True, ".+"),
            var_query("group", "Group",
                      'label_values(redis_ha_exporter_last_poll_timestamp_seconds{job=~"$job", instance=~"$instance"}, group)',
                      self.group_multi, self.group_multi, ".+" if self.group_multi else None),
        ]
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": ["redis", "sentinel", links_tag],
            "schemaVersion": SCHEMA_VERSION,
            "version": 1,
            "editable": True,
            "graphTooltip": 1,
            "timezone": "browser",
            "refresh": "30s",
            "time": {"from": "now-3h", "to": "now"},
            "timepicker": {},
            "fiscalYearStartMonth": 0,
            "liveNow": False,
            "weekStart": "",
            "annotations": {"list": [
                {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                 "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
                 "name": "Annotations & Alerts", "type": "dashboard"},
                {"name": "Failovers", "datasource": DS, "enable": True, "hide": False,
                 "iconColor": "red", "titleFormat": "Failover of {{group}}",
                 "expr": "max by (group) (increase(redis_ha_failovers_total{%s}[$__rate_interval])) > 0" % GRP,
                 "step": "30s", "textFormat": "{{group}}: the Sentinel majority names a new primary",
                 "tagKeys": "group"},
            ]},
            "links": [{"title": "Redis HA", "type": "dashboards", "tags": [links_tag], "asDropdown": True,
                       "includeVars": True, "keepTime": True, "icon": "external link", "targetBlank": False,
                       "tooltip": "", "url": ""}],
            "templating": {"list": variables},
            "panels": self.panels,
        }


# ---------------------------------------------------------------------------------------------


def fleet():
    d = Dashboard("redis-ha-fleet", "Redis HA / Fleet overview",
                  "Every Sentinel group the exporters watch: split-brain and empty-primary risk, "
                  "rollout readiness, failovers and Sentinel events.")
    d.row("At a glance")
    d.stat("Groups watched", "Sentinel groups (master names) observed by the selected exporters.",
           "none", "count(count by (job, group) (redis_ha_exporter_last_poll_timestamp_seconds{%s}))" % GRP)
    d.stat("Split brain imminent or active", "Groups whose split-brain risk level is 2 (imminent) or "
           "3 (active) on any exporter.", "none",
           "count(max by (job, group) (redis_ha_split_brain_risk{%s}) >= 2) or vector(0)" % GRP,
           thresholds_=thresholds((None, "green"), (1, "red")))
    d.stat("Empty primary imminent or active", "Groups whose empty-primary risk level is 2 (a primary "
           "came back empty) or 3 (a replica was wiped) on any exporter.", "none",
           "count(max by (job, group) (redis_ha_empty_primary_risk{%s}) >= 2) or vector(0)" % GRP,
           thresholds_=thresholds((None, "green"), (1, "red")))
    d.stat("Latent risks", "Groups with a latent (level 1) configuration risk of either kind.", "none",
           "count(max by (job, group) (redis_ha_split_brain_risk{%s}) == 1 or max by (job, group) "
           "(redis_ha_empty_primary_risk{%s}) == 1) or vector(0)" % (GRP, GRP),
           thresholds_=thresholds((None, "green"), (1, "yellow")))
    d.stat("Failover not ready", "Groups where the rollout gate refuses a planned failover now "
           "(any exporter says no).", "none",
           'count(min by (job, group) (redis_ha_rollout_ready{%s, action="failover"}) == 0) or vector(0)' % GRP,
           thresholds_=thresholds((None, "green"), (1, "orange")))
    d.stat("Failovers (range)", "Failovers of the selected groups within the dashboard's time range "
           "(the exporter that saw the most, per group).", "none",
           "sum(max by (job, group) (increase(redis_ha_failovers_total{%s}[$__range])))" % GRP,
           decimals=0)
    d.table("Groups", "One row per group and exporter: risk levels, the failover gate, the primaries "
            "seen, healthy replicas, usable Sentinels and the age of the last observation.", "none", [
                ("max by (job, instance, group) (redis_ha_split_brain_risk{%s})" % GRP, "Split brain"),
                ("max by (job, instance, group) (redis_ha_empty_primary_risk{%s})" % GRP, "Empty primary"),
                ('min by (job, instance, group) (redis_ha_rollout_ready{%s, action="failover"})' % GRP, "Failover gate"),
                ("max by (job, instance, group) (redis_ha_group_primaries{%s})" % GRP, "Primaries"),
                ("max by (job, instance, group) (redis_ha_group_primary_views{%s})" % GRP, "Primaries named"),
                ("max by (job, instance, group) (redis_ha_group_healthy_replicas{%s})" % GRP, "Healthy replicas"),
                ("min by (job, instance, group) (redis_ha_sentinel_usable_sentinels{%s})" % GRP, "Usable Sentinels"),
                ("time() - max by (job, instance, group) (redis_ha_exporter_last_poll_timestamp_seconds{%s})" % GRP,
                 "Observed (s ago)"),
            ], ["group", "instance"], h=9,
            overrides=[
                {"matcher": {"id": "byName", "options": n},
                 "properties": [{"id": "mappings", "value": RISK_MAPPINGS}, {"id": "thresholds", "value": RISK_THRESHOLDS}]}
                for n in ("Split brain", "Empty primary")] + [
                {"matcher": {"id": "byName", "options": "Failover gate"},
                 "properties": [{"id": "mappings", "value": READY_MAPPINGS}]},
                {"matcher": {"id": "byName", "options": "Observed (s ago)"},
                 "properties": [{"id": "unit", "value": "s"}, {"id": "decimals", "value": 1}]},
            ])
    d.row("Risk over time")
    d.timeline("Split-brain risk", "Split-brain risk level per group over time (worst exporter): "
               "none, latent (configuration), imminent (one fault away), active (two primaries).",
               "none", "max by (job, group) (redis_ha_split_brain_risk{%s})" % GRP, "{{group}}",
               RISK_MAPPINGS, thresholds_=RISK_THRESHOLDS)
    d.timeline("Empty-primary risk", "Empty-primary risk level per group over time (worst exporter): "
               "latent (no persistence), imminent (primary restarted empty), active (replica wiped).",
               "none", "max by (job, group) (redis_ha_empty_primary_risk{%s})" % GRP, "{{group}}",
               RISK_MAPPINGS, thresholds_=RISK_THRESHOLDS)
    d.timeline("Failover gate", "Whether a planned failover of each group is allowed by the rollout "
               "gate (ready only when every exporter says so).", "none",
               'min by (job, group) (redis_ha_rollout_ready{%s, action="failover"})' % GRP, "{{group}}",
               READY_MAPPINGS)
    d.table("Risk factors", "Every split-brain and empty-primary factor per group: 1 means present "
            "(see docs/risks.md for each factor's rule).", "none", [
                ("max by (group, factor) (redis_ha_split_brain_risk_factor{%s})" % GRP, "Split-brain factor"),
                ("max by (group, factor) (redis_ha_empty_primary_risk_factor{%s})" % GRP, "Empty-primary factor"),
            ], ["group", "factor"], w=12,
            overrides=[{"matcher": {"id": "byRegexp", "options": ".*factor"},
                        "properties": [{"id": "mappings", "value": BOOL_BAD_MAPPINGS}]}])
    d.row("Events")
    d.timeseries("Failovers", "Failovers per group (the primary the Sentinel majority names changed).",
                 "none", [("max by (job, group) (increase(redis_ha_failovers_total{%s}[$__rate_interval]))" % GRP,
                           "{{group}}")], bars=True, w=8)
    d.timeseries("Sentinel events", "Events published by the Sentinels (+sdown, +odown, "
                 "+switch-master, +reboot...), summed over the Sentinels of the group; +tilt/-tilt "
                 "concern a whole Sentinel and have an empty group.",
                 "none", [("sum by (job, instance, group, event) (increase(redis_ha_sentinel_events_total{%s}[$__rate_interval]))" % GRP_OR_NONE,
                           "{{group}} {{event}}")], bars=True, w=8)
    d.timeseries("Restarts and dataset wipes", "Data node restarts (run id changed or uptime went "
                 "back) and dataset wipes (a replica emptied by a full sync from an empty primary).",
                 "none", [
                     ("sum by (job, instance, group, node) (increase(redis_ha_node_restarts_total{%s}[$__rate_interval]))" % GRP,
                      "restart {{group}} {{node}}"),
                     ("sum by (job, instance, group, node) (increase(redis_ha_dataset_wipes_total{%s}[$__rate_interval]))" % GRP,
                      "WIPE {{group}} {{node}}")], bars=True, w=8)
    return d


def group_detail():
    d = Dashboard("redis-ha-group", "Redis HA / Group detail",
                  "One Sentinel group: each Sentinel's view side by side, each data node's role, "
                  "link, lag, keys, uptime and loading, the failover candidate and the gate's blockers.",
                  group_multi=False)
    d.row("Summary")
    d.stat("Split-brain risk", "Highest split-brain risk level reported by the selected exporters.",
           "none", "max(redis_ha_split_brain_risk{%s})" % GRP, mappings=RISK_MAPPINGS,
           thresholds_=RISK_THRESHOLDS, w=3)
    d.stat("Empty-primary risk", "Highest empty-primary risk level reported by the selected exporters.",
           "none", "max(redis_ha_empty_primary_risk{%s})" % GRP, mappings=RISK_MAPPINGS,
           thresholds_=RISK_THRESHOLDS, w=3)
    d.stat("Primaries", "Reachable data nodes of the group that report role master (more than 1 is "
           "split brain).", "none", "max(redis_ha_group_primaries{%s})" % GRP,
           thresholds_=thresholds((None, "red"), (1, "green"), (2, "red")), w=3)
    d.stat("Primaries named", "Distinct primaries the reachable Sentinels name (more than 1: they "
           "disagree).", "none", "max(redis_ha_group_primary_views{%s})" % GRP,
           thresholds_=thresholds((None, "red"), (1, "green"), (2, "red")), w=3)
    d.stat("Healthy replicas", "Replicas with link up, not syncing or loading, promotable, lag in bounds.",
           "none", "min(redis_ha_group_healthy_replicas{%s})" % GRP,
           thresholds_=thresholds((None, "red"), (1, "orange"), (2, "green")), w=3)
    d.stat("Failover gate", "Whether the rollout gate allows a planned failover now.", "none",
           'min(redis_ha_rollout_ready{%s, action="failover"})' % GRP, mappings=READY_MAPPINGS, w=3)
    d.stat("Since last failover", "Time since the exporter last saw the Sentinel majority switch primary.",
           "s", "time() - max(redis_ha_group_last_failover_timestamp_seconds{%s})" % GRP, w=3,
           mappings=[{"type": "range", "options": {"from": 1e9, "to": 1e12,
                                                   "result": {"text": "never", "index": 0}}}])
    d.stat("Backlog headroom", "How long a replica may be cut off and still partially resync, at the "
           "current write rate.", "s", "min(redis_ha_replication_backlog_headroom_seconds{%s})" % GRP,
           thresholds_=thresholds((None, "red"), (60, "orange"), (300, "green")), w=3)

    d.row("Sentinels, side by side")
    d.table("Sentinel views", "What each Sentinel says about the group: the primary it names, "
            "CKQUORUM, usable and known Sentinels, quorum, known replicas, epoch, down-after, last "
            "PING reply from the primary.", "none", [
                ("max by (sentinel, address) (redis_ha_sentinel_primary_info{%s})" % GRP, "Names primary"),
                ("max by (sentinel) (redis_ha_sentinel_ckquorum_ok{%s})" % GRP, "CKQUORUM ok"),
                ("max by (sentinel) (redis_ha_sentinel_usable_sentinels{%s})" % GRP, "Usable"),
                ("max by (sentinel) (redis_ha_sentinel_quorum{%s})" % GRP, "Quorum"),
                ("max by (sentinel) (redis_ha_sentinel_known_sentinels{%s})" % GRP, "Known Sentinels"),
                ("max by (sentinel) (redis_ha_sentinel_known_replicas{%s})" % GRP, "Known replicas"),
                ("max by (sentinel) (redis_ha_sentinel_config_epoch{%s})" % GRP, "Epoch"),
                ("max by (sentinel) (redis_ha_sentinel_down_after_seconds{%s})" % GRP, "down-after (s)"),
                ("max by (sentinel) (redis_ha_sentinel_primary_last_ok_ping_seconds{%s})" % GRP, "Last OK ping (s)"),
            ], ["sentinel", "address"], h=7,
            overrides=[{"matcher": {"id": "byName", "options": "CKQUORUM ok"},
                        "properties": [{"id": "mappings", "value": BOOL_OK_MAPPINGS}]},
                       {"matcher": {"id": "byName", "options": "Names primary"},
                        "properties": [{"id": "custom.hidden", "value": True}]}])
    d.timeline("Primary flags per Sentinel", "Flags each Sentinel sets on the primary: s_down, o_down, "
               "disconnected, failover_in_progress, master_reboot.", "none",
               "max by (sentinel, flag) (redis_ha_sentinel_primary_flag{%s})" % GRP, "{{sentinel}} {{flag}}",
               BOOL_BAD_MAPPINGS)
    d.timeseries("Usable Sentinels", "Usable Sentinels counted by each Sentinel's CKQUORUM, and the "
                 "configured quorum.", "none", [
                     ("max by (sentinel) (redis_ha_sentinel_usable_sentinels{%s})" % GRP, "usable by {{sentinel}}"),
                     ("max(redis_ha_sentinel_quorum{%s})" % GRP, "quorum")])
    d.timeline("Sentinel up and TILT", "Whether each Sentinel answers the exporter, and whether it is in "
               "TILT mode (it does not act while in TILT).", "none",
               'max by (sentinel) (redis_ha_sentinel_up{%s}) + 2 * max by (sentinel) (redis_ha_sentinel_tilt{%s})'
               % (EXP, EXP), "{{sentinel}}",
               [{"type": "value", "options": {
                   "0": {"text": "down", "color": "red", "index": 0},
                   "1": {"text": "up", "color": "green", "index": 1},
                   "3": {"text": "TILT", "color": "orange", "index": 2}}}])
    d.timeseries("Sentinel events", "Events each Sentinel published for the group, and its +tilt/-tilt "
                 "(which carry no group).", "none",
                 [("sum by (sentinel, event) (increase(redis_ha_sentinel_events_total{%s}[$__rate_interval]))" % GRP_OR_NONE,
                   "{{sentinel}} {{event}}")], bars=True)

    d.row("Data nodes")
    d.table("Nodes", "Each data node: role, reachability, replica link, lag, keys, uptime, loading, "
            "full sync, replica priority.", "none", [
                ("max by (node) (redis_ha_node_is_primary{%s})" % GRP, "Role"),
                ("max by (node) (redis_ha_node_up{%s})" % GRP, "Up"),
                ("max by (node) (redis_ha_replica_link_up{%s})" % GRP, "Link up"),
                ("max by (node) (redis_ha_replica_lag_bytes{%s})" % GRP, "Lag (bytes)"),
                ("max by (node) (redis_ha_replica_last_io_seconds{%s})" % GRP, "Last IO (s)"),
                ("max by (node) (redis_ha_node_keys{%s})" % GRP, "Keys"),
                ("max by (node) (redis_ha_node_uptime_seconds{%s})" % GRP, "Uptime (s)"),
                ("max by (node) (redis_ha_node_loading{%s})" % GRP, "Loading"),
                ("max by (node) (redis_ha_replica_sync_in_progress{%s})" % GRP, "Full sync"),
                ("max by (node) (redis_ha_replica_priority{%s})" % GRP, "Priority"),
            ], ["node"], h=7,
            overrides=[{"matcher": {"id": "byName", "options": "Role"},
                        "properties": [{"id": "mappings", "value": ROLE_MAPPINGS}]},
                       {"matcher": {"id": "byName", "options": "Up"},
                        "properties": [{"id": "mappings", "value": BOOL_OK_MAPPINGS}]},
                       {"matcher": {"id": "byName", "options": "Link up"},
                        "properties": [{"id": "mappings", "value": BOOL_OK_MAPPINGS}]},
                       {"matcher": {"id": "byName", "options": "Lag (bytes)"},
                        "properties": [{"id": "unit", "value": "bytes"}]},
                       {"matcher": {"id": "byName", "options": "Uptime (s)"},
                        "properties": [{"id": "unit", "value": "s"}]},
                       {"matcher": {"id": "byRegexp", "options": "Loading|Full sync"},
                        "properties": [{"id": "mappings", "value": BOOL_BAD_MAPPINGS}]}])
    d.timeline("Role", "Which node reports role master over time (two at once is split brain).", "none",
               "max by (node) (redis_ha_node_is_primary{%s})" % GRP, "{{node}}", ROLE_MAPPINGS)
    d.timeline("Replica link", "master_link_status of each replica.", "none",
               "max by (node) (redis_ha_replica_link_up{%s})" % GRP, "{{node}}",
               [{"type": "value", "options": {"0": {"text": "down", "color": "red", "index": 0},
                                               "1": {"text": "up", "color": "green", "index": 1}}}])
    d.timeseries("Replication lag", "Bytes each replica is behind the primary (same poll cycle).",
                 "bytes", [("max by (node) (redis_ha_replica_lag_bytes{%s})" % GRP, "{{node}}")], w=8)
    d.timeseries("Seconds since last IO", "Seconds since each replica last heard from its primary "
                 "(the primary pings every repl-ping-replica-period, 10 s by default).", "s",
                 [("max by (node) (redis_ha_replica_last_io_seconds{%s})" % GRP, "{{node}}")], w=8)
    d.timeseries("Keys", "Keys on each node (all databases): a sudden drop to 0 after a restart is an "
                 "empty primary or a wiped replica.", "short",
                 [("max by (node) (redis_ha_node_keys{%s})" % GRP, "{{node}}")], w=8)
    d.timeseries("Uptime", "uptime_in_seconds of each node: it goes back on a restart.", "s",
                 [("max by (node) (redis_ha_node_uptime_seconds{%s})" % GRP, "{{node}}")], w=8)
    d.timeseries("Restarts and wipes", "Restarts detected per node and datasets wiped.", "none", [
        ("max by (node) (increase(redis_ha_node_restarts_total{%s}[$__rate_interval]))" % GRP, "restart {{node}}"),
        ("max by (node) (increase(redis_ha_dataset_wipes_total{%s}[$__rate_interval]))" % GRP, "WIPE {{node}}")],
        bars=True, w=8)
    d.timeline("Loading and full sync", "Nodes loading their dataset, and replicas in a full sync.",
               "none",
               "max by (node) (redis_ha_node_loading{%s}) + 2 * max by (node) (redis_ha_replica_sync_in_progress{%s} or redis_ha_node_loading{%s} * 0)"
               % (GRP, GRP, GRP), "{{node}}",
               [{"type": "value", "options": {
                   "0": {"text": "serving", "color": "green", "index": 0},
                   "1": {"text": "loading", "color": "orange", "index": 1},
                   "2": {"text": "full sync", "color": "blue", "index": 2},
                   "3": {"text": "loading + sync", "color": "red", "index": 3}}}], w=8)

    d.row("Failover candidate and rollout gate")
    d.table("Failover candidate", "The replica Sentinel would promote now, by Sentinel's own rule.",
            "none", [("max by (node) (redis_ha_failover_candidate_info{%s})" % GRP, "Candidate")],
            ["node"], w=6, h=7)
    d.timeline("Rollout gate", "Whether each action is allowed now: failover, and restart-replica / "
               "restart-sentinel per node.", "none",
               "min by (action, node) (redis_ha_rollout_ready{%s})" % GRP, "{{action}} {{node}}",
               READY_MAPPINGS, w=9, h=7)
    d.table("Blockers", "Every blocker of every action (1: blocking now); docs/gate.md explains each.",
            "none", [("max by (action, node, blocker) (redis_ha_rollout_blocker{%s})" % GRP, "Blocking")],
            ["action", "node", "blocker"], w=9, h=7,
            overrides=[{"matcher": {"id": "byName", "options": "Blocking"},
                        "properties": [{"id": "mappings", "value": BOOL_BAD_MAPPINGS}]}])
    d.timeline("Risk factors", "Split-brain and empty-primary factors of the group over time.", "none",
               "max by (factor) (redis_ha_split_brain_risk_factor{%s}) or max by (factor) "
               "(redis_ha_empty_primary_risk_factor{%s})" % (GRP, GRP), "{{factor}}", BOOL_BAD_MAPPINGS,
               w=24, h=9)
    return d


def exporter_health():
    d = Dashboard("redis-ha-exporter", "Redis HA / Exporter health",
                  "The redis_ha_exporter processes themselves: scrapes, poll cycles, errors, "
                  "staleness of each group's observation, connections and traffic.")
    d.row("Exporters")
    d.stat("Exporters up", "Targets of the selected jobs Prometheus scrapes successfully.", "none",
           "sum(up{%s})" % EXP)
    d.stat("Exporters down", "Targets of the selected jobs whose scrapes fail.", "none",
           "count(up{%s} == 0) or vector(0)" % EXP, thresholds_=thresholds((None, "green"), (1, "red")))
    d.stat("Stalest group", "Age of the oldest last successful observation of any selected group.",
           "s", "max(time() - redis_ha_exporter_last_poll_timestamp_seconds{%s})" % GRP,
           thresholds_=thresholds((None, "green"), (10, "orange"), (60, "red")))
    d.table("Versions", "redis_ha_exporter version of each target.", "none",
            [("max by (instance, version) (redis_ha_exporter_build_info{%s})" % EXP, "Up")],
            ["instance", "version"], w=12, h=4)
    d.row("Polling")
    d.timeseries("Poll cycle duration", "p50 and p99 of whole poll cycles (every Sentinel and node of "
                 "every group) per exporter.", "s", [
                     ("histogram_quantile(0.5, sum by (instance, le) (rate(redis_ha_exporter_poll_duration_seconds_bucket{%s}[$__rate_interval])))" % EXP,
                      "p50 {{instance}}"),
                     ("histogram_quantile(0.99, sum by (instance, le) (rate(redis_ha_exporter_poll_duration_seconds_bucket{%s}[$__rate_interval])))" % EXP,
                      "p99 {{instance}}")])
    d.timeseries("Poll cycles and overruns", "Poll cycles completed per second, and those that took "
                 "longer than the poll interval.", "ops", [
                     ("sum by (instance) (rate(redis_ha_exporter_poll_cycles_total{%s}[$__rate_interval]))" % EXP,
                      "cycles {{instance}}"),
                     ("sum by (instance) (rate(redis_ha_exporter_poll_overruns_total{%s}[$__rate_interval]))" % EXP,
                      "overruns {{instance}}")])
    d.timeseries("Poll errors", "Failed polls of Sentinels and data nodes per second, by kind and "
                 "reason (connect, timeout, auth, protocol, reply).", "ops", [
                     ("sum by (instance, kind, reason) (rate(redis_ha_exporter_poll_errors_total{%s}[$__rate_interval]))" % EXP,
                      "{{instance}} {{kind}} {{reason}}")])
    d.timeseries("Observation age", "Seconds since each exporter last observed each group with a "
                 "successful Sentinel poll.", "s", [
                     ("time() - max by (instance, group) (redis_ha_exporter_last_poll_timestamp_seconds{%s})" % GRP,
                      "{{instance}} {{group}}")])
    d.timeseries("Round trips to Sentinels", "Time to connect and get every reply of the last poll of "
                 "each Sentinel.", "s", [
                     ("max by (instance, sentinel) (redis_ha_sentinel_poll_round_trip_seconds{%s})" % EXP,
                      "{{instance}} {{sentinel}}")])
    d.timeseries("Round trips to data nodes", "Time to connect and get every reply of the last poll of "
                 "each data node.", "s", [
                     ("max by (instance, node) (redis_ha_node_poll_round_trip_seconds{%s})" % GRP,
                      "{{instance}} {{node}}")])
    d.row("Resources")
    d.timeseries("Connections", "Open connections from each exporter to Sentinels and data nodes.",
                 "short", [("sum by (instance) (redis_ha_exporter_connections{%s})" % EXP, "{{instance}}")], w=8)
    d.timeseries("Traffic", "Bytes per second each exporter sends to and receives from Sentinels and "
                 "data nodes.", "Bps", [
                     ("sum by (instance) (rate(redis_ha_exporter_sent_bytes_total{%s}[$__rate_interval]))" % EXP,
                      "sent {{instance}}"),
                     ("sum by (instance) (rate(redis_ha_exporter_received_bytes_total{%s}[$__rate_interval]))" % EXP,
                      "received {{instance}}")], w=8)
    d.timeseries("Scrape duration", "How long Prometheus takes to scrape each exporter.", "s",
                 [("max by (instance) (scrape_duration_seconds{%s})" % EXP, "{{instance}}")], w=8)
    return d


DASHBOARDS = {"redis-ha-fleet.json": fleet, "redis-ha-group.json": group_detail,
              "redis-ha-exporter.json": exporter_health}


def render():
    return {name: json.dumps(fn().json("redis-ha"), indent=2, sort_keys=False) + "\n"
            for name, fn in DASHBOARDS.items()}


def queries(rendered):
    for name, text in rendered.items():
        dash = json.loads(text)
        for p in dash["panels"]:
            for t in p.get("targets", []):
                yield {"dashboard": name, "uid": dash["uid"], "panel": p["title"], "expr": t["expr"]}
        for a in dash["annotations"]["list"]:
            if "expr" in a:
                yield {"dashboard": name, "uid": dash["uid"], "panel": "annotation " + a["name"],
                       "expr": a["expr"]}


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--queries", action="store_true")
    args = ap.parse_args(argv)
    rendered = render()
    if args.queries:
        for q in queries(rendered):
            print(json.dumps(q))
        return 0
    if args.check:
        bad = 0
        for name, text in rendered.items():
            path = os.path.join(HERE, name)
            have = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
            if have != text:
                print("drift: dashboards/%s differs from what dashboards/generate.py renders; "
                      "run dashboards/generate.py" % name)
                bad = 1
        return bad
    for name, text in rendered.items():
        with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
