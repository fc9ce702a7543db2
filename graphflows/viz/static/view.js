/* graphflows network view.
 * Every piece of text from the data is put on the page with textContent (or drawn on the canvas by
 * vis-network), never parsed as HTML: a name like <img onerror=...> shows as text and never runs. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("gf-data").textContent);
  var started = performance.now();

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function row(table, label, value, numeric) {
    var tr = table.insertRow();
    tr.appendChild(el("td", label));
    tr.appendChild(el("td", value, numeric ? "gf-num" : null));
  }

  function chip(colour) {
    var i = el("i", null, "gf-chip");
    i.style.background = colour;
    return i;
  }

  function mixTable(card, title, rows, colours) {
    if (!rows || !rows.length) return;
    card.appendChild(el("div", title, "gf-sub"));
    var mix = el("table");
    rows.forEach(function (m) {
      var tr = mix.insertRow();
      var name = el("td");
      if (colours) name.appendChild(chip(m[3]));
      name.appendChild(document.createTextNode(m[0]));
      tr.appendChild(name);
      tr.appendChild(el("td", m[1], "gf-num"));
      tr.appendChild(el("td", m[2], "gf-num"));
    });
    card.appendChild(mix);
  }

  function nodeCard(n) {
    var card = el("div", null, "gf-card");
    card.appendChild(el("div", n.name, "gf-name"));
    card.appendChild(el("div", n.id + " \u00b7 " + n.kinds, "gf-id"));
    var who = el("div", null, "gf-channel");
    who.appendChild(chip(n.color));
    who.appendChild(document.createTextNode(n.channel_label + " \u00b7 " + n.form));
    card.appendChild(who);
    var table = el("table");
    row(table, "Money in", n.in_text, true);
    row(table, "Money out", n.out_text, true);
    if (n.self_text) row(table, "Paid to itself (not in money in or out)", n.self_text, true);
    if (n.payers) row(table, "Payers shown", n.payers, true);
    if (n.payees) row(table, "Payees shown", n.payees, true);
    card.appendChild(table);
    if (n.conv) {
      card.appendChild(el("div", "Convergence point: money from " + n.count + " " + data.counted +
        (data.counted === "channels" ? " (" + n.channels.join(", ") + ")" : ""), "gf-flag"));
    }
    if (n.effective_channels) {
      card.appendChild(el("div", n.channel_count + " channels and " + n.stovepipes + " stovepipes count; " +
        "effective numbers " + n.effective_channels + " and " + n.effective_stovepipes, "gf-muted"));
    }
    mixTable(card, "Channel mix of money in", n.channel_mix, true);
    mixTable(card, "Stovepipe mix of money in", n.mix, false);
    return card;
  }

  function edgeCard(e) {
    var card = el("div", null, "gf-card");
    card.appendChild(el("div", e.from_name + " \u2192 " + e.to_name, "gf-name"));
    var table = el("table");
    row(table, e.declared ? "Spent from this stream" : "Amount", e.amount_text, true);
    row(table, "Flows", e.flows, true);
    card.appendChild(table);
    if (e.declared) card.appendChild(el("div", "The stream is named on the payer's flows.", "gf-muted"));
    return card;
  }

  // What changes with the zoom (vis-network draws borders and shadows in screen pixels, labels in canvas
  // units): a label grows with the zoom only up to n.font_cap pixels on screen (vis-network 9.1's
  // scaling.label.maxVisible does not cap the drawn text); a convergence point's red ring (n.ring) is at most
  // a quarter of the node's radius on screen, so the channel's colour fills even the smallest node when the
  // whole view is shown, and its red halo (growing with the number meeting there, n.halo) at most 1.5 radii.
  function zoomed(n, scale) {
    var radius = n.radius * scale;
    var ring = Math.round(100 * Math.min(n.ring, Math.max(0.5, radius / 4))) / 100;
    var style = {
      id: n.id,
      font: { size: Math.min(n.font, n.font_cap / scale) },  // the item's font is replaced whole
      borderWidth: ring,
      borderWidthSelected: ring + 1.5
    };
    if (n.headline) style.font.strokeWidth = 6;
    if (n.conv) {
      style.shadow = { enabled: true, color: data.convergence_glow, x: 0, y: 0,
                       size: Math.round(10 * Math.min(n.halo, Math.max(1, 1.5 * radius))) / 10 };
    }
    return style;
  }
  function sameStyle(a, b) {
    return a && a.font.size === b.font.size && a.borderWidth === b.borderWidth &&
      (!a.shadow || a.shadow.size === b.shadow.size);
  }

  var byId = {};
  data.nodes.forEach(function (n) { byId[n.id] = n; });
  var style = data.style;

  var visNodes = data.nodes.map(function (n) {
    var s = style[n.kind];
    var node = {
      id: n.id, label: n.label, x: n.x, y: n.y, value: n.value, shape: s.shape,
      title: nodeCard(n),
      color: {
        background: n.color, border: n.conv ? data.convergence_color : n.border,
        highlight: { background: n.color, border: "#111" }, hover: { background: n.color, border: "#111" }
      },
      shadow: false
    };
    n.shown = zoomed(n, 1);  // set again for every new zoom: see fitToZoom
    Object.assign(node, n.shown);
    if (n.headline) {  // the largest nodes of a big view: names readable when the whole view is shown
      node.scaling = { label: { drawThreshold: 9 } };
    }
    return node;
  });
  var visEdges = data.edges.map(function (e, i) {
    return {
      id: "e" + i, from: e.from, to: e.to, width: e.width, title: edgeCard(e),
      dashes: e.declared ? [6, 5] : false,
      color: { color: e.color, highlight: e.highlight, hover: e.highlight, opacity: 1 }
    };
  });

  var nodes = new vis.DataSet(visNodes);
  var edges = new vis.DataSet(visEdges);
  var container = document.getElementById("gf-network");
  var options = {
    autoResize: true,
    physics: { enabled: false },
    layout: { improvedLayout: false, randomSeed: 1 },
    interaction: { hover: true, tooltipDelay: 120, hideEdgesOnDrag: data.edges.length > 800, multiselect: false },
    nodes: {
      font: { size: 13, face: "system-ui, Arial, sans-serif", color: "#1f2933", strokeWidth: 3, strokeColor: "#ffffff" },
      scaling: {
        min: data.size_min, max: data.size_max,
        label: { enabled: false, drawThreshold: 7 }
      }
    },
    edges: {
      smooth: false,
      arrows: { to: { enabled: true, scaleFactor: 0.45 } },
      selectionWidth: 2, hoverWidth: 0.5
    }
  };
  var network = new vis.Network(container, { nodes: nodes, edges: edges }, options);

  // Only the nodes on screen (with a margin) are styled for a new zoom, so a step of the wheel costs the
  // same in a view of 3,000 nodes as in one of 250; the others are styled when they come into view.
  var lastScale = 1;
  data.nodes.forEach(function (n) { n.styledAt = 1; });
  function fitToZoom() {
    var scale = network.getScale();
    var sameZoom = scale === lastScale;
    lastScale = scale;
    if (sameZoom && !data.nodes.some(function (n) { return n.styledAt !== scale; })) return;
    var w = container.clientWidth, h = container.clientHeight;
    var low = network.DOMtoCanvas({ x: -w / 2, y: -h / 2 }), high = network.DOMtoCanvas({ x: 1.5 * w, y: 1.5 * h });
    var where = network.body.nodes;
    data.nodes.forEach(function (n) {
      var at = where[n.id];
      if (n.styledAt === scale || !at || at.x < low.x || at.x > high.x || at.y < low.y || at.y > high.y) return;
      n.styledAt = scale;
      var style = zoomed(n, scale);
      if (!sameStyle(n.shown, style)) {
        n.shown = style;
        // straight on the drawn node, before this frame is drawn ("initRedraw" comes first): an update of
        // the DataSet would recompute every node's size from its value, ~70 ms in a view of 3,000 nodes
        at.setOptions({ font: style.font, borderWidth: style.borderWidth,
                        borderWidthSelected: style.borderWidthSelected, shadow: style.shadow || false });
      }
    });
  }
  network.on("initRedraw", fitToZoom);
  window.network = network;
  window.nodes = nodes;
  window.edges = edges;

  // vis-network fits the boxes of the nodes with their labels as last drawn, with a margin of 10%: once
  // drawn, nothing is cut at the edges (zooming out a further 12% left every name 12% smaller).
  function fitAll(animate) {
    network.fit({ animation: animate ? { duration: 300 } : false });
  }
  network.once("afterDrawing", function () {
    network.once("afterDrawing", function () {
      window.graphflowsSettleMs = performance.now() - started; // from this script's start
      window.graphflowsReadyAt = performance.now(); // from the start of navigation
      window.graphflowsReady = true;
      document.body.setAttribute("data-ready", "1");
    });
    fitAll(false);
    network.redraw();
  });

  // Header, legend, notes ---------------------------------------------------------------------
  document.getElementById("gf-title").textContent = data.title;
  document.getElementById("gf-subtitle").textContent = data.subtitle;

  var details = document.getElementById("gf-details");
  function showDetails(id) {
    details.textContent = "";
    if (id !== undefined && byId[id]) details.appendChild(nodeCard(byId[id]));
  }
  function select(id) {
    network.selectNodes([id]);
    network.focus(id, { scale: 1.1, animation: { duration: 400 } });
    showDetails(id);
  }
  network.on("selectNode", function (p) { showDetails(p.nodes[0]); });
  if (data.focus !== null && byId[data.focus]) { network.selectNodes([data.focus]); showDetails(data.focus); }
  network.on("deselectNode", function () { showDetails(); });

  function swatch(kindStyle, ring) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("width", "22"); svg.setAttribute("height", "22");
    var shape;
    if (kindStyle.shape === "diamond") {
      shape = document.createElementNS(ns, "polygon"); shape.setAttribute("points", "11,2 20,11 11,20 2,11");
    } else if (kindStyle.shape === "square") {
      shape = document.createElementNS(ns, "rect");
      shape.setAttribute("x", "4"); shape.setAttribute("y", "4"); shape.setAttribute("width", "14"); shape.setAttribute("height", "14");
    } else {
      shape = document.createElementNS(ns, "circle");
      shape.setAttribute("cx", "11"); shape.setAttribute("cy", "11"); shape.setAttribute("r", "7");
    }
    shape.setAttribute("fill", kindStyle.color);
    shape.setAttribute("stroke", ring || kindStyle.border);
    shape.setAttribute("stroke-width", ring ? "2.5" : "1.5");
    svg.appendChild(shape);
    return svg;
  }
  function legendRow(parent, graphic, text) {
    var r = el("div", null, "gf-legend-row");
    r.appendChild(graphic);
    r.appendChild(el("span", text));
    parent.appendChild(r);
  }
  var legend = document.getElementById("gf-legend");
  legend.appendChild(el("h2", "Legend"));
  var channelBox = el("div", null, "gf-legend-channels");
  channelBox.appendChild(el("div", "Colour: the organisation's own channel of government", "gf-sub"));
  data.channels_shown.forEach(function (c) {
    legendRow(channelBox, swatch({ shape: "dot", color: c[1], border: "#52606d" }), c[0] + " (" + c[2] + ")");
  });
  legend.appendChild(channelBox);
  legend.appendChild(el("div", "Shape: kind", "gf-sub"));
  data.kinds_shown.forEach(function (k) { legendRow(legend, swatch(style[k]), style[k].label); });
  if (data.has_analysis) {
    legendRow(legend, swatch({ shape: "dot", color: "#ffffff", border: "#999" }, data.convergence_color),
      "Convergence point (" + data.convergence_rule + ")");
  }
  legend.appendChild(el("p", "Node size: money in or out (the larger). Line: amount paid, coloured by the " +
    "payer's channel; dashed: a stream named on the payer's flows. Hover for details (the channels its money " +
    "came from); click to pin them.",
    "gf-muted"));

  var conv = data.nodes.filter(function (n) { return n.conv; })
    .sort(function (a, b) { return b.count - a.count || b.value - a.value || (a.id < b.id ? -1 : 1); });
  var convBox = document.getElementById("gf-convergence");
  if (conv.length) {
    convBox.appendChild(el("h2", "Convergence points shown (" + conv.length + ")"));
    var list = el("ul", null, "gf-list");
    conv.slice(0, 15).forEach(function (n) {
      var b = el("button", null, "gf-point");
      b.appendChild(el("span", n.name, "gf-point-name"));
      var meets = el("span", null, "gf-point-channels");
      if (data.counted === "channels") {
        n.channel_mix.filter(function (m) { return n.channels.indexOf(m[0]) >= 0; }).forEach(function (m) {
          meets.appendChild(chip(m[3]));
        });
        meets.appendChild(document.createTextNode(n.count + " channels: " + n.channels.join(", ")));
      } else {
        meets.appendChild(document.createTextNode(n.count + " stovepipes; channels: " + n.channels.join(", ")));
      }
      b.appendChild(meets);
      b.type = "button";
      b.addEventListener("click", function () { select(n.id); });
      var li = el("li"); li.appendChild(b); list.appendChild(li);
    });
    convBox.appendChild(list);
    if (conv.length > 15) convBox.appendChild(el("p", "and " + (conv.length - 15) + " more", "gf-muted"));
  }

  var notes = document.getElementById("gf-notes");
  if (data.notes.length) {
    notes.appendChild(el("h2", "What is not shown"));
    data.notes.forEach(function (t) { notes.appendChild(el("p", t, "gf-note")); });
  }

  // Search ------------------------------------------------------------------------------------
  var names = document.getElementById("gf-names");
  data.nodes.forEach(function (n) { var o = document.createElement("option"); o.value = n.name; names.appendChild(o); });
  var input = document.getElementById("gf-search");
  var results = document.getElementById("gf-results");
  function matches(query) {
    var q = query.trim().toLowerCase();
    if (!q) return [];
    var exact = data.nodes.filter(function (n) { return n.name.toLowerCase() === q || n.id.toLowerCase() === q; });
    var partial = data.nodes.filter(function (n) {
      return exact.indexOf(n) < 0 && (n.name.toLowerCase().indexOf(q) >= 0 || n.id.toLowerCase().indexOf(q) >= 0);
    });
    return exact.concat(partial);
  }
  function showResults() {
    results.textContent = "";
    var found = matches(input.value);
    found.slice(0, 12).forEach(function (n) {
      var b = el("button", n.name + " (" + style[n.kind].label + ")");
      b.type = "button";
      b.addEventListener("click", function () { select(n.id); });
      var li = el("li"); li.appendChild(b); results.appendChild(li);
    });
    if (input.value.trim() && !found.length) results.appendChild(el("li", "Not in this view", "gf-muted"));
    if (found.length > 12) results.appendChild(el("li", "and " + (found.length - 12) + " more", "gf-muted"));
    return found;
  }
  input.addEventListener("input", showResults);
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter") { var found = showResults(); if (found.length) select(found[0].id); }
  });
  document.getElementById("gf-fit").addEventListener("click", function () { fitAll(true); });
})();
